//! Compression of past days' files (`LOG_COMPRESS=gzip`) on a thread of its own.
//!
//! The file writer asks for it when it opens a file of a new day (and once at start, for
//! what an earlier run left): every uncompressed file of this log dated before the day
//! before that day becomes `<name>.gz`. Yesterday's files stay as they are for a day
//! (logrotate's `delaycompress`): a log shipper following `app-*.log` may still be
//! reading the lines written just before midnight, and a file compressed (so removed)
//! then would lose them for it; rsyslog's `imfile` did, in `tests/imfile_rsyslog.rs`.
//! The writer never waits for it; a request while one is pending is merged into it.
//!
//! The thread is a [`Component`] of the daily file: [`DailyFile::shutdown`] (and the
//! guard) stop it by the same deadline as the writer. A stopped compressor starts no
//! other file; the one it is compressing may finish until shortly before the deadline,
//! then it is abandoned: its `.gz.tmp` is removed, the original stays (compressed at the
//! next start), and the abandonment is reported. The thread is then joined.
//!
//! [`DailyFile::shutdown`]: super::DailyFile::shutdown
//!
//! A crash never loses a day: the file is compressed into `<name>.gz.tmp`, synced, and
//! only then renamed to `<name>.gz`, and only after that is the original removed. The
//! last two steps happen under the lock the writer holds while it writes a batch, after
//! checking that the original did not grow meanwhile (a late record of that day), so no
//! line is ever appended to a file that is then removed. A restart finds every state
//! this can leave behind: a stale `.tmp` is overwritten; an original beside a `.gz` whose
//! last gzip member already holds it (same CRC-32 and length) is just removed; an
//! original with new lines beside an older `.gz` (a day reopened by a late record) is
//! added to it as one more gzip member, which `zcat` and every gzip reader read as one
//! file.
//!
//! Nothing at these names is trusted (see [`super::open`]): the original, the `.gz` and
//! the `.gz.tmp` are never opened through a symbolic link, only regular files are read,
//! a FIFO or device is never opened, and the `.gz` gets the original's mode (a `0600`
//! day stays `0600`; appended to an older `.gz`, the narrower of the two).

use std::fs::{self, File};
use std::io::{self, Read, Seek, SeekFrom, Write as _};
use std::path::Path;
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::thread::JoinHandle;
use std::time::Duration;

use flate2::write::GzEncoder;
use time::Date;

use super::names::{self, FileNames, GZ};
use super::open;
use crate::diag;
use crate::lifecycle::{Born, Component, Deadline};

/// How the files of past days are kept.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Compression {
    /// As they were written (the default).
    #[default]
    None,
    /// gzip-compressed to the dated name plus `.gz` (`app-2026-11-23.log.gz`) on a
    /// background thread, once the writer has moved on two days later (yesterday's
    /// files stay readable for a log shipper that follows `app-*.log`).
    Gzip,
}

/// How long before the shutdown deadline a running compression is abandoned, so that
/// the thread has ended, and is joined, by the deadline.
const ABANDON_MARGIN: Duration = Duration::from_millis(100);

/// How much of a file is compressed between two checks for abandonment.
const CHUNK: usize = 64 * 1024;

/// The compression thread's handle, held by the writer (which asks for compressions)
/// and by the daily file (which stops it); cheap to clone.
#[derive(Clone, Debug)]
pub(crate) struct Compressor {
    shared: Arc<Shared>,
    /// Held by the writer while it writes a batch, and by the compressor while it
    /// replaces an original by its `.gz`.
    pub(crate) lock: Arc<Mutex<()>>,
}

#[derive(Debug)]
struct Shared {
    state: Mutex<State>,
    /// Wakes the thread (a request, a stop) and whoever waits for it to end.
    cv: Condvar,
    thread: Mutex<Option<JoinHandle<()>>>,
    /// The process the thread runs in (a forked child has none).
    born: Born,
}

#[derive(Debug, Default)]
struct State {
    /// The latest day asked for: files dated before it are compressed.
    wanted: Option<Date>,
    /// Set by [`Compressor::shutdown`]: no other file is started.
    stop: bool,
    /// When the file being compressed is abandoned (set with `stop`).
    abandon_at: Option<Deadline>,
    /// The files abandoned at shutdown.
    abandoned: Vec<String>,
    /// The thread has left its loop.
    exited: bool,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// What ends compressions early: the thread's stop and abandon deadline; `()` never
/// does.
pub(crate) trait Stop {
    /// No other file may be started.
    fn stopping(&self) -> bool;
    /// The file under way must be given up now.
    fn abandoning(&self) -> bool;
    /// `name` was given up.
    fn abandoned(&self, name: &str);
}

impl Stop for () {
    fn stopping(&self) -> bool {
        false
    }
    fn abandoning(&self) -> bool {
        false
    }
    fn abandoned(&self, _name: &str) {}
}

impl Stop for Shared {
    fn stopping(&self) -> bool {
        self.lock().stop
    }
    fn abandoning(&self) -> bool {
        self.lock().abandon_at.is_some_and(Deadline::passed)
    }
    fn abandoned(&self, name: &str) {
        self.lock().abandoned.push(name.to_owned());
    }
}

impl Compressor {
    /// Starts the thread `tracing-logbook-gzip` for the files `names` describes.
    pub(crate) fn start(names: FileNames) -> io::Result<Compressor> {
        let lock = Arc::new(Mutex::new(()));
        let shared = Arc::new(Shared {
            state: Mutex::new(State::default()),
            cv: Condvar::new(),
            thread: Mutex::new(None),
            born: Born::default(),
        });
        let (thread_shared, thread_lock) = (shared.clone(), lock.clone());
        let thread = std::thread::Builder::new()
            .name("tracing-logbook-gzip".into())
            .spawn(move || run(&names, &thread_lock, &thread_shared))?;
        *shared.thread.lock().unwrap_or_else(PoisonError::into_inner) = Some(thread);
        Ok(Compressor { shared, lock })
    }

    /// Asks for every file dated before the day before `day` (the day being written) to
    /// be compressed; never waits. Yesterday's files are left for a day: see the module
    /// docs.
    pub(crate) fn request(&self, day: Date) {
        if self.shared.born.forked() {
            return;
        }
        let day = day.previous_day().unwrap_or(day);
        let mut st = self.shared.lock();
        st.wanted = Some(st.wanted.map_or(day, |w| w.max(day)));
        drop(st);
        self.shared.cv.notify_all();
    }
}

impl Component for Compressor {
    /// Compressions are not records: nothing to wait for.
    fn flush(&self, _deadline: Deadline) -> bool {
        true
    }

    /// Stops the thread: no other file is started, the one under way is abandoned
    /// [`ABANDON_MARGIN`] before `deadline` (its `.gz.tmp` removed, the original kept),
    /// and the thread is joined. False when a compression was abandoned (reported on
    /// stderr) or the thread did not end by the deadline. Calling it again is harmless.
    fn shutdown(&self, deadline: Deadline) -> bool {
        let shared = &*self.shared;
        if shared.born.forked() {
            // No thread here, and its lock may have been held at the fork.
            return true;
        }
        let mut st = shared.lock();
        if !st.stop {
            st.stop = true;
            st.abandon_at = Some(deadline.sooner_by(ABANDON_MARGIN));
            shared.cv.notify_all();
        }
        let (mut st, exited) = deadline.wait_until(&shared.cv, st, |st| st.exited);
        let abandoned = std::mem::take(&mut st.abandoned);
        drop(st);
        for name in &abandoned {
            diag::report(format_args!(
                "the compression of the old log file {name} was abandoned at the shutdown \
                 deadline; the file stays as it is and is compressed at the next start"
            ));
        }
        if !exited {
            // Past the deadline now: whatever it is doing, it gives up at its next check.
            diag::report(format_args!(
                "the compression thread did not end by the shutdown deadline; it is left to \
                 end on its own"
            ));
            return false;
        }
        crate::lifecycle::join_ended(&shared.thread);
        abandoned.is_empty()
    }
}

fn run(names: &FileNames, lock: &Mutex<()>, shared: &Shared) {
    let report = diag::Once::new();
    /// Marks the thread ended, even if it panics.
    struct Exit<'a>(&'a Shared);
    impl Drop for Exit<'_> {
        fn drop(&mut self) {
            self.0.lock().exited = true;
            self.0.cv.notify_all();
        }
    }
    let _exit = Exit(shared);
    loop {
        let mut st = shared.lock();
        while st.wanted.is_none() && !st.stop {
            st = shared.cv.wait(st).unwrap_or_else(PoisonError::into_inner);
        }
        if st.stop {
            return;
        }
        let Some(day) = st.wanted.take() else {
            continue;
        };
        drop(st);
        compress_before(names, lock, day, &report, shared);
    }
}

/// Compresses every uncompressed file of the log dated before `day`.
pub(crate) fn compress_before(
    names: &FileNames,
    lock: &Mutex<()>,
    day: Date,
    report: &diag::Once,
    stop: &dyn Stop,
) {
    let Ok(files) = names::list(names) else {
        return;
    };
    let mut old: Vec<_> = files
        .into_iter()
        .filter(|f| !f.compressed && f.date < day)
        .collect();
    old.sort_by_key(|f| (f.date, f.index));
    for file in old {
        if stop.stopping() {
            // The next start compresses the rest.
            return;
        }
        match compress_one(names.dir(), &file.name, lock, stop) {
            Ok(()) => {}
            Err(err) if is_abandoned(&err) => {
                stop.abandoned(&names.dir().join(&file.name).display().to_string());
                return;
            }
            // Deleted by retention meanwhile.
            Err(err) if err.kind() == io::ErrorKind::NotFound => {}
            // A link or special file at the original's, the `.gz`'s or the `.tmp`'s name.
            Err(err) if open::is_foreign(&err) => report.report(format_args!(
                "the old log file {} is not compressed, as something other than a regular \
                 file has its name or its archive's: {err}",
                names.dir().join(&file.name).display()
            )),
            Err(err) => report.report(format_args!(
                "cannot compress the old log file {}: {err}; it stays as it is and is \
                 tried again at the next day change or restart",
                names.dir().join(&file.name).display()
            )),
        }
    }
}

/// The error of a compression given up at shutdown.
#[derive(Debug)]
struct Abandoned;

impl std::fmt::Display for Abandoned {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("abandoned at the shutdown deadline")
    }
}

impl std::error::Error for Abandoned {}

fn abandoned() -> io::Error {
    io::Error::other(Abandoned)
}

fn is_abandoned(err: &io::Error) -> bool {
    err.get_ref().is_some_and(|e| e.is::<Abandoned>())
}

/// Replaces `dir/name` by `dir/name.gz` (see the module docs for the steps), unless
/// `stop` abandons it first: then its `.gz.tmp` is removed and the original stays.
pub(crate) fn compress_one(
    dir: &Path,
    name: &str,
    lock: &Mutex<()>,
    stop: &dyn Stop,
) -> io::Result<()> {
    let src = dir.join(name);
    let gz = dir.join(format!("{name}{GZ}"));
    let tmp = dir.join(format!("{name}{GZ}.tmp"));

    let mut input = open::open_existing(&src, false)?;
    let meta = input.metadata()?;
    let identity = open::identity(&meta);
    let (crc, len) = checksum(&mut input)?;
    let mut existing = match open::open_existing(&gz, false) {
        Ok(file) => Some(file),
        Err(err) if err.kind() == io::ErrorKind::NotFound => None,
        Err(err) => return Err(err),
    };
    if let Some(existing) = &mut existing {
        if last_member(existing)? == Some((crc, len as u32)) {
            // A crash after the rename: the `.gz` already ends with this file.
            return replace(&src, identity, None, &gz, len, lock);
        }
    }
    let mut mode = open::mode_of(&meta);
    if let Some(existing) = &existing {
        mode &= open::mode_of(&existing.metadata()?);
    }
    // A stale `.tmp` of an interrupted run is ours to replace; anything else there is
    // left alone (and this day stays uncompressed).
    if open::regular_or_absent(&tmp)? {
        fs::remove_file(&tmp)?;
    }
    let mut out = open::create_new(&tmp, mode, false)?;
    let result = (|| {
        if let Some(existing) = &mut existing {
            existing.seek(SeekFrom::Start(0))?;
            io::copy(existing, &mut out)?;
        }
        input.seek(SeekFrom::Start(0))?;
        let mut encoder = GzEncoder::new(out, flate2::Compression::default());
        let mut buf = vec![0u8; CHUNK];
        let mut copied = 0u64;
        let mut rest = (&mut input).take(len);
        loop {
            if stop.abandoning() {
                return Err(abandoned());
            }
            let n = match rest.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => n,
                Err(err) if err.kind() == io::ErrorKind::Interrupted => continue,
                Err(err) => return Err(err),
            };
            encoder.write_all(&buf[..n])?;
            copied += n as u64;
        }
        if copied != len {
            return Err(io::Error::other("the file shrank while it was compressed"));
        }
        let out = encoder.finish()?;
        out.sync_all()?;
        if stop.abandoning() {
            return Err(abandoned());
        }
        Ok(())
    })();
    if let Err(err) = result {
        let _ = fs::remove_file(&tmp);
        return Err(err);
    }
    replace(&src, identity, Some(&tmp), &gz, len, lock)
}

/// Under the writer's lock: unless `src` grew past `len` or was replaced (it is no
/// longer the file `identity` names) meanwhile, renames `tmp` (when given) to `gz` and
/// removes `src`.
fn replace(
    src: &Path,
    identity: (u64, u64),
    tmp: Option<&Path>,
    gz: &Path,
    len: u64,
    lock: &Mutex<()>,
) -> io::Result<()> {
    let _writer = lock.lock().unwrap_or_else(PoisonError::into_inner);
    let unchanged = match fs::symlink_metadata(src) {
        Ok(meta) if open::identity(&meta) != identity => Err(io::Error::other(
            "it was replaced while it was compressed (it is tried again later)",
        )),
        Ok(meta) if meta.len() == len => Ok(()),
        Ok(_) => Err(io::Error::other(
            "lines were added while it was compressed (it is tried again later)",
        )),
        // Deleted meanwhile (retention): nothing to replace.
        Err(err) => Err(err),
    };
    if let Err(err) = unchanged {
        if let Some(tmp) = tmp {
            let _ = fs::remove_file(tmp);
        }
        return Err(err);
    }
    if let Some(tmp) = tmp {
        fs::rename(tmp, gz)?;
    }
    fs::remove_file(src)
}

/// The CRC-32 and length of the rest of `file`.
fn checksum(file: &mut File) -> io::Result<(u32, u64)> {
    let mut crc = flate2::Crc::new();
    let mut buf = vec![0u8; 64 * 1024];
    let mut len = 0u64;
    loop {
        let n = match file.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(err) if err.kind() == io::ErrorKind::Interrupted => continue,
            Err(err) => return Err(err),
        };
        crc.update(&buf[..n]);
        len += n as u64;
    }
    Ok((crc.sum(), len))
}

/// The CRC-32 and length (mod 2^32) the last gzip member of the `.gz` `file` records in
/// its trailer, or `None` when it is too short to hold one.
fn last_member(file: &mut File) -> io::Result<Option<(u32, u32)>> {
    if file.metadata()?.len() < 18 {
        return Ok(None);
    }
    let mut trailer = [0u8; 8];
    file.seek(SeekFrom::End(-8))?;
    file.read_exact(&mut trailer)?;
    let crc = u32::from_le_bytes([trailer[0], trailer[1], trailer[2], trailer[3]]);
    let size = u32::from_le_bytes([trailer[4], trailer[5], trailer[6], trailer[7]]);
    Ok(Some((crc, size)))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Writes `bytes` to `path`.
    fn put(path: &Path, bytes: &[u8]) {
        File::create(path).unwrap().write_all(bytes).unwrap();
    }
    use time::macros::date;

    fn gunzip(path: &Path) -> String {
        let mut text = String::new();
        flate2::read::MultiGzDecoder::new(File::open(path).unwrap())
            .read_to_string(&mut text)
            .unwrap();
        text
    }

    fn names_in(dir: &Path) -> Vec<String> {
        let mut v: Vec<String> = fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        v.sort();
        v
    }

    /// An idle compressor stops at once and is joined; a request after that starts
    /// nothing, and stopping again is harmless.
    #[test]
    fn shutdown_joins_the_thread_and_ends_its_work() {
        let dir = tempfile::tempdir().unwrap();
        let names = FileNames::new(&dir.path().join("app.log")).unwrap();
        put(&dir.path().join("app-2026-11-20.log"), b"old\n");
        let compressor = Compressor::start(names).unwrap();
        assert!(compressor.shutdown(Deadline::after(Duration::from_secs(30))));
        assert!(compressor.shared.lock().exited);
        assert!(compressor.shared.thread.lock().unwrap().is_none(), "joined");
        compressor.request(date!(2026 - 11 - 23));
        assert!(compressor.shutdown(Deadline::after(Duration::ZERO)));
        assert_eq!(names_in(dir.path()), ["app-2026-11-20.log"]);
    }

    #[test]
    fn past_days_only_are_compressed_and_the_originals_removed() {
        let dir = tempfile::tempdir().unwrap();
        let names = FileNames::new(&dir.path().join("app.log")).unwrap();
        put(&dir.path().join("app-2026-11-22.log"), b"one\n");
        put(&dir.path().join("app-2026-11-22.1.log"), b"two\n");
        put(&dir.path().join("app-2026-11-23.log"), b"today\n");
        put(&dir.path().join("notes.txt"), b"not ours\n");
        let lock = Mutex::new(());
        compress_before(
            &names,
            &lock,
            date!(2026 - 11 - 23),
            &diag::Once::new(),
            &(),
        );
        assert_eq!(
            names_in(dir.path()),
            [
                "app-2026-11-22.1.log.gz",
                "app-2026-11-22.log.gz",
                "app-2026-11-23.log",
                "notes.txt"
            ]
        );
        assert_eq!(gunzip(&dir.path().join("app-2026-11-22.log.gz")), "one\n");
        assert_eq!(gunzip(&dir.path().join("app-2026-11-22.1.log.gz")), "two\n");
    }

    #[test]
    fn every_interrupted_state_resumes_without_loss_or_duplicates() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let lock = Mutex::new(());
        // 1. A crash while compressing: a partial `.tmp` beside the original.
        put(&d.join("app-2026-11-20.log"), b"a\nb\n");
        put(&d.join("app-2026-11-20.log.gz.tmp"), b"\x1f\x8b partial");
        compress_one(d, "app-2026-11-20.log", &lock, &()).unwrap();
        assert_eq!(gunzip(&d.join("app-2026-11-20.log.gz")), "a\nb\n");
        // 2. A crash after the rename, before the original was removed.
        put(&d.join("app-2026-11-20.log"), b"a\nb\n");
        compress_one(d, "app-2026-11-20.log", &lock, &()).unwrap();
        assert_eq!(gunzip(&d.join("app-2026-11-20.log.gz")), "a\nb\n");
        // 3. A late line of a compressed day: one more member, read as one file.
        put(&d.join("app-2026-11-20.log"), b"late\n");
        compress_one(d, "app-2026-11-20.log", &lock, &()).unwrap();
        assert_eq!(gunzip(&d.join("app-2026-11-20.log.gz")), "a\nb\nlate\n");
        assert_eq!(names_in(d), ["app-2026-11-20.log.gz"]);
    }

    #[test]
    fn a_file_that_grew_meanwhile_is_left_for_later() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let src = d.join("app-2026-11-20.log");
        let tmp = d.join("app-2026-11-20.log.gz.tmp");
        // Two bytes were compressed, then a late line made the file four bytes long.
        put(&src, b"a\nb\n");
        put(&tmp, b"compressed a");
        let lock = Mutex::new(());
        let id = open::identity(&fs::metadata(&src).unwrap());
        let err = replace(
            &src,
            id,
            Some(&tmp),
            &d.join("app-2026-11-20.log.gz"),
            2,
            &lock,
        );
        assert!(err.is_err());
        assert_eq!(fs::read_to_string(&src).unwrap(), "a\nb\n");
        assert!(!d.join("app-2026-11-20.log.gz").exists());
        assert!(!d.join("app-2026-11-20.log.gz.tmp").exists());
        // Deleted meanwhile (retention): the temporary file goes too.
        let gone = d.join("app-2026-11-19.log");
        let tmp = d.join("app-2026-11-19.log.gz.tmp");
        put(&tmp, b"compressed");
        assert!(replace(
            &gone,
            id,
            Some(&tmp),
            &d.join("app-2026-11-19.log.gz"),
            2,
            &lock
        )
        .is_err());
        assert!(!tmp.exists());
        compress_one(d, "app-2026-11-20.log", &lock, &()).unwrap();
        assert_eq!(gunzip(&d.join("app-2026-11-20.log.gz")), "a\nb\n");
    }
}
