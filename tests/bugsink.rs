//! The Sentry destination against a real, self-hosted Sentry-compatible tracker:
//! Bugsink 2.6.1 from PyPI (see `shared/spec/sentry/BUGSINK.md` for the commands this
//! follows).
//!
//! The test creates (or reuses) a virtualenv in `target/bugsink-venv`, configures
//! Bugsink in a temporary directory (SQLite, loopback only, no phone-home, its own
//! ingest directory), starts `bugsink-manage runserver` on a free 127.0.0.1 port,
//! creates a team and a project through the REST API, then runs a child program (this
//! test binary again, with `BUGSINK_CHILD` set) that calls `tracing_logbook::init` with
//! `APP_ENV=production` and `SENTRY_DSN`, logs an error and a critical and panics. It
//! then checks through the REST API that all three events arrived with their level,
//! message and (for the panic) stack trace. The server dies with the test, also when an
//! assertion fails.
//!
//! When Python 3.10+, `venv`/`pip` or the package index is unavailable, the test prints
//! `*** SKIPPED bugsink integration test: <reason> ***` on stderr and passes.

#![allow(clippy::print_stderr, clippy::print_stdout)]

use std::time::Duration;

const CHILD: &str = "BUGSINK_CHILD";

/// Writes to the real stderr: `eprintln!` is captured by the test harness and a
/// passing (skipped) test's capture is never shown.
fn loud(message: std::fmt::Arguments<'_>) {
    use std::io::Write;
    let _ = writeln!(std::io::stderr(), "\n{message}\n");
}

/// The child program: what an application does.
#[test]
fn child() {
    if std::env::var_os(CHILD).is_none() {
        return; // not the child: nothing to do
    }
    let guard = tracing_logbook::init(tracing_logbook::Env::from_env().unwrap()).unwrap();
    tracing::info!(target: "shop", "checkout started");
    tracing::error!(target: "shop", order = 42, customer = "ann", password = "hunter2", "payment failed");
    tracing_logbook::critical!(target: "shop::db", "database unreachable");
    let flushed = guard.flush(Duration::from_secs(20));
    let handle = guard
        .sentry()
        .expect("SENTRY_DSN enables the Sentry notifier");
    println!(
        "CHILD flushed={flushed} sent={} failed={} dropped={}",
        handle.sent(),
        handle.failed(),
        handle.dropped()
    );
    panic_in_the_handler();
}

#[inline(never)]
fn panic_in_the_handler() {
    panic!("boom in production");
}

#[cfg(not(feature = "http-client"))]
#[test]
fn events_reach_a_real_bugsink_server() {
    loud(format_args!(
        "*** SKIPPED bugsink integration test: built without the `http-client` feature (no HTTP client) ***"
    ));
}

#[cfg(feature = "http-client")]
#[test]
fn events_reach_a_real_bugsink_server() {
    if std::env::var_os(CHILD).is_some() {
        return;
    }
    real::run();
}

#[cfg(feature = "http-client")]
mod real {
    use std::io::{BufRead, BufReader};
    use std::net::TcpListener;
    use std::path::{Path, PathBuf};
    use std::process::{Child, Command, Stdio};
    use std::sync::mpsc;
    use std::time::{Duration, Instant};

    use serde_json::{json, Value};

    use super::CHILD;

    const VERSION: &str = "2.6.1";
    /// Bounds every step that waits on something outside this process.
    const INSTALL_TIMEOUT: Duration = Duration::from_secs(240);
    const STEP_TIMEOUT: Duration = Duration::from_secs(120);
    const READY_TIMEOUT: Duration = Duration::from_secs(60);

    /// A step could not be done for want of Python or the package index.
    struct Skip(String);

    /// Runs `cmd` to completion within `timeout` (killing it otherwise); returns whether
    /// it succeeded and its combined output.
    fn run_bounded(cmd: &mut Command, timeout: Duration) -> Result<(bool, String), String> {
        let mut child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| format!("cannot run {cmd:?}: {e}"))?;
        let mut stdout = child.stdout.take().unwrap();
        let mut stderr = child.stderr.take().unwrap();
        let (tx, rx) = mpsc::channel();
        let tx2 = tx.clone();
        std::thread::spawn(move || {
            let mut s = String::new();
            let _ = std::io::Read::read_to_string(&mut stdout, &mut s);
            let _ = tx.send(s);
        });
        std::thread::spawn(move || {
            let mut s = String::new();
            let _ = std::io::Read::read_to_string(&mut stderr, &mut s);
            let _ = tx2.send(s);
        });
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

    fn target_dir() -> PathBuf {
        Path::new(env!("CARGO_TARGET_TMPDIR"))
            .parent()
            .expect("CARGO_TARGET_TMPDIR is target/tmp")
            .to_path_buf()
    }

    /// The virtualenv with Bugsink installed; created on first use.
    fn venv() -> Result<PathBuf, Skip> {
        let venv = target_dir().join("bugsink-venv");
        let marker = venv.join(format!(".tracing-logbook-bugsink-{VERSION}"));
        if marker.exists() && venv.join("bin/bugsink-manage").exists() {
            return Ok(venv);
        }
        let version = run_bounded(
            Command::new("python3").args([
                "-c",
                "import sys; print('%d.%d' % sys.version_info[:2]); sys.exit(sys.version_info < (3, 10))",
            ]),
            STEP_TIMEOUT,
        )
        .map_err(|e| Skip(format!("no python3 ({e})")))?;
        if !version.0 {
            return Err(Skip(format!(
                "python3 is {}, Bugsink needs 3.10 or later",
                version.1.trim()
            )));
        }
        if !venv.join("bin/pip").exists() {
            let (ok, out) = run_bounded(
                Command::new("python3").arg("-m").arg("venv").arg(&venv),
                STEP_TIMEOUT,
            )
            .map_err(Skip)?;
            if !ok {
                return Err(Skip(format!("python3 -m venv failed: {}", out.trim())));
            }
        }
        let (ok, out) = run_bounded(
            Command::new(venv.join("bin/pip")).args([
                "install",
                "--quiet",
                "--disable-pip-version-check",
                "--timeout",
                "30",
                &format!("bugsink=={VERSION}"),
            ]),
            INSTALL_TIMEOUT,
        )
        .map_err(|e| Skip(format!("pip install bugsink=={VERSION}: {e}")))?;
        if !ok {
            return Err(Skip(format!(
                "pip install bugsink=={VERSION} failed (no package index?): {}",
                out.trim()
            )));
        }
        std::fs::write(&marker, VERSION).map_err(|e| Skip(e.to_string()))?;
        Ok(venv)
    }

    /// The running server; killed when dropped.
    struct Server {
        process: Child,
        log: PathBuf,
    }

    impl Drop for Server {
        fn drop(&mut self) {
            let _ = self.process.kill();
            let _ = self.process.wait();
        }
    }

    impl Server {
        fn log(&self) -> String {
            std::fs::read_to_string(&self.log).unwrap_or_default()
        }
    }

    fn manage(venv: &Path, dir: &Path) -> Command {
        let mut cmd = Command::new(venv.join("bin/bugsink-manage"));
        cmd.current_dir(dir)
            .env("PATH", prepend_path(&venv.join("bin")))
            .env("PYTHONUNBUFFERED", "1")
            .env_remove("DJANGO_SETTINGS_MODULE")
            .env_remove("PYTHONPATH");
        cmd
    }

    fn prepend_path(bin: &Path) -> std::ffi::OsString {
        let mut paths = vec![bin.to_path_buf()];
        if let Some(path) = std::env::var_os("PATH") {
            paths.extend(std::env::split_paths(&path));
        }
        std::env::join_paths(paths).unwrap()
    }

    fn step(cmd: &mut Command, what: &str) -> String {
        match run_bounded(cmd, STEP_TIMEOUT) {
            Ok((true, out)) => out,
            Ok((false, out)) => panic!("{what} failed:\n{out}"),
            Err(e) => panic!("{what}: {e}"),
        }
    }

    fn free_port() -> u16 {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    }

    /// Configures Bugsink in `dir` for `port` and starts it; returns once it is ready.
    fn start(venv: &Path, dir: &Path, port: u16) -> (Server, String) {
        step(
            Command::new(venv.join("bin/bugsink-create-conf"))
                .current_dir(dir)
                .args(["--template=local", "--host=127.0.0.1"])
                .arg(format!("--port={port}")),
            "bugsink-create-conf",
        );
        let conf = dir.join("bugsink_conf.py");
        let mut text = std::fs::read_to_string(&conf).unwrap();
        text.push_str(&format!(
            "\nBUGSINK[\"PHONEHOME\"] = False\nBUGSINK[\"INGEST_STORE_BASE_DIR\"] = {:?}\n",
            dir.join("ingestion").display().to_string()
        ));
        std::fs::write(&conf, text).unwrap();
        step(
            manage(venv, dir).args(["migrate", "--noinput"]),
            "bugsink-manage migrate",
        );
        step(
            manage(venv, dir).args(["migrate", "snappea", "--database=snappea", "--noinput"]),
            "bugsink-manage migrate snappea",
        );
        let token = step(
            manage(venv, dir).arg("create_auth_token"),
            "bugsink-manage create_auth_token",
        );
        let token = token
            .split_whitespace()
            .rfind(|w| w.len() == 40 && w.bytes().all(|b| b.is_ascii_hexdigit()))
            .unwrap_or_else(|| panic!("no token in {token:?}"))
            .to_owned();

        let log = dir.join("server.log");
        let mut process = manage(venv, dir)
            .args(["runserver", &format!("127.0.0.1:{port}"), "--noreload"])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .expect("start bugsink-manage runserver");
        // The server says when it starts listening; then /health/ready answers.
        let stdout = process.stdout.take().unwrap();
        let server = Server { process, log };
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if line.contains("Starting development server") {
                    let _ = tx.send(());
                }
            }
        });
        if rx.recv_timeout(READY_TIMEOUT).is_err() {
            panic!(
                "Bugsink did not start within {READY_TIMEOUT:?}:\n{}",
                server.log()
            );
        }
        let agent = agent();
        let deadline = Instant::now() + READY_TIMEOUT;
        let mut backoff = Duration::from_millis(20);
        loop {
            match agent
                .get(format!("http://127.0.0.1:{port}/health/ready"))
                .call()
            {
                Ok(_) => break,
                Err(e) if Instant::now() >= deadline => {
                    panic!("/health/ready: {e}\n{}", server.log())
                }
                // Polling a separate process that has no other readiness signal: the
                // socket is bound just after the message above.
                Err(_) => {
                    std::thread::sleep(backoff);
                    backoff = (backoff * 2).min(Duration::from_millis(500));
                }
            }
        }
        (server, token)
    }

    fn agent() -> ureq::Agent {
        ureq::Agent::config_builder()
            .timeout_global(Some(Duration::from_secs(20)))
            .build()
            .new_agent()
    }

    struct Api {
        agent: ureq::Agent,
        base: String,
        token: String,
    }

    impl Api {
        fn get(&self, path: &str) -> Value {
            let text = self
                .agent
                .get(format!("{}{path}", self.base))
                .header("Authorization", &format!("Bearer {}", self.token))
                .call()
                .unwrap_or_else(|e| panic!("GET {path}: {e}"))
                .body_mut()
                .read_to_string()
                .unwrap();
            serde_json::from_str(&text).unwrap()
        }

        fn post(&self, path: &str, body: Value) -> Value {
            let text = self
                .agent
                .post(format!("{}{path}", self.base))
                .header("Authorization", &format!("Bearer {}", self.token))
                .header("Content-Type", "application/json")
                .send(body.to_string())
                .unwrap_or_else(|e| panic!("POST {path}: {e}"))
                .body_mut()
                .read_to_string()
                .unwrap();
            serde_json::from_str(&text).unwrap()
        }
    }

    pub(super) fn run() {
        let started = Instant::now();
        let venv = match venv() {
            Ok(venv) => venv,
            Err(Skip(reason)) => {
                super::loud(format_args!(
                    "*** SKIPPED bugsink integration test: {reason} ***"
                ));
                return;
            }
        };
        let dir = tempfile::tempdir().unwrap();
        let conf_dir = dir.path().join("bugsink");
        std::fs::create_dir(&conf_dir).unwrap();
        let port = free_port();
        let (server, token) = start(&venv, &conf_dir, port);
        let api = Api {
            agent: agent(),
            base: format!("http://127.0.0.1:{port}/api/canonical/0"),
            token,
        };

        // The REST API's schema lists the endpoints used below.
        let schema = api
            .agent
            .get(format!("{}/schema/", api.base))
            .header("Authorization", &format!("Bearer {}", api.token))
            .call()
            .expect("GET schema")
            .body_mut()
            .read_to_string()
            .unwrap();
        for endpoint in [
            "/teams/",
            "/projects/",
            "/issues/",
            "/events/",
            "/events/{id}/",
        ] {
            assert!(
                schema.contains(&format!("/api/canonical/0{endpoint}:")),
                "{endpoint} is not in the schema"
            );
        }

        let team = api.post("/teams/", json!({ "name": "ci" }));
        let project = api.post(
            "/projects/",
            json!({ "team": team["id"], "name": "tracing-logbook" }),
        );
        let project_id = match &project["id"] {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        let dsn = api.get(&format!("/projects/{project_id}/"))["dsn"]
            .as_str()
            .expect("the project has a DSN")
            .to_owned();

        // The application.
        let log_file = dir.path().join("logs").join("app.log");
        let out = Command::new(std::env::current_exe().unwrap())
            .args(["--exact", "child", "--nocapture", "--test-threads=1"])
            .env(CHILD, "1")
            .env("APP_ENV", "production")
            .env("SENTRY_DSN", &dsn)
            .env("SENTRY_RELEASE", "shop@1.0.0")
            .env("LOG_FILE", &log_file)
            .env_remove("ROLLBAR_ACCESS_TOKEN")
            .env_remove("SENTRY_ENVIRONMENT")
            .env_remove("RUST_LOG")
            .output()
            .unwrap();
        let child_out = format!(
            "child stdout:\n{}\nchild stderr:\n{}\nserver log:\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr),
            server.log()
        );
        assert!(!out.status.success(), "the child panics\n{child_out}");
        assert!(
            String::from_utf8_lossy(&out.stdout).contains("CHILD flushed=true sent=2 failed=0"),
            "{child_out}"
        );

        // What Bugsink stored.
        let issues = api.get(&format!("/issues/?project={project_id}"))["results"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        let find = |value: &str| {
            issues
                .iter()
                .find(|i| i["calculated_value"] == value)
                .unwrap_or_else(|| panic!("no issue {value:?} in {issues:#?}\n{child_out}"))
        };
        let event_of = |issue: &Value| -> Value {
            let events = api.get(&format!("/events/?issue={}", issue["id"].as_str().unwrap()));
            let first = &events["results"][0];
            assert_eq!(
                events["results"].as_array().map(Vec::len),
                Some(1),
                "{events:#}"
            );
            api.get(&format!("/events/{}/", first["id"].as_str().unwrap()))
        };

        let error = find("payment failed");
        assert_eq!(error["calculated_type"], "Log Message");
        let event = event_of(error);
        let data = &event["data"];
        assert_eq!(data["level"], "error");
        assert_eq!(data["logentry"]["formatted"], "payment failed");
        assert_eq!(data["logger"], "shop");
        assert_eq!(data["environment"], "production");
        assert_eq!(data["release"], "shop@1.0.0");
        assert_eq!(data["extra"]["order"], 42);
        assert_eq!(data["extra"]["customer"], "ann");
        assert_eq!(data["extra"]["password"], "***");
        assert_eq!(
            data["breadcrumbs"]["values"][0]["message"],
            "checkout started"
        );
        // Bugsink shows the hyphenated form of the 32-hex event id that was sent.
        assert_eq!(
            event["event_id"].as_str().unwrap().replace('-', ""),
            data["event_id"].as_str().unwrap()
        );

        let critical = find("database unreachable");
        let data = &event_of(critical)["data"];
        assert_eq!(data["level"], "fatal");
        assert_eq!(data["logger"], "shop::db");

        let panic = find("boom in production");
        assert_eq!(panic["calculated_type"], "panic");
        let event = event_of(panic);
        let data = &event["data"];
        assert_eq!(data["level"], "fatal");
        let frames = data["exception"]["values"][0]["stacktrace"]["frames"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        let functions: Vec<&str> = frames
            .iter()
            .filter_map(|f| f["function"].as_str())
            .collect();
        let handler = functions
            .iter()
            .position(|f| f.contains("panic_in_the_handler"))
            .unwrap_or_else(|| panic!("no panic_in_the_handler frame in {functions:#?}"));
        let caller = functions
            .iter()
            .position(|f| f.ends_with("bugsink::child"))
            .unwrap_or_else(|| panic!("no child frame in {functions:#?}"));
        assert!(caller < handler, "oldest first: {functions:#?}");
        assert_eq!(frames[handler]["in_app"], true);
        let md = event["stacktrace_md"].as_str().unwrap_or_default();
        assert!(md.contains("panic_in_the_handler"), "{md}");
        assert_eq!(issues.len(), 3, "{issues:#?}");

        drop(server);
        super::loud(format_args!(
            "bugsink integration test: passed in {:.1} s",
            started.elapsed().as_secs_f64()
        ));
    }
}
