//! [`DailyFile`]: a new Logbook log file every day, written by a background thread.
//!
//! The calling thread copies each finished record into a shared batch buffer under a
//! short lock and returns; a writer thread named `tracing-logbook-file` swaps the batch
//! for an empty one and writes it with one `write` per file, so records from many threads
//! never interleave or tear. When the buffer is full the caller waits (backpressure), or,
//! in [lossy](DailyFileBuilder::lossy) mode, the record is dropped and counted.

use std::fmt;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Write as _};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use time::{Date, OffsetDateTime};

use crate::diag;
use crate::error::Error;
use crate::lifecycle::SHUTDOWN_TIMEOUT;
mod names;

use crate::sink::LineWriter;
use names::FileNames;

/// A batch never grows past this many bytes before the writer takes it (a single larger
/// record is still accepted into an empty batch).
const MAX_BATCH_BYTES: usize = 4 << 20;

/// How long the writer lets a small batch grow before writing it. Fewer, larger writes
/// (and fewer wake-ups of the writer) cost the callers less; a flush, shutdown or a
/// half-full buffer ends the wait at once.
const LINGER: Duration = Duration::from_millis(1);

/// A [`LineWriter`] that appends each record to the file of the date printed on it:
/// `logs/app.log` is written as `logs/app-2026-11-23.log`, `logs/app-2026-11-24.log`, ...
///
/// * **When**: a record goes into the file of the date in the timestamp the layer printed
///   on it (UTC midnight by default, local midnight with
///   [`Timezone::Local`](crate::Timezone::Local)), so a record stamped
///   `23:59:59.999999` never lands in the next day's file. Days without records get no
///   file. Names are described in [`DailyFileBuilder`].
/// * **Restarts append**: an existing file is never truncated, also when the clock goes
///   back to a date that already has a file.
/// * **Retention**: only the newest [`max_files`](DailyFileBuilder::max_files) files of
///   this log are kept, judged by the date (and size index) in their names, at startup
///   and whenever a new file is started; files whose names are not exactly of this
///   log's shape are never touched. Pruning runs on the writer thread.
/// * **Off the hot path**: the caller copies the record into a shared buffer and
///   returns; the `tracing-logbook-file` thread writes whole batches. A record reaches
///   the file within about a millisecond (the writer lets small batches grow that
///   long), or at once on [`flush`](DailyFile::flush).
/// * **Lossless by default**: when [`buffer_lines`](DailyFileBuilder::buffer_lines)
///   records are waiting, callers wait. In [`lossy`](DailyFileBuilder::lossy) mode they
///   drop instead; drops are counted ([`dropped_lines`](DailyFile::dropped_lines)) and a
///   line `[<time>] WARNING: tracing-logbook: N lines dropped` is written into the log
///   when writing resumes.
/// * **Write errors** (disk full, directory removed or replaced, permissions) never
///   panic: the lost records are counted ([`failed_lines`](DailyFile::failed_lines)),
///   the problem is reported once on stderr with the `[tracing-logbook]` prefix, and the
///   file (and its directory) is reopened or recreated on the next batch; a second
///   diagnostic says when writing works again. A file that was removed or renamed while
///   open (logrotate) is noticed before the next batch and reopened.
///
/// `DailyFile` is a cheap handle: clones share the same writer thread. Dropping the last
/// clone flushes and stops the thread, waiting at most [`SHUTDOWN_TIMEOUT`] (5 s).
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use tracing_logbook::{ColorChoice, DailyFile, LogbookLayer, ManualClock};
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
/// | [`max_files`](Self::max_files) | [`DailyFile::DEFAULT_MAX_FILES`] (30 files; 0 keeps all) |
/// | [`max_size`](Self::max_size) | `None`: one file per day, whatever its size |
/// | [`lossy`](Self::lossy) | `false`: callers wait when the buffer is full |
/// | [`buffer_lines`](Self::buffer_lines) | [`DailyFile::DEFAULT_BUFFER_LINES`] (16384 records) |
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
}

impl DailyFile {
    /// How many files are kept by default.
    pub const DEFAULT_MAX_FILES: usize = 30;
    /// How many records may wait for the writer thread by default.
    pub const DEFAULT_BUFFER_LINES: usize = 16 * 1024;

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
        let deadline = Instant::now().checked_add(timeout);
        let shared = &*self.handle.shared;
        let mut st = shared.lock();
        if !st.closing {
            shared.report_drops(&mut st);
        }
        let target = st.handed;
        let ok = shared.wait_done(st, deadline, |st| st.written >= target || st.exited);
        ok && shared.lock().written >= target
    }

    /// Flushes, stops the writer thread and waits for it, at most `timeout` in all.
    /// Returns true when everything was written and the thread has ended. If the
    /// deadline passes first, a diagnostic on stderr says how many records were left and
    /// the thread is left to finish on its own.
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

    /// How many records were dropped: in [lossy](DailyFileBuilder::lossy) mode because
    /// the buffer was full, or because they arrived after [`shutdown`](Self::shutdown).
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
        self.handle.shared.dropped.load(Ordering::Relaxed)
    }

    /// How many records could not be written because of write errors.
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
        self.handle.shared.failed.load(Ordering::Relaxed)
    }
}

impl fmt::Debug for DailyFile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DailyFile")
            .field("path", &self.handle.path)
            .field("lossy", &self.handle.shared.lossy)
            .field("dropped_lines", &self.dropped_lines())
            .field("failed_lines", &self.failed_lines())
            .finish_non_exhaustive()
    }
}

impl LineWriter for DailyFile {
    #[inline]
    fn write_line(&self, time: OffsetDateTime, line: &[u8]) {
        self.handle.shared.push(time, line);
    }

    /// Waits at most [`SHUTDOWN_TIMEOUT`] for the writer (see [`DailyFile::flush`]).
    fn flush(&self) {
        DailyFile::flush(self, SHUTDOWN_TIMEOUT);
    }
}

impl DailyFileBuilder {
    /// Keeps only the newest `n` files of this log (by the date and size index in their
    /// names); `0` keeps all. The file being written is never deleted.
    pub fn max_files(mut self, n: usize) -> Self {
        self.max_files = n;
        self
    }

    /// Starts a new file within the day (`app-2026-11-23.1.log`, `.2.log`, ...) before a
    /// record would take the current one past `bytes`. A record larger than `bytes` gets
    /// a file of its own; a file is never left empty. `None` (the default) turns this
    /// off.
    pub fn max_size(mut self, bytes: Option<u64>) -> Self {
        self.max_size = bytes;
        self
    }

    /// Drops (and counts) records instead of waiting when the buffer is full. A line
    /// `N lines dropped` is written into the log when writing resumes.
    pub fn lossy(mut self, lossy: bool) -> Self {
        self.lossy = lossy;
        self
    }

    /// How many records may wait for the writer thread before callers wait (or drop,
    /// when lossy); at least 1. Besides this buffer the writer holds the batch it is
    /// writing, so at most about twice this many records (and never much more than
    /// 2 × 4 MiB once a batch is that big) are in memory.
    pub fn buffer_lines(mut self, n: usize) -> Self {
        self.buffer_lines = n.max(1);
        self
    }

    /// Creates the directory if missing, checks that it is writable, and starts the
    /// writer thread (which first prunes old files). Today's file is opened when the
    /// first record arrives.
    ///
    /// # Errors
    ///
    /// An [`Error`] naming the path when the path has no file name, the directory
    /// cannot be created or written to, or the thread cannot be started. Never a panic.
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
        let dir = names.dir().to_path_buf();
        fs::create_dir_all(&dir).map_err(|e| Error::io("create log directory", &dir, e))?;
        check_writable(&dir).map_err(|e| Error::io("write to log directory", &dir, e))?;

        let shared = Arc::new(Shared {
            state: Mutex::new(State::default()),
            writer_cv: Condvar::new(),
            space_cv: Condvar::new(),
            done_cv: Condvar::new(),
            dropped: AtomicU64::new(0),
            failed: AtomicU64::new(0),
            lossy: self.lossy,
            per_record: self.max_size.is_some(),
            cap_lines: self.buffer_lines.max(1),
            after_close: diag::Once::new(),
        });
        let output = Output {
            names,
            path: path.clone(),
            max_files: self.max_files,
            max_size: self.max_size,
            file: None,
            identity: None,
            date: None,
            index: 0,
            size: 0,
            write_error: diag::Once::new(),
            prune_error: diag::Once::new(),
        };
        let thread_shared = shared.clone();
        let thread = std::thread::Builder::new()
            .name("tracing-logbook-file".into())
            .spawn(move || run(thread_shared, output))
            .map_err(|e| Error::io("start the writer thread for", &path, e))?;
        Ok(DailyFile {
            handle: Arc::new(Handle {
                shared,
                thread: Mutex::new(Some(thread)),
                path,
            }),
        })
    }
}

/// Creates and removes a probe file: as root, permission bits alone say too little.
fn check_writable(dir: &Path) -> io::Result<()> {
    let probe = dir.join(format!(".tracing-logbook-probe-{}", std::process::id()));
    let file = OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .open(&probe);
    let _ = fs::remove_file(&probe);
    file.map(drop)
}

/// Owns the writer thread; dropping the last [`DailyFile`] drops it.
struct Handle {
    shared: Arc<Shared>,
    thread: Mutex<Option<JoinHandle<()>>>,
    path: PathBuf,
}

impl Handle {
    fn shutdown(&self, timeout: Duration) -> bool {
        let deadline = Instant::now().checked_add(timeout);
        let shared = &*self.shared;
        let mut st = shared.lock();
        if !st.closing {
            shared.report_drops(&mut st);
            st.closing = true;
            shared.wake_writer(&mut st);
            shared.writer_cv.notify_one();
            shared.space_cv.notify_all();
        }
        let finished = shared.wait_done(st, deadline, |st| st.exited);
        let st = shared.lock();
        let left = st.handed.saturating_sub(st.written);
        drop(st);
        if finished {
            // The thread has left its loop; joining only waits for it to return.
            let thread = self
                .thread
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .take();
            if let Some(thread) = thread {
                let _ = thread.join();
            }
            left == 0
        } else {
            diag::report(format_args!(
                "the log file writer for {} did not finish within {timeout:?}; \
                 {left} lines were not written",
                self.path.display()
            ));
            false
        }
    }
}

impl Drop for Handle {
    fn drop(&mut self) {
        self.shutdown(SHUTDOWN_TIMEOUT);
    }
}

/// State shared by the callers and the writer thread.
struct Shared {
    state: Mutex<State>,
    /// The writer waits here for records, flush requests or shutdown.
    writer_cv: Condvar,
    /// Callers wait here for room in the batch.
    space_cv: Condvar,
    /// Flushers and shutdown wait here for the writer's progress.
    done_cv: Condvar,
    dropped: AtomicU64,
    failed: AtomicU64,
    lossy: bool,
    /// Keep one segment per record (needed to split batches for size rollover).
    per_record: bool,
    cap_lines: usize,
    after_close: diag::Once,
}

struct State {
    batch: Batch,
    /// Records (including drop warnings) put into batches so far.
    handed: u64,
    /// `handed` as of the last batch the writer finished.
    written: u64,
    writer_waiting: bool,
    /// The writer is letting a small batch grow (see [`LINGER`]).
    writer_lingering: bool,
    space_waiters: usize,
    done_waiters: usize,
    closing: bool,
    exited: bool,
    /// Drops not yet reported in the log, and the time of the last one.
    unreported_drops: u64,
    last_drop: Option<OffsetDateTime>,
}

impl Default for State {
    fn default() -> State {
        State {
            batch: Batch::default(),
            // The startup pruning counts as the first item, so that a flush right after
            // `build` also waits for it.
            handed: 1,
            written: 0,
            writer_waiting: false,
            writer_lingering: false,
            space_waiters: 0,
            done_waiters: 0,
            closing: false,
            exited: false,
            unreported_drops: 0,
            last_drop: None,
        }
    }
}

impl Shared {
    #[inline]
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    #[inline]
    fn push(&self, time: OffsetDateTime, line: &[u8]) {
        let mut st = self.lock();
        loop {
            if st.closing || st.exited {
                drop(st);
                self.dropped.fetch_add(1, Ordering::Relaxed);
                self.after_close.report(format_args!(
                    "a log line was written after the log file was shut down; \
                     such lines are dropped and counted"
                ));
                return;
            }
            let b = &st.batch;
            if b.lines == 0 || (b.lines < self.cap_lines && b.bytes.len() < MAX_BATCH_BYTES) {
                break;
            }
            if self.lossy {
                st.unreported_drops += 1;
                st.last_drop = Some(time);
                drop(st);
                self.dropped.fetch_add(1, Ordering::Relaxed);
                return;
            }
            self.wake_writer(&mut st);
            st.space_waiters += 1;
            st = self
                .space_cv
                .wait(st)
                .unwrap_or_else(PoisonError::into_inner);
            st.space_waiters -= 1;
        }
        if st.unreported_drops > 0 {
            self.push_drop_warning(&mut st, time);
        }
        st.batch.push(time.date(), line, self.per_record);
        st.handed += 1;
        if st.writer_waiting
            || (st.writer_lingering
                && (st.batch.lines >= self.cap_lines.div_ceil(2)
                    || st.batch.bytes.len() >= MAX_BATCH_BYTES / 2))
        {
            st.writer_waiting = false;
            st.writer_lingering = false;
            self.writer_cv.notify_one();
        }
    }

    /// Wakes the writer if it waits or lingers (for flush and shutdown).
    fn wake_writer(&self, st: &mut State) {
        if st.writer_waiting || st.writer_lingering {
            st.writer_waiting = false;
            st.writer_lingering = false;
            self.writer_cv.notify_one();
        }
    }

    /// Puts pending drop warnings into the batch (used by flush and shutdown).
    fn report_drops(&self, st: &mut State) {
        if let (true, Some(time)) = (st.unreported_drops > 0, st.last_drop) {
            self.push_drop_warning(st, time);
        }
        self.wake_writer(st);
    }

    #[cold]
    fn push_drop_warning(&self, st: &mut State, time: OffsetDateTime) {
        let line = drop_warning(time, st.unreported_drops);
        st.unreported_drops = 0;
        st.batch.push(time.date(), line.as_bytes(), self.per_record);
        st.handed += 1;
    }

    /// Waits on `done_cv` until `ready` or the deadline; returns whether `ready`.
    fn wait_done(
        &self,
        mut st: MutexGuard<'_, State>,
        deadline: Option<Instant>,
        ready: impl Fn(&State) -> bool,
    ) -> bool {
        while !ready(&st) {
            st.done_waiters += 1;
            st = match deadline {
                None => self
                    .done_cv
                    .wait(st)
                    .unwrap_or_else(PoisonError::into_inner),
                Some(deadline) => {
                    let now = Instant::now();
                    if now >= deadline {
                        st.done_waiters -= 1;
                        return false;
                    }
                    self.done_cv
                        .wait_timeout(st, deadline - now)
                        .unwrap_or_else(PoisonError::into_inner)
                        .0
                }
            };
            st.done_waiters -= 1;
        }
        true
    }
}

/// `[<time>] WARNING: tracing-logbook: N lines dropped\n`, in Logbook's format.
fn drop_warning(time: OffsetDateTime, n: u64) -> String {
    let mut line = String::with_capacity(80);
    line.push('[');
    crate::format::push_timestamp(&mut line, time, !time.offset().is_utc());
    line.push_str("] WARNING: tracing-logbook: ");
    line.push_str(&n.to_string());
    line.push_str(" lines dropped\n");
    line
}

/// Records waiting to be written, grouped in segments of one date.
#[derive(Default)]
struct Batch {
    bytes: Vec<u8>,
    segs: Vec<Seg>,
    lines: usize,
}

#[derive(Clone, Copy, Debug)]
struct Seg {
    end: usize,
    date: Date,
    lines: usize,
}

impl Batch {
    #[inline]
    fn push(&mut self, date: Date, line: &[u8], per_record: bool) {
        self.bytes.extend_from_slice(line);
        if line.last() != Some(&b'\n') {
            self.bytes.push(b'\n');
        }
        self.lines += 1;
        let end = self.bytes.len();
        match self.segs.last_mut() {
            Some(seg) if !per_record && seg.date == date => {
                seg.end = end;
                seg.lines += 1;
            }
            _ => self.segs.push(Seg {
                end,
                date,
                lines: 1,
            }),
        }
    }

    fn clear(&mut self) {
        self.bytes.clear();
        self.segs.clear();
        self.lines = 0;
        if self.bytes.capacity() > 2 * MAX_BATCH_BYTES {
            self.bytes = Vec::new();
        }
    }
}

/// The writer thread.
fn run(shared: Arc<Shared>, mut out: Output) {
    /// Marks the writer as gone however the thread ends, so nobody waits for it.
    struct Exit<'a>(&'a Shared);
    impl Drop for Exit<'_> {
        fn drop(&mut self) {
            let mut st = self.0.lock();
            st.exited = true;
            drop(st);
            self.0.done_cv.notify_all();
            self.0.space_cv.notify_all();
        }
    }
    let _exit = Exit(&shared);

    out.prune();
    {
        let mut st = shared.lock();
        st.written = 1;
        if st.done_waiters > 0 {
            shared.done_cv.notify_all();
        }
    }
    let mut batch = Batch::default();
    loop {
        let target = {
            let mut st = shared.lock();
            while st.batch.lines == 0 && !st.closing {
                st.writer_waiting = true;
                st = shared
                    .writer_cv
                    .wait(st)
                    .unwrap_or_else(PoisonError::into_inner);
            }
            st.writer_waiting = false;
            if st.batch.lines == 0 {
                // Closing, and everything is written.
                break;
            }
            if !st.closing
                && st.done_waiters == 0
                && st.space_waiters == 0
                && st.batch.lines < shared.cap_lines.div_ceil(2)
            {
                st.writer_lingering = true;
                st = shared
                    .writer_cv
                    .wait_timeout(st, LINGER)
                    .unwrap_or_else(PoisonError::into_inner)
                    .0;
                st.writer_lingering = false;
            }
            std::mem::swap(&mut st.batch, &mut batch);
            if st.space_waiters > 0 {
                shared.space_cv.notify_all();
            }
            st.handed
        };
        out.write(&batch, &shared.failed);
        batch.clear();
        let mut st = shared.lock();
        st.written = target;
        if st.done_waiters > 0 {
            shared.done_cv.notify_all();
        }
    }
}

/// The writer thread's view of the files.
struct Output {
    names: FileNames,
    path: PathBuf,
    max_files: usize,
    max_size: Option<u64>,
    file: Option<File>,
    /// Device and inode of the open file, to notice when it is removed or renamed.
    identity: Option<(u64, u64)>,
    date: Option<Date>,
    index: u32,
    size: u64,
    write_error: diag::Once,
    prune_error: diag::Once,
}

impl Output {
    fn write(&mut self, batch: &Batch, failed: &AtomicU64) {
        self.check_still_there();
        let segs = &batch.segs;
        let mut i = 0;
        while i < segs.len() {
            let date = segs[i].date;
            let start = if i == 0 { 0 } else { segs[i - 1].end };
            if let Err(err) = self.open(date) {
                // Fail this date's run of records; the next run or batch retries.
                let mut j = i;
                let mut lines = 0;
                while j < segs.len() && segs[j].date == date {
                    lines += segs[j].lines;
                    j += 1;
                }
                self.failed(err, lines, failed);
                i = j;
                continue;
            }
            let mut j = i;
            let mut lines = 0;
            let mut end = start;
            while j < segs.len() && segs[j].date == date {
                if let Some(max) = self.max_size {
                    let len = (segs[j].end - end) as u64;
                    let used = self.size + (end - start) as u64;
                    if used > 0 && used + len > max {
                        break;
                    }
                }
                end = segs[j].end;
                lines += segs[j].lines;
                j += 1;
            }
            if j == i {
                // The next record does not fit: start the next file of the day.
                self.file = None;
                self.identity = None;
                self.index += 1;
                continue;
            }
            let result = match &mut self.file {
                Some(file) => file.write_all(&batch.bytes[start..end]),
                None => Err(io::Error::other("the log file is not open")),
            };
            match result {
                Ok(()) => {
                    self.size += (end - start) as u64;
                    if self.write_error.reset() {
                        diag::report(format_args!(
                            "writing log lines to {} works again",
                            self.current_path().display()
                        ));
                    }
                }
                Err(err) => {
                    self.file = None;
                    self.identity = None;
                    self.failed(err, lines, failed);
                }
            }
            i = j;
        }
    }

    fn failed(&self, err: io::Error, lines: usize, failed: &AtomicU64) {
        failed.fetch_add(lines as u64, Ordering::Relaxed);
        self.write_error.report(format_args!(
            "cannot write log lines to {}: {err}; lost lines are counted and writing \
             resumes when the problem clears",
            self.current_path().display()
        ));
    }

    fn current_path(&self) -> PathBuf {
        match self.date {
            Some(date) => self.names.path(date, self.index),
            None => self.path.clone(),
        }
    }

    /// Drops the open file if its name no longer leads to it (deleted, renamed, or its
    /// directory removed), so that the next write recreates it.
    fn check_still_there(&mut self) {
        let (Some(date), Some(identity)) = (self.date, self.identity) else {
            return;
        };
        let same = fs::metadata(self.names.path(date, self.index))
            .is_ok_and(|meta| file_identity(&meta) == identity);
        if !same {
            self.file = None;
            self.identity = None;
        }
    }

    /// Makes the file for `date` the open one, creating it (and its directory) if
    /// needed. Never truncates.
    fn open(&mut self, date: Date) -> io::Result<()> {
        if self.date != Some(date) {
            self.file = None;
            self.identity = None;
            self.date = Some(date);
            self.index = match self.max_size {
                Some(_) => names::list(&self.names)
                    .map(|files| names::last_index(&files, date))
                    .unwrap_or(0),
                None => 0,
            };
        }
        if self.file.is_some() {
            return Ok(());
        }
        let path = self.names.path(date, self.index);
        let existed = fs::symlink_metadata(&path).is_ok();
        let file = match open_append(&path) {
            Err(err) if err.kind() == io::ErrorKind::NotFound => {
                fs::create_dir_all(self.names.dir())?;
                open_append(&path)?
            }
            other => other?,
        };
        let meta = file.metadata()?;
        self.size = meta.len();
        self.identity = Some(file_identity(&meta));
        self.file = Some(file);
        if !existed {
            self.prune();
        }
        Ok(())
    }

    /// Deletes all but the newest `max_files` files of this log, never the open one.
    fn prune(&self) {
        if self.max_files == 0 {
            return;
        }
        let files = match names::list(&self.names) {
            Ok(files) => files,
            Err(err) if err.kind() == io::ErrorKind::NotFound => return,
            Err(err) => {
                self.prune_error.report(format_args!(
                    "cannot list {} to delete old log files: {err}",
                    self.names.dir().display()
                ));
                return;
            }
        };
        let protect = match (self.file.is_some(), self.date) {
            (true, Some(date)) => Some((date, self.index)),
            _ => None,
        };
        for old in names::select_for_deletion(files, self.max_files, protect) {
            let path = self.names.dir().join(&old.name);
            match fs::remove_file(&path) {
                Ok(()) => {}
                Err(err) if err.kind() == io::ErrorKind::NotFound => {}
                Err(err) => self.prune_error.report(format_args!(
                    "cannot delete old log file {}: {err}",
                    path.display()
                )),
            }
        }
    }
}

fn open_append(path: &Path) -> io::Result<File> {
    OpenOptions::new().append(true).create(true).open(path)
}

#[cfg(unix)]
fn file_identity(meta: &fs::Metadata) -> (u64, u64) {
    use std::os::unix::fs::MetadataExt;
    (meta.dev(), meta.ino())
}

#[cfg(not(unix))]
fn file_identity(_meta: &fs::Metadata) -> (u64, u64) {
    (0, 0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn drop_warning_is_a_logbook_line() {
        assert_eq!(
            drop_warning(datetime!(2026-11-23 19:28:08.123456 UTC), 12),
            "[2026-11-23 19:28:08.123456] WARNING: tracing-logbook: 12 lines dropped\n"
        );
        assert_eq!(
            drop_warning(datetime!(2026-11-23 19:28:08 +01:00), 1),
            "[2026-11-23 19:28:08.000000+0100] WARNING: tracing-logbook: 1 lines dropped\n"
        );
    }

    #[test]
    fn batch_segments() {
        let d1 = time::macros::date!(2026 - 11 - 23);
        let d2 = time::macros::date!(2026 - 11 - 24);
        let mut b = Batch::default();
        b.push(d1, b"a\n", false);
        b.push(d1, b"b", false);
        b.push(d2, b"c\n", false);
        assert_eq!(b.bytes, b"a\nb\nc\n");
        assert_eq!(b.segs.len(), 2);
        assert_eq!((b.segs[0].end, b.segs[0].lines), (4, 2));
        let mut r = Batch::default();
        r.push(d1, b"a\n", true);
        r.push(d1, b"b\n", true);
        assert_eq!(r.segs.len(), 2);
    }
}
