//! [`DailyFile`]: a new Logbook log file every day, written by a background thread.
//!
//! The calling thread copies each finished record into the shared batch of a
//! [`Spool`] under a short lock and returns; its writer thread, named
//! `tracing-logbook-file`, swaps the batch for an empty one and hands it to the
//! [`FileOutput`], which writes it with one `write` per file, so records from many
//! threads never interleave or tear. When the buffer is full the caller waits
//! (backpressure, at most [`max_wait`](DailyFileBuilder::max_wait)), or, in
//! [lossy](DailyFileBuilder::lossy) mode, the record is dropped and counted.

mod compress;
mod names;
pub(crate) mod open;
mod output;

pub use compress::Compression;

use std::fmt;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use time::OffsetDateTime;

use crate::error::Error;
use crate::lifecycle::{Component, Deadline, SHUTDOWN_TIMEOUT};
use crate::sink::spool::{Config, Spool};
use crate::sink::LineWriter;
use names::FileNames;
use output::FileOutput;

/// A [`LineWriter`] that appends each record to the file of the date printed on it:
/// `logs/app.log` is written as `logs/app-2026-11-23.log`, `logs/app-2026-11-24.log`, ...
///
/// * **When**: a record goes into the file of the date in the timestamp the layer printed
///   on it (UTC midnight by default, local midnight with
///   [`Timezone::Local`](crate::Timezone::Local)), so a record stamped
///   `23:59:59.999999` never lands in the next day's file. Days without records get no
///   file. Names are Logbook's `TimedRotatingFileHandler`'s, described in
///   [`DailyFileBuilder`]; with [`max_size`](DailyFileBuilder::max_size) a day continues
///   in `app-2026-11-23.1.log`, `.2.log`, ...
/// * **One stable name** (Unix): the configured path itself, `logs/app.log`, is a
///   symbolic link to the dated file in use, moved atomically at each rollover, so
///   `tail -F logs/app.log` follows the log across days. A log shipper should read the
///   dated files, `logs/app-*.log` (which the link's name does not match), so nothing is
///   read twice. A regular file already at the configured name is left alone (reported
///   once).
/// * **Restarts append**: an existing file is never truncated, also when the clock goes
///   back to a date that already has a file (Logbook can wipe today's file on restart).
/// * **Retention**: only the newest [`max_files`](DailyFileBuilder::max_files) days of
///   this log are kept, judged by the date in their names, each with all its size pieces,
///   at startup and at each rollover, on the writer thread. Only files whose names match
///   this log's own pattern exactly (or that plus `.gz`) are deleted: `app-notes.log` and
///   `app.log.gz` are never touched (Logbook's unanchored pattern deletes them).
/// * **Compressed archives**, with [`Compression::Gzip`]: the files of past days become
///   `app-2026-11-23.log.gz` on a thread of their own (`tracing-logbook-gzip`), never on
///   the logging path or the writer's, once the writer has moved on two days (as
///   logrotate's `delaycompress`: yesterday's files stay, so a log shipper reading
///   `app-*.log` a little behind still finds the lines of just before midnight; tested
///   with rsyslog's `imfile`); a day counts once for retention, compressed or
///   not. A crash never loses a day: a file is compressed to `app-2026-11-23.log.gz.tmp`,
///   synced, renamed to `.gz`, and only then removed (the last two steps while no batch
///   is being written, and only if the file did not grow meanwhile). A restart finishes
///   what was left: a stale `.tmp` is redone, an original still beside its complete
///   `.gz` (same CRC-32 and length as the `.gz`'s last gzip member) is just removed, and
///   a past day reopened by a late line gets its new lines added to the `.gz` as one
///   more gzip member (`zcat` reads it as one file). Tested across a day change with an
///   injected clock, and from every state an interrupted compression can leave.
/// * **Off the hot path**: the caller copies the record into a shared buffer and
///   returns; the `tracing-logbook-file` thread writes whole batches. A record reaches
///   the file within about a millisecond (the writer lets small batches grow that
///   long), or at once on [`flush`](DailyFile::flush).
/// * **Lossless by default**: when [`buffer_lines`](DailyFileBuilder::buffer_lines)
///   records are waiting, callers wait. In [`lossy`](DailyFileBuilder::lossy) mode they
///   drop instead; drops are counted ([`dropped_lines`](DailyFile::dropped_lines)) and a
///   line `[<time>] WARNING: tracing-logbook: N lines dropped` is written into the log
///   when writing resumes.
/// * **A stalled file system never holds the program hostage**: a caller waits for room
///   at most [`max_wait`](DailyFileBuilder::max_wait) (2 s by default). If the writer
///   made no progress in that time (an `open` or `write` that does not return: a hung
///   NFS mount, a lease another program holds on the file), the record is dropped and counted, a diagnostic
///   says so once, and later callers drop at once instead of waiting again, until the
///   writer takes its next batch; then callers wait for room again.
/// * **Write errors** (disk full, directory removed or replaced, permissions) never
///   panic: the lost records are counted ([`failed_lines`](DailyFile::failed_lines)),
///   the problem is reported once on stderr with the `[tracing-logbook]` prefix, and the
///   file (and its directory) is reopened or recreated on the next batch; a second
///   diagnostic says when writing works again. A file that was removed or renamed while
///   open (logrotate) is noticed before the next batch and reopened.
/// * **Nothing planted is followed**: files are opened with `O_NOFOLLOW` and only when
///   they are regular files. A symbolic link, FIFO, socket or device at one of this
///   log's names (planted in a shared directory) is never written, read, compressed or
///   deleted: it is reported once and left alone, and the lines meant for it are counted
///   as failed (at [`build`](DailyFileBuilder::build), today's name holding one is an
///   error naming it).
/// * **Modes**: new files get exactly [`mode`](DailyFileBuilder::mode) (`0640` by
///   default), whatever the umask; an archive (`.gz`) gets the mode of the file it
///   replaces. Existing files keep theirs.
/// * **Records stay whole**: a write that fails part-way (the disk fills in the middle
///   of a batch) is cut off the file again, so the file never ends in a partial record
///   that the next one is glued onto; if it cannot be cut off, or a file is reopened
///   that does not end in a newline (a crash mid-write), the next record starts on a
///   new line.
///
/// `DailyFile` is a cheap handle: clones share the same writer thread. Dropping the last
/// clone flushes and stops the thread, waiting at most [`SHUTDOWN_TIMEOUT`] (5 s).
/// [`flush`](DailyFile::flush), [`written_lines`](DailyFile::written_lines),
/// [`dropped_lines`](DailyFile::dropped_lines) and
/// [`failed_lines`](DailyFile::failed_lines) report what happened: every line handed
/// over is counted once, in one of the three.
///
/// # With `init`
///
/// In staging and production, [`init`](crate::init) writes its lines, without colors,
/// into a `DailyFile` at `LOG_FILE` (default `logs/<program name>.log`, relative to the
/// working directory; `LOG_FILE=-` writes to stdout instead, for containers). The
/// directory is created if missing; `LOG_FILE=logs/` (or any existing directory, or `.`)
/// means the default name inside it. An unwritable path, or a dated name that cannot be
/// opened as a regular file (an existing directory, a device, a symbolic link, a name
/// too long), makes `init` return an error naming it. `LOG_FILE` keeps its bytes: a
/// directory name that is not UTF-8 is used as it is, a file name that is not UTF-8 is
/// an error naming it. A file system without a free inode is no error while today's
/// file exists and can be appended to (that is reported on stderr). `init` prints one
/// line on stderr saying where the lines go:
///
/// ```text
/// [tracing-logbook] production: lines go to /srv/app/logs/app-2026-11-23.log (follow it with tail -F /srv/app/logs/app.log); errors are notified to Rollbar; the last lines are written when the Guard from init is dropped
/// ```
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use tracing_logbook::testing::ManualClock;
/// use tracing_logbook::{ColorChoice, DailyFile, LogbookLayer};
/// use tracing_subscriber::prelude::*;
///
/// let dir = tempfile::tempdir().unwrap();
/// let file = DailyFile::builder(dir.path().join("app.log")).build()?;
/// let clock = ManualClock::new(time::macros::datetime!(2026-11-23 23:59:59.999999 UTC));
/// let layer = LogbookLayer::builder()
///     .clock(clock.clone())
///     .color(ColorChoice::Never)
///     .build(file.clone());
/// tracing::subscriber::with_default(tracing_subscriber::registry().with(layer), || {
///     tracing::info!(target: "app", "last of the day");
///     clock.advance(time::Duration::microseconds(1));
///     tracing::info!(target: "app", "first of the next");
/// });
/// assert!(file.flush(Duration::from_secs(5)));
/// let day1 = std::fs::read_to_string(dir.path().join("app-2026-11-23.log")).unwrap();
/// assert_eq!(day1, "[2026-11-23 23:59:59.999999] INFO: app: last of the day\n");
/// let day2 = std::fs::read_to_string(dir.path().join("app-2026-11-24.log")).unwrap();
/// assert_eq!(day2, "[2026-11-24 00:00:00.000000] INFO: app: first of the next\n");
/// assert!(file.shutdown(Duration::from_secs(5)));
/// # Ok::<(), tracing_logbook::Error>(())
/// ```
#[derive(Clone)]
pub struct DailyFile {
    handle: Arc<Handle>,
}

/// Builds a [`DailyFile`].
///
/// # File names
///
/// As Logbook's `TimedRotatingFileHandler`, the date goes before the last extension:
///
/// | configured path | file for 2026-11-23 | after size rollovers that day |
/// |---|---|---|
/// | `logs/app.log` | `logs/app-2026-11-23.log` | `logs/app-2026-11-23.1.log`, `.2.log`, ... |
/// | `service` | `service-2026-11-23` | `service-2026-11-23.1`, ... |
/// | `app.log.txt` | `app.log-2026-11-23.txt` | `app.log-2026-11-23.1.txt`, ... |
///
/// # Default values
///
/// | setting | default |
/// |---|---|
/// | [`max_files`](Self::max_files) | [`DailyFile::DEFAULT_MAX_FILES`] (30 days; 0 keeps all) |
/// | [`max_size`](Self::max_size) | `None`: one file per day, whatever its size |
/// | [`lossy`](Self::lossy) | `false`: callers wait when the buffer is full |
/// | [`buffer_lines`](Self::buffer_lines) | [`DailyFile::DEFAULT_BUFFER_LINES`] (16384 records) |
/// | [`max_wait`](Self::max_wait) | [`DailyFile::DEFAULT_MAX_WAIT`] (2 s) |
/// | [`compression`](Self::compression) | [`Compression::None`] |
/// | [`mode`](Self::mode) (Unix) | [`DailyFile::DEFAULT_MODE`] (`0o640`) |
///
/// # Examples
///
/// ```
/// use tracing_logbook::DailyFile;
///
/// let dir = tempfile::tempdir().unwrap();
/// let file = DailyFile::builder(dir.path().join("logs/app.log"))
///     .max_files(7)
///     .max_size(Some(100 * 1024 * 1024))
///     .build()?;
/// assert!(dir.path().join("logs").is_dir());
/// # Ok::<(), tracing_logbook::Error>(())
/// ```
#[derive(Clone, Debug)]
#[must_use]
pub struct DailyFileBuilder {
    path: PathBuf,
    max_files: usize,
    max_size: Option<u64>,
    lossy: bool,
    buffer_lines: usize,
    max_wait: Duration,
    compression: Compression,
    mode: u32,
    #[cfg(test)]
    faults: Option<Arc<output::Faults>>,
}

impl DailyFile {
    /// How many days of files are kept by default.
    pub const DEFAULT_MAX_FILES: usize = 30;
    /// How many records may wait for the writer thread by default.
    pub const DEFAULT_BUFFER_LINES: usize = 16 * 1024;
    /// How long a caller waits for room in the buffer by default, at most (see
    /// [`DailyFileBuilder::max_wait`]).
    pub const DEFAULT_MAX_WAIT: Duration = Duration::from_secs(2);
    /// The mode new log files are created with on Unix, by default: `0o640`, read and
    /// write for the owner, read for the group (see [`DailyFileBuilder::mode`]).
    ///
    /// ```
    /// assert_eq!(tracing_logbook::DailyFile::DEFAULT_MODE, 0o640);
    /// ```
    pub const DEFAULT_MODE: u32 = 0o640;

    /// A builder for the log configured as `path` (`logs/app.log`), with the
    /// [default values](DailyFileBuilder#default-values).
    ///
    /// # Examples
    ///
    /// ```
    /// let dir = tempfile::tempdir().unwrap();
    /// let file = tracing_logbook::DailyFile::builder(dir.path().join("app.log")).build()?;
    /// # Ok::<(), tracing_logbook::Error>(())
    /// ```
    pub fn builder(path: impl Into<PathBuf>) -> DailyFileBuilder {
        DailyFileBuilder {
            path: path.into(),
            max_files: Self::DEFAULT_MAX_FILES,
            max_size: None,
            lossy: false,
            buffer_lines: Self::DEFAULT_BUFFER_LINES,
            max_wait: Self::DEFAULT_MAX_WAIT,
            compression: Compression::None,
            mode: Self::DEFAULT_MODE,
            #[cfg(test)]
            faults: None,
        }
    }

    /// The configured path (made absolute), from which the dated names are derived.
    ///
    /// # Examples
    ///
    /// ```
    /// let dir = tempfile::tempdir().unwrap();
    /// let file = tracing_logbook::DailyFile::builder(dir.path().join("app.log")).build()?;
    /// assert_eq!(file.path(), dir.path().join("app.log"));
    /// # Ok::<(), tracing_logbook::Error>(())
    /// ```
    pub fn path(&self) -> &Path {
        &self.handle.path
    }

    /// The file the records of `date` go to first (before any size rollover that day):
    /// `logs/app-2026-11-23.log` for `logs/app.log`.
    ///
    /// # Examples
    ///
    /// ```
    /// let dir = tempfile::tempdir().unwrap();
    /// let file = tracing_logbook::DailyFile::builder(dir.path().join("app.log")).build()?;
    /// let day = time::macros::date!(2026 - 11 - 23);
    /// assert_eq!(file.dated_path(day), dir.path().join("app-2026-11-23.log"));
    /// # Ok::<(), tracing_logbook::Error>(())
    /// ```
    pub fn dated_path(&self, date: time::Date) -> PathBuf {
        self.handle.names.path(date, 0)
    }

    /// Waits until every record handed over so far has been written (or counted as
    /// failed), at most `timeout`. Returns false if the timeout passed first or the
    /// writer has stopped with records unwritten.
    ///
    /// This is an inherent method; [`LineWriter::flush`] (no argument) waits at most
    /// [`SHUTDOWN_TIMEOUT`].
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use tracing_logbook::{DailyFile, LineWriter};
    ///
    /// let dir = tempfile::tempdir().unwrap();
    /// let file = DailyFile::builder(dir.path().join("app.log")).build()?;
    /// let t = time::macros::datetime!(2026-11-23 10:00 UTC);
    /// file.write_line(t, b"[2026-11-23 10:00:00.000000] INFO: app: hello\n");
    /// assert!(file.flush(Duration::from_secs(5)));
    /// assert!(dir.path().join("app-2026-11-23.log").exists());
    /// # Ok::<(), tracing_logbook::Error>(())
    /// ```
    pub fn flush(&self, timeout: Duration) -> bool {
        self.handle.spool.flush(Deadline::after(timeout))
    }

    /// Flushes, stops the writer thread (and, with [`Compression::Gzip`], the
    /// compression thread) and waits for them, at most `timeout` in all. Returns true
    /// when everything was written and the threads have ended. If the deadline passes
    /// first, a diagnostic on stderr says how many records were left and the thread is
    /// left to finish on its own. A compression still running shortly before the
    /// deadline is abandoned (its `.gz.tmp` removed, the day's file kept as it is and
    /// compressed at the next start, no partial `.gz` ever made), said on stderr, and
    /// makes this return false.
    ///
    /// Records written after shutdown are not written; they are counted in
    /// [`dropped_lines`](Self::dropped_lines). Calling it again is harmless.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use tracing_logbook::{DailyFile, LineWriter};
    ///
    /// let dir = tempfile::tempdir().unwrap();
    /// let file = DailyFile::builder(dir.path().join("app.log")).build()?;
    /// file.write_line(time::macros::datetime!(2026-11-23 10:00 UTC), b"[...] INFO: app: bye\n");
    /// assert!(file.shutdown(Duration::from_secs(5)));
    /// assert_eq!((file.dropped_lines(), file.failed_lines()), (0, 0));
    /// # Ok::<(), tracing_logbook::Error>(())
    /// ```
    pub fn shutdown(&self, timeout: Duration) -> bool {
        self.handle.shutdown(timeout)
    }

    /// Lines written, dropped and failed, in the shape every background destination of
    /// the crate reports.
    ///
    /// ```
    /// let dir = tempfile::tempdir().unwrap();
    /// let file = tracing_logbook::DailyFile::builder(dir.path().join("app.log")).build()?;
    /// assert_eq!(file.counts(), tracing_logbook::Counts::default());
    /// # Ok::<(), tracing_logbook::Error>(())
    /// ```
    pub fn counts(&self) -> crate::Counts {
        crate::Counts::new(
            self.written_lines(),
            self.dropped_lines(),
            self.failed_lines(),
        )
    }

    /// How many records were written to the files (the loss notices not counted).
    ///
    /// Every record handed over is, in the end, counted once: written, dropped or
    /// failed.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use tracing_logbook::{DailyFile, LineWriter};
    ///
    /// let dir = tempfile::tempdir().unwrap();
    /// let file = DailyFile::builder(dir.path().join("app.log")).build()?;
    /// file.write_line(time::macros::datetime!(2026-11-23 10:00 UTC), b"[...] INFO: app: hi\n");
    /// assert!(file.flush(Duration::from_secs(5)));
    /// assert_eq!(file.written_lines(), 1);
    /// # Ok::<(), tracing_logbook::Error>(())
    /// ```
    pub fn written_lines(&self) -> u64 {
        self.handle.spool.written()
    }

    /// How many records were dropped: in [lossy](DailyFileBuilder::lossy) mode because
    /// the buffer was full; when lossless, because the writer made no room within
    /// [`max_wait`](DailyFileBuilder::max_wait); or because they arrived after
    /// [`shutdown`](Self::shutdown).
    ///
    /// # Examples
    ///
    /// ```
    /// let dir = tempfile::tempdir().unwrap();
    /// let file = tracing_logbook::DailyFile::builder(dir.path().join("app.log")).build()?;
    /// assert_eq!(file.dropped_lines(), 0);
    /// # Ok::<(), tracing_logbook::Error>(())
    /// ```
    pub fn dropped_lines(&self) -> u64 {
        self.handle.spool.dropped()
    }

    /// How many records could not be written because of write errors (all the records
    /// of a write that failed, also part-way).
    ///
    /// # Examples
    ///
    /// ```
    /// let dir = tempfile::tempdir().unwrap();
    /// let file = tracing_logbook::DailyFile::builder(dir.path().join("app.log")).build()?;
    /// assert_eq!(file.failed_lines(), 0);
    /// # Ok::<(), tracing_logbook::Error>(())
    /// ```
    pub fn failed_lines(&self) -> u64 {
        self.handle.spool.failed()
    }

    /// The spool behind the file, for the shutdown paths (`lifecycle`).
    pub(crate) fn spool(&self) -> &Spool<FileOutput> {
        &self.handle.spool
    }
}

impl fmt::Debug for DailyFile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DailyFile")
            .field("path", &self.handle.path)
            .field("lossy", &self.handle.spool.lossy())
            .field("written_lines", &self.written_lines())
            .field("dropped_lines", &self.dropped_lines())
            .field("failed_lines", &self.failed_lines())
            .finish_non_exhaustive()
    }
}

impl LineWriter for DailyFile {
    #[inline]
    fn write_line(&self, time: OffsetDateTime, line: &[u8]) {
        self.handle.spool.push(time, line);
    }

    /// One piece in the queue, counted as `count` lines.
    fn write_lines(&self, time: OffsetDateTime, lines: &[u8], count: usize) {
        self.handle.spool.push_records(time, lines, count);
    }

    /// Waits at most [`SHUTDOWN_TIMEOUT`] for the writer (see [`DailyFile::flush`]).
    fn flush(&self) {
        DailyFile::flush(self, SHUTDOWN_TIMEOUT);
    }
}

#[cfg(test)]
impl DailyFile {
    /// A lossy daily file at `path` with room for two lines, whose writer a test can
    /// stall (`faults.paused`) to make it lose lines.
    pub(crate) fn lossy_with_faults(path: &Path) -> (DailyFile, Arc<output::Faults>) {
        let faults = Arc::new(output::Faults::default());
        let file = DailyFile::builder(path)
            .lossy(true)
            .buffer_lines(2)
            .faults(faults.clone())
            .build()
            .unwrap();
        (file, faults)
    }
}

impl DailyFile {
    /// Announces later losses in the format of the layer writing to this file (a JSON
    /// layer's file gets JSON notices): called by the layer built with it.
    pub(crate) fn set_loss_notice(&self, notice: crate::sink::LossNotice) {
        self.handle.spool.set_notice(notice.0);
    }
}

impl DailyFileBuilder {
    /// Keeps only the newest `n` days of this log (by the date in the file names), each
    /// with all its size pieces (`app-<date>.1.log`, ...); `0` keeps all. The file being
    /// written is never deleted.
    ///
    /// ```
    /// let dir = tempfile::tempdir().unwrap();
    /// let file = tracing_logbook::DailyFile::builder(dir.path().join("app.log"))
    ///     .max_files(7) // a week, whatever the size pieces
    ///     .build()?;
    /// # Ok::<(), tracing_logbook::Error>(())
    /// ```
    pub fn max_files(mut self, n: usize) -> Self {
        self.max_files = n;
        self
    }

    /// Starts a new file within the day (`app-2026-11-23.1.log`, `.2.log`, ...) before a
    /// record would take the current one past `bytes`. A record larger than `bytes` gets
    /// a file of its own; a file is never left empty. `None` (the default) turns this
    /// off.
    ///
    /// ```
    /// let dir = tempfile::tempdir().unwrap();
    /// let file = tracing_logbook::DailyFile::builder(dir.path().join("app.log"))
    ///     .max_size(Some(100 * 1024 * 1024))
    ///     .build()?;
    /// # Ok::<(), tracing_logbook::Error>(())
    /// ```
    pub fn max_size(mut self, bytes: Option<u64>) -> Self {
        self.max_size = bytes;
        self
    }

    /// Drops (and counts) records instead of waiting when the buffer is full. A line
    /// `N lines dropped` is written into the log when writing resumes.
    ///
    /// ```
    /// let dir = tempfile::tempdir().unwrap();
    /// let file = tracing_logbook::DailyFile::builder(dir.path().join("app.log"))
    ///     .lossy(true)
    ///     .buffer_lines(1024)
    ///     .build()?;
    /// assert_eq!(file.dropped_lines(), 0);
    /// # Ok::<(), tracing_logbook::Error>(())
    /// ```
    pub fn lossy(mut self, lossy: bool) -> Self {
        self.lossy = lossy;
        self
    }

    /// How many records may wait for the writer thread before callers wait (or drop,
    /// when lossy); at least 1. Besides this buffer the writer holds the batch it is
    /// writing, so at most about twice this many records (and never much more than
    /// 2 × 4 MiB once a batch is that big) are in memory.
    ///
    /// ```
    /// let dir = tempfile::tempdir().unwrap();
    /// let file = tracing_logbook::DailyFile::builder(dir.path().join("app.log"))
    ///     .buffer_lines(64 * 1024)
    ///     .build()?;
    /// # Ok::<(), tracing_logbook::Error>(())
    /// ```
    pub fn buffer_lines(mut self, n: usize) -> Self {
        self.buffer_lines = n.max(1);
        self
    }

    /// How long a caller waits for room in a full buffer, at most, when not
    /// [lossy](Self::lossy) (default [`DailyFile::DEFAULT_MAX_WAIT`], 2 s).
    ///
    /// A writer that keeps up never makes a caller wait this long; one that is stuck (an
    /// `open` or `write` that does not return, as on a hung network file system) would
    /// otherwise hold every logging thread forever. When the wait runs out the record is
    /// dropped and counted in [`dropped_lines`](DailyFile::dropped_lines), a diagnostic
    /// is printed once, and while the writer still makes no progress later callers drop
    /// at once rather than each waiting again. When the writer takes its next batch,
    /// callers wait for room again and the log gets an `N lines dropped` line.
    /// `Duration::MAX` waits as long as it takes.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    ///
    /// let dir = tempfile::tempdir().unwrap();
    /// let file = tracing_logbook::DailyFile::builder(dir.path().join("app.log"))
    ///     .max_wait(Duration::from_millis(500))
    ///     .build()?;
    /// # Ok::<(), tracing_logbook::Error>(())
    /// ```
    pub fn max_wait(mut self, wait: Duration) -> Self {
        self.max_wait = wait;
        self
    }

    /// Compresses the files of past days ([`Compression::Gzip`]: `app-2026-11-23.log` →
    /// `app-2026-11-23.log.gz`) on a background thread once the writer has moved on two
    /// days (yesterday's files stay uncompressed, for log shippers still reading them),
    /// and at start for the days an earlier run left uncompressed.
    /// Writing never waits for it; retention ([`max_files`](Self::max_files)) counts a
    /// day the same whether its files are compressed or not. What a crash leaves behind,
    /// and how a restart finishes it: *Compressed archives* on [`DailyFile`].
    ///
    /// ```
    /// use tracing_logbook::{Compression, DailyFile};
    ///
    /// let dir = tempfile::tempdir().unwrap();
    /// let file = DailyFile::builder(dir.path().join("app.log"))
    ///     .compression(Compression::Gzip)
    ///     .build()?;
    /// # Ok::<(), tracing_logbook::Error>(())
    /// ```
    pub fn compression(mut self, compression: Compression) -> Self {
        self.compression = compression;
        self
    }

    /// The permission bits new log files are created with (Unix; default
    /// [`DailyFile::DEFAULT_MODE`], `0o640`). They are exactly these: set again with
    /// `fchmod` after the file is created, so the process's umask neither widens them
    /// (umask `000` used to give `0666` logs) nor narrows them. Existing files keep
    /// their mode; a day compressed to `.gz` keeps the mode its file had.
    ///
    /// ```
    /// # #[cfg(unix)] {
    /// use std::os::unix::fs::PermissionsExt;
    /// use tracing_logbook::{DailyFile, LineWriter};
    ///
    /// let dir = tempfile::tempdir().unwrap();
    /// let file = DailyFile::builder(dir.path().join("app.log")).mode(0o600).build()?;
    /// file.write_line(time::macros::datetime!(2026-11-23 10:00 UTC), b"[...] INFO: app: hi\n");
    /// assert!(file.shutdown(std::time::Duration::from_secs(5)));
    /// let meta = std::fs::metadata(dir.path().join("app-2026-11-23.log")).unwrap();
    /// assert_eq!(meta.permissions().mode() & 0o777, 0o600);
    /// # }
    /// # Ok::<(), tracing_logbook::Error>(())
    /// ```
    #[cfg(unix)]
    pub fn mode(mut self, mode: u32) -> Self {
        self.mode = mode & 0o7777;
        self
    }

    /// Injects write faults (unit tests only).
    #[cfg(test)]
    pub(crate) fn faults(mut self, faults: Arc<output::Faults>) -> Self {
        self.faults = Some(faults);
        self
    }

    /// Creates the directory if missing, checks that it is writable, and starts the
    /// writer thread (which first prunes old files). Today's file is opened when the
    /// first record arrives.
    ///
    /// # Errors
    ///
    /// An [`Error`] naming the path when the path has no file name (or one that is not
    /// UTF-8), the directory cannot be created or written to, today's file cannot be
    /// opened (a symbolic link or special file at its name included), or the thread
    /// cannot be started. Never a panic. A directory without room for a new file (no
    /// free inode, no quota left) is no error while today's file exists and can be
    /// appended to: that is reported on stderr.
    ///
    /// # Examples
    ///
    /// ```
    /// let dir = tempfile::tempdir().unwrap();
    /// std::fs::write(dir.path().join("not-a-dir"), "").unwrap();
    /// let err = tracing_logbook::DailyFile::builder(dir.path().join("not-a-dir/app.log"))
    ///     .build()
    ///     .unwrap_err();
    /// assert_eq!(err.path(), Some(dir.path().join("not-a-dir").as_path()));
    /// assert!(err.to_string().starts_with("cannot create log directory "));
    /// ```
    pub fn build(self) -> Result<DailyFile, Error> {
        let path = std::path::absolute(&self.path)
            .map_err(|e| Error::io("resolve log file path", &self.path, e))?;
        let names = FileNames::new(&path).map_err(|e| {
            Error::io(
                "use log file",
                &path,
                io::Error::new(io::ErrorKind::InvalidInput, e.message()),
            )
        })?;
        if path.is_dir() {
            // Never a dated file beside the directory the user named.
            return Err(Error::io(
                "use log file",
                &path,
                io::Error::new(
                    io::ErrorKind::InvalidInput,
                    "it is a directory: name a file inside it, such as app.log",
                ),
            ));
        }
        let dir = names.dir().to_path_buf();
        fs::create_dir_all(&dir).map_err(|e| Error::io("create log directory", &dir, e))?;
        let today = names.path(OffsetDateTime::now_utc().date(), 0);
        check_writable(&dir, &today).map_err(|e| Error::io("write to log directory", &dir, e))?;
        check_openable(&today, self.mode).map_err(|e| Error::io("open log file", &today, e))?;

        let dated = names.clone();
        #[allow(unused_mut)]
        let mut output = FileOutput::new(
            names,
            path.clone(),
            self.max_files,
            self.max_size,
            self.mode,
        );
        let compressor = match self.compression {
            Compression::Gzip => Some(
                compress::Compressor::start(output.names().clone())
                    .map_err(|e| Error::io("start the compression thread for", &path, e))?,
            ),
            Compression::None => None,
        };
        output.compressor = compressor.clone();
        #[cfg(test)]
        {
            output.faults = self.faults;
        }
        let config = Config {
            thread_name: "tracing-logbook-file".into(),
            label: format!("the log file writer for {}", path.display()),
            unit: "lines",
            verb: "written",
            capacity: self.buffer_lines.max(1),
            lossy: self.lossy,
            max_wait: self.max_wait,
            // One segment per record, to split batches for size rollover.
            per_record: self.max_size.is_some(),
            newline: true,
            announce_failures: false,
            // A Logbook line until the layer writing here says otherwise
            // (`DailyFile::set_loss_notice`).
            notice: crate::sink::LossNotice::default().0,
        };
        let spool = match Spool::start(config, output) {
            Ok(spool) => spool,
            Err(e) => {
                if let Some(compressor) = &compressor {
                    compressor.shutdown(Deadline::after(SHUTDOWN_TIMEOUT));
                }
                return Err(Error::io("start the writer thread for", &path, e));
            }
        };
        Ok(DailyFile {
            handle: Arc::new(Handle {
                spool,
                compressor,
                path,
                names: dated,
            }),
        })
    }
}

/// Whether the dated file `path` can be appended to as a regular file, as the writer
/// opens it: an existing one is opened (never through a symbolic link, never a
/// directory, FIFO or device), and a new one must be creatable under this name (not too
/// long for the file system); the probe is removed.
fn check_openable(path: &Path, mode: u32) -> io::Result<()> {
    match open::open_existing(path, true) {
        Ok(_) => Ok(()),
        Err(err) if err.kind() == io::ErrorKind::NotFound => {
            open::create_new(path, mode, true)?;
            let _ = fs::remove_file(path);
            Ok(())
        }
        Err(err) => Err(err),
    }
}

/// Creates and removes a probe file: as root, permission bits alone say too little.
/// The probe is created anew (`O_EXCL`, so nothing planted at its name is followed or
/// removed). A file system with no room for one more file (`ENOSPC`: no free inode;
/// `EDQUOT`) is no error while today's file exists and can be appended to: lines can
/// be written, and that is reported.
fn check_writable(dir: &Path, today: &Path) -> io::Result<()> {
    let mut result = Err(io::Error::from(io::ErrorKind::AlreadyExists));
    for attempt in 0..8u32 {
        let probe = dir.join(format!(
            ".tracing-logbook-probe-{}-{attempt}",
            std::process::id()
        ));
        result = open::create_new(&probe, 0o600, false).map(|_| {
            let _ = fs::remove_file(&probe);
        });
        match &result {
            Err(err) if err.kind() == io::ErrorKind::AlreadyExists => {}
            _ => break,
        }
    }
    match result {
        Err(err) if no_room(&err) && open::open_existing(today, true).is_ok() => {
            crate::diag::report(format_args!(
                "{} has no room for a new file ({err}); lines are appended to {}, but \
                 the next day's file cannot be created until there is room",
                dir.display(),
                today.display()
            ));
            Ok(())
        }
        other => other,
    }
}

/// Whether `err` says the file system has no room for one more file.
fn no_room(err: &io::Error) -> bool {
    #[cfg(unix)]
    {
        matches!(err.raw_os_error(), Some(libc::ENOSPC | libc::EDQUOT))
    }
    #[cfg(not(unix))]
    {
        err.kind() == io::ErrorKind::StorageFull
    }
}

/// Owns the spool and the compression thread; dropping the last [`DailyFile`] stops
/// both (the writer flushes), at most [`SHUTDOWN_TIMEOUT`] in all.
struct Handle {
    spool: Spool<FileOutput>,
    /// With [`Compression::Gzip`]; the writer holds a clone to ask for compressions.
    compressor: Option<compress::Compressor>,
    path: PathBuf,
    names: FileNames,
}

impl Handle {
    /// Stops the writer, then the compression thread (which the writer may still have
    /// asked for work), by one deadline, `timeout` from now.
    fn shutdown(&self, timeout: Duration) -> bool {
        let deadline = Deadline::after(timeout);
        let written = self.spool.shutdown(timeout);
        let compressed = self
            .compressor
            .as_ref()
            .is_none_or(|c| Component::shutdown(c, deadline));
        written & compressed
    }
}

impl Drop for Handle {
    fn drop(&mut self) {
        self.shutdown(SHUTDOWN_TIMEOUT);
    }
}

impl crate::lifecycle::Component for DailyFile {
    fn flush(&self, deadline: Deadline) -> bool {
        DailyFile::flush(self, deadline.timeout())
    }
    fn shutdown(&self, deadline: Deadline) -> bool {
        self.handle.shutdown(deadline.timeout())
    }
    fn undelivered(&self) -> crate::lifecycle::Undelivered {
        crate::lifecycle::Undelivered {
            lines: self.spool().backlog(),
            items: 0,
            refused: self.spool().refused(),
        }
    }
    fn close_door(&self) {
        self.spool().close_door();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    fn notice(time: OffsetDateTime, lost: u64) -> String {
        let mut out = Vec::new();
        (crate::sink::LossNotice::default().0)(time, lost, &mut out);
        String::from_utf8(out).unwrap()
    }

    use std::sync::atomic::Ordering::Relaxed;

    const WAIT: Duration = Duration::from_secs(30);
    const T: OffsetDateTime = datetime!(2026-11-23 10:00 UTC);

    fn record(n: usize) -> String {
        format!(
            "[2026-11-23 10:00:00.000000] INFO: app: record {n:04} {}\n",
            "x".repeat(60)
        )
    }

    /// Checks that every line of `text` is a whole record; returns their numbers.
    fn whole_records(text: &str) -> Vec<usize> {
        assert!(text.is_empty() || text.ends_with('\n'), "{text:?}");
        text.lines()
            .map(|line| {
                let n = line
                    .strip_prefix("[2026-11-23 10:00:00.000000] INFO: app: record ")
                    .and_then(|rest| rest.split_once(' '))
                    .filter(|(_, pad)| *pad == "x".repeat(60))
                    .unwrap_or_else(|| panic!("torn record {line:?} in {text:?}"))
                    .0;
                n.parse().unwrap()
            })
            .collect()
    }

    fn faulty(dir: &Path, faults: &Arc<output::Faults>) -> DailyFile {
        DailyFile::builder(dir.join("app.log"))
            .faults(faults.clone())
            .build()
            .unwrap()
    }

    #[test]
    fn a_custom_notice_is_what_lands_in_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let (file, faults) = DailyFile::lossy_with_faults(&dir.path().join("app.log"));
        file.set_loss_notice(crate::sink::LossNotice(Arc::new(
            |time: OffsetDateTime, lost, out: &mut Vec<u8>| {
                let line = format!("{{\"date\":\"{}\",\"dropped\":{lost}}}\n", time.date());
                out.extend_from_slice(line.as_bytes());
            },
        )));
        assert!(file.flush(WAIT));
        // The writer is stuck: at most two batches of two get in, the rest is dropped.
        faults.paused.store(true, Relaxed);
        for n in 0..20 {
            file.write_line(T, record(n).as_bytes());
        }
        faults.paused.store(false, Relaxed);
        // The flush puts the notice after what got in. (If the writer took a batch
        // before it got stuck, an earlier notice announces the drops until then.)
        assert!(file.flush(WAIT));
        let dropped = file.dropped_lines();
        assert!(dropped >= 16, "{dropped}");
        let text = std::fs::read_to_string(dir.path().join("app-2026-11-23.log")).unwrap();
        // Every drop is announced before the first record written after it (the writer
        // may take a record that came after the drops before the flush): walking the
        // file, a record n may appear only once every dropped record before n is
        // announced.
        let kept: Vec<usize> = text
            .lines()
            .filter(|l| !l.starts_with("{\"date\""))
            .map(|l| whole_records(&format!("{l}\n"))[0])
            .collect();
        let mut announced_so_far = 0u64;
        for line in text.lines() {
            if let Some(n) = line.strip_prefix("{\"date\":\"2026-11-23\",\"dropped\":") {
                announced_so_far += n.trim_end_matches('}').parse::<u64>().unwrap();
            } else {
                let n = whole_records(&format!("{line}\n"))[0];
                let dropped_before = (0..n).filter(|i| !kept.contains(i)).count() as u64;
                assert!(
                    dropped_before <= announced_so_far,
                    "record {n} first: {text}"
                );
            }
        }
        let announced: u64 = text
            .lines()
            .filter_map(|l| l.strip_prefix("{\"date\":\"2026-11-23\",\"dropped\":"))
            .map(|n| n.trim_end_matches('}').parse::<u64>().unwrap())
            .sum();
        assert_eq!(announced, dropped, "{text}");
        let records: String = text
            .lines()
            .filter(|l| !l.starts_with("{\"date\""))
            .map(|l| format!("{l}\n"))
            .collect();
        assert_eq!(whole_records(&records).len() as u64, file.written_lines());
        assert_eq!(file.written_lines() + dropped, 20);
        assert!(!text.contains("lines dropped"), "{text}");
    }

    #[test]
    fn a_write_failing_half_way_is_cut_off_again() {
        let said = crate::testing::capture_diagnostics();
        let dir = tempfile::tempdir().unwrap();
        let faults = Arc::new(output::Faults::default());
        let file = faulty(dir.path(), &faults);
        assert!(file.flush(WAIT));
        faults.half_writes.store(1, Relaxed);
        for n in 0..5 {
            file.write_line(T, record(n).as_bytes());
        }
        assert!(file.flush(WAIT));
        assert!(file.failed_lines() > 0);
        for n in 5..8 {
            file.write_line(T, record(n).as_bytes());
        }
        assert!(file.flush(WAIT));
        let text = std::fs::read_to_string(dir.path().join("app-2026-11-23.log")).unwrap();
        let got = whole_records(&text);
        assert_eq!(got.len() as u64, file.written_lines());
        assert_eq!(file.written_lines() + file.failed_lines(), 8);
        assert_eq!(&got[got.len() - 3..], [5, 6, 7]);
        assert_eq!(faults.half_writes.load(Relaxed), 0, "the fault happened");
        said.assert_said("No space left on device");
        said.assert_said("works again");
    }

    #[test]
    fn a_torn_end_that_cannot_be_cut_off_gets_a_newline_before_the_next_record() {
        let said = crate::testing::capture_diagnostics();
        // Cutting off fails; then, on reopening, reading the file's end fails as well:
        // the writer remembers that the file was left torn.
        for failing_reads in [0, 1] {
            let dir = tempfile::tempdir().unwrap();
            let faults = Arc::new(output::Faults::default());
            let file = faulty(dir.path(), &faults);
            assert!(file.flush(WAIT));
            file.write_line(T, record(0).as_bytes());
            assert!(file.flush(WAIT));
            faults.half_writes.store(1, Relaxed);
            faults.failing_truncates.store(1, Relaxed);
            faults.failing_reads.store(failing_reads, Relaxed);
            file.write_line(T, record(1).as_bytes());
            assert!(file.flush(WAIT));
            assert_eq!(file.failed_lines(), 1);
            file.write_line(T, record(2).as_bytes());
            file.write_line(T, record(3).as_bytes());
            assert!(file.flush(WAIT));
            let text = std::fs::read_to_string(dir.path().join("app-2026-11-23.log")).unwrap();
            let lines: Vec<&str> = text.split_inclusive('\n').collect();
            let half = &record(1)[..record(1).len() / 2];
            assert_eq!(
                lines,
                [&record(0), &format!("{half}\n"), &record(2), &record(3)],
                "failing_reads {failing_reads}"
            );
            assert_eq!((file.written_lines(), file.failed_lines()), (3, 1));
        }
        said.assert_said("No space left on device");
        said.assert_said("works again");
    }

    #[test]
    fn drop_warning_is_a_logbook_line() {
        assert_eq!(
            notice(datetime!(2026-11-23 19:28:08.123456 UTC), 12),
            "[2026-11-23 19:28:08.123456] WARNING: tracing-logbook: 12 lines dropped\n"
        );
        // Without a layer to say otherwise, the notice is a Logbook line in UTC.
        assert_eq!(
            notice(datetime!(2026-11-23 19:28:08 +01:00), 1),
            "[2026-11-23 18:28:08.000000] WARNING: tracing-logbook: 1 lines dropped\n"
        );
    }

    /// The bug this guards against: a JSON log file received a Logbook line after
    /// losses. Built with a JSON layer, the file announces losses as a JSON line.
    #[test]
    fn a_json_file_gets_its_loss_notice_as_json() {
        use tracing_subscriber::prelude::*;
        let dir = tempfile::tempdir().unwrap();
        let faults = Arc::new(output::Faults::default());
        let file = DailyFile::builder(dir.path().join("app.log"))
            .lossy(true)
            .buffer_lines(2)
            .faults(faults.clone())
            .build()
            .unwrap();
        let clock = crate::testing::ManualClock::new(datetime!(2026-11-23 10:00 UTC));
        let layer = crate::JsonLayer::builder()
            .clock(clock)
            .timezone(crate::Timezone::Fixed(time::macros::offset!(+01:00)))
            .build(file.clone());
        assert!(file.flush(WAIT));
        faults.paused.store(true, Relaxed);
        tracing::subscriber::with_default(tracing_subscriber::registry().with(layer), || {
            for n in 0..20 {
                tracing::info!(target: "app", n, "record");
            }
        });
        faults.paused.store(false, Relaxed);
        assert!(file.flush(WAIT));
        let dropped = file.dropped_lines();
        assert!(dropped >= 16, "{dropped}");
        let text = std::fs::read_to_string(dir.path().join("app-2026-11-23.log")).unwrap();
        let lines: Vec<serde_json::Value> = text
            .lines()
            .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{l}: {e}")))
            .collect();
        // Every notice is a JSON line of the layout's shape; together they announce every
        // drop (an early one if the writer took a batch before it got stuck).
        let notices: Vec<_> = lines
            .iter()
            .filter(|l| l["channel"] == "tracing-logbook")
            .collect();
        let mut announced = 0;
        for notice in &notices {
            assert_eq!(notice["level"], "WARNING");
            assert_eq!(notice["timestamp"], "2026-11-23T10:00:00.000000Z");
            let message = notice["message"].as_str().unwrap();
            let n: u64 = message
                .strip_suffix(" lines dropped")
                .unwrap()
                .parse()
                .unwrap();
            announced += n;
        }
        assert_eq!(announced, dropped);
        assert_eq!(lines.last().unwrap()["channel"], "tracing-logbook");
        assert_eq!(
            lines.len() as u64,
            file.written_lines() + notices.len() as u64
        );
    }
}
