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
use std::io::{self, Read, Seek, SeekFrom};
use std::path::Path;
use std::sync::mpsc::{self, Receiver, SyncSender, TrySendError};
use std::sync::{Arc, Mutex, PoisonError};

use flate2::write::GzEncoder;
use time::Date;

use super::names::{self, FileNames, GZ};
use super::open;
use crate::diag;

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

/// The writer's handle on the compression thread.
#[derive(Debug)]
pub(crate) struct Compressor {
    /// Wakes the thread; what to do is in `wanted`.
    tx: SyncSender<()>,
    /// The latest day asked for: files dated before it are compressed.
    wanted: Arc<Mutex<Option<Date>>>,
    /// Held by the writer while it writes a batch, and by the compressor while it
    /// replaces an original by its `.gz`.
    pub(crate) lock: Arc<Mutex<()>>,
}

impl Compressor {
    /// Starts the thread `tracing-logbook-gzip` for the files `names` describes.
    pub(crate) fn start(names: FileNames) -> io::Result<Compressor> {
        let (tx, rx) = mpsc::sync_channel(1);
        let lock = Arc::new(Mutex::new(()));
        let wanted = Arc::new(Mutex::new(None));
        let (shared, asked) = (lock.clone(), wanted.clone());
        std::thread::Builder::new()
            .name("tracing-logbook-gzip".into())
            .spawn(move || run(&names, &shared, &asked, &rx))?;
        Ok(Compressor { tx, wanted, lock })
    }

    /// Asks for every file dated before the day before `day` (the day being written) to
    /// be compressed; never waits. Yesterday's files are left for a day: see the module
    /// docs.
    pub(crate) fn request(&self, day: Date) {
        let day = day.previous_day().unwrap_or(day);
        {
            let mut wanted = self.wanted.lock().unwrap_or_else(PoisonError::into_inner);
            *wanted = Some(wanted.map_or(day, |w| w.max(day)));
        }
        // Full: a wake-up is pending, and it reads `wanted` when it runs.
        match self.tx.try_send(()) {
            Ok(()) | Err(TrySendError::Full(())) | Err(TrySendError::Disconnected(())) => {}
        }
    }
}

fn run(names: &FileNames, lock: &Mutex<()>, wanted: &Mutex<Option<Date>>, rx: &Receiver<()>) {
    let report = diag::Once::new();
    // Ends when the writer (the sender's only owner) is gone.
    while rx.recv().is_ok() {
        let day = *wanted.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(day) = day {
            compress_before(names, lock, day, &report);
        }
    }
}

/// Compresses every uncompressed file of the log dated before `day`.
pub(crate) fn compress_before(names: &FileNames, lock: &Mutex<()>, day: Date, report: &diag::Once) {
    let Ok(files) = names::list(names) else {
        return;
    };
    let mut old: Vec<_> = files
        .into_iter()
        .filter(|f| !f.compressed && f.date < day)
        .collect();
    old.sort_by_key(|f| (f.date, f.index));
    for file in old {
        match compress_one(names.dir(), &file.name, lock) {
            Ok(()) => {}
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

/// Replaces `dir/name` by `dir/name.gz` (see the module docs for the steps).
pub(crate) fn compress_one(dir: &Path, name: &str, lock: &Mutex<()>) -> io::Result<()> {
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
        let copied = io::copy(&mut (&mut input).take(len), &mut encoder)?;
        if copied != len {
            return Err(io::Error::other("the file shrank while it was compressed"));
        }
        let out = encoder.finish()?;
        out.sync_all()
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
    use std::io::Write as _;

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

    #[test]
    fn past_days_only_are_compressed_and_the_originals_removed() {
        let dir = tempfile::tempdir().unwrap();
        let names = FileNames::new(&dir.path().join("app.log")).unwrap();
        put(&dir.path().join("app-2026-11-22.log"), b"one\n");
        put(&dir.path().join("app-2026-11-22.1.log"), b"two\n");
        put(&dir.path().join("app-2026-11-23.log"), b"today\n");
        put(&dir.path().join("notes.txt"), b"not ours\n");
        let lock = Mutex::new(());
        compress_before(&names, &lock, date!(2026 - 11 - 23), &diag::Once::new());
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
        compress_one(d, "app-2026-11-20.log", &lock).unwrap();
        assert_eq!(gunzip(&d.join("app-2026-11-20.log.gz")), "a\nb\n");
        // 2. A crash after the rename, before the original was removed.
        put(&d.join("app-2026-11-20.log"), b"a\nb\n");
        compress_one(d, "app-2026-11-20.log", &lock).unwrap();
        assert_eq!(gunzip(&d.join("app-2026-11-20.log.gz")), "a\nb\n");
        // 3. A late line of a compressed day: one more member, read as one file.
        put(&d.join("app-2026-11-20.log"), b"late\n");
        compress_one(d, "app-2026-11-20.log", &lock).unwrap();
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
        compress_one(d, "app-2026-11-20.log", &lock).unwrap();
        assert_eq!(gunzip(&d.join("app-2026-11-20.log.gz")), "a\nb\n");
    }
}
