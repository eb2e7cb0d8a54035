//! The example's service: its routes and the tracing glue. `tests/web.rs` beside it includes this
//! file, so the test drives exactly the service `cargo run -p tracing-logbook-example-web` starts.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use axum::extract::{ConnectInfo, MatchedPath, Path, Request, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::{get, post};
use axum::Router;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::classify::ServerErrorsFailureClass;
use tower_http::trace::TraceLayer;
use tracing::Span;
use tracing_logbook::web;

/// The service's database: one SQLite connection (the example is about what the logs
/// and notifications say when the database fails, not about pooling).
pub(crate) type Db = Arc<Mutex<rusqlite::Connection>>;

/// Opens (or creates) the database at `path`, with its `users` table. A locked
/// database is waited for 100 ms at most: then the request fails and says why.
pub(crate) fn open_db(path: &std::path::Path) -> rusqlite::Result<Db> {
    let conn = rusqlite::Connection::open(path)?;
    conn.busy_timeout(Duration::from_millis(100))?;
    conn.execute_batch(
        "CREATE TABLE IF NOT EXISTS users (id INTEGER PRIMARY KEY, name TEXT NOT NULL)",
    )?;
    Ok(Arc::new(Mutex::new(conn)))
}

/// The routes, with one request span per request and panics answered with a 500.
pub(crate) fn router(db: Db) -> Router {
    Router::new()
        .route("/", get(|| async { "hello\n" }))
        .route("/items/{id}", get(item))
        .route("/login", get(login))
        .route("/fail", get(fail))
        .route("/panic", get(panic))
        .route("/users/{id}", post(create_user))
        .with_state(db)
        // Inside the TraceLayer, so the panic hook runs in the request span.
        .layer(CatchPanicLayer::custom(web::panic_response))
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(|req: &Request| {
                    let route = req
                        .extensions()
                        .get::<MatchedPath>()
                        .map(MatchedPath::as_str);
                    let client = req
                        .extensions()
                        .get::<ConnectInfo<SocketAddr>>()
                        .map(|ConnectInfo(addr)| addr.ip());
                    web::request_span(req, route, client)
                })
                .on_request(())
                .on_response(web::on_response)
                // No DEBUG "end of stream" line per streamed response.
                .on_eos(())
                .on_failure(|class, latency: Duration, span: &Span| {
                    // A 5xx status was reported by on_response already.
                    if let ServerErrorsFailureClass::Error(error) = class {
                        web::on_failure(error, latency, span);
                    }
                }),
        )
}

async fn item(Path(id): Path<u64>) -> String {
    tracing::debug!(id, "looking the item up");
    format!("item {id}\n")
}

async fn login() -> &'static str {
    tracing::info!("checking the password");
    "welcome\n"
}

async fn fail() -> (StatusCode, &'static str) {
    tracing::debug!(backend = "payments", "connecting");
    // Other requests run meanwhile: their lines must not mix into this one's.
    tokio::task::yield_now().await;
    tracing::info!("calling the payment backend");
    tracing::debug!(attempt = 1, "connection refused");
    (
        StatusCode::INTERNAL_SERVER_ERROR,
        "payment backend unavailable\n",
    )
}

/// The service's central error type, as most axum services have one: handlers return
/// `Result<_, AppError>` and its `IntoResponse` logs the error once, with its causes,
/// after the handler returned, still inside the request span (so its notification has
/// the request and the user the handler recorded on it).
pub(crate) enum AppError {
    /// The primary key nobody expected to be taken.
    Exists { id: i64, source: rusqlite::Error },
    /// Locked, read-only, gone: the database is not there for us.
    Unavailable { id: i64, source: rusqlite::Error },
}

impl axum::response::IntoResponse for AppError {
    fn into_response(self) -> axum::response::Response {
        match self {
            AppError::Exists { id, source } => {
                tracing::error!(
                    error = &source as &dyn std::error::Error,
                    "cannot insert user {id}"
                );
                (StatusCode::CONFLICT, format!("user {id} exists\n")).into_response()
            }
            AppError::Unavailable { id, source } => {
                tracing::error!(
                    error = &source as &dyn std::error::Error,
                    "the database is unavailable: cannot insert user {id}"
                );
                (
                    StatusCode::SERVICE_UNAVAILABLE,
                    "the database is unavailable\n",
                )
                    .into_response()
            }
        }
    }
}

/// Inserts user `id` for the caller named by `X-User` (a stand-in for real
/// authentication, which would record the user the same way: on the request span, whose
/// `user.*` fields [`web::request_span`] declares). A database error is returned as an
/// [`AppError`], logged by its `IntoResponse`.
async fn create_user(
    State(db): State<Db>,
    Path(id): Path<i64>,
    headers: HeaderMap,
) -> Result<(StatusCode, String), AppError> {
    let caller = headers
        .get("x-user")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("anonymous");
    Span::current().record("user.id", caller);
    // Blocking, and brief: one statement on a local file (a real service would use
    // spawn_blocking or a pool).
    let inserted = db.lock().unwrap_or_else(PoisonError::into_inner).execute(
        "INSERT INTO users (id, name) VALUES (?1, ?2)",
        (id, format!("user {id}")),
    );
    match inserted {
        Ok(_) => {
            tracing::info!(id, "user created");
            Ok((StatusCode::CREATED, format!("user {id} created\n")))
        }
        Err(source)
            if source.sqlite_error_code() == Some(rusqlite::ErrorCode::ConstraintViolation) =>
        {
            Err(AppError::Exists { id, source })
        }
        Err(source) => Err(AppError::Unavailable { id, source }),
    }
}

async fn panic() -> &'static str {
    let orders: Vec<u32> = Vec::new();
    tracing::info!("reading the first order");
    // An index out of bounds, as real handlers panic.
    let first = orders[orders.len()];
    panic!("unreachable: {first}")
}

/// Serves `router(db)` on `listener` until `shutdown` completes, then lets the requests in
/// flight finish.
pub(crate) async fn serve(
    listener: tokio::net::TcpListener,
    db: Db,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(
        listener,
        router(db).into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown)
    .await
}

/// Completes on Ctrl+C, or SIGTERM on Unix. The handlers are registered by this call,
/// not when the future is first polled: a signal arriving at any time after it stops the
/// service gracefully.
#[allow(dead_code)] // the test stops the service its own way
pub(crate) fn shutdown_signal() -> std::io::Result<impl Future<Output = ()> + Send + 'static> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        let mut interrupt = signal(SignalKind::interrupt())?;
        let mut terminate = signal(SignalKind::terminate())?;
        Ok(async move {
            tokio::select! {
                _ = interrupt.recv() => {},
                _ = terminate.recv() => {},
            }
        })
    }
    #[cfg(not(unix))]
    Ok(async {
        let _ = tokio::signal::ctrl_c().await;
    })
}

/// The service on a free loopback port, on a runtime of its own: for the tests, which
/// drive it with plain sockets from their own thread.
#[cfg(test)]
#[allow(dead_code)] // used by tests/, not by the binary's own unit tests
pub(crate) struct TestService {
    pub(crate) addr: SocketAddr,
    runtime: tokio::runtime::Runtime,
    stop: tokio::sync::oneshot::Sender<()>,
    served: tokio::task::JoinHandle<std::io::Result<()>>,
}

#[cfg(test)]
#[allow(dead_code)]
impl TestService {
    pub(crate) fn start(db: Db) -> TestService {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let listener = runtime
            .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
            .unwrap();
        let addr = listener.local_addr().unwrap();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let served = runtime.spawn(serve(listener, db, async {
            let _ = stopped.await;
        }));
        TestService {
            addr,
            runtime,
            stop,
            served,
        }
    }

    /// Stops it gracefully (the requests in flight finish), then the runtime.
    pub(crate) fn stop(self) {
        let _ = self.stop.send(());
        self.runtime.block_on(self.served).unwrap().unwrap();
        drop(self.runtime);
    }
}
