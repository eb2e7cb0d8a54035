//! Syslog against a real rsyslog (Debian package `rsyslog`), started here on loopback
//! with a configuration of ours that writes what it receives to a file.
//!
//! When `rsyslogd` is not installed the test says so loudly on stderr and passes without
//! checking anything, unless `LOGBOOK_REQUIRE_SERVERS` is set: `.ci/run` installs the
//! package and sets it, so in CI a test that could not run fails.

use std::io::Write as _;
use std::net::{TcpListener, TcpStream, UdpSocket};
use std::path::Path;
use std::time::{Duration, Instant};

use tracing_logbook::syslog::SyslogLayer;
use tracing_logbook_test_support::external::{rsyslogd, skip_or_fail, Rsyslogd};
use tracing_subscriber::prelude::*;

fn free_ports() -> (u16, u16) {
    let udp = UdpSocket::bind("127.0.0.1:0").unwrap();
    let tcp = TcpListener::bind("127.0.0.1:0").unwrap();
    (
        udp.local_addr().unwrap().port(),
        tcp.local_addr().unwrap().port(),
    )
}

fn start(dir: &Path, rsyslogd: &Path, udp: u16, tcp: u16) -> Rsyslogd {
    let conf = dir.join("rsyslog.conf");
    let mut f = std::fs::File::create(&conf).unwrap();
    write!(
        f,
        r#"global(workDirectory="{dir}")
module(load="imudp")
module(load="imtcp")
input(type="imudp" address="127.0.0.1" port="{udp}")
input(type="imtcp" address="127.0.0.1" port="{tcp}")
template(name="fields" type="string" string="%syslogseverity%|%syslogfacility%|%app-name%|%procid%|%structured-data%|%msg%\n")
*.* action(type="omfile" file="{dir}/received.log" template="fields")
"#,
        dir = dir.display()
    )
    .unwrap();
    let server = Rsyslogd::start(rsyslogd, &conf, &dir.join("rsyslogd.pid"));
    let deadline = Instant::now() + Duration::from_secs(20);
    while TcpStream::connect(("127.0.0.1", tcp)).is_err() {
        assert!(
            Instant::now() < deadline,
            "rsyslogd did not start listening"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    server
}

fn send(url: &str, transport: &str, n: usize) {
    let (layer, handle) = SyslogLayer::builder(url)
        .unwrap()
        .app_name("logbook-test")
        .build()
        .unwrap();
    tracing::subscriber::with_default(tracing_subscriber::registry().with(layer), || {
        for i in 0..n {
            match i % 4 {
                0 => tracing_logbook::critical!(target: "App", transport, i, "critical {i}"),
                1 => tracing_logbook::notice!(target: "App", transport, i, "notice {i}"),
                2 => {
                    tracing::warn!(target: "App", transport, i, quote = "a \"q\" ]", "warning {i}")
                }
                _ => tracing::debug!(target: "App", transport, i, "debug\nmultiline {i}"),
            }
        }
    });
    assert!(handle.flush(Duration::from_secs(10)));
    assert_eq!(handle.sent(), n as u64);
    assert_eq!(handle.dropped() + handle.failed(), 0);
}

#[test]
fn rsyslog_receives_every_message_once_with_severity_app_name_and_structured_data() {
    let Some(rsyslogd) = rsyslogd() else {
        return skip_or_fail(
            "rsyslog integration test",
            "rsyslogd is not installed (apt-get install rsyslog)",
        );
    };
    let dir = tempfile::tempdir().unwrap();
    let (udp, tcp) = free_ports();
    let _server = start(dir.path(), &rsyslogd, udp, tcp);

    let n = 40;
    send(&format!("udp://127.0.0.1:{udp}"), "udp", n);
    send(&format!("tcp://127.0.0.1:{tcp}"), "tcp", n);

    let out = dir.path().join("received.log");
    let deadline = Instant::now() + Duration::from_secs(20);
    let lines: Vec<String> = loop {
        let text = std::fs::read_to_string(&out).unwrap_or_default();
        let lines: Vec<String> = text
            .lines()
            .filter(|l| l.contains("|logbook-test|"))
            .map(str::to_owned)
            .collect();
        if lines.len() >= 2 * n || Instant::now() > deadline {
            break lines;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    assert_eq!(lines.len(), 2 * n, "{lines:#?}");
    let pid = std::process::id().to_string();
    for transport in ["udp", "tcp"] {
        for i in 0..n {
            let matching: Vec<&String> = lines
                .iter()
                .filter(|l| l.contains(&format!("transport=\"{transport}\" i=\"{i}\"")))
                .collect();
            assert_eq!(matching.len(), 1, "{transport} {i}: {lines:#?}");
            let parts: Vec<&str> = matching[0].splitn(6, '|').collect();
            let (severity, message) = match i % 4 {
                0 => ("2", format!("App: critical {i}")),
                1 => ("5", format!("App: notice {i}")),
                2 => ("4", format!("App: warning {i}")),
                _ => ("7", format!("App: debug\\nmultiline {i}")),
            };
            assert_eq!(parts[0], severity, "{}", matching[0]);
            assert_eq!(parts[1], "1", "facility user");
            assert_eq!(parts[2], "logbook-test");
            assert_eq!(parts[3], pid);
            let level = ["CRITICAL", "NOTICE", "WARNING", "DEBUG"][i % 4];
            assert!(
                parts[4].starts_with(&format!(r#"[logbook@32473 channel="App" level="{level}"][fields@32473 transport="{transport}" i="{i}""#)),
                "{}",
                parts[4]
            );
            if i % 4 == 2 {
                assert!(parts[4].contains(r#"quote="a \"q\" \]""#), "{}", parts[4]);
            }
            assert_eq!(parts[5].trim_start(), message);
        }
    }
}
