//! Error notifications to Rollbar or to a Sentry-compatible tracker (Sentry, GlitchTip,
//! Bugsink): [`NotifyLayer`](crate::NotifyLayer), built from a [`NotifyConfig`] ([`NotifyConfig::rollbar`] for
//! Rollbar, [`NotifyConfig::sentry`] for a [`Dsn`]). Everything below applies to both
//! destinations; what differs is the payload: a Rollbar item as described here, or a
//! Sentry event in an envelope (level `fatal` for critical, fields as `extra`, spans as
//! `contexts`, telemetry as breadcrumbs, a panic as an `exception`), and Sentry's
//! `X-Sentry-Rate-Limits` header. For both at once, add one layer per destination.
//!
//! Every event at or above the threshold (default: `ERROR` and `CRITICAL`) becomes a
//! Rollbar item, sent from a background thread so the logging call never waits for the
//! network.
//!
//! # What is sent
//!
//! * `body.message.body` (and `title`): the rendered message; for a panic event (see
//!   [below](#panics)) a `trace` with class `panic`, its message and the backtrace's
//!   frames, oldest call first; for an event with an error field
//!   (`error = &e as &dyn Error`), a `trace_chain`: one trace per link of its `source()`
//!   chain, outermost first, each with the error's class (its type as the Sentry SDK
//!   reads it off `Debug`) and `Display` message; the message stays the title.
//! * `fingerprint`: the error's classes and its callsite (for the web glue's 5xx line,
//!   its method, route and status), so the tracker groups one error as one issue
//!   whatever ids its message holds.
//! * `person`: from fields named `user.id`, `user.name` (or `user.username`) and, with
//!   [`capture_email`](NotifyConfig::capture_email), `user.email`, of the event or its
//!   spans (innermost first). Without `capture_email`, `user.email` is scrubbed.
//! * `body.telemetry`: the last [`telemetry`](NotifyConfig::telemetry) log lines (of any
//!   level this layer sees) before the error, as Rollbar `log` telemetry events. Inside
//!   a span that looks like an HTTP request (one with a `method` field), only that
//!   request's own lines: under concurrent requests an item never carries a
//!   neighbour's. Outside requests, the last lines logged outside requests.
//! * `custom`: the event's fields (`custom.fields`), the fields of its spans, root first
//!   (`custom.spans`), and `channel`, `file`, `line`, `module`, `thread`.
//! * `request`: the fields of the innermost span that looks like an HTTP request (it has
//!   a `method` and a `url`, `uri` or `path`): `method`, `url`, `status_code`, `route`,
//!   `user_ip`, `headers` (fields named `headers.*` or `http.request.header.*`, with
//!   their wire names: `User-Agent`); a relative URL is made absolute with the span's
//!   `server.address` (or `Host` header) and `url.scheme`.
//! * `environment`, `level`, `timestamp`, a fresh `uuid` per occurrence (kept on retries,
//!   so the API discards duplicates), `notifier`, `language: "rust"`, `platform`,
//!   `server.host`, `server.pid`, `code_version` when known, `context` (the request's
//!   route, else the channel).
//!
//! # What is scrubbed
//!
//! The whole payload, for both destinations, once, just before it is serialized: every
//! string of every part (title, message, panic message and frames, telemetry and
//! breadcrumbs, fields, spans, request, dedup summaries) passes the same rules.
//!
//! * The *scrub names* are pyrollbar's default list ([`PYROLLBAR_SCRUB_FIELDS`]),
//!   [`EXTRA_SCRUB_FIELDS`] (cookies, tokens, API keys) and the names given with
//!   [`scrub`](NotifyConfig::scrub), compared ignoring ASCII case and `-`/`_`; a dotted
//!   name also matches by its last segment (`http.request.header.cookie`).
//! * A key with a scrub name has its value replaced by `***` at any depth (the
//!   payload's own keys, such as `body` or `level`, are only scrubbed inside, so a
//!   scrub name cannot break the format).
//! * In every string: the password of a URL's userinfo (up to the last `@` before the
//!   host, whatever it contains), and the value of a scrub name in `name=value` pairs
//!   (query parameters included), in quoted `"name": "value"` pairs (JSON, `Debug`
//!   output), in `Name: value` header lines and in `name: Bearer ...`. Prose such as
//!   `auth: connection refused` is left alone, and so is a secret that no name or URL
//!   announces.
//!
//! # Delivery
//!
//! The caller hands the item to the thread `tracing-logbook-notify` through a bounded
//! queue ([`queue_size`](NotifyConfig::queue_size)) and returns at once; when the queue
//! is full the item is dropped and counted. Network errors and 5xx answers are retried
//! with exponential backoff; a 429 pauses sending for as long as the rate-limit headers
//! say, 60 s when they do not (at most
//! [`max_rate_limit_pause`](NotifyConfig::max_rate_limit_pause)); a 413 is
//! answered by truncating the payload and sending it once more; other 4xx answers are
//! reported once on stderr and not retried. Items over 512 KiB are truncated before
//! they are sent (telemetry, then frames, then long strings).
//!
//! The same error is sent once per [`dedup_window`](NotifyConfig::dedup_window); the
//! repeats are counted and sent as one summary item,
//! `"<message>" repeated N more times in 60 s` (with the error's classes,
//! `"<message>" (Outer<Inner) repeated ...`, for an error or a panic), when the window
//! ends (or at shutdown). "The same error" is what the item's fingerprint says: the same
//! classes (every panic is of class `panic`; each error class is its own error) at the
//! same place (a panic's location, an event's file and line, whatever its message or a
//! `log` record's runtime target), and inside an HTTP request span the same route.
//! The summary carries the spans and fields of the latest repeat, so it still tells
//! which request failed last.
//!
//! # The spool
//!
//! With a spool ([`NotifyConfig::spool`]; with [`init`](crate::init) `LOG_NOTIFY_SPOOL`, on
//! by default in staging and production in `.notify-spool` beside the log file), no
//! notification is lost to an outage of the tracker, of the network or of its DNS:
//!
//! * **What goes in**: every item, written ahead before its first attempt and deleted
//!   only after a 2xx (or a 4xx, which no retry changes). So an item the tracker did not
//!   accept stays: unreachable, 5xx after the retries, rate-limited past the shutdown
//!   deadline, still in flight when the process ends (`process::exit`, a signal, a
//!   panic, even `kill -9`); items that do not fit in the full queue are written too
//!   (up to 256 beyond it). Once the tracker gave no answer, new items go straight to
//!   the spool (no retries, no backoff: a flush or a panic never waits for a tracker
//!   that is down).
//! * **How**: one file per item in `<spool>/rollbar/` or `<spool>/sentry/`, the exact
//!   request body, already scrubbed (never the raw record; the token or DSN key is not
//!   in it, it goes in a header), written to a temporary name, synced and renamed,
//!   created with mode 0600 and `O_NOFOLLOW`, in a directory of mode 0700.
//! * **Replay**: oldest first, when the tracker answers again (tried after the retry
//!   backoff, doubling up to 30 s) and at the next start; paced to at most 5 items a
//!   second after the first success; a 429 pauses it as it pauses live delivery. Live
//!   items always go first. Items keep their id (Rollbar `uuid`, Sentry `event_id`), so
//!   an item sent again after a crash between its delivery and its deletion is
//!   deduplicated by the tracker. A replay run is logged at its start and end (`NOTICE`).
//! * **Bounds and damage**: at most [`spool_max_bytes`](NotifyConfig::spool_max_bytes)
//!   (16 MiB): the oldest items go first; items older than
//!   [`spool_max_age`](NotifyConfig::spool_max_age) (7 days) are deleted unsent; both
//!   counted ([`NotifyStats`]). A truncated or corrupt file is moved aside
//!   (`<name>.corrupt`) and reported once; a link or special file in the spool is
//!   ignored and reported once. Processes sharing one spool each lock an item
//!   (`flock`) while they send or delete it: none is sent twice.
//! * **Said aloud**: `init`'s line on stderr says how many items wait in the spool;
//!   [`NotifyStats`] counts `spooled`, `replayed`, `expired` and `spool_dropped` items.
//!
//! # The preview
//!
//! [`NotifyConfig::preview`] (with [`init`](crate::init): `LOG_NOTIFY_PREVIEW=<dir>`, in
//! every mode) writes each item, as the tracker would receive it (scrubbed), to `dir`:
//! `<unix ms>-rollbar-<uuid>.json` (the Rollbar item) or
//! `<unix ms>-sentry-<event_id>.json` (the Sentry event, as its envelope carries it),
//! written as the spool's files are. With `init`, a token or DSN in use still sends;
//! one that is set but not used in this mode (development), or none at all, only
//! previews: without any, both formats are written. To see the events in a tracker's
//! UI without an account, `scripts/bugsink.sh` starts Bugsink on 127.0.0.1 and prints
//! a DSN.
//!
//! # Panics
//!
//! A `CRITICAL` event with target `"panic"` and the fields `panic.message`,
//! `panic.location` (`file:line:col`), `panic.thread` and `panic.backtrace` (the
//! `Display` text of [`std::backtrace::Backtrace`]) becomes a `trace` item. The panic
//! hook should then call [`NotifyHandle::flush`].
//!
//! # Examples
//!
//! ```no_run
//! use tracing_logbook::notify::NotifyConfig;
//! use tracing_subscriber::prelude::*;
//!
//! # fn main() -> Result<(), tracing_logbook::Error> {
//! if let Some(config) = NotifyConfig::rollbar_from_env("production")? {
//!     let (layer, handle) = config.code_version("1.4.2").build();
//!     let _default = tracing_subscriber::registry().with(layer).set_default();
//!     tracing::error!(order = 7, "payment failed");
//!     handle.shutdown(std::time::Duration::from_secs(5));
//! }
//! # Ok(())
//! # }
//! ```
//!
// Setup through `init`, Sentry's protocol, and whole example payloads: long, so in a file
// of their own, shown after the reference above.
#![doc = include_str!("guide.md")]

pub(crate) mod backtrace;
mod config;
mod dedup;
pub(crate) mod destination;
mod handle;
mod notifier;
mod occurrence;
mod request;
mod rollbar;
pub(crate) use crate::record::scrub;
mod sentry;
mod spool;
mod telemetry;
mod transport;
mod worker;

use std::fmt;
use std::hash::{Hash, Hasher};
use std::sync::atomic::Ordering;
use std::sync::mpsc::{sync_channel, SyncSender, TrySendError};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use crate::diag;
use crate::error::Error;
use crate::level::Level;
use crate::record::{self, FieldList, FieldValue, Fields, Record, SpanRef};

use self::dedup::Dedup;
pub use self::destination::Destination;
use self::destination::Protocol;
use self::occurrence::{ErrorLink, Occurrence, PanicInfo, PayloadSettings, TelemetryLine};
use self::scrub::Scrubber;
use self::worker::{Msg, Policy, Shared, Worker, OVERFLOW};
use crate::filter::client::in_worker;

pub use self::rollbar::{NOTIFIER_NAME, PANIC_CLASS};
pub use self::scrub::{EXTRA_SCRUB_FIELDS, PYROLLBAR_SCRUB_FIELDS, SCRUBBED};
pub use self::sentry::{Dsn, SENTRY_DSN, SENTRY_ENVIRONMENT, SENTRY_RELEASE};
pub use self::spool::{DEFAULT_SPOOL_MAX, DEFAULT_SPOOL_MAX_AGE};
#[cfg(feature = "otlp")]
pub(crate) use self::transport::server_text;
#[cfg(feature = "http-client")]
pub use self::transport::UreqTransport;
pub use self::transport::{AccessToken, Request, Response, Transport, TransportError};
pub use self::worker::THREAD_NAME;

use self::config::LevelRule;
pub use self::config::{
    NotifyConfig, DEFAULT_ENDPOINT, ROLLBAR_ACCESS_TOKEN, ROLLBAR_CODE_VERSION, ROLLBAR_ENDPOINT,
};
pub use self::handle::{NotifyHandle, NotifyStats};
pub(crate) use self::notifier::Notifier;
use self::request::{request_span, response_title};
use self::telemetry::{unix_ms, LineRing, SharedLines};
pub(crate) use crate::record::RESPONSE_EVENT;

#[cfg(test)]
mod tests {
    use super::*;

    /// Lines from many threads land in different rings; an error gets the newest of all
    /// of them, oldest first.
    #[test]
    fn shared_lines_merge_the_newest_of_every_thread_in_order() {
        let lines = Arc::new(SharedLines::new());
        let start = time::macros::datetime!(2026-11-23 10:00 UTC);
        let threads: Vec<_> = (0..4)
            .map(|t| {
                let lines = lines.clone();
                std::thread::spawn(move || {
                    let fields = FieldList::default();
                    for i in 0..30 {
                        // Thread t logs at t, t + 4, t + 8, ... microseconds.
                        let at = start + time::Duration::microseconds(i * 4 + t);
                        let message = format!("t{t} #{i}");
                        let record = Record::notice(at, Level::Info, &message, &fields);
                        lines.push(&record, 20);
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        let got: Vec<String> = lines.lines(20).into_iter().map(|l| l.message).collect();
        // The 20 newest of 120 lines: global positions 100..120.
        let want: Vec<String> = (100..120)
            .map(|n: i64| format!("t{} #{}", n % 4, n / 4))
            .collect();
        assert_eq!(got, want);
    }
}
