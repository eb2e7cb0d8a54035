//! The daily file's [`Output`]: opens, appends, rolls over and prunes, on the writer
//! thread.
//!
//! A write that fails part-way (disk full in the middle of a batch, EIO) never leaves a
//! partial record for the next one to be glued onto: the bytes of the failed write are
//! cut off again (`set_len`), and if even that fails, or a file is reopened that does not
//! end in `\n` (a crash mid-write), a `\n` goes first so that the next record starts on
//! its own line. The records of a failed write are counted as failed.

use std::fs::{self, File};
use std::io::{self, Write as _};
use std::path::{Path, PathBuf};

use time::{Date, OffsetDateTime};

use super::names::{self, FileNames};
use super::open;
use crate::diag;
use crate::sink::spool::{Batch, Output, Tally};

/// The writer thread's view of the files.
pub(crate) struct FileOutput {
    names: FileNames,
    path: PathBuf,
    max_files: usize,
    max_size: Option<u64>,
    /// The mode new files are created with.
    mode: u32,
    file: Option<File>,
    /// Device and inode of the open file, to notice when it is removed or renamed, and
    /// its name (not rebuilt for every batch).
    identity: Option<((u64, u64), PathBuf)>,
    date: Option<Date>,
    index: u32,
    size: u64,
    /// The open file may end in a partial record: write `\n` before the next one.
    torn: bool,
    /// The file (date, index) that was left torn when it was closed: if its end cannot
    /// be read when it is reopened, it is taken to be torn.
    suspect: Option<(Date, u32)>,
    write_error: diag::Once,
    prune_error: diag::Once,
    link_error: diag::Once,
    /// A link or special file at one of this log's names.
    foreign: diag::Once,
    /// The compression thread, with `Compression::Gzip`.
    pub(crate) compressor: Option<super::compress::Compressor>,
    #[cfg(test)]
    pub(crate) faults: Option<std::sync::Arc<Faults>>,
}

impl Output for FileOutput {
    type Key = Date;

    #[inline]
    fn key(time: OffsetDateTime) -> Date {
        time.date()
    }

    fn start(&mut self) {
        self.prune();
        // What an earlier run left: every day before the newest one there is.
        if let Some(compressor) = &self.compressor {
            if let Some(newest) = names::list(&self.names)
                .ok()
                .and_then(|files| files.iter().map(|f| f.date).max())
            {
                compressor.request(newest);
            }
        }
    }

    fn write(&mut self, batch: &Batch<Date>, tally: &Tally) {
        // The compressor replaces a file only while no batch is being written.
        let lock = self.compressor.as_ref().map(|c| c.lock.clone());
        let _writing = lock
            .as_ref()
            .map(|l| l.lock().unwrap_or_else(std::sync::PoisonError::into_inner));
        #[cfg(test)]
        if let Some(faults) = &self.faults {
            faults.hold();
        }
        self.check_still_there();
        let segs = batch.segs();
        let mut i = 0;
        while i < segs.len() {
            let date = segs[i].key;
            let start = batch.start(i);
            if let Err(err) = self.open(date) {
                // Fail this date's run of records; the next run or batch retries.
                let mut j = i;
                while j < segs.len() && segs[j].key == date {
                    j += 1;
                }
                self.failed(err, &segs[i..j], tally);
                i = j;
                continue;
            }
            let mut j = i;
            let mut end = start;
            while j < segs.len() && segs[j].key == date {
                if let Some(max) = self.max_size {
                    let len = (segs[j].end - end) as u64;
                    let used = self.size + (end - start) as u64;
                    if used > 0 && used + len > max {
                        break;
                    }
                }
                end = segs[j].end;
                j += 1;
            }
            if j == i {
                // The next record does not fit: start the next file of the day.
                self.close();
                self.index += 1;
                continue;
            }
            match self.append(&batch.bytes()[start..end]) {
                Ok(()) => {
                    tally.wrote(&segs[i..j]);
                    if self.write_error.reset() {
                        diag::report(format_args!(
                            "writing log lines to {} works again",
                            self.current_path().display()
                        ));
                    }
                }
                Err(err) => {
                    self.close();
                    self.failed(err, &segs[i..j], tally);
                }
            }
            i = j;
        }
    }
}

impl FileOutput {
    pub(crate) fn new(
        names: FileNames,
        path: PathBuf,
        max_files: usize,
        max_size: Option<u64>,
        mode: u32,
    ) -> FileOutput {
        FileOutput {
            names,
            path,
            max_files,
            max_size,
            mode,
            file: None,
            identity: None,
            date: None,
            index: 0,
            size: 0,
            torn: false,
            suspect: None,
            write_error: diag::Once::new(),
            prune_error: diag::Once::new(),
            link_error: diag::Once::new(),
            foreign: diag::Once::new(),
            compressor: None,
            #[cfg(test)]
            faults: None,
        }
    }

    pub(crate) fn names(&self) -> &FileNames {
        &self.names
    }

    fn failed(&self, err: io::Error, segs: &[crate::sink::spool::Seg<Date>], tally: &Tally) {
        tally.lost(segs);
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

    /// Forgets the open file; the next write opens it (or the next one) again.
    fn close(&mut self) {
        if self.torn {
            self.suspect = self.date.map(|date| (date, self.index));
            self.torn = false;
        }
        self.file = None;
        self.identity = None;
    }

    /// Appends `chunk` (whole records) to the open file, after a `\n` if the file may
    /// end in a partial record. On an error nothing of `chunk` stays in the file, or,
    /// when it cannot be cut off again, the file is marked torn.
    fn append(&mut self, chunk: &[u8]) -> io::Result<()> {
        if self.torn {
            let (_, result) = self.write_counted(b"\n");
            result?;
            self.torn = false;
            self.size += 1;
        }
        let (done, result) = self.write_counted(chunk);
        match result {
            Ok(()) => {
                self.size += done as u64;
                Ok(())
            }
            Err(err) => {
                if done > 0 && !self.cut_off(done as u64) {
                    self.torn = true;
                }
                Err(err)
            }
        }
    }

    /// Writes `buf` as `write_all` does; returns how much was written, and how it ended.
    #[inline]
    fn write_counted(&mut self, buf: &[u8]) -> (usize, io::Result<()>) {
        let mut done = 0;
        while done < buf.len() {
            match self.write_some(&buf[done..]) {
                Ok(0) => return (done, Err(io::ErrorKind::WriteZero.into())),
                Ok(n) => done += n,
                Err(err) if err.kind() == io::ErrorKind::Interrupted => {}
                Err(err) => return (done, Err(err)),
            }
        }
        (done, Ok(()))
    }

    #[inline]
    fn write_some(&mut self, buf: &[u8]) -> io::Result<usize> {
        #[cfg(test)]
        if let Some(faults) = &self.faults {
            if let Some(result) = faults.write(self.file.as_mut(), buf) {
                return result;
            }
        }
        match &mut self.file {
            Some(file) => file.write(buf),
            None => Err(io::Error::other("the log file is not open")),
        }
    }

    /// Removes the last `len` bytes of the open file (a failed write's); false if that
    /// cannot be done.
    #[cold]
    fn cut_off(&mut self, len: u64) -> bool {
        #[cfg(test)]
        if let Some(faults) = &self.faults {
            if Faults::take(&faults.failing_truncates) {
                return false;
            }
        }
        let Some(file) = &self.file else {
            return false;
        };
        match file.metadata() {
            Ok(meta) if meta.is_file() && meta.len() >= len => {
                file.set_len(meta.len() - len).is_ok()
            }
            _ => false,
        }
    }

    /// Drops the open file if its name no longer leads to it (deleted, renamed, its
    /// directory removed, or a link put in its place), so that the next write recreates
    /// it (or refuses the link).
    fn check_still_there(&mut self) {
        let Some((identity, path)) = &self.identity else {
            return;
        };
        let same = fs::symlink_metadata(path).is_ok_and(|meta| open::identity(&meta) == *identity);
        if !same {
            self.close();
        }
    }

    /// Makes the file for `date` the open one, creating it (and its directory) if
    /// needed, with the configured mode. Never truncates, never follows a link, never
    /// opens a FIFO or device (see [`open`]).
    fn open(&mut self, date: Date) -> io::Result<()> {
        if self.date != Some(date) {
            self.close();
            // A later day: the earlier ones can be compressed.
            if let Some(compressor) = &self.compressor {
                if self.date.is_none_or(|d| d < date) {
                    compressor.request(date);
                }
            }
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
        let (file, created) = match open::open_or_create(&path, self.mode) {
            Err(err) if err.kind() == io::ErrorKind::NotFound => {
                fs::create_dir_all(self.names.dir())?;
                open::open_or_create(&path, self.mode)?
            }
            other => other?,
        };
        let meta = file.metadata()?;
        let suspect = self.suspect == Some((date, self.index));
        self.torn = if meta.is_file() && meta.len() > 0 {
            match self.last_byte(&path, &meta) {
                Ok(byte) => byte != b'\n',
                Err(_) => suspect,
            }
        } else {
            suspect && meta.len() > 0
        };
        if suspect {
            self.suspect = None;
        }
        self.size = meta.len();
        self.identity = Some((open::identity(&meta), path));
        self.file = Some(file);
        self.link_current(date);
        if created {
            self.prune();
        }
        Ok(())
    }

    /// Points the configured path (`logs/app.log`) at the file now written
    /// (`app-2026-11-23.log`, a relative link in the same directory), so that
    /// `tail -F logs/app.log` follows the log across rollovers. The link is replaced
    /// atomically (a new link renamed over it). A regular file at the configured path is
    /// never replaced: that is reported once.
    #[cfg(unix)]
    fn link_current(&self, date: Date) {
        let target = self.names.name(date, self.index);
        let link = &self.path;
        match fs::symlink_metadata(link) {
            Ok(meta) if meta.file_type().is_symlink() => {
                if fs::read_link(link).is_ok_and(|t| t.as_os_str() == target.as_str()) {
                    return;
                }
            }
            Ok(_) => {
                self.link_error.report(format_args!(
                    "{} exists and is not a symbolic link, so it is left alone and does not \
                     follow the current log file {}",
                    link.display(),
                    target
                ));
                return;
            }
            Err(err) if err.kind() == io::ErrorKind::NotFound => {}
            Err(err) => {
                self.link_error.report(format_args!(
                    "cannot point {} at the current log file: {err}",
                    link.display()
                ));
                return;
            }
        }
        let Some(link_name) = link.file_name() else {
            return;
        };
        let mut tmp_name = std::ffi::OsString::from(".");
        tmp_name.push(link_name);
        tmp_name.push(format!(".link-{}", std::process::id()));
        let tmp = link.with_file_name(tmp_name);
        let _ = fs::remove_file(&tmp);
        let linked =
            std::os::unix::fs::symlink(&target, &tmp).and_then(|()| fs::rename(&tmp, link));
        if let Err(err) = linked {
            let _ = fs::remove_file(&tmp);
            self.link_error.report(format_args!(
                "cannot point {} at the current log file: {err}",
                link.display()
            ));
        }
    }

    #[cfg(not(unix))]
    fn link_current(&self, _date: Date) {}

    /// The last byte of the regular file at `path`, the open file `meta` describes
    /// (read through the name, so it must lead to that very file).
    #[cold]
    fn last_byte(&self, path: &Path, meta: &fs::Metadata) -> io::Result<u8> {
        #[cfg(test)]
        if let Some(faults) = &self.faults {
            if Faults::take(&faults.failing_reads) {
                return Err(io::Error::from_raw_os_error(5));
            }
        }
        let mut byte = [0u8];
        let len = meta.len();
        let file = open::open_existing(path, false)?;
        if open::identity(&file.metadata()?) != open::identity(meta) {
            return Err(io::Error::other("replaced while it was opened"));
        }
        #[cfg(unix)]
        {
            use std::os::unix::fs::FileExt;
            file.read_exact_at(&mut byte, len - 1)?;
        }
        #[cfg(not(unix))]
        {
            use std::io::{Read, Seek, SeekFrom};
            let mut file = file;
            file.seek(SeekFrom::Start(len - 1))?;
            file.read_exact(&mut byte)?;
        }
        Ok(byte[0])
    }

    /// Deletes all but the newest `max_files` regular files of this log, never the open
    /// one; reports (once) a link or special file at one of its names, which is left
    /// alone.
    fn prune(&self) {
        let files = match names::list_with_foreign(&self.names) {
            Ok((files, foreign)) => {
                if let Some(name) = foreign.first() {
                    self.foreign.report(format_args!(
                        "{} is not a regular file (a symbolic link, FIFO, socket or device) \
                         but has the name of a file of this log: it is left alone, never \
                         followed, written, compressed or deleted",
                        self.names.dir().join(name).display()
                    ));
                }
                if self.max_files == 0 {
                    return;
                }
                files
            }
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

/// Fault injection for the unit tests: each counter says how many times the fault
/// happens before things work again.
#[cfg(test)]
#[derive(Debug, Default)]
pub(crate) struct Faults {
    /// Writes that write half their bytes (at least one), after which the next write
    /// fails with ENOSPC.
    pub(crate) half_writes: std::sync::atomic::AtomicU32,
    /// Cutting a failed write off again fails.
    pub(crate) failing_truncates: std::sync::atomic::AtomicU32,
    /// Reading the last byte of a reopened file fails.
    pub(crate) failing_reads: std::sync::atomic::AtomicU32,
    /// While set, the writer waits before each batch (at most 30 s), as if stuck.
    pub(crate) paused: std::sync::atomic::AtomicBool,
    fail_next: std::sync::atomic::AtomicBool,
}

#[cfg(test)]
impl Faults {
    fn take(counter: &std::sync::atomic::AtomicU32) -> bool {
        use std::sync::atomic::Ordering::Relaxed;
        counter
            .fetch_update(Relaxed, Relaxed, |n| n.checked_sub(1))
            .is_ok()
    }

    fn hold(&self) {
        let until = std::time::Instant::now() + std::time::Duration::from_secs(30);
        while self.paused.load(std::sync::atomic::Ordering::Relaxed)
            && std::time::Instant::now() < until
        {
            std::thread::sleep(std::time::Duration::from_millis(1));
        }
    }

    fn write(&self, file: Option<&mut File>, buf: &[u8]) -> Option<io::Result<usize>> {
        use std::sync::atomic::Ordering::Relaxed;
        if self.fail_next.swap(false, Relaxed) {
            return Some(Err(io::Error::from_raw_os_error(28))); // ENOSPC
        }
        if buf.len() > 1 && Faults::take(&self.half_writes) {
            let half = buf.len() / 2;
            self.fail_next.store(true, Relaxed);
            return Some(match file {
                Some(file) => file.write(&buf[..half]),
                None => Err(io::Error::other("the log file is not open")),
            });
        }
        None
    }
}
