//! The notification spool: a directory of items the tracker has not accepted yet, each
//! the exact (scrubbed) request body, replayed when the tracker answers again.
//!
//! One file per item, named `<unix ms>-<pid>-<seq>.item` so that names sort oldest
//! first, written by [`open::write_new`] (temporary name, synced, renamed, mode 0600,
//! `O_NOFOLLOW`). Whoever sends or deletes an item holds an exclusive `flock` on it
//! (taken before the rename for a new item): two processes sharing one spool never
//! send an item twice, and a process killed while holding one releases it with its
//! descriptors. A claim is valid only while the name still leads to the locked file
//! (another process may have delivered and unlinked it in between).

use std::collections::VecDeque;
use std::fs::{self, File};
use std::io::{self, Read};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::diag;
use crate::file::open;

/// The default bound of the spool in bytes (`LOG_NOTIFY_SPOOL_MAX`): 16 MiB.
pub const DEFAULT_SPOOL_MAX: u64 = 16 << 20;
/// The default age after which a spooled item is deleted unsent: 7 days.
pub const DEFAULT_SPOOL_MAX_AGE: Duration = Duration::from_secs(7 * 24 * 3600);

const SUFFIX: &str = ".item";
const CORRUPT: &str = ".corrupt";
/// Temporary files of writers that died before their rename are removed after this.
const STALE_TMP: Duration = Duration::from_secs(3600);

/// One destination's spool directory.
#[derive(Debug)]
pub(crate) struct Spool {
    dir: PathBuf,
    max_bytes: u64,
    max_age: Duration,
    seq: u64,
    write_failed: diag::Once,
    corrupt: diag::Once,
    foreign: diag::Once,
}

/// A spooled item this process holds the lock of (released when dropped).
#[derive(Debug)]
pub(crate) struct Claim {
    path: PathBuf,
    _file: File,
}

impl Claim {
    /// Deletes the item (delivered, expired, evicted or rejected), then unlocks.
    pub(crate) fn delete(self) {
        let _ = fs::remove_file(&self.path);
    }
}

impl Spool {
    /// The spool in `dir` (created with mode 0700, its mode narrowed to 0700 if it
    /// exists).
    ///
    /// # Errors
    ///
    /// `dir` cannot be created, or a link or a file is there.
    pub(crate) fn open(dir: &Path, max_bytes: u64, max_age: Duration) -> io::Result<Spool> {
        open::private_dir(dir)?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let _ = fs::set_permissions(dir, fs::Permissions::from_mode(0o700));
        }
        Ok(Spool {
            dir: dir.to_path_buf(),
            max_bytes,
            max_age,
            seq: 0,
            write_failed: diag::Once::new(),
            corrupt: diag::Once::new(),
            foreign: diag::Once::new(),
        })
    }

    /// Writes `body` as a new item, first deleting the oldest items it does not fit
    /// beside; returns the claimed item and how many were deleted. `None` (reported
    /// once) when it cannot be written, or is larger than the whole spool (`evicted`
    /// then counts it).
    pub(crate) fn write(&mut self, body: &[u8], evicted: &mut u64) -> Option<Claim> {
        let len = body.len() as u64;
        if len > self.max_bytes {
            *evicted += 1;
            return None;
        }
        let items = self.list();
        let mut total: u64 = items.iter().map(|(_, size)| size).sum();
        for (name, size) in &items {
            if total + len <= self.max_bytes {
                break;
            }
            // An item another process is sending is left alone.
            if let Some(claim) = self.claim(name) {
                claim.delete();
                total = total.saturating_sub(*size);
                *evicted += 1;
            }
        }
        let ms = now_ms();
        self.seq += 1;
        let name = format!(
            "{ms:013}-{:010}-{:06}{SUFFIX}",
            std::process::id(),
            self.seq
        );
        match open::write_new(&self.dir, &name, body, 0o600, lock) {
            Ok(file) => Some(Claim {
                path: self.dir.join(name),
                _file: file,
            }),
            Err(err) => {
                self.write_failed.report(format_args!(
                    "cannot write to the notification spool {}: {err}; undelivered notifications are lost",
                    self.dir.display()
                ));
                None
            }
        }
    }

    /// The items (name and size), oldest first. Links and special files are reported
    /// (once) and left out; temporary files older than an hour (of writers that died)
    /// are removed.
    pub(crate) fn list(&self) -> Vec<(String, u64)> {
        let Ok(entries) = fs::read_dir(&self.dir) else {
            return Vec::new();
        };
        let mut items = Vec::new();
        for entry in entries.flatten() {
            let Ok(name) = entry.file_name().into_string() else {
                continue;
            };
            let Ok(meta) = entry.path().symlink_metadata() else {
                continue;
            };
            if !meta.file_type().is_file() {
                self.foreign.report(format_args!(
                    "notification spool: {} is a symbolic link or special file, not an item; it is ignored (further ones are not reported)",
                    entry.path().display()
                ));
                continue;
            }
            if name.starts_with(".tmp-") {
                let stale = meta
                    .modified()
                    .ok()
                    .and_then(|m| m.elapsed().ok())
                    .is_some_and(|age| age > STALE_TMP);
                if stale {
                    let _ = fs::remove_file(entry.path());
                }
                continue;
            }
            if name.ends_with(SUFFIX) {
                items.push((name, meta.len()));
            }
        }
        items.sort();
        items
    }

    /// The names of the items, oldest first.
    pub(crate) fn backlog(&self) -> VecDeque<String> {
        self.list().into_iter().map(|(name, _)| name).collect()
    }

    /// Claims the item `name`: `None` when it is gone, another process holds it, or it
    /// is not a regular file (reported once).
    pub(crate) fn claim(&self, name: &str) -> Option<Claim> {
        let path = self.dir.join(name);
        let file = match open::open_existing(&path, false) {
            Ok(file) => file,
            Err(err) => {
                if open::is_foreign(&err) {
                    self.foreign.report(format_args!(
                        "notification spool: {} is a symbolic link or special file, not an item; it is ignored (further ones are not reported)",
                        path.display()
                    ));
                }
                return None;
            }
        };
        lock(&file).ok()?;
        // Delivered and unlinked by another process since we opened it?
        let locked = file.metadata().ok()?;
        let named = fs::symlink_metadata(&path).ok()?;
        if open::identity(&locked) != open::identity(&named) {
            return None;
        }
        Some(Claim { path, _file: file })
    }

    /// Whether the item `name` is older than the spool's age bound.
    pub(crate) fn expired(&self, name: &str) -> bool {
        let Some(ms) = name.split('-').next().and_then(|n| n.parse::<u64>().ok()) else {
            return false;
        };
        Duration::from_millis(now_ms().saturating_sub(ms)) > self.max_age
    }

    /// The body of a claimed item, or `None` when it cannot be read or is larger than
    /// the spool could hold.
    pub(crate) fn read(&self, claim: &Claim) -> Option<Vec<u8>> {
        let mut body = Vec::new();
        (&claim._file)
            .take(self.max_bytes + 1)
            .read_to_end(&mut body)
            .ok()?;
        (body.len() as u64 <= self.max_bytes).then_some(body)
    }

    /// Moves a damaged item aside (`<name>.corrupt`, kept for a look, never replayed)
    /// and says so once.
    pub(crate) fn move_aside(&self, claim: Claim) {
        let mut aside = claim.path.clone().into_os_string();
        aside.push(CORRUPT);
        let moved = fs::rename(&claim.path, &aside);
        self.corrupt.report(format_args!(
            "notification spool: {} is truncated or corrupt; {} (further ones are not reported)",
            claim.path.display(),
            match moved {
                Ok(()) => format!("moved aside to {}", Path::new(&aside).display()),
                Err(err) => format!("it cannot be moved aside ({err}) and is skipped"),
            }
        ));
    }
}

/// Takes the exclusive lock of an item without waiting (`flock` on Unix, as std takes
/// it; a lock on Windows too).
fn lock(file: &File) -> io::Result<()> {
    file.try_lock().map_err(|e| match e {
        std::fs::TryLockError::WouldBlock => io::ErrorKind::WouldBlock.into(),
        std::fs::TryLockError::Error(e) => e,
    })
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

/// Writes each notification's payload to a directory instead of (or besides) sending
/// it: `LOG_NOTIFY_PREVIEW`.
#[derive(Debug)]
pub(crate) struct Preview {
    pub(crate) dir: PathBuf,
    /// Nothing is sent: no token or DSN is in use.
    pub(crate) only: bool,
    failed: diag::Once,
}

impl Preview {
    pub(crate) fn new(dir: PathBuf, only: bool) -> Preview {
        Preview {
            dir,
            only,
            failed: diag::Once::new(),
        }
    }

    /// Writes `json` as `<unix ms>-<destination>-<id>.json`; true when written.
    pub(crate) fn write(&self, destination: &str, id: &str, json: &[u8]) -> bool {
        let name = format!(
            "{:013}-{}-{id}.json",
            now_ms(),
            destination.to_ascii_lowercase()
        );
        let written = open::private_dir(&self.dir)
            .and_then(|()| open::write_new(&self.dir, &name, json, 0o600, |_| Ok(())));
        match written {
            Ok(_) => true,
            Err(err) => {
                self.failed.report(format_args!(
                    "LOG_NOTIFY_PREVIEW: cannot write to {}: {err} (further failures are not reported)",
                    self.dir.display()
                ));
                false
            }
        }
    }
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;

    fn spool(dir: &Path, max: u64) -> Spool {
        Spool::open(dir, max, DEFAULT_SPOOL_MAX_AGE).unwrap()
    }

    #[test]
    fn items_are_private_locked_and_listed_oldest_first() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("spool");
        let mut s = spool(&root, 1 << 20);
        assert_eq!(
            fs::metadata(&root).unwrap().permissions().mode() & 0o777,
            0o700
        );
        let mut evicted = 0;
        let a = s.write(b"{\"a\":1}", &mut evicted).unwrap();
        let b = s.write(b"{\"b\":2}", &mut evicted).unwrap();
        let names = s.backlog();
        assert_eq!(names.len(), 2);
        assert!(names[0] < names[1]);
        let mode = fs::metadata(root.join(&names[0]))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
        // Held by its writer: nobody else claims it.
        assert!(s.claim(&names[0]).is_none());
        drop(a);
        let claimed = s.claim(&names[0]).unwrap();
        assert_eq!(s.read(&claimed).unwrap(), b"{\"a\":1}");
        claimed.delete();
        assert!(s.claim(&names[0]).is_none());
        b.delete();
        assert!(s.list().is_empty());
        assert_eq!(evicted, 0);
    }

    #[test]
    fn a_full_spool_drops_the_oldest_and_a_huge_item_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let mut s = spool(dir.path(), 25);
        let mut evicted = 0;
        for body in [b"0123456789", b"abcdefghij"] {
            drop(s.write(body, &mut evicted).unwrap());
        }
        drop(s.write(b"ABCDEFGHIJ", &mut evicted).unwrap());
        assert_eq!(evicted, 1);
        let left: Vec<Vec<u8>> = s
            .backlog()
            .iter()
            .map(|n| fs::read(dir.path().join(n)).unwrap())
            .collect();
        assert_eq!(left, [b"abcdefghij".to_vec(), b"ABCDEFGHIJ".to_vec()]);
        assert!(s.write(&[b'x'; 26], &mut evicted).is_none());
        assert_eq!(evicted, 2);
    }

    #[test]
    fn links_are_ignored_and_expiry_reads_the_name() {
        let said = crate::testing::capture_diagnostics();
        let dir = tempfile::tempdir().unwrap();
        let s = spool(dir.path(), 1 << 20);
        let victim = dir.path().join("victim");
        fs::write(&victim, "secret").unwrap();
        std::os::unix::fs::symlink(&victim, dir.path().join("0000000000001-1-1.item")).unwrap();
        assert!(s.list().is_empty());
        assert!(s.claim("0000000000001-1-1.item").is_none());
        assert!(s.expired("0000000000001-0000000001-000001.item"));
        assert!(!s.expired(&format!("{:013}-1-1.item", now_ms())));
        assert_eq!(fs::read_to_string(victim).unwrap(), "secret");
        said.assert_said("is a symbolic link or special file, not an item");
    }
}
