//! [`SyslogLayer`]: RFC 5424 messages to a syslog server over UDP, TCP or a Unix socket.
//!
//! Configured from `LOG_SYSLOG` (`udp://127.0.0.1:514`, `tcp://logs.internal:601`,
//! `unix:///dev/log`) or [`SyslogLayer::builder`]. Off by default.
//!
//! # The message
//!
//! ```text
//! <13>1 2026-11-23T19:28:08.123456Z web-1 my-app 4242 - [logbook@32473 channel="App" level="NOTICE"][fields@32473 port="8080"] App: listening
//! ```
//!
//! * severity from the seven levels: critical → crit (2), error → err (3),
//!   warning → warning (4), notice → notice (5), info → info (6), debug and trace →
//!   debug (7); facility `user` unless [`facility`](SyslogLayerBuilder::facility) says
//!   otherwise;
//! * APP-NAME is the program's name, PROCID its process id;
//! * structured data `logbook@32473` carries the channel and the Logbook level, and
//!   `fields@32473` the event's and its spans' fields (names reduced to the 32 printable
//!   ASCII characters RFC 5424 allows; 32473 is the documentation enterprise number);
//! * with the `opentelemetry` feature, inside a span tracing-opentelemetry knows, an
//!   `[opentelemetry trace_id="…" span_id="…"]` element (the W3C ids of the innermost span);
//! * the message is Logbook's syslog format, `channel: message`, on one line: newlines and
//!   control characters are escaped as in Logbook lines.
//!
//! TCP uses octet-counting framing (RFC 6587), so a message may contain anything.
//!
//! # Never blocking, never silent
//!
//! The calling thread formats the message and copies it into a bounded queue, the same
//! one the daily file uses, and never waits; a background thread
//! (`tracing-logbook-syslog`) sends it. When the queue is full or the server
//! unreachable, messages are dropped and counted ([`SyslogHandle::dropped`],
//! [`SyslogHandle::failed`]), a diagnostic is printed once, and when sending works again a
//! message `N messages dropped` is sent first. TCP connections are re-established with
//! backoff.

use std::fmt;
use std::io::{self, Write as _};
use std::net::{TcpStream, ToSocketAddrs, UdpSocket};
use std::sync::Arc;
use std::time::{Duration, Instant};

use time::OffsetDateTime;

use tracing::Subscriber;
use tracing_subscriber::layer::Layer;
use tracing_subscriber::registry::LookupSpan;

use crate::clock::{Clock, SystemClock};
use crate::diag;
use crate::error::Error;
use crate::layer::{self, Emit, Spine};
use crate::layout::syslog::SyslogLayout;
use crate::layout::Layout;
use crate::record::{self, Record};

pub use crate::layout::syslog::severity;
use crate::lifecycle::Deadline;
use crate::sink::spool::{Batch, Config, Output, Spool, Tally};

/// The variable that enables syslog output.
pub const LOG_SYSLOG: &str = "LOG_SYSLOG";

/// Where syslog messages go.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SyslogAddr {
    /// One datagram per message.
    Udp(String),
    /// A stream with octet-counting framing.
    Tcp(String),
    /// A Unix datagram socket such as `/dev/log`.
    Unix(std::path::PathBuf),
}

impl SyslogAddr {
    /// Parses `udp://host:port`, `tcp://host:port` or `unix:///path`.
    ///
    /// # Errors
    ///
    /// An [`Error`] naming `LOG_SYSLOG` and the value.
    ///
    /// # Examples
    ///
    /// ```
    /// use tracing_logbook::syslog::SyslogAddr;
    ///
    /// assert_eq!(
    ///     SyslogAddr::parse("udp://127.0.0.1:514").unwrap(),
    ///     SyslogAddr::Udp("127.0.0.1:514".into())
    /// );
    /// assert!(SyslogAddr::parse("udp://nohost").is_err());
    /// ```
    pub fn parse(value: &str) -> Result<SyslogAddr, Error> {
        let bad = || {
            Error::value(
                LOG_SYSLOG,
                value,
                "expected udp://host:port, tcp://host:port or unix:///path/to/socket",
            )
        };
        if let Some(path) = value.strip_prefix("unix://") {
            if !path.starts_with('/') {
                return Err(bad());
            }
            if cfg!(not(unix)) {
                return Err(Error::value(
                    LOG_SYSLOG,
                    value,
                    "Unix sockets exist only on Unix systems: use udp:// or tcp://",
                ));
            }
            return Ok(SyslogAddr::Unix(path.into()));
        }
        let (scheme, rest) = value.split_once("://").ok_or_else(bad)?;
        let (host, port) = rest.rsplit_once(':').ok_or_else(bad)?;
        if host.is_empty() || port.parse::<u16>().is_err() || rest.contains('/') {
            return Err(bad());
        }
        match scheme {
            "udp" => Ok(SyslogAddr::Udp(rest.to_owned())),
            "tcp" => Ok(SyslogAddr::Tcp(rest.to_owned())),
            _ => Err(bad()),
        }
    }
}

/// `addr` as `LOG_SYSLOG` spells it, for diagnostics.
fn url(addr: &SyslogAddr) -> String {
    match addr {
        SyslogAddr::Udp(a) => format!("udp://{a}"),
        SyslogAddr::Tcp(a) => format!("tcp://{a}"),
        SyslogAddr::Unix(p) => format!("unix://{}", p.display()),
    }
}

/// Syslog facilities (RFC 5424 §6.2.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[allow(missing_docs)]
pub enum Facility {
    Kern = 0,
    User = 1,
    Mail = 2,
    Daemon = 3,
    Auth = 4,
    Syslog = 5,
    Local0 = 16,
    Local1 = 17,
    Local2 = 18,
    Local3 = 19,
    Local4 = 20,
    Local5 = 21,
    Local6 = 22,
    Local7 = 23,
}

/// Builds a [`SyslogLayer`].
///
/// # Default values
///
/// | setting | default |
/// |---|---|
/// | [`facility`](Self::facility) | [`Facility::User`] |
/// | [`app_name`](Self::app_name) | the executable's file name |
/// | [`queue`](Self::queue) | 8192 messages |
#[derive(Debug)]
#[must_use]
pub struct SyslogLayerBuilder {
    addr: SyslogAddr,
    facility: Facility,
    app_name: Option<String>,
    queue: usize,
    clock: Option<Arc<dyn Clock>>,
}

impl SyslogLayerBuilder {
    /// Sets the facility.
    pub fn facility(mut self, facility: Facility) -> Self {
        self.facility = facility;
        self
    }

    /// Sets APP-NAME.
    pub fn app_name(mut self, name: impl Into<String>) -> Self {
        self.app_name = Some(name.into());
        self
    }

    /// Sets how many messages may wait for the background thread.
    pub fn queue(mut self, messages: usize) -> Self {
        self.queue = messages.max(1);
        self
    }

    /// Uses `clock` instead of the system clock (for tests).
    pub fn clock(mut self, clock: impl Clock) -> Self {
        self.clock = Some(Arc::new(clock));
        self
    }

    /// Starts the background thread and returns the layer and its handle.
    ///
    /// Connecting happens on the background thread: an unreachable server costs counted,
    /// reported losses, never an error here.
    ///
    /// # Errors
    ///
    /// An [`Error`] if the background thread cannot be started.
    pub fn build(self) -> Result<(SyslogLayer, SyslogHandle), Error> {
        let app = sanitize_header(self.app_name.as_deref().unwrap_or(&program_name()), 48);
        let host = sanitize_header(&hostname(), 255);
        let layout = Arc::new(SyslogLayout {
            facility: self.facility as u8,
            prefix: format!(" {host} {app} {} - ", std::process::id()),
        });
        let config = Config {
            thread_name: "tracing-logbook-syslog".into(),
            label: format!("the syslog sender for {}", url(&self.addr)),
            unit: "messages",
            verb: "sent",
            capacity: self.queue,
            // Never blocks the caller.
            lossy: true,
            max_wait: Duration::ZERO,
            per_record: true,
            newline: false,
            announce_failures: true,
            notice: crate::layout::loss_notice(layout.clone(), "messages"),
        };
        let spool = Spool::start(config, SocketOutput::new(self.addr))
            .map_err(|e| Error::io("start the syslog thread for", "LOG_SYSLOG", e))?;
        let spool = Arc::new(spool);
        let layer = SyslogLayer {
            spine: Spine::new(
                SyslogOutput {
                    spool: spool.clone(),
                    layout,
                },
                self.clock.unwrap_or_else(|| Arc::new(SystemClock)),
                None,
            ),
        };
        Ok((layer, SyslogHandle { spool }))
    }
}

fn program_name() -> String {
    crate::host::program_name().unwrap_or_else(|| "-".to_owned())
}

fn hostname() -> String {
    crate::host::hostname().unwrap_or_else(|| "-".to_owned())
}

/// RFC 5424 header fields: printable ASCII without spaces, bounded length, `-` if empty.
fn sanitize_header(s: &str, max: usize) -> String {
    let s: String = s
        .chars()
        .map(|c| if c.is_ascii_graphic() { c } else { '_' })
        .take(max)
        .collect();
    if s.is_empty() {
        "-".to_owned()
    } else {
        s
    }
}

/// A [`Layer`] sending each event to syslog (see the [module docs](self)).
///
/// # Examples
///
/// ```
/// use tracing_logbook::syslog::SyslogLayer;
/// use tracing_subscriber::prelude::*;
///
/// let server = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
/// let url = format!("udp://{}", server.local_addr().unwrap());
/// let (layer, handle) = SyslogLayer::builder(&url).unwrap().app_name("demo").build().unwrap();
/// tracing::subscriber::with_default(tracing_subscriber::registry().with(layer), || {
///     tracing_logbook::notice!(target: "App", port = 8080, "listening");
/// });
/// assert!(handle.flush(std::time::Duration::from_secs(5)));
/// let mut buf = [0; 2048];
/// let n = server.recv(&mut buf).unwrap();
/// let msg = std::str::from_utf8(&buf[..n]).unwrap();
/// assert!(msg.starts_with("<13>1 "), "{msg}");
/// assert!(msg.ends_with(r#"[fields@32473 port="8080"] App: listening"#), "{msg}");
/// ```
pub struct SyslogLayer {
    spine: Spine<SyslogOutput>,
}

/// The syslog destination: RFC 5424 messages into the socket's spool.
pub(crate) struct SyslogOutput {
    spool: Arc<Spool<SocketOutput>>,
    layout: Arc<SyslogLayout>,
}

impl SyslogLayer {
    /// A builder for the destination `url` (`udp://…`, `tcp://…`, `unix:///…`).
    ///
    /// # Errors
    ///
    /// An [`Error`] naming `LOG_SYSLOG` if `url` is not understood.
    pub fn builder(url: &str) -> Result<SyslogLayerBuilder, Error> {
        Ok(SyslogLayerBuilder {
            addr: SyslogAddr::parse(url)?,
            facility: Facility::User,
            app_name: None,
            queue: 8192,
            clock: None,
        })
    }
}

impl fmt::Debug for SyslogLayer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SyslogLayer")
            .field("facility", &self.spine.output.layout.facility)
            .finish_non_exhaustive()
    }
}

/// Controls the syslog background thread: flush, stop, counters.
///
/// Every message the layer formats is, in the end, counted once: [`sent`](Self::sent),
/// [`dropped`](Self::dropped) or [`failed`](Self::failed). The `N messages dropped`
/// notices are counted in none of them.
pub struct SyslogHandle {
    spool: Arc<Spool<SocketOutput>>,
}

impl fmt::Debug for SyslogHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SyslogHandle")
            .field("sent", &self.sent())
            .field("dropped", &self.dropped())
            .field("failed", &self.failed())
            .finish()
    }
}

impl SyslogHandle {
    /// Messages sent.
    pub fn sent(&self) -> u64 {
        self.spool.written()
    }

    /// Messages dropped because the queue was full, or because they came after
    /// [`shutdown`](Self::shutdown).
    pub fn dropped(&self) -> u64 {
        self.spool.dropped()
    }

    /// Messages that could not be sent (server unreachable, write error).
    pub fn failed(&self) -> u64 {
        self.spool.failed()
    }

    /// Waits until every message queued so far was handed to the socket (or counted as
    /// failed); false on timeout.
    pub fn flush(&self, timeout: Duration) -> bool {
        self.spool.flush(Deadline::after(timeout))
    }

    /// Flushes, then stops the thread, within `timeout`; false if the deadline passed
    /// first. Messages formatted afterwards are dropped and counted. If the deadline
    /// passes first, a diagnostic says how many messages were not sent and the thread is
    /// left to finish on its own.
    pub fn shutdown(&self, timeout: Duration) -> bool {
        self.spool.shutdown(timeout)
    }

    /// Messages sent (`written`), dropped and failed, in the shape every background
    /// destination of the crate reports.
    pub fn counts(&self) -> crate::Counts {
        crate::Counts::new(self.sent(), self.dropped(), self.failed())
    }
}

impl crate::lifecycle::Component for SyslogHandle {
    fn flush(&self, deadline: Deadline) -> bool {
        SyslogHandle::flush(self, deadline.timeout())
    }
    fn shutdown(&self, deadline: Deadline) -> bool {
        self.spool.shutdown(deadline.timeout())
    }
    fn undelivered(&self) -> crate::lifecycle::Undelivered {
        crate::lifecycle::Undelivered {
            lines: self.spool.backlog(),
            items: 0,
            refused: self.spool.refused(),
        }
    }
    fn close_door(&self) {
        self.spool.close_door();
    }
}

impl Emit for SyslogOutput {
    fn emit(&self, record: &Record<'_>) {
        record::with_line(|msg| {
            self.layout.render(record, msg);
            self.spool.push(record.time, msg.as_bytes());
        });
    }

    fn writes_lines(&self) -> bool {
        true
    }
}

impl SyslogLayer {
    /// The layer's output, for the fan-out `init` installs.
    pub(crate) fn into_output(self) -> SyslogOutput {
        self.spine.into_output()
    }
}

layer::output! { [] SyslogLayer; }

impl<S> Layer<S> for SyslogLayer
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    layer::delegate_layer!(spine);
}

// === the background thread ===

enum Conn {
    Udp(UdpSocket),
    Tcp(TcpStream),
    #[cfg(unix)]
    Unix(std::os::unix::net::UnixDatagram),
}

/// The syslog [`Output`]: owns the connection, reconnects with backoff, frames TCP.
struct SocketOutput {
    addr: SyslogAddr,
    conn: Option<Conn>,
    retry_at: Option<Instant>,
    backoff: Duration,
    report: diag::Once,
    /// The octet-counted frame being sent (TCP), kept to reuse its allocation.
    framed: Vec<u8>,
}

impl Output for SocketOutput {
    type Key = ();

    fn key(_time: OffsetDateTime) {}

    fn write(&mut self, batch: &Batch<()>, tally: &Tally) {
        for (i, seg) in batch.segs().iter().enumerate() {
            let seg = std::slice::from_ref(seg);
            match self.send(batch.seg_bytes(i)) {
                Ok(()) => {
                    tally.wrote(seg);
                    self.backoff = Duration::from_millis(100);
                    if self.report.reset() {
                        diag::report(format_args!("syslog: sending works again"));
                    }
                }
                Err(err) => {
                    tally.lost(seg);
                    if let Some(err) = err {
                        self.report.report(format_args!(
                            "syslog: cannot send to {}: {err}; lost messages are counted",
                            url(&self.addr)
                        ));
                    }
                }
            }
        }
    }
}

impl SocketOutput {
    fn new(addr: SyslogAddr) -> SocketOutput {
        SocketOutput {
            addr,
            conn: None,
            retry_at: None,
            backoff: Duration::from_millis(100),
            report: diag::Once::new(),
            framed: Vec::new(),
        }
    }

    fn connect(&mut self) -> io::Result<Conn> {
        Ok(match &self.addr {
            SyslogAddr::Udp(a) => {
                let target = a
                    .to_socket_addrs()?
                    .next()
                    .ok_or_else(|| io::Error::new(io::ErrorKind::NotFound, "no address"))?;
                let bind = if target.is_ipv4() {
                    "0.0.0.0:0"
                } else {
                    "[::]:0"
                };
                let s = UdpSocket::bind(bind)?;
                s.connect(target)?;
                Conn::Udp(s)
            }
            SyslogAddr::Tcp(a) => {
                let target = a
                    .to_socket_addrs()?
                    .next()
                    .ok_or_else(|| io::Error::new(io::ErrorKind::NotFound, "no address"))?;
                let s = TcpStream::connect_timeout(&target, Duration::from_secs(2))?;
                s.set_write_timeout(Some(Duration::from_secs(2)))?;
                let _ = s.set_nodelay(true);
                Conn::Tcp(s)
            }
            #[cfg(unix)]
            SyslogAddr::Unix(p) => {
                let s = std::os::unix::net::UnixDatagram::unbound()?;
                s.connect(p)?;
                Conn::Unix(s)
            }
            // `SyslogAddr::parse` refuses unix:// elsewhere; a value built by hand fails here.
            #[cfg(not(unix))]
            SyslogAddr::Unix(_) => {
                return Err(io::Error::new(
                    io::ErrorKind::Unsupported,
                    "Unix sockets exist only on Unix systems",
                ))
            }
        })
    }

    /// Sends one message, connecting first if needed. `Err(None)`: lost without trying
    /// (waiting out the backoff after a failed connect).
    fn send(&mut self, msg: &[u8]) -> Result<(), Option<io::Error>> {
        if self.conn.is_none() {
            if self.retry_at.is_some_and(|t| Instant::now() < t) {
                return Err(None);
            }
            match self.connect() {
                Ok(c) => {
                    self.conn = Some(c);
                    self.retry_at = None;
                }
                Err(e) => {
                    self.retry_at = Some(Instant::now() + self.backoff);
                    self.backoff = (self.backoff * 2).min(Duration::from_secs(30));
                    return Err(Some(e));
                }
            }
        }
        let result = match self.conn.as_mut() {
            Some(Conn::Udp(s)) => s.send(msg).map(|_| ()),
            #[cfg(unix)]
            Some(Conn::Unix(s)) => s.send(msg).map(|_| ()),
            Some(Conn::Tcp(s)) => {
                self.framed.clear();
                let _ = write!(self.framed, "{} ", msg.len());
                self.framed.extend_from_slice(msg);
                s.write_all(&self.framed)
            }
            None => return Err(None),
        };
        result.map_err(|e| {
            self.conn = None;
            Some(e)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses() {
        assert_eq!(
            SyslogAddr::parse("tcp://logs:601").unwrap(),
            SyslogAddr::Tcp("logs:601".into())
        );
        assert_eq!(
            SyslogAddr::parse("unix:///dev/log").unwrap(),
            SyslogAddr::Unix("/dev/log".into())
        );
        for bad in [
            "",
            "udp://",
            "udp://host",
            "udp://host:99999",
            "http://h:1",
            "unix://dev/log",
            "tcp://h:1/x",
        ] {
            let err = SyslogAddr::parse(bad).unwrap_err();
            assert_eq!(err.var(), Some("LOG_SYSLOG"), "{bad}");
        }
    }

    #[cfg(unix)]
    #[test]
    fn unix_datagram_socket() {
        use tracing_subscriber::prelude::*;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("log.sock");
        let server = std::os::unix::net::UnixDatagram::bind(&path).unwrap();
        server
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        let url = format!("unix://{}", path.display());
        let (layer, handle) = SyslogLayer::builder(&url)
            .unwrap()
            .app_name("unix-test")
            .build()
            .unwrap();
        tracing::subscriber::with_default(tracing_subscriber::registry().with(layer), || {
            crate::critical!(target: "App", "over the socket");
        });
        assert!(handle.flush(Duration::from_secs(10)));
        let mut buf = [0u8; 2048];
        let n = server.recv(&mut buf).unwrap();
        let msg = std::str::from_utf8(&buf[..n]).unwrap();
        assert!(msg.starts_with("<10>1 "), "{msg}");
        assert!(msg.contains(" unix-test "), "{msg}");
        assert!(msg.ends_with("App: over the socket"), "{msg}");
        assert_eq!((handle.sent(), handle.failed()), (1, 0));
    }

    /// Messages lost while the TCP server is down are announced, as an RFC 5424
    /// message of our own, before the first message that gets through.
    #[test]
    fn losses_are_announced_when_sending_works_again() {
        let said = crate::testing::capture_diagnostics();
        use std::io::Read;
        use tracing_subscriber::prelude::*;
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let (layer, handle) = SyslogLayer::builder(&format!("tcp://127.0.0.1:{port}"))
            .unwrap()
            .app_name("loss-test")
            .build()
            .unwrap();
        let dispatch = tracing::Dispatch::new(tracing_subscriber::registry().with(layer));
        let log = |msg: &str| {
            tracing::dispatcher::with_default(&dispatch, || {
                tracing::info!(target: "App", "{msg}");
            })
        };
        let wait = Duration::from_secs(30);
        for _ in 0..3 {
            log("nobody listens");
        }
        assert!(handle.flush(wait));
        assert_eq!((handle.sent(), handle.failed()), (0, 3));
        let server = std::net::TcpListener::bind(("127.0.0.1", port)).unwrap();
        // Past the reconnect backoff, a message gets through.
        let started = Instant::now();
        while handle.sent() == 0 {
            assert!(started.elapsed() < wait, "never reconnected");
            std::thread::sleep(Duration::from_millis(20));
            log("back");
            assert!(handle.flush(wait));
        }
        let failed = handle.failed();
        let (mut conn, _) = server.accept().unwrap();
        conn.set_read_timeout(Some(wait)).unwrap();
        let mut frames = Vec::new();
        let mut buf = Vec::new();
        while frames.len() < 2 {
            let mut chunk = [0u8; 4096];
            let n = conn.read(&mut chunk).unwrap();
            assert!(n > 0, "connection closed");
            buf.extend_from_slice(&chunk[..n]);
            // Octet counting: `<len> <msg>`.
            while let Some(space) = buf.iter().position(|&b| b == b' ') {
                let len: usize = std::str::from_utf8(&buf[..space]).unwrap().parse().unwrap();
                if buf.len() < space + 1 + len {
                    break;
                }
                frames.push(String::from_utf8(buf[space + 1..space + 1 + len].to_vec()).unwrap());
                buf.drain(..space + 1 + len);
            }
        }
        assert!(frames[0].starts_with("<12>1 "), "{frames:?}");
        assert!(frames[0].contains(" loss-test "), "{frames:?}");
        assert!(
            frames[0].ends_with(&format!(
                "[logbook@32473 channel=\"tracing-logbook\" level=\"WARNING\"] \
                 tracing-logbook: {failed} messages dropped"
            )),
            "{frames:?}"
        );
        assert!(frames[1].ends_with("App: back"), "{frames:?}");
        assert_eq!(handle.sent(), 1);
        handle.shutdown(wait);
        said.assert_said("cannot send to");
        said.assert_said("sending works again");
    }

    #[test]
    fn severities() {
        let got: Vec<u8> = crate::Level::ALL.iter().map(|l| severity(*l)).collect();
        assert_eq!(got, [7, 7, 6, 5, 4, 3, 2]);
    }
}
