//! What a destination (Rollbar, a Sentry-compatible tracker, ...) must provide, and
//! nothing more: how an [`Occurrence`] becomes a request body, which headers go with it,
//! and what the server's rate-limit answers mean.
//!
//! Everything else is shared and lives elsewhere: capturing occurrences, telemetry,
//! deduplication and the bounded queue in the layer (`mod.rs`), delivery with retries,
//! backoff, pauses and the shutdown deadline in the worker (`worker.rs`), scrubbing
//! (`scrub.rs`) and the HTTP client (`transport.rs`). A new destination is one new file
//! implementing [`Destination`], plus a constructor on `NotifyConfig`.
//!
//! A destination never scrubs: its [`build`](Destination::build) makes the whole payload
//! from the occurrence, [`payload`] scrubs all of it at once, and
//! [`serialize`](Destination::serialize) takes only what [`payload`] returns
//! ([`Scrubbed`]). Whatever a destination puts in its payload, now or later, so passes
//! the scrubber before it can be sent.

use std::time::{Duration, SystemTime};

use serde_json::Value;

use super::occurrence::{Occurrence, PayloadSettings};
use super::scrub::Scrubbed;
use super::transport::{AccessToken, Response};

/// Checks the authority of an endpoint or DSN URL, `host[:port]` (the userinfo already
/// removed): a host name of letters, digits, `-`, `_` and dots between non-empty labels,
/// or an IP address (IPv6 in brackets), and a port of 1 to 65535. Returns why not.
pub(crate) fn check_host_port(authority: &str) -> Result<(), &'static str> {
    let (host, port) = if let Some(rest) = authority.strip_prefix('[') {
        let (v6, after) = rest
            .split_once(']')
            .ok_or("an IPv6 host without its closing ]")?;
        if v6.parse::<std::net::Ipv6Addr>().is_err() {
            return Err("the IPv6 host does not parse");
        }
        match after {
            "" => (v6, None),
            _ => (
                v6,
                Some(after.strip_prefix(':').ok_or("junk after the IPv6 host")?),
            ),
        }
    } else {
        match authority.rsplit_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (authority, None),
        }
    };
    if host.is_empty() {
        return Err("no host");
    }
    if !authority.starts_with('[') {
        let label_ok = |label: &str| {
            !label.is_empty()
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        };
        if host.len() > 253 || !host.trim_end_matches('.').split('.').all(label_ok) {
            return Err("the host is not a valid host name or address");
        }
    }
    if let Some(port) = port {
        let valid = !port.is_empty()
            && port.bytes().all(|b| b.is_ascii_digit())
            && port.parse::<u16>().is_ok_and(|p| p > 0);
        if !valid {
            return Err("the port is not a number from 1 to 65535");
        }
    }
    Ok(())
}

/// A rate limit announced by the server.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct RateLimit {
    /// How long to stop sending; `None`: the server did not say (the worker then waits
    /// its retry backoff).
    pub(crate) pause: Option<Duration>,
}

/// What the worker does with a server's answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// Delivered. A pause, if any, applies to the items after this one.
    Accepted(Option<Duration>),
    /// Not delivered because of a rate limit: pause, then send the same body again.
    RateLimited(Option<Duration>),
    /// The body is too large: cut it and send it once more.
    TooLarge,
    /// A server error: retry with backoff.
    Retry,
    /// Rejected for good (a 4xx): not retried.
    Rejected,
}

/// One destination's payload format and HTTP semantics.
pub(crate) trait Destination: Send + 'static {
    /// Its name in diagnostics ("Rollbar", "Sentry").
    fn name(&self) -> &'static str;

    /// The URL every request is POSTed to.
    fn endpoint(&self) -> &str;

    /// The credential, redacted from anything the server echoes back.
    fn secret(&self) -> &AccessToken;

    /// The headers of every request (content type and authentication).
    fn headers(&self) -> Vec<(String, String)>;

    /// The payload for `occ`, not scrubbed (see [`payload`]); `id` is fresh per
    /// occurrence and is the same on every retry, so the server can discard duplicates.
    fn build(&self, occ: &Occurrence, settings: &PayloadSettings, id: uuid::Uuid) -> Value;

    /// The JSON pointers of the payload's own keys (`*`: any index or key), which a scrub
    /// name must not replace wholesale (a `scrub("body")` must not break the format).
    /// Their contents are scrubbed all the same.
    fn skeleton(&self) -> &'static [&'static str];

    /// The request body for `payload`, cut down (in place) to at most `max_bytes` as far
    /// as the destination's format allows.
    fn serialize(&self, payload: &mut Scrubbed, max_bytes: usize) -> Vec<u8>;

    /// The rate limit `response` announces, if any (on any status).
    fn rate_limit(&self, response: &Response, now: SystemTime) -> Option<RateLimit>;

    /// What `response` means. The default: 2xx accepted (with the pause that
    /// [`rate_limit`](Self::rate_limit) finds), 429 rate-limited, 413 too large, 5xx
    /// retried, any other status rejected.
    fn classify(&self, response: &Response, now: SystemTime) -> Verdict {
        let limit = self.rate_limit(response, now);
        match response.status {
            200..=299 => Verdict::Accepted(limit.and_then(|l| l.pause)),
            429 => Verdict::RateLimited(limit.and_then(|l| l.pause)),
            413 => Verdict::TooLarge,
            500..=599 => Verdict::Retry,
            _ => Verdict::Rejected,
        }
    }
}

/// The payload for `occ`, scrubbed whole: the one point every string of every
/// notification passes the scrubber, for every destination.
pub(crate) fn payload(
    dest: &dyn Destination,
    occ: &Occurrence,
    settings: &PayloadSettings,
    id: uuid::Uuid,
) -> Scrubbed {
    settings
        .scrubber
        .scrub_payload(dest.build(occ, settings, id), dest.skeleton())
}

#[cfg(test)]
mod host_tests {
    use super::check_host_port;

    #[test]
    fn hosts_and_ports() {
        for good in [
            "api.rollbar.com",
            "localhost:8080",
            "127.0.0.1:1",
            "[::1]:9000",
            "[2001:db8::1]",
            "sentry_internal.local.",
            "o1.ingest.sentry.io:65535",
        ] {
            assert_eq!(check_host_port(good), Ok(()), "{good}");
        }
        for bad in [
            "",
            ":8080",
            "host:",
            "host:0",
            "host:65536",
            "host:80a",
            "bad host",
            "a..b",
            "-a.com",
            "[::1",
            "[zz::1]",
            "[::1]x",
            "host:1:2",
        ] {
            assert!(check_host_port(bad).is_err(), "{bad}");
        }
    }
}
