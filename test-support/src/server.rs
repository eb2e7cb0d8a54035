//! A scriptable loopback HTTP/1.1 server that records every request.
//!
//! Binds 127.0.0.1 only. Each connection serves one request and is closed
//! (`Connection: close`). Replies are taken from the script in order; when the script is
//! empty the default reply (200) is used. Every wait is bounded.

use std::collections::VecDeque;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

/// How the server answers one request.
#[derive(Clone, Debug)]
pub enum Reply {
    /// A status with extra headers.
    Status(u16, Vec<(&'static str, String)>),
    /// A status with a body of this content type (an OTLP collector's
    /// `ExportLogsServiceResponse`).
    Body(u16, &'static str, Vec<u8>),
    /// Reads the request, then closes the connection without answering.
    Close,
    /// Reads the request, then answers nothing for this long (or until the server is
    /// released or dropped), then closes.
    Hang(Duration),
}

impl Reply {
    pub fn ok() -> Reply {
        Reply::Status(200, Vec::new())
    }
}

#[derive(Clone, Debug)]
pub struct Recorded {
    pub method: String,
    pub path: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Recorded {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).expect("request body is JSON")
    }
}

#[derive(Default)]
struct State {
    requests: Vec<Recorded>,
    script: VecDeque<Reply>,
}

/// Answers each request the script does not: the request in, the reply out.
type Responder = Box<dyn Fn(&Recorded) -> Reply + Send + Sync>;

struct Inner {
    state: Mutex<State>,
    responder: Option<Responder>,
    cond: Condvar,
    released: AtomicBool,
}

pub struct Server {
    addr: SocketAddr,
    inner: Arc<Inner>,
}

impl Server {
    /// Starts a server answering with `script`, then 200.
    pub fn start(script: Vec<Reply>) -> Server {
        Server::start_at("127.0.0.1:0".parse().unwrap(), script)
    }

    /// Starts a server on `addr` (a loopback address whose port was in use before: a
    /// tracker switched back on at the same endpoint).
    pub fn start_at(addr: SocketAddr, script: Vec<Reply>) -> Server {
        Server::start_inner(addr, script, None)
    }

    /// Starts a server answering each request with what `responder` says of it (a
    /// collector that refuses bodies over a size).
    pub fn start_with(responder: impl Fn(&Recorded) -> Reply + Send + Sync + 'static) -> Server {
        Server::start_inner(
            "127.0.0.1:0".parse().unwrap(),
            Vec::new(),
            Some(Box::new(responder)),
        )
    }

    fn start_inner(addr: SocketAddr, script: Vec<Reply>, responder: Option<Responder>) -> Server {
        assert!(addr.ip().is_loopback(), "tests bind 127.0.0.1 only");
        let listener = TcpListener::bind(addr).expect("bind the loopback address");
        let addr = listener.local_addr().unwrap();
        let inner = Arc::new(Inner {
            state: Mutex::new(State {
                requests: Vec::new(),
                script: script.into(),
            }),
            responder,
            cond: Condvar::new(),
            released: AtomicBool::new(false),
        });
        let accept_inner = inner.clone();
        std::thread::Builder::new()
            .name("loopback-accept".into())
            .spawn(move || {
                for stream in listener.incoming() {
                    if accept_inner.released.load(Ordering::SeqCst) {
                        break;
                    }
                    let Ok(stream) = stream else { continue };
                    let inner = accept_inner.clone();
                    std::thread::spawn(move || serve(stream, &inner));
                }
            })
            .unwrap();
        Server { addr, inner }
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    pub fn endpoint(&self) -> String {
        format!("http://{}/api/1/item/", self.addr)
    }

    pub fn requests(&self) -> Vec<Recorded> {
        self.inner.state.lock().unwrap().requests.clone()
    }

    /// Waits until `n` requests have arrived, at most `timeout`.
    pub fn wait_for(&self, n: usize, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        let mut state = self.inner.state.lock().unwrap();
        while state.requests.len() < n {
            let now = Instant::now();
            if now >= deadline {
                return false;
            }
            state = self
                .inner
                .cond
                .wait_timeout(state, deadline - now)
                .unwrap()
                .0;
        }
        true
    }

    /// Ends every hang now and stops accepting.
    pub fn release(&self) {
        self.inner.released.store(true, Ordering::SeqCst);
        self.inner.cond.notify_all();
        // Unblock the accept loop.
        let _ = TcpStream::connect_timeout(&self.addr, Duration::from_secs(1));
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.release();
    }
}

/// An endpoint on which connections are refused: a port that was bound and released.
pub fn refused_endpoint() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    format!("http://{addr}/api/1/item/")
}

fn serve(stream: TcpStream, inner: &Inner) {
    let _ = stream.set_read_timeout(Some(Duration::from_secs(30)));
    let mut reader = BufReader::new(match stream.try_clone() {
        Ok(s) => s,
        Err(_) => return,
    });
    let mut line = String::new();
    if reader.read_line(&mut line).unwrap_or(0) == 0 {
        return; // the accept loop's wake-up connection, or a client that gave up
    }
    let mut parts = line.split_whitespace();
    let method = parts.next().unwrap_or("").to_owned();
    let path = parts.next().unwrap_or("").to_owned();
    let mut headers = Vec::new();
    loop {
        line.clear();
        if reader.read_line(&mut line).unwrap_or(0) == 0 {
            return;
        }
        let l = line.trim_end();
        if l.is_empty() {
            break;
        }
        if let Some((k, v)) = l.split_once(':') {
            headers.push((k.trim().to_owned(), v.trim().to_owned()));
        }
    }
    let len = headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("content-length"))
        .and_then(|(_, v)| v.parse::<usize>().ok())
        .unwrap_or(0);
    let mut body = vec![0; len];
    if reader.read_exact(&mut body).is_err() {
        return;
    }
    let reply = {
        let recorded = Recorded {
            method,
            path,
            headers,
            body,
        };
        let mut state = inner.state.lock().unwrap();
        let reply = state
            .script
            .pop_front()
            .unwrap_or_else(|| match &inner.responder {
                Some(responder) => responder(&recorded),
                None => Reply::ok(),
            });
        state.requests.push(recorded);
        inner.cond.notify_all();
        reply
    };
    let mut stream = stream;
    match reply {
        Reply::Status(status, extra) => {
            let body = if status == 200 {
                r#"{"err":0,"result":{"id":null,"uuid":"x"}}"#.to_owned()
            } else {
                format!(r#"{{"err":1,"message":"status {status}"}}"#)
            };
            let mut head = format!(
                "HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n",
                body.len()
            );
            for (k, v) in extra {
                head.push_str(&format!("{k}: {v}\r\n"));
            }
            head.push_str("\r\n");
            let _ = stream.write_all(head.as_bytes());
            let _ = stream.write_all(body.as_bytes());
            let _ = stream.flush();
        }
        Reply::Body(status, content_type, body) => {
            let head = format!(
                "HTTP/1.1 {status} X\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                body.len()
            );
            let _ = stream.write_all(head.as_bytes());
            let _ = stream.write_all(&body);
            let _ = stream.flush();
        }
        Reply::Close => {}
        Reply::Hang(duration) => {
            let deadline = Instant::now() + duration;
            let mut state = inner.state.lock().unwrap();
            while !inner.released.load(Ordering::SeqCst) {
                let now = Instant::now();
                if now >= deadline {
                    break;
                }
                state = inner.cond.wait_timeout(state, deadline - now).unwrap().0;
            }
        }
    }
    let _ = stream.shutdown(std::net::Shutdown::Both);
}
