//! The client-output veto: the notifier's HTTP client logs its requests (the
//! credentials included) at `debug` and `trace`; on the notifier's own thread those
//! events are disabled for the whole subscriber, by every layer of the crate, so that no
//! output of ours or of the program's ever sees them.

use std::cell::Cell;

thread_local! {
    /// Set on the crate's delivery threads (the notifier's): events emitted there (by the
    /// HTTP client's `log` calls, for example) are never turned into items, and the HTTP
    /// client's own are never shown.
    pub(crate) static IN_WORKER: Cell<bool> = const { Cell::new(false) };
}

/// Whether this thread is one of the crate's delivery threads.
#[inline]
pub(crate) fn in_worker() -> bool {
    IN_WORKER.try_with(Cell::get).unwrap_or(false)
}

/// The crates of the HTTP client whose own log output is dropped on the notifier's
/// thread: at `RUST_LOG=debug` or `trace`, `ureq-proto` logs every byte of a request
/// (the `X-Rollbar-Access-Token` and `X-Sentry-Auth` headers included) as hex and text
/// rows, and a transport's TLS layer its handshake.
const CLIENT_TARGETS: &[&str] = &["ureq", "ureq_proto", "rustls", "rustls_pki_types", "webpki"];

pub(crate) fn is_client_target(target: &str) -> bool {
    CLIENT_TARGETS.iter().any(|krate| {
        target
            .strip_prefix(krate)
            .is_some_and(|rest| rest.is_empty() || rest.starts_with("::"))
    })
}

/// Whether an event is the HTTP client's own output on the notifier's thread, which no
/// output may show: it carries the credentials. Every layer of ours disables it for the
/// whole subscriber (see [`client_interest`]), so no other layer sees it either.
pub(crate) fn is_client_output(meta: &tracing::Metadata<'_>) -> bool {
    in_worker() && is_client_target(meta.target())
}

/// The interest of our layers in a callsite: the HTTP client's callsites are decided per
/// event and thread ([`is_client_output`]), everything else is left to the filters.
/// (`log` records are decided per record anyway.)
pub(crate) fn client_interest(meta: &tracing::Metadata<'_>) -> tracing::subscriber::Interest {
    if is_client_target(meta.target()) {
        tracing::subscriber::Interest::sometimes()
    } else {
        tracing::subscriber::Interest::always()
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn client_targets_are_whole_crate_names() {
        for target in ["ureq", "ureq_proto::util", "rustls::client::hs", "webpki"] {
            assert!(super::is_client_target(target), "{target}");
        }
        for target in ["ureqx", "my_app", "rustlsish::x", ""] {
            assert!(!super::is_client_target(target), "{target}");
        }
    }
}
