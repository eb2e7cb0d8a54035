//! The one child-process runner of the tests: what is process-wide (`init`, the panic
//! hook, signal dispositions, the umask, `exit`) is tested in a child process, most often
//! the test binary itself running one of its own tests:
//!
//! ```no_run
//! use std::time::Duration;
//! use tracing_logbook_test_support::child::ChildRun;
//!
//! let out = ChildRun::test("child")
//!     .env("LOGBOOK_CHILD", "development")
//!     .env_remove("RUST_LOG")
//!     .deadline(Duration::from_secs(30))
//!     .run();
//! assert!(out.status.success(), "{out}");
//! ```
//!
//! Every wait is bounded by the deadline (60 s unless set), counted from the start: a
//! child still running then is killed. Its stdout and stderr are captured (read on
//! their own threads, so a chatty child never blocks on a full pipe), and its stdin is
//! empty unless asked for.

use std::ffi::{OsStr, OsString};
use std::fmt;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, ExitStatus, Stdio};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

/// The deadline of a child unless [`ChildRun::deadline`] sets another.
pub const DEFAULT_DEADLINE: Duration = Duration::from_secs(60);

/// How long the output of a child that ended (or was killed) is still waited for: a
/// process it forked may hold its pipes.
const DRAIN: Duration = Duration::from_secs(5);

/// How a child is started: the program, its arguments and environment, and its deadline.
#[derive(Clone, Debug)]
pub struct ChildRun {
    program: PathBuf,
    args: Vec<OsString>,
    /// Set (`Some`) or removed (`None`), in this order.
    env: Vec<(OsString, Option<OsString>)>,
    dir: Option<PathBuf>,
    deadline: Duration,
    stdin: bool,
    close_stdout_after: Option<String>,
}

impl ChildRun {
    /// The test `name` of this test binary, alone: `--exact <name> --test-threads=1`,
    /// with `--nocapture` (see [`ChildRun::nocapture`]).
    pub fn test(name: &str) -> ChildRun {
        let mut run = ChildRun::program(std::env::current_exe().expect("the test binary"));
        run.args = ["--exact", name, "--test-threads=1", "--nocapture"]
            .map(OsString::from)
            .to_vec();
        run
    }

    /// Any program (another binary of the package: `env!("CARGO_BIN_EXE_<name>")`).
    pub fn program(path: impl AsRef<Path>) -> ChildRun {
        ChildRun {
            program: path.as_ref().to_path_buf(),
            args: Vec::new(),
            env: Vec::new(),
            dir: None,
            deadline: DEFAULT_DEADLINE,
            stdin: false,
            close_stdout_after: None,
        }
    }

    /// Whether libtest runs the test with `--nocapture` (its output straight to the
    /// pipes); on by default. Off, libtest holds a passing test's output and shows a
    /// failing one's under `---- <name> stdout ----`.
    pub fn nocapture(mut self, on: bool) -> ChildRun {
        self.args.retain(|a| a != "--nocapture");
        if on {
            self.args.push("--nocapture".into());
        }
        self
    }

    /// Sets the variable `key` in the child's environment.
    pub fn env(mut self, key: impl AsRef<OsStr>, value: impl AsRef<OsStr>) -> ChildRun {
        self.env
            .push((key.as_ref().to_owned(), Some(value.as_ref().to_owned())));
        self
    }

    /// Sets each `(key, value)` of `vars`.
    pub fn envs<K, V>(self, vars: impl IntoIterator<Item = (K, V)>) -> ChildRun
    where
        K: AsRef<OsStr>,
        V: AsRef<OsStr>,
    {
        vars.into_iter().fold(self, |run, (k, v)| run.env(k, v))
    }

    /// Removes the variable `key` (one this process has) from the child's environment.
    pub fn env_remove(mut self, key: impl AsRef<OsStr>) -> ChildRun {
        self.env.push((key.as_ref().to_owned(), None));
        self
    }

    /// Removes each of `keys`.
    pub fn env_removes<K: AsRef<OsStr>>(self, keys: impl IntoIterator<Item = K>) -> ChildRun {
        keys.into_iter().fold(self, |run, k| run.env_remove(k))
    }

    /// The child's working directory.
    pub fn current_dir(mut self, dir: impl AsRef<Path>) -> ChildRun {
        self.dir = Some(dir.as_ref().to_path_buf());
        self
    }

    /// Kills the child if it runs longer than `deadline` (from its start); bounds every
    /// wait on it as well.
    pub fn deadline(mut self, deadline: Duration) -> ChildRun {
        self.deadline = deadline;
        self
    }

    /// A pipe to the child's stdin, for [`Running::write_stdin`] (otherwise it reads
    /// end-of-file at once).
    pub fn stdin_piped(mut self) -> ChildRun {
        self.stdin = true;
        self
    }

    /// Closes the read end of the child's stdout once it printed `text` (what `| head`
    /// does): what it writes after that fails with a broken pipe.
    pub fn close_stdout_after(mut self, text: &str) -> ChildRun {
        self.close_stdout_after = Some(text.to_owned());
        self
    }

    /// The command, for reading in a failure's message.
    pub fn command(&self) -> Command {
        let mut cmd = Command::new(&self.program);
        cmd.args(&self.args);
        for (key, value) in &self.env {
            match value {
                Some(value) => cmd.env(key, value),
                None => cmd.env_remove(key),
            };
        }
        if let Some(dir) = &self.dir {
            cmd.current_dir(dir);
        }
        cmd
    }

    /// Starts the child; [`Running::wait`] ends it.
    pub fn spawn(&self) -> Running {
        let started = Instant::now();
        let mut cmd = self.command();
        let stdin = if self.stdin {
            Stdio::piped()
        } else {
            Stdio::null()
        };
        let mut child = cmd
            .stdin(stdin)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {cmd:?}: {e}"));
        let stdout = Captured::start(
            child.stdout.take().unwrap(),
            self.close_stdout_after.clone(),
        );
        let stderr = Captured::start(child.stderr.take().unwrap(), None);
        Running {
            program: self.program.clone(),
            stdin: child.stdin.take(),
            child,
            stdout,
            stderr,
            started,
            deadline: started + self.deadline,
            limit: self.deadline,
        }
    }

    /// Runs the child to its end; fails (with what it printed) if it was killed at the
    /// deadline. `spawn().wait_or_kill()` is the same without the check, for a test to
    /// which a hang is a result.
    pub fn run(&self) -> Outcome {
        self.spawn().wait()
    }
}

/// A running child.
#[derive(Debug)]
pub struct Running {
    program: PathBuf,
    child: Child,
    stdin: Option<ChildStdin>,
    stdout: Captured,
    stderr: Captured,
    started: Instant,
    deadline: Instant,
    limit: Duration,
}

impl Running {
    /// The child's process id.
    pub fn id(&self) -> u32 {
        self.child.id()
    }

    /// Waits (until the deadline at most) for the child's stdout to hold `text`; false
    /// if its stdout ended or the deadline came first.
    pub fn wait_for_stdout(&self, text: &str) -> bool {
        self.stdout.wait_for(text, self.deadline)
    }

    /// What the child printed on stdout so far.
    pub fn stdout(&self) -> String {
        self.stdout.text()
    }

    /// Writes `bytes` to the child's stdin (see [`ChildRun::stdin_piped`]).
    pub fn write_stdin(&mut self, bytes: &[u8]) {
        let stdin = self.stdin.as_mut().expect("ChildRun::stdin_piped");
        stdin.write_all(bytes).expect("write to the child's stdin");
    }

    /// Sends `signal` to the child (kill(2)).
    #[cfg(unix)]
    pub fn signal(&self, signal: i32) {
        // SAFETY: kill(2) on our own child, which is not waited for yet: its pid is
        // still its own.
        let sent = unsafe { libc::kill(self.child.id() as libc::pid_t, signal) };
        assert_eq!(sent, 0, "kill({}, {signal})", self.child.id());
    }

    /// Waits for the child to end; fails (with what it printed) if it was killed at the
    /// deadline.
    pub fn wait(self) -> Outcome {
        let program = format!("{:?}", self.program);
        let out = self.wait_or_kill();
        assert!(
            out.in_time,
            "{program} did not end within its deadline\n{out}"
        );
        out
    }

    /// Waits for the child to end, until the deadline at most: then kills it. Returns
    /// how it ended (see [`Outcome::in_time`]) and what it printed.
    pub fn wait_or_kill(mut self) -> Outcome {
        drop(self.stdin.take()); // end-of-file for a child still reading its stdin
        let mut in_time = true;
        let status = loop {
            if let Some(status) = self.child.try_wait().expect("wait for the child") {
                break status;
            }
            let now = Instant::now();
            if now >= self.deadline {
                in_time = false;
                let _ = self.child.kill();
                break self.child.wait().expect("wait for the killed child");
            }
            // A child has no readiness signal to wait on without taking it away from
            // kill(): poll, briefly.
            std::thread::sleep(Duration::from_millis(5).min(self.deadline - now));
        };
        let drained = Instant::now() + DRAIN;
        Outcome {
            status,
            in_time,
            elapsed: self.started.elapsed(),
            stdout: self.stdout.finish(drained),
            stderr: self.stderr.finish(drained),
            limit: self.limit,
        }
    }
}

/// How a child ended, and what it printed.
#[derive(Debug)]
pub struct Outcome {
    pub status: ExitStatus,
    /// Whether it ended before its deadline (otherwise it was killed then).
    pub in_time: bool,
    /// From its start to its end.
    pub elapsed: Duration,
    /// Its stdout, as text (lossily).
    pub stdout: String,
    /// Its stderr, as text (lossily).
    pub stderr: String,
    limit: Duration,
}

impl Outcome {
    /// Whether it ended in time with success.
    pub fn success(&self) -> bool {
        self.in_time && self.status.success()
    }

    /// Its exit code (`None` when a signal ended it).
    pub fn code(&self) -> Option<i32> {
        self.status.code()
    }
}

/// Everything, for a failure's message.
impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let killed = if self.in_time {
            String::new()
        } else {
            format!(" (killed at its deadline of {:?})", self.limit)
        };
        write!(
            f,
            "{:?}{killed} after {:?}\n--- stdout:\n{}\n--- stderr:\n{}",
            self.status, self.elapsed, self.stdout, self.stderr
        )
    }
}

/// One output of the child, read to its end on a thread of its own.
#[derive(Debug)]
struct Captured {
    shared: Arc<(Mutex<Capture>, Condvar)>,
}

#[derive(Debug, Default)]
struct Capture {
    bytes: Vec<u8>,
    ended: bool,
}

impl Captured {
    fn start(pipe: impl Read + Send + 'static, close_after: Option<String>) -> Captured {
        let shared = Arc::new((Mutex::new(Capture::default()), Condvar::new()));
        let writer = shared.clone();
        std::thread::spawn(move || {
            let (lock, cond) = &*writer;
            let mut pipe = Some(pipe);
            let mut buf = [0u8; 8192];
            while let Some(reading) = pipe.as_mut() {
                let n = match reading.read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => n,
                };
                let mut capture = lock.lock().unwrap();
                capture.bytes.extend_from_slice(&buf[..n]);
                if close_after
                    .as_deref()
                    .is_some_and(|text| contains(&capture.bytes, text))
                {
                    // Closed before anyone waiting for `text` can see it: the child's
                    // next write fails.
                    drop(pipe.take());
                }
                drop(capture);
                cond.notify_all();
            }
            drop(pipe);
            lock.lock().unwrap().ended = true;
            cond.notify_all();
        });
        Captured { shared }
    }

    fn text(&self) -> String {
        String::from_utf8_lossy(&self.shared.0.lock().unwrap().bytes).into_owned()
    }

    /// Waits until the output holds `text` (true), or ends or `deadline` comes (false).
    fn wait_for(&self, text: &str, deadline: Instant) -> bool {
        let (lock, cond) = &*self.shared;
        let mut capture = lock.lock().unwrap();
        loop {
            if contains(&capture.bytes, text) {
                return true;
            }
            let now = Instant::now();
            if capture.ended || now >= deadline {
                return false;
            }
            capture = cond.wait_timeout(capture, deadline - now).unwrap().0;
        }
    }

    /// The whole output, once it ended (or what there is at `deadline`).
    fn finish(self, deadline: Instant) -> String {
        let (lock, cond) = &*self.shared;
        let mut capture = lock.lock().unwrap();
        while !capture.ended {
            let now = Instant::now();
            if now >= deadline {
                break;
            }
            capture = cond.wait_timeout(capture, deadline - now).unwrap().0;
        }
        String::from_utf8_lossy(&capture.bytes).into_owned()
    }
}

fn contains(haystack: &[u8], needle: &str) -> bool {
    let needle = needle.as_bytes();
    needle.is_empty() || haystack.windows(needle.len()).any(|w| w == needle)
}
