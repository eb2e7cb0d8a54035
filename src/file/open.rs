//! How every file of a log is opened, by the writer and by the compressor alike: never
//! through a symbolic link, never a FIFO or a device, and created with an exact mode.
//!
//! A log directory may be writable by others (or the program runs as root beside
//! other users' files), so whatever sits at one of our names may have been planted.
//! Existing files are opened with `O_NOFOLLOW` (a link at the name fails with `ELOOP`)
//! and `O_NONBLOCK` (a FIFO never parks the thread; a device is refused before it is
//! opened), and the opened descriptor is checked with `fstat` to be a regular file. New
//! files are created with `O_CREAT | O_EXCL` (which never follows a link either) and
//! then given exactly the configured mode with `fchmod`, whatever the umask.
//!
//! A name that holds something else is [`Foreign`]: callers report it once and leave it
//! alone.

use std::fs::{self, File, OpenOptions};
use std::io;
use std::path::Path;

/// What was found at one of our names instead of a regular file.
#[derive(Debug)]
pub(crate) struct Foreign {
    symlink: bool,
}

impl std::fmt::Display for Foreign {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.symlink {
            f.write_str(
                "it is a symbolic link, and log files are never opened through one \
                 (it is left alone)",
            )
        } else {
            f.write_str(
                "it exists and is not a regular file (a directory, FIFO, socket or device; \
                 it is left alone)",
            )
        }
    }
}

impl std::error::Error for Foreign {}

fn foreign(symlink: bool) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, Foreign { symlink })
}

/// Whether `err` says that a name of ours holds a link or a special file.
pub(crate) fn is_foreign(err: &io::Error) -> bool {
    err.get_ref().is_some_and(|e| e.is::<Foreign>())
}

/// Checks, without following a link, what is at `path`: `Ok(true)` for a regular
/// file, `Ok(false)` for nothing, a [`Foreign`] error for anything else.
pub(crate) fn regular_or_absent(path: &Path) -> io::Result<bool> {
    match fs::symlink_metadata(path) {
        Ok(meta) if meta.file_type().is_file() => Ok(true),
        Ok(meta) => Err(foreign(meta.file_type().is_symlink())),
        Err(err) if err.kind() == io::ErrorKind::NotFound => Ok(false),
        Err(err) => Err(err),
    }
}

/// Opens the existing regular file `path` for appending (`append`) or reading.
///
/// # Errors
///
/// `NotFound` when there is nothing at `path`; a [`Foreign`] error when a link or a
/// special file is there; any other error of `open`.
pub(crate) fn open_existing(path: &Path, append: bool) -> io::Result<File> {
    // A device is refused before it is opened: opening one can have effects.
    if !regular_or_absent(path)? {
        return Err(io::ErrorKind::NotFound.into());
    }
    let mut options = OpenOptions::new();
    if append {
        options.append(true);
    } else {
        options.read(true);
    }
    let file = open_unix(&mut options, path)?;
    if !file.metadata()?.is_file() {
        // Swapped between the check and the open.
        return Err(foreign(false));
    }
    Ok(file)
}

#[cfg(unix)]
fn open_unix(options: &mut OpenOptions, path: &Path) -> io::Result<File> {
    use std::os::unix::fs::OpenOptionsExt;
    let nofollow = libc::O_NOFOLLOW | libc::O_NOCTTY;
    options.custom_flags(nofollow | libc::O_NONBLOCK);
    match options.open(path) {
        Ok(file) => {
            clear_nonblock(&file);
            Ok(file)
        }
        // A lease held by another program (a file server) is being broken: wait for
        // it as a plain `open` does (the writer's stall handling bounds the wait).
        Err(err) if err.kind() == io::ErrorKind::WouldBlock => {
            options.custom_flags(nofollow);
            options.open(path)
        }
        // A link (`ELOOP`), or a FIFO with no reader or a socket (`ENXIO`), swapped
        // in after the check.
        Err(err) if err.raw_os_error() == Some(libc::ELOOP) => {
            Err(match fs::symlink_metadata(path) {
                Ok(meta) if meta.file_type().is_symlink() => foreign(true),
                _ => err,
            })
        }
        Err(err) if err.raw_os_error() == Some(libc::ENXIO) => Err(foreign(false)),
        Err(err) => Err(err),
    }
}

#[cfg(not(unix))]
fn open_unix(options: &mut OpenOptions, path: &Path) -> io::Result<File> {
    options.open(path)
}

/// Regular files ignore `O_NONBLOCK`; cleared all the same, so that nothing depends
/// on that.
#[cfg(unix)]
fn clear_nonblock(file: &File) {
    use std::os::unix::io::AsRawFd;
    let fd = file.as_raw_fd();
    // SAFETY: fcntl on a descriptor we own; failure leaves the flag set, harmlessly.
    unsafe {
        let flags = libc::fcntl(fd, libc::F_GETFL);
        if flags >= 0 && flags & libc::O_NONBLOCK != 0 {
            libc::fcntl(fd, libc::F_SETFL, flags & !libc::O_NONBLOCK);
        }
    }
}

/// Creates the new file `path` for writing (appending when `append`), never over
/// anything that exists (a link included), with exactly `mode` on Unix: the mode is
/// passed to `open` and then set again with `fchmod`, so the umask neither widens nor
/// narrows it. If the file system refuses `fchmod`, the file keeps `mode` less the
/// umask's bits: never wider.
pub(crate) fn create_new(path: &Path, mode: u32, append: bool) -> io::Result<File> {
    let mut options = OpenOptions::new();
    options.create_new(true);
    if append {
        options.append(true);
    } else {
        options.write(true);
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
        options
            .mode(mode & 0o7777)
            .custom_flags(libc::O_NOFOLLOW | libc::O_NOCTTY);
        let file = options.open(path)?;
        let _ = file.set_permissions(fs::Permissions::from_mode(mode & 0o7777));
        Ok(file)
    }
    #[cfg(not(unix))]
    {
        let _ = mode;
        options.open(path)
    }
}

/// Opens `path` for appending: the regular file there, or a new one created with
/// `mode`. Returns whether it was created.
///
/// # Errors
///
/// As [`open_existing`] and [`create_new`]; `NotFound` when the directory is missing.
pub(crate) fn open_or_create(path: &Path, mode: u32) -> io::Result<(File, bool)> {
    // Bounded: each round loses a race against another process creating or removing
    // the file at the same time.
    let mut last = io::Error::from(io::ErrorKind::AlreadyExists);
    for _ in 0..4 {
        match open_existing(path, true) {
            Ok(file) => return Ok((file, false)),
            Err(err) if err.kind() == io::ErrorKind::NotFound => {}
            Err(err) => return Err(err),
        }
        match create_new(path, mode, true) {
            Ok(file) => return Ok((file, true)),
            Err(err) if err.kind() == io::ErrorKind::AlreadyExists => last = err,
            Err(err) => return Err(err),
        }
    }
    Err(last)
}

/// Writes `bytes` as the new file `dir/name`, whole or not at all: to a temporary name
/// in `dir` (created by [`create_new`]: `O_EXCL | O_NOFOLLOW`, exactly `mode`), synced,
/// then renamed to `name` (a rename replaces a link at `name` rather than following it).
/// `before_rename` sees the synced file first (the notification spool takes its lock
/// there, so that no other process can claim the file before its writer is done with
/// it). Returns the file, still open. The one way the crate writes a payload file: the
/// notification spool's items and the notification preview's.
///
/// # Errors
///
/// Any error of creating, writing, syncing or renaming; the temporary file is removed.
pub(crate) fn write_new(
    dir: &Path,
    name: &str,
    bytes: &[u8],
    mode: u32,
    before_rename: impl FnOnce(&File) -> io::Result<()>,
) -> io::Result<File> {
    use std::io::Write;
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let tmp = dir.join(format!(
        ".tmp-{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    ));
    let written = create_new(&tmp, mode, false).and_then(|mut file| {
        file.write_all(bytes)?;
        file.sync_all()?;
        before_rename(&file)?;
        fs::rename(&tmp, dir.join(name))?;
        Ok(file)
    });
    match written {
        Ok(file) => {
            sync_dir(dir);
            Ok(file)
        }
        Err(err) => {
            let _ = fs::remove_file(&tmp);
            Err(err)
        }
    }
}

/// Syncs the directory `dir`, so that a rename in it survives a crash (best effort).
fn sync_dir(dir: &Path) {
    #[cfg(unix)]
    if let Ok(d) = File::open(dir) {
        let _ = d.sync_all();
    }
    #[cfg(not(unix))]
    let _ = dir;
}

/// Makes sure `dir` is a directory, creating it (and its parents) with mode `0o700`
/// when missing. A link or anything else at `dir` is a [`Foreign`] error.
pub(crate) fn private_dir(dir: &Path) -> io::Result<()> {
    match fs::symlink_metadata(dir) {
        Ok(meta) if meta.is_dir() => Ok(()),
        Ok(meta) => Err(foreign(meta.file_type().is_symlink())),
        Err(err) if err.kind() == io::ErrorKind::NotFound => {
            let mut builder = fs::DirBuilder::new();
            builder.recursive(true);
            #[cfg(unix)]
            std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
            builder.create(dir)
        }
        Err(err) => Err(err),
    }
}

/// The mode bits of `meta` (0 off Unix).
pub(crate) fn mode_of(meta: &fs::Metadata) -> u32 {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        meta.permissions().mode() & 0o7777
    }
    #[cfg(not(unix))]
    {
        let _ = meta;
        0
    }
}

/// Device and inode of `meta`, to tell whether a name still leads to an open file.
#[cfg(unix)]
pub(crate) fn identity(meta: &fs::Metadata) -> (u64, u64) {
    use std::os::unix::fs::MetadataExt;
    (meta.dev(), meta.ino())
}

#[cfg(not(unix))]
pub(crate) fn identity(_meta: &fs::Metadata) -> (u64, u64) {
    (0, 0)
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;

    #[test]
    fn links_and_fifos_are_foreign_and_regular_files_open() {
        let dir = tempfile::tempdir().unwrap();
        let victim = dir.path().join("victim");
        fs::write(&victim, "secret\n").unwrap();
        let link = dir.path().join("link");
        std::os::unix::fs::symlink(&victim, &link).unwrap();
        for append in [true, false] {
            let err = open_existing(&link, append).unwrap_err();
            assert!(is_foreign(&err), "{err}");
            assert!(err.to_string().contains("symbolic link"), "{err}");
        }
        assert!(is_foreign(&open_or_create(&link, 0o640).unwrap_err()));
        assert_eq!(fs::read_to_string(&victim).unwrap(), "secret\n");
        let fifo = dir.path().join("fifo");
        let c = std::ffi::CString::new(fifo.as_os_str().as_encoded_bytes()).unwrap();
        // SAFETY: a valid C string.
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
        for append in [true, false] {
            let err = open_existing(&fifo, append).unwrap_err();
            assert!(err.to_string().contains("not a regular file"), "{err}");
        }
        assert!(open_existing(&victim, true).is_ok());
        let missing = dir.path().join("missing");
        assert_eq!(
            open_existing(&missing, false).unwrap_err().kind(),
            io::ErrorKind::NotFound
        );
        let (_, created) = open_or_create(&missing, 0o604).unwrap();
        assert!(created);
        assert_eq!(mode_of(&fs::metadata(&missing).unwrap()), 0o604);
        assert!(!open_or_create(&missing, 0o600).unwrap().1);
    }
}
