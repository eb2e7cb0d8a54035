//! What the web example's tests share: a plain HTTP/1.1 client (the service on a
//! loopback port is `app::TestService`). Each test file declares `mod common;` beside `mod app;` (the
//! service, `../src/app.rs`).

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

/// Bound on every socket read or write of the test client.
pub const IO_TIMEOUT: Duration = Duration::from_secs(30);

/// One HTTP/1.1 request with `Connection: close`; returns the status code.
pub fn get(addr: SocketAddr, target: &str, headers: &[(&str, &str)]) -> u16 {
    let mut stream = TcpStream::connect_timeout(&addr, IO_TIMEOUT).expect("connect");
    stream.set_read_timeout(Some(IO_TIMEOUT)).unwrap();
    stream.set_write_timeout(Some(IO_TIMEOUT)).unwrap();
    let mut request = format!("GET {target} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n");
    for (name, value) in headers {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    request.push_str("\r\n");
    stream.write_all(request.as_bytes()).expect("write request");
    let mut response = Vec::new();
    stream.read_to_end(&mut response).expect("read response");
    let response = String::from_utf8_lossy(&response);
    let status = response
        .strip_prefix("HTTP/1.1 ")
        .and_then(|rest| rest.get(..3))
        .unwrap_or_else(|| panic!("not an HTTP response: {response:?}"));
    status.parse().unwrap()
}

/// Sends `n` requests from `threads` client threads at once: request `i` is `GET
/// target` with `x-request-id: {prefix}{i}` for `(target, expected status) = which(i)`.
pub fn concurrently(
    addr: SocketAddr,
    n: usize,
    threads: usize,
    prefix: &str,
    which: impl Fn(usize) -> (String, u16) + Sync,
) {
    let next = std::sync::atomic::AtomicUsize::new(0);
    std::thread::scope(|scope| {
        for _ in 0..threads {
            scope.spawn(|| loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                if i >= n {
                    break;
                }
                let (target, expected) = which(i);
                let id = format!("{prefix}{i}");
                assert_eq!(
                    get(addr, &target, &[("x-request-id", &id)]),
                    expected,
                    "{target}"
                );
            });
        }
    });
}
