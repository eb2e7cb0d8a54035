//! Destinations for finished lines.
//!
//! A [`LineWriter`] receives one complete record at a time (already formatted, ending in
//! `\n`) together with the timestamp printed on it. Writing the record with one call keeps
//! lines from many threads whole, and passing the timestamp lets a daily file pick the
//! file of the printed date.

use std::fmt;
use std::io::{self, IsTerminal, Write};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use time::OffsetDateTime;
use tracing_subscriber::fmt::MakeWriter;

use crate::diag;

pub(crate) mod spool;

/// A destination for complete log records.
///
/// Implementations must not panic and must not log through `tracing`: a failure is
/// counted and reported through the crate's diagnostics instead.
pub trait LineWriter: Send + Sync + 'static {
    /// Writes one record. `line` is the whole record including its final `\n`; `time` is
    /// the timestamp printed on it, in the layer's display offset.
    fn write_line(&self, time: OffsetDateTime, line: &[u8]);

    /// Writes `count` complete records (`lines`, each ending in `\n`) together, with
    /// nothing of other threads between them: a failed request's held lines
    /// ([`FingersCrossed`](crate::FingersCrossed)). `time` is the timestamp printed on
    /// the last. The default writes them as one [`write_line`](Self::write_line); a
    /// writer that counts records counts `count`.
    fn write_lines(&self, time: OffsetDateTime, lines: &[u8], count: usize) {
        let _ = count;
        self.write_line(time, lines);
    }

    /// Whether the destination is an interactive terminal (used for automatic colors).
    fn is_terminal(&self) -> bool {
        false
    }

    /// Flushes buffered records, if the writer buffers.
    fn flush(&self) {}
}

/// How a writer that can lose records (the [`DailyFile`](crate::DailyFile)) announces
/// them in its layer's format: a `WARNING` record from `tracing-logbook`, `N lines
/// dropped`, rendered by that layer's layout (a Logbook line, a JSON line). The layer
/// gives it to the file it is built with; the file writes it into the log when writing
/// resumes after losses. Without one, a Logbook line.
#[derive(Clone)]
pub(crate) struct LossNotice(pub(crate) spool::Notice);

impl fmt::Debug for LossNotice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("LossNotice")
    }
}

/// A writer behind a pointer writes as the writer does.
macro_rules! forward_line_writer {
    ($($ptr:ident),*) => {$(
        impl<W: LineWriter + ?Sized> LineWriter for $ptr<W> {
            #[inline]
            fn write_line(&self, time: OffsetDateTime, line: &[u8]) {
                (**self).write_line(time, line)
            }
            #[inline]
            fn write_lines(&self, time: OffsetDateTime, lines: &[u8], count: usize) {
                (**self).write_lines(time, lines, count)
            }
            fn is_terminal(&self) -> bool {
                (**self).is_terminal()
            }
            fn flush(&self) {
                (**self).flush()
            }
        }
    )*};
}
forward_line_writer!(Arc, Box);

/// Writes records to the process's standard output, one `write_all` per record.
///
/// Write errors (a full disk behind a redirect) are counted, reported once to stderr,
/// and never panic. A closed pipe (`my-app | head`) ends the output quietly, as a
/// well-behaved command-line program: the lines are counted as failed, no diagnostic.
///
/// [`Stdout::test`] writes through `print!` instead, which libtest captures, so the lines
/// of a test show only when it fails (as tracing-subscriber's `TestWriter`); `init` uses
/// it in [`Mode::Test`](crate::Mode::Test).
#[derive(Debug, Default)]
pub struct Stdout {
    failed: AtomicU64,
    report: diag::Once,
    closed: std::sync::atomic::AtomicBool,
    captured: bool,
}

impl Stdout {
    /// A writer to standard output.
    ///
    /// ```
    /// use tracing_subscriber::prelude::*;
    /// let layer = tracing_logbook::LogbookLayer::builder().build(tracing_logbook::Stdout::new());
    /// tracing::subscriber::with_default(tracing_subscriber::registry().with(layer), || {
    ///     tracing::info!("one write per record");
    /// });
    /// ```
    pub fn new() -> Self {
        Stdout::default()
    }

    /// A writer to standard output through `print!`, so that libtest's output capture
    /// holds the lines of each test.
    ///
    /// ```
    /// use tracing_logbook::{LineWriter, Stdout};
    /// let out = Stdout::test();
    /// out.write_line(time::OffsetDateTime::UNIX_EPOCH, b"shown only if this test fails\n");
    /// assert_eq!(out.failed_lines(), 0);
    /// ```
    pub fn test() -> Self {
        Stdout {
            captured: true,
            ..Stdout::default()
        }
    }

    /// How many records could not be written.
    ///
    /// ```
    /// let out = tracing_logbook::Stdout::new();
    /// assert_eq!(out.failed_lines(), 0);
    /// ```
    pub fn failed_lines(&self) -> u64 {
        self.failed.load(Ordering::Relaxed)
    }

    #[allow(clippy::print_stdout)] // the one place: libtest captures only `print!`
    fn write_captured(&self, line: &[u8]) -> io::Result<()> {
        let text = String::from_utf8_lossy(line);
        // `print!` panics when stdout fails outside a capture: a failed write, not a
        // panic of the program.
        std::panic::catch_unwind(|| print!("{text}")).map_err(|_| io::Error::other("stdout failed"))
    }
}

impl LineWriter for Stdout {
    fn write_line(&self, _time: OffsetDateTime, line: &[u8]) {
        if self.closed.load(Ordering::Relaxed) {
            self.failed.fetch_add(1, Ordering::Relaxed);
            return;
        }
        let written = if self.captured {
            self.write_captured(line)
        } else {
            io::stdout().lock().write_all(line)
        };
        match written {
            Ok(()) => {
                if self.report.reset() {
                    diag::report(format_args!("writing to stdout works again"));
                }
            }
            Err(err) if err.kind() == io::ErrorKind::BrokenPipe => {
                // The reader is gone (`| head`): the output ends here, quietly.
                self.closed.store(true, Ordering::Relaxed);
                self.failed.fetch_add(1, Ordering::Relaxed);
            }
            Err(err) => {
                self.failed.fetch_add(1, Ordering::Relaxed);
                self.report.report(format_args!(
                    "cannot write log lines to stdout: {err}; lost lines are counted"
                ));
            }
        }
    }

    fn is_terminal(&self) -> bool {
        !self.captured && io::stdout().is_terminal()
    }

    fn flush(&self) {
        if !self.closed.load(Ordering::Relaxed) {
            let _ = io::stdout().lock().flush();
        }
    }
}

/// An in-memory destination, for tests: every record is appended to a shared buffer.
///
/// Clones share the buffer.
///
/// # Examples
///
/// ```
/// use tracing_logbook::testing::{CaptureWriter, ManualClock};
/// use tracing_logbook::LogbookLayer;
/// use tracing_subscriber::prelude::*;
///
/// let out = CaptureWriter::new();
/// let clock = ManualClock::new(time::macros::datetime!(2026-11-23 19:28:08.123456 UTC));
/// let layer = LogbookLayer::builder().clock(clock).build(out.clone());
/// tracing::subscriber::with_default(tracing_subscriber::registry().with(layer), || {
///     tracing::info!(target: "App", "server started");
/// });
/// assert_eq!(out.take_string(), "[2026-11-23 19:28:08.123456] INFO: App: server started\n");
/// ```
#[derive(Clone, Debug, Default)]
pub struct CaptureWriter {
    buf: Arc<Mutex<Vec<u8>>>,
}

impl CaptureWriter {
    /// An empty capture buffer.
    pub fn new() -> Self {
        CaptureWriter::default()
    }

    /// Returns everything written so far as UTF-8 (lossily) and clears the buffer.
    ///
    /// ```
    /// use tracing_logbook::{testing::CaptureWriter, LineWriter};
    /// let out = CaptureWriter::new();
    /// out.write_line(time::OffsetDateTime::UNIX_EPOCH, b"a line\n");
    /// assert_eq!(out.take_string(), "a line\n");
    /// assert_eq!(out.take_string(), "");
    /// ```
    pub fn take_string(&self) -> String {
        let bytes = std::mem::take(&mut *self.buf.lock().unwrap_or_else(PoisonError::into_inner));
        String::from_utf8(bytes)
            .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
    }

    /// Returns a copy of everything written so far.
    ///
    /// ```
    /// use tracing_logbook::{testing::CaptureWriter, LineWriter};
    /// let out = CaptureWriter::new();
    /// out.write_line(time::OffsetDateTime::UNIX_EPOCH, b"kept\n");
    /// assert_eq!(out.contents(), b"kept\n");
    /// assert_eq!(out.contents(), b"kept\n");
    /// ```
    pub fn contents(&self) -> Vec<u8> {
        self.buf
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

impl LineWriter for CaptureWriter {
    fn write_line(&self, _time: OffsetDateTime, line: &[u8]) {
        self.buf
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .extend_from_slice(line);
    }
}

/// Adapts any `tracing_subscriber` [`MakeWriter`] (for example a
/// `tracing_appender::non_blocking` writer, or `std::io::stderr`) into a [`LineWriter`].
///
/// Each record is written with one `write_all` on a fresh writer from the `MakeWriter`.
/// Write errors are counted and reported once.
pub struct MakeWriterSink<M> {
    make: M,
    failed: AtomicU64,
    report: diag::Once,
    terminal: bool,
}

impl<M> MakeWriterSink<M> {
    /// Wraps `make`.
    ///
    /// ```
    /// use tracing_subscriber::prelude::*;
    /// let sink = tracing_logbook::MakeWriterSink::new(std::io::stderr);
    /// let layer = tracing_logbook::LogbookLayer::builder().build(sink);
    /// tracing::subscriber::with_default(tracing_subscriber::registry().with(layer), || {
    ///     tracing::info!("on stderr");
    /// });
    /// ```
    pub fn new(make: M) -> Self {
        MakeWriterSink {
            make,
            failed: AtomicU64::new(0),
            report: diag::Once::new(),
            terminal: false,
        }
    }

    /// Declares whether the destination is a terminal (for automatic colors). Default false.
    ///
    /// ```
    /// use std::io::IsTerminal;
    /// let sink = tracing_logbook::MakeWriterSink::new(std::io::stderr)
    ///     .with_terminal(std::io::stderr().is_terminal());
    /// ```
    #[must_use]
    pub fn with_terminal(mut self, terminal: bool) -> Self {
        self.terminal = terminal;
        self
    }

    /// How many records could not be written.
    ///
    /// ```
    /// let sink = tracing_logbook::MakeWriterSink::new(std::io::sink);
    /// assert_eq!(sink.failed_lines(), 0);
    /// ```
    pub fn failed_lines(&self) -> u64 {
        self.failed.load(Ordering::Relaxed)
    }
}

impl<M> fmt::Debug for MakeWriterSink<M> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MakeWriterSink")
            .field("failed", &self.failed)
            .finish_non_exhaustive()
    }
}

impl<M> LineWriter for MakeWriterSink<M>
where
    M: for<'a> MakeWriter<'a> + Send + Sync + 'static,
{
    #[inline]
    fn write_line(&self, _time: OffsetDateTime, line: &[u8]) {
        if let Err(err) = self.make.make_writer().write_all(line) {
            self.failed.fetch_add(1, Ordering::Relaxed);
            self.report.report(format_args!(
                "cannot write a log line: {err}; lost lines are counted"
            ));
        }
    }

    fn is_terminal(&self) -> bool {
        self.terminal
    }

    fn flush(&self) {
        let _ = self.make.make_writer().flush();
    }
}
