//! The benchmarks of `tracing-logbook` live under `benches/benches/`: the production
//! path against its peers (`production.rs`) and the single pieces (`format.rs`,
//! `file.rs`, `notify.rs`, `crossed.rs`). This library holds what they share.

use std::path::Path;

/// The lines in the regular files of `dir` (every subject's log files); links, such
/// as the stable name of our current file, are not counted a second time.
pub fn count_lines(dir: &Path) -> u64 {
    use std::io::Read;
    let mut n = 0;
    let mut buf = vec![0u8; 1 << 16];
    for entry in std::fs::read_dir(dir).expect("read dir").flatten() {
        if entry.file_type().is_ok_and(|t| t.is_symlink()) {
            continue;
        }
        let Ok(mut file) = std::fs::File::open(entry.path()) else {
            continue;
        };
        while let Ok(len @ 1..) = file.read(&mut buf) {
            n += buf[..len].iter().filter(|&&b| b == b'\n').count() as u64;
        }
    }
    n
}

/// A loopback port nothing listens on: bound, then released (an endpoint that refuses
/// every connection).
pub fn closed_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    listener.local_addr().expect("local address").port()
}

/// A loopback OTLP/HTTP collector for the whole process, started on the first call:
/// answers 200 to every request, on kept-alive connections, and throws the bodies away.
/// Its URL (`http://127.0.0.1:PORT/v1/logs`).
pub fn collector() -> String {
    use std::io::{BufRead, BufReader, Read, Write};
    use std::net::TcpListener;
    use std::sync::OnceLock;
    static URL: OnceLock<String> = OnceLock::new();
    URL.get_or_init(|| {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
        let url = format!("http://{}/v1/logs", listener.local_addr().unwrap());
        std::thread::spawn(move || {
            for conn in listener.incoming().flatten() {
                std::thread::spawn(move || {
                    let mut writer = conn.try_clone().expect("clone the connection");
                    let mut reader = BufReader::new(conn);
                    let mut body = Vec::new();
                    loop {
                        let mut len = 0;
                        loop {
                            let mut line = String::new();
                            if reader.read_line(&mut line).unwrap_or(0) == 0 {
                                return;
                            }
                            if line == "\r\n" {
                                break;
                            }
                            let lower = line.to_ascii_lowercase();
                            if let Some(v) = lower.strip_prefix("content-length:") {
                                len = v.trim().parse().unwrap_or(0);
                            }
                        }
                        body.resize(len, 0);
                        if reader.read_exact(&mut body).is_err()
                            || writer
                                .write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
                                .is_err()
                        {
                            return;
                        }
                    }
                });
            }
        });
        url
    })
    .clone()
}
