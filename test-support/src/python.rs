//! Python packages from PyPI for the tests that check the crate against implementations
//! we did not write (Bugsink, the OpenTelemetry decoder): one virtualenv per package under
//! the target directory, made on first use and reused after.
//!
//! Tests run in parallel threads and in parallel binaries, and two of them may ask for the
//! same virtualenv at once: its creation is done under an exclusive lock on a file beside
//! it, so nobody sees a half-made one (`bin/python` present, `bin/pip` not yet). Every
//! step, the wait for the lock included, is bounded in time.

use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// Bounds `pip install` (a download); the other steps get [`STEP_TIMEOUT`].
pub const INSTALL_TIMEOUT: Duration = Duration::from_secs(240);
/// Bounds every other step that waits on a program.
pub const STEP_TIMEOUT: Duration = Duration::from_secs(120);

/// The virtualenv `target_dir/<name>` with `requirement` (`package==version`) installed,
/// made now unless an earlier run made it; `Err` says why it could not be made (no
/// `python3`, one older than `min_python`, no `venv` module, no package index, a timeout).
pub fn venv(
    target_dir: &Path,
    name: &str,
    requirement: &str,
    min_python: (u32, u32),
) -> Result<PathBuf, String> {
    let venv = target_dir.join(name);
    let marker = venv.join(format!(
        ".installed-{}",
        requirement.replace(['=', '/'], "_")
    ));
    let _lock = Lock::take(
        &target_dir.join(format!("{name}.lock")),
        INSTALL_TIMEOUT + 2 * STEP_TIMEOUT,
    )?;
    if marker.exists() {
        return Ok(venv);
    }
    let check = format!(
        "import sys; print('%d.%d' % sys.version_info[:2]); sys.exit(sys.version_info < ({}, {}))",
        min_python.0, min_python.1
    );
    let (ok, version) = run_bounded(Command::new("python3").args(["-c", &check]), STEP_TIMEOUT)
        .map_err(|e| format!("no python3 ({e})"))?;
    if !ok {
        return Err(format!(
            "python3 is {}, {requirement} needs {}.{} or later",
            version.trim(),
            min_python.0,
            min_python.1
        ));
    }
    if !venv.join("bin/pip").exists() {
        let (ok, out) = run_bounded(
            Command::new("python3").arg("-m").arg("venv").arg(&venv),
            STEP_TIMEOUT,
        )?;
        if !ok {
            return Err(format!("python3 -m venv failed: {}", out.trim()));
        }
    }
    let (ok, out) = run_bounded(
        Command::new(venv.join("bin/pip")).args([
            "install",
            "--quiet",
            "--disable-pip-version-check",
            "--timeout",
            "30",
            requirement,
        ]),
        INSTALL_TIMEOUT,
    )
    .map_err(|e| format!("pip install {requirement}: {e}"))?;
    if !ok {
        return Err(format!(
            "pip install {requirement} failed (no package index?): {}",
            out.trim()
        ));
    }
    std::fs::write(&marker, requirement).map_err(|e| format!("{}: {e}", marker.display()))?;
    Ok(venv)
}

/// An exclusive lock on a file (`File::try_lock`: `flock` on Unix), released when
/// dropped (and by the kernel if the process dies holding it). Two opens of the file
/// conflict even within one process.
struct Lock(#[allow(dead_code)] File);

impl Lock {
    fn take(path: &Path, within: Duration) -> Result<Lock, String> {
        let file = File::options()
            .create(true)
            .truncate(false)
            .write(true)
            .open(path)
            .map_err(|e| format!("{}: {e}", path.display()))?;
        let deadline = Instant::now() + within;
        loop {
            match file.try_lock() {
                Ok(()) => return Ok(Lock(file)),
                Err(std::fs::TryLockError::WouldBlock) if Instant::now() <= deadline => {
                    std::thread::sleep(Duration::from_millis(100));
                }
                Err(std::fs::TryLockError::WouldBlock) => {
                    return Err(format!(
                        "{} stayed locked for {within:?} (another test making the virtualenv)",
                        path.display()
                    ))
                }
                Err(std::fs::TryLockError::Error(e)) => {
                    return Err(format!("{}: {e}", path.display()))
                }
            }
        }
    }
}

/// Runs `cmd` to completion within `timeout` (killing it otherwise); returns whether
/// it succeeded and its combined output.
pub fn run_bounded(cmd: &mut Command, timeout: Duration) -> Result<(bool, String), String> {
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot run {cmd:?}: {e}"))?;
    let (tx, rx) = mpsc::channel();
    for pipe in [
        Box::new(child.stdout.take().unwrap()) as Box<dyn Read + Send>,
        Box::new(child.stderr.take().unwrap()),
    ] {
        let tx = tx.clone();
        let mut pipe = pipe;
        std::thread::spawn(move || {
            let mut s = String::new();
            let _ = pipe.read_to_string(&mut s);
            let _ = tx.send(s);
        });
    }
    let deadline = Instant::now() + timeout;
    let mut out = String::new();
    for _ in 0..2 {
        // Both pipes close when the process exits.
        match rx.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
            Ok(s) => out.push_str(&s),
            Err(_) => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!("{cmd:?} took longer than {timeout:?}"));
            }
        }
    }
    let status = child.wait().map_err(|e| e.to_string())?;
    Ok((status.success(), out))
}
