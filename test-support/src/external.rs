//! Tests that need a program from outside (rsyslog, Bugsink, the OpenTelemetry Python
//! package): one way to say they could not run, and the rsyslog daemon they start.
//!
//! Without the program such a test says so loudly on stderr and passes without
//! checking anything, unless `LOGBOOK_REQUIRE_SERVERS` is set: `.ci/run` installs the
//! programs and sets it, so in CI a test that could not run fails.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

/// One line straight to the process's stderr, set apart by blank lines: `eprintln!` in a
/// passing test is captured by the test harness and never shown.
pub fn loud(message: std::fmt::Arguments<'_>) {
    let _ = writeln!(std::io::stderr().lock(), "\n{message}\n");
}

/// `test` could not run, for `reason`: a failure under `LOGBOOK_REQUIRE_SERVERS`, else a
/// loud `*** SKIPPED ... ***` on stderr (the test then returns, having checked nothing).
pub fn skip_or_fail(test: &str, reason: impl std::fmt::Display) {
    if std::env::var_os("LOGBOOK_REQUIRE_SERVERS").is_some() {
        panic!("{test} could not run: {reason}");
    }
    loud(format_args!("*** SKIPPED {test}: {reason} ***"));
}

/// The installed `rsyslogd` (Debian package `rsyslog`), if any.
pub fn rsyslogd() -> Option<PathBuf> {
    ["/usr/sbin/rsyslogd", "/sbin/rsyslogd", "/usr/bin/rsyslogd"]
        .iter()
        .map(PathBuf::from)
        .find(|p| p.exists())
}

/// An `rsyslogd` in the foreground with a configuration of the test's own, stopped
/// (killed and waited for) when the test ends, however it ends.
#[derive(Debug)]
pub struct Rsyslogd(Child);

impl Rsyslogd {
    /// Starts `rsyslogd` with the configuration file `conf`, its pid file at `pid`.
    pub fn start(rsyslogd: &Path, conf: &Path, pid: &Path) -> Rsyslogd {
        let child = Command::new(rsyslogd)
            .arg("-n")
            .arg("-f")
            .arg(conf)
            .arg("-i")
            .arg(pid)
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        Rsyslogd(child)
    }

    /// The daemon's process id.
    pub fn id(&self) -> u32 {
        self.0.id()
    }
}

impl Drop for Rsyslogd {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}
