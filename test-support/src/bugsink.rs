//! A real Bugsink server for the tests of both packages (the library's `tests/bugsink.rs`
//! and the web example's database test): Bugsink 2.6.1 from PyPI in a virtualenv under
//! the target directory, configured in a temporary directory (SQLite, loopback only, no
//! phone-home), started with `bugsink-manage runserver` on a free 127.0.0.1 port, with
//! a team and a project made through the REST API. Every step is bounded in time; the
//! server dies with its [`Bugsink`] value. See `shared/spec/sentry/BUGSINK.md`.
//!
//! Its REST API is spoken over loopback with a small HTTP/1.1 client of its own ([`Api`]),
//! so that this crate needs no HTTP client: the library's tests without the
//! `http-client` feature build it too.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use crate::python::{run_bounded, STEP_TIMEOUT};
use serde_json::{json, Value};

const VERSION: &str = "2.6.1";
const READY_TIMEOUT: Duration = Duration::from_secs(60);

/// A step could not be done for want of Python or the package index.
pub struct Skip(pub String);

/// The virtualenv with Bugsink installed; created on first use.
fn venv(target_dir: &Path) -> Result<PathBuf, Skip> {
    let venv = crate::python::venv(
        target_dir,
        "bugsink-venv",
        &format!("bugsink=={VERSION}"),
        (3, 10),
    )
    .map_err(Skip)?;
    match venv.join("bin/bugsink-manage").exists() {
        true => Ok(venv),
        false => Err(Skip(format!(
            "bugsink=={VERSION} is installed in {} without bin/bugsink-manage",
            venv.display()
        ))),
    }
}

/// The running server; killed when dropped.
pub struct Server {
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
    pub fn log(&self) -> String {
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
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let deadline = Instant::now() + READY_TIMEOUT;
    let mut backoff = Duration::from_millis(20);
    loop {
        match request(addr, "GET", "/health/ready", &[], None).and_then(|(status, body)| {
            if (200..300).contains(&status) {
                Ok(())
            } else {
                Err(format!("status {status}: {body}"))
            }
        }) {
            Ok(()) => break,
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

/// Bound on connecting to Bugsink and on each read or write of a request.
const IO_TIMEOUT: Duration = Duration::from_secs(20);

/// One HTTP/1.1 request to `addr` with `Connection: close`; returns the status and the
/// body (a chunked body is decoded). Every socket operation is bounded by [`IO_TIMEOUT`].
fn request(
    addr: SocketAddr,
    method: &str,
    target: &str,
    headers: &[(&str, &str)],
    body: Option<&str>,
) -> Result<(u16, String), String> {
    let mut stream = TcpStream::connect_timeout(&addr, IO_TIMEOUT).map_err(|e| e.to_string())?;
    stream
        .set_read_timeout(Some(IO_TIMEOUT))
        .and_then(|()| stream.set_write_timeout(Some(IO_TIMEOUT)))
        .map_err(|e| e.to_string())?;
    let mut head = format!("{method} {target} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n");
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    let body = body.unwrap_or_default();
    if method != "GET" {
        head.push_str(&format!("Content-Length: {}\r\n", body.len()));
    }
    head.push_str("\r\n");
    stream
        .write_all(head.as_bytes())
        .and_then(|()| stream.write_all(body.as_bytes()))
        .map_err(|e| e.to_string())?;
    let mut response = Vec::new();
    stream
        .read_to_end(&mut response)
        .map_err(|e| e.to_string())?;
    let split = response
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or_else(|| {
            format!(
                "no end of headers in {:?}",
                String::from_utf8_lossy(&response)
            )
        })?;
    let head = String::from_utf8_lossy(&response[..split]).into_owned();
    let mut content = response[split + 4..].to_vec();
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| format!("no status in {head:?}"))?;
    let chunked = head.lines().any(|l| {
        l.split_once(':').is_some_and(|(k, v)| {
            k.trim().eq_ignore_ascii_case("transfer-encoding")
                && v.trim().eq_ignore_ascii_case("chunked")
        })
    });
    if chunked {
        content = dechunk(&content)?;
    }
    Ok((status, String::from_utf8_lossy(&content).into_owned()))
}

/// The body of a `Transfer-Encoding: chunked` response.
fn dechunk(mut rest: &[u8]) -> Result<Vec<u8>, String> {
    let mut body = Vec::new();
    loop {
        let end = rest
            .windows(2)
            .position(|w| w == b"\r\n")
            .ok_or("a chunk without its size line")?;
        let line = String::from_utf8_lossy(&rest[..end]);
        let size = usize::from_str_radix(line.split(';').next().unwrap_or("").trim(), 16)
            .map_err(|e| format!("chunk size {line:?}: {e}"))?;
        rest = &rest[end + 2..];
        if size == 0 {
            return Ok(body);
        }
        if rest.len() < size + 2 {
            return Err("a truncated chunk".into());
        }
        body.extend_from_slice(&rest[..size]);
        rest = &rest[size + 2..];
    }
}

/// Bugsink's REST API (`/api/canonical/0`), with the token of its admin.
pub struct Api {
    pub addr: SocketAddr,
    /// The API's path prefix, `/api/canonical/0`.
    pub base: String,
    pub token: String,
}

impl Api {
    /// `GET` of `path` (under [`Api::base`]); its body, which must be a success's.
    pub fn get_text(&self, path: &str) -> String {
        let auth = format!("Bearer {}", self.token);
        match request(
            self.addr,
            "GET",
            &format!("{}{path}", self.base),
            &[("Authorization", &auth)],
            None,
        ) {
            Ok((status, body)) if (200..300).contains(&status) => body,
            Ok((status, body)) => panic!("GET {path}: status {status}: {body}"),
            Err(e) => panic!("GET {path}: {e}"),
        }
    }

    pub fn get(&self, path: &str) -> Value {
        serde_json::from_str(&self.get_text(path)).unwrap()
    }

    pub fn post(&self, path: &str, body: Value) -> Value {
        let auth = format!("Bearer {}", self.token);
        let text = match request(
            self.addr,
            "POST",
            &format!("{}{path}", self.base),
            &[
                ("Authorization", &auth),
                ("Content-Type", "application/json"),
            ],
            Some(&body.to_string()),
        ) {
            Ok((status, body)) if (200..300).contains(&status) => body,
            Ok((status, body)) => panic!("POST {path}: status {status}: {body}"),
            Err(e) => panic!("POST {path}: {e}"),
        };
        serde_json::from_str(&text).unwrap()
    }
}

/// A running Bugsink with one project.
pub struct Bugsink {
    pub server: Server,
    pub api: Api,
    pub project_id: String,
    /// The project's DSN.
    pub dsn: String,
    /// Holds the configuration and the database.
    _dir: tempfile::TempDir,
}

impl Bugsink {
    /// Starts Bugsink with one project; `target_dir` is the cargo target directory
    /// (where the virtualenv is kept). `Err(Skip)` when Python 3.10+, `venv`/`pip` or
    /// the package index is not available.
    pub fn start(target_dir: &Path, project: &str) -> Result<Bugsink, Skip> {
        let venv = venv(target_dir)?;
        let dir = tempfile::tempdir().unwrap();
        let conf_dir = dir.path().join("bugsink");
        std::fs::create_dir(&conf_dir).unwrap();
        let port = free_port();
        let (server, token) = start(&venv, &conf_dir, port);
        let api = Api {
            addr: SocketAddr::from(([127, 0, 0, 1], port)),
            base: "/api/canonical/0".to_owned(),
            token,
        };
        // The REST API's schema lists the endpoints the tests use.
        let schema = api.get_text("/schema/");
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
        let project = api.post("/projects/", json!({ "team": team["id"], "name": project }));
        let project_id = match &project["id"] {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        let dsn = api.get(&format!("/projects/{project_id}/"))["dsn"]
            .as_str()
            .expect("the project has a DSN")
            .to_owned();
        Ok(Bugsink {
            server,
            api,
            project_id,
            dsn,
            _dir: dir,
        })
    }

    /// The project's issues.
    pub fn issues(&self) -> Vec<Value> {
        self.api
            .get(&format!("/issues/?project={}", self.project_id))["results"]
            .as_array()
            .cloned()
            .unwrap_or_default()
    }

    /// The events of `issue`, each in full.
    pub fn events(&self, issue: &Value) -> Vec<Value> {
        let list = self
            .api
            .get(&format!("/events/?issue={}", issue["id"].as_str().unwrap()));
        list["results"]
            .as_array()
            .cloned()
            .unwrap_or_default()
            .iter()
            .map(|e| {
                self.api
                    .get(&format!("/events/{}/", e["id"].as_str().unwrap()))
            })
            .collect()
    }
}
