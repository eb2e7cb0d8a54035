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
//! * the message is Logbook's syslog format, `channel: message`, on one line: newlines and
//!   control characters are escaped as in Logbook lines.
//!
//! TCP uses octet-counting framing (RFC 6587), so a message may contain anything.
//!
//! # Never blocking, never silent
//!
//! The calling thread formats the message and hands it to a background thread
//! (`tracing-logbook-syslog`) through a bounded queue. When the queue is full or the
//! server unreachable, messages are dropped and counted ([`SyslogHandle::dropped`],
//! [`SyslogHandle::failed`]), a diagnostic is printed once, and when sending works again a
//! message `N messages dropped` is sent first. TCP connections are re-established with
//! backoff.

use std::fmt;
use std::io::{self, Write as _};
use std::net::{TcpStream, ToSocketAddrs, UdpSocket};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, SyncSender, TrySendError};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use tracing::{Event, Subscriber};
use tracing_subscriber::layer::{Context, Layer};
use tracing_subscriber::registry::LookupSpan;

use crate::clock::{Clock, SystemClock};
use crate::diag;
use crate::error::Error;
use crate::layout::syslog::SyslogLayout;
use crate::layout::{Emit, Layout};
use crate::record::{self, FieldList, Record};

pub use crate::layout::syslog::severity;

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
        let (tx, rx) = mpsc::sync_channel(self.queue);
        let stats = Arc::new(Stats::default());
        let worker_stats = stats.clone();
        let addr = self.addr.clone();
        let app = sanitize_header(self.app_name.as_deref().unwrap_or(&program_name()), 48);
        let host = sanitize_header(&hostname(), 255);
        let layout = Arc::new(SyslogLayout {
            facility: self.facility as u8,
            prefix: format!(" {host} {app} {} - ", std::process::id()),
        });
        let worker_layout = layout.clone();
        let thread = std::thread::Builder::new()
            .name("tracing-logbook-syslog".into())
            .spawn(move || Worker::new(addr, worker_stats, worker_layout).run(rx))
            .map_err(|e| Error::io("start the syslog thread for", "LOG_SYSLOG", e))?;
        let layer = SyslogLayer {
            tx: tx.clone(),
            stats: stats.clone(),
            layout,
            clock: self.clock.unwrap_or_else(|| Arc::new(SystemClock)),
            id: record::next_layer_id(),
        };
        let handle = SyslogHandle {
            tx: Mutex::new(Some(tx)),
            thread: Mutex::new(Some(thread)),
            stats,
        };
        Ok((layer, handle))
    }
}

fn program_name() -> String {
    std::env::current_exe()
        .ok()
        .and_then(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
        .unwrap_or_else(|| "-".to_owned())
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

#[derive(Debug, Default)]
struct Stats {
    sent: AtomicU64,
    dropped: AtomicU64,
    failed: AtomicU64,
}

enum Msg {
    Line(Vec<u8>),
    Flush(SyncSender<()>),
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
    tx: SyncSender<Msg>,
    stats: Arc<Stats>,
    layout: Arc<SyslogLayout>,
    clock: Arc<dyn Clock>,
    id: usize,
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
            .field("facility", &self.layout.facility)
            .finish_non_exhaustive()
    }
}

/// Controls the syslog background thread: flush, stop, counters.
pub struct SyslogHandle {
    tx: Mutex<Option<SyncSender<Msg>>>,
    thread: Mutex<Option<JoinHandle<()>>>,
    stats: Arc<Stats>,
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
        self.stats.sent.load(Ordering::Relaxed)
    }

    /// Messages dropped because the queue was full.
    pub fn dropped(&self) -> u64 {
        self.stats.dropped.load(Ordering::Relaxed)
    }

    /// Messages that could not be sent (server unreachable, write error).
    pub fn failed(&self) -> u64 {
        self.stats.failed.load(Ordering::Relaxed)
    }

    /// Waits until every message queued so far was handed to the socket; false on timeout.
    pub fn flush(&self, timeout: Duration) -> bool {
        let deadline = crate::lifecycle::Deadline::after(timeout);
        let Some(tx) = self
            .tx
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
        else {
            return true;
        };
        let (reply_tx, reply_rx) = mpsc::sync_channel(1);
        // The queue may be full: keep trying until the deadline.
        let mut msg = Msg::Flush(reply_tx);
        loop {
            match tx.try_send(msg) {
                Ok(()) => break,
                Err(TrySendError::Full(m)) => {
                    if deadline.passed() {
                        return false;
                    }
                    msg = m;
                    std::thread::sleep(Duration::from_millis(1));
                }
                Err(TrySendError::Disconnected(_)) => return true,
            }
        }
        match deadline.remaining() {
            Some(left) => reply_rx.recv_timeout(left).is_ok(),
            None => reply_rx.recv().is_ok(),
        }
    }

    /// Flushes, then stops the thread, within `timeout`.
    pub fn shutdown(&self, timeout: Duration) {
        let flushed = self.flush(timeout);
        // Dropping our sender ends the thread once the layer's sender is gone too; the
        // thread is detached otherwise (the layer lives in the global subscriber).
        self.tx
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        if !flushed {
            diag::report(format_args!(
                "syslog: messages still queued after {timeout:?} were not sent"
            ));
        }
        let thread = self
            .thread
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        if let Some(thread) = thread {
            if thread.is_finished() {
                let _ = thread.join();
            }
        }
    }
}

impl crate::lifecycle::Component for SyslogHandle {
    fn flush(&self, deadline: crate::lifecycle::Deadline) -> bool {
        SyslogHandle::flush(self, deadline.timeout())
    }
    fn shutdown(&self, deadline: crate::lifecycle::Deadline) -> bool {
        SyslogHandle::shutdown(self, deadline.timeout());
        true
    }
}

impl Emit for SyslogLayer {
    fn emit(&self, record: &Record<'_>) {
        let mut msg = String::with_capacity(256);
        self.layout.render(record, &mut msg);
        if self.tx.try_send(Msg::Line(msg.into_bytes())).is_err() {
            self.stats.dropped.fetch_add(1, Ordering::Relaxed);
        }
    }
}

impl<S> Layer<S> for SyslogLayer
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    record::span_hooks!();

    fn on_event(&self, event: &Event<'_>, ctx: Context<'_, S>) {
        record::capture(event, &ctx, self.clock.now_utc(), |record| {
            self.emit(record)
        });
    }
}

// === the background thread ===

enum Conn {
    Udp(UdpSocket),
    Tcp(TcpStream),
    #[cfg(unix)]
    Unix(std::os::unix::net::UnixDatagram),
}

struct Worker {
    addr: SyslogAddr,
    conn: Option<Conn>,
    stats: Arc<Stats>,
    layout: Arc<SyslogLayout>,
    /// Losses not yet announced to the server.
    unannounced: u64,
    seen_dropped: u64,
    retry_at: Option<Instant>,
    backoff: Duration,
    report: diag::Once,
}

impl Worker {
    fn new(addr: SyslogAddr, stats: Arc<Stats>, layout: Arc<SyslogLayout>) -> Worker {
        Worker {
            addr,
            conn: None,
            stats,
            layout,
            unannounced: 0,
            seen_dropped: 0,
            retry_at: None,
            backoff: Duration::from_millis(100),
            report: diag::Once::new(),
        }
    }

    fn run(mut self, rx: Receiver<Msg>) {
        loop {
            match rx.recv_timeout(Duration::from_secs(1)) {
                Ok(Msg::Line(line)) => self.send(&line),
                Ok(Msg::Flush(reply)) => {
                    let _ = reply.send(());
                }
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => return,
            }
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

    fn write(conn: &mut Conn, line: &[u8]) -> io::Result<()> {
        match conn {
            Conn::Udp(s) => s.send(line).map(|_| ()),
            #[cfg(unix)]
            Conn::Unix(s) => s.send(line).map(|_| ()),
            Conn::Tcp(s) => {
                let mut framed = Vec::with_capacity(line.len() + 8);
                let _ = write!(framed, "{} ", line.len());
                framed.extend_from_slice(line);
                s.write_all(&framed)
            }
        }
    }

    fn send(&mut self, line: &[u8]) {
        let dropped = self.stats.dropped.load(Ordering::Relaxed);
        self.unannounced += dropped - self.seen_dropped;
        self.seen_dropped = dropped;
        if self.conn.is_none() {
            if self.retry_at.is_some_and(|t| Instant::now() < t) {
                self.fail(None);
                return;
            }
            match self.connect() {
                Ok(c) => {
                    self.conn = Some(c);
                    self.retry_at = None;
                }
                Err(e) => {
                    self.retry_at = Some(Instant::now() + self.backoff);
                    self.backoff = (self.backoff * 2).min(Duration::from_secs(30));
                    self.fail(Some(e));
                    return;
                }
            }
        }
        if self.unannounced > 0 {
            let notice = self.loss_message(self.unannounced);
            if let Some(conn) = self.conn.as_mut() {
                if Self::write(conn, notice.as_bytes()).is_ok() {
                    self.unannounced = 0;
                }
            }
        }
        let result = match self.conn.as_mut() {
            Some(conn) => Self::write(conn, line),
            None => return,
        };
        match result {
            Ok(()) => {
                self.stats.sent.fetch_add(1, Ordering::Relaxed);
                self.backoff = Duration::from_millis(100);
                if self.report.reset() {
                    diag::report(format_args!("syslog: sending works again"));
                }
            }
            Err(e) => {
                self.conn = None;
                self.fail(Some(e));
            }
        }
    }

    fn fail(&mut self, err: Option<io::Error>) {
        self.stats.failed.fetch_add(1, Ordering::Relaxed);
        self.unannounced += 1;
        if let Some(err) = err {
            self.report.report(format_args!(
                "syslog: cannot send to {:?}: {err}; lost messages are counted",
                self.addr
            ));
        }
    }

    /// `N messages dropped`, as a record of the crate's own in the syslog layout.
    fn loss_message(&self, n: u64) -> String {
        let message = format!("{n} messages dropped");
        let fields = FieldList::default();
        let record = Record::notice(
            time::OffsetDateTime::now_utc(),
            crate::level::Level::Warning,
            &message,
            &fields,
        );
        let mut msg = String::new();
        self.layout.render(&record, &mut msg);
        msg
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

    #[test]
    fn severities() {
        let got: Vec<u8> = crate::Level::ALL.iter().map(|l| severity(*l)).collect();
        assert_eq!(got, [7, 7, 6, 5, 4, 3, 2]);
    }
}
