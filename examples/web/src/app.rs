//! The example's service: its routes and the tracing glue. `tests/web.rs` beside it includes this
//! file, so the test drives exactly the service `cargo run -p tracing-logbook-example-web` starts.

use std::future::Future;
use std::net::SocketAddr;
use std::time::Duration;

use axum::extract::{ConnectInfo, MatchedPath, Path, Request};
use axum::http::StatusCode;
use axum::routing::get;
use axum::Router;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::classify::ServerErrorsFailureClass;
use tower_http::trace::TraceLayer;
use tracing::Span;
use tracing_logbook::web;

/// The routes, with one request span per request and panics answered with a 500.
pub(crate) fn router() -> Router {
    Router::new()
        .route("/", get(|| async { "hello\n" }))
        .route("/items/{id}", get(item))
        .route("/login", get(login))
        .route("/fail", get(fail))
        .route("/panic", get(panic))
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

async fn panic() -> &'static str {
    let orders: Vec<u32> = Vec::new();
    tracing::info!("reading the first order");
    // An index out of bounds, as real handlers panic.
    let first = orders[orders.len()];
    panic!("unreachable: {first}")
}

/// Serves `router()` on `listener` until `shutdown` completes, then lets the requests in
/// flight finish.
pub(crate) async fn serve(
    listener: tokio::net::TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(
        listener,
        router().into_make_service_with_connect_info::<SocketAddr>(),
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
