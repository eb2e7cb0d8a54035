//! [`Destination`], where a notifier sends, and what a destination (Rollbar, a
//! Sentry-compatible tracker, ...) must provide, and nothing more ([`Protocol`]): how an
//! [`Occurrence`] becomes a request body, which headers go with it, and what the
//! server's rate-limit answers mean.
//!
//! Everything else is shared and lives elsewhere: capturing occurrences, telemetry,
//! deduplication and the bounded queue in the layer (`mod.rs`), delivery with retries,
//! backoff, pauses and the shutdown deadline in the worker (`worker.rs`), scrubbing
//! (`scrub.rs`) and the HTTP client (`transport.rs`). A new destination is one new file
//! implementing [`Protocol`], a variant of [`Destination`] and a constructor on
//! `NotifyConfig`.
//!
//! A destination never scrubs: its [`build`](Protocol::build) makes the whole payload
//! from the occurrence, [`payload`] scrubs all of it at once, and
//! [`serialize`](Protocol::serialize) takes only what [`payload`] returns
//! ([`Scrubbed`]). Whatever a destination puts in its payload, now or later, so passes
//! the scrubber before it can be sent.

use std::time::{Duration, SystemTime};

use serde_json::Value;

use super::occurrence::{Occurrence, PayloadSettings};
use super::scrub::Scrubbed;
use super::transport::{AccessToken, Response};

/// Where a notifier sends: chosen by the constructor of its
/// [`NotifyConfig`](super::NotifyConfig) ([`NotifyConfig::rollbar`](super::NotifyConfig::rollbar)
/// or [`NotifyConfig::sentry`](super::NotifyConfig::sentry)), and the key of its handle in
/// the [`Guard`](crate::Guard).
///
/// ```
/// use tracing_logbook::notify::{Destination, Dsn, NotifyConfig};
///
/// assert_eq!(NotifyConfig::rollbar("token").destination(), Destination::Rollbar);
/// let dsn = Dsn::parse("https://0123abcd@sentry.example.com/7")?;
/// assert_eq!(NotifyConfig::sentry(dsn).destination(), Destination::Sentry);
/// assert_eq!(Destination::Sentry.to_string(), "Sentry");
/// # Ok::<(), tracing_logbook::Error>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Destination {
    /// Rollbar's item API, authenticated by a project access token.
    Rollbar,
    /// A Sentry-compatible tracker (Sentry, GlitchTip, Bugsink), addressed by a
    /// [`Dsn`](super::Dsn).
    Sentry,
}

impl Destination {
    /// Every destination, in the order `init` builds their notifiers.
    pub const ALL: [Destination; 2] = [Destination::Rollbar, Destination::Sentry];

    /// Its name in diagnostics and the guard's summary: `Rollbar`, `Sentry`.
    pub fn name(self) -> &'static str {
        match self {
            Destination::Rollbar => "Rollbar",
            Destination::Sentry => "Sentry",
        }
    }
}

impl std::fmt::Display for Destination {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

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

/// How long sending stops after a 429 whose rate-limit headers give no usable pause
/// (none, or none that parses): 60 s, as Sentry's SDKs wait and as Sentry and Bugsink
/// expect. Like every pause, at most `NotifyConfig::max_rate_limit_pause`.
pub(crate) const DEFAULT_RATE_LIMIT_PAUSE: Duration = Duration::from_secs(60);

/// The longest pause a server's number can ask for before the worker's own cap
/// (`max_rate_limit_pause`) applies: a year is "forever" for a rate limit, and keeps
/// every later `Instant` arithmetic far from overflowing.
const MAX_NETWORK_PAUSE_SECS: f64 = crate::lifecycle::FOREVER.as_secs() as f64;

/// A number of seconds read from the network, as a [`Duration`] that cannot panic:
/// negative values are zero, huge ones (`1e20`, infinity) a year, NaN is `None` (not a
/// number: the caller's default applies). Every duration a server sends passes here
/// before any conversion.
pub(crate) fn network_secs(secs: f64) -> Option<Duration> {
    if secs.is_nan() {
        return None;
    }
    Duration::try_from_secs_f64(secs.clamp(0.0, MAX_NETWORK_PAUSE_SECS)).ok()
}

/// A header's number of seconds (`7`, `1.5`, `1e20`), clamped by [`network_secs`];
/// `None` when it is not a number.
pub(crate) fn parse_secs(value: &str) -> Option<Duration> {
    value.trim().parse::<f64>().ok().and_then(network_secs)
}

/// A `Retry-After` value (RFC 9110 10.2.3): delay seconds, or an HTTP-date
/// (IMF-fixdate, `Sun, 06 Nov 1994 08:49:37 GMT`; RFC 2822 dates are accepted too), as
/// the time from `now` until then (zero for a date past). `None` when it is neither.
pub(crate) fn retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    let value = value.trim();
    if let Some(secs) = parse_secs(value) {
        return Some(secs);
    }
    let at = http_date(value)?;
    let now = time::OffsetDateTime::from(now);
    let secs = (at - now).as_seconds_f64();
    network_secs(secs)
}

/// An HTTP-date in IMF-fixdate form (the one form senders may use), else RFC 2822.
fn http_date(value: &str) -> Option<time::OffsetDateTime> {
    const IMF_FIXDATE: &[time::format_description::BorrowedFormatItem<'_>] = time::macros::format_description!(
        "[weekday repr:short], [day] [month repr:short] [year] [hour]:[minute]:[second] GMT"
    );
    time::PrimitiveDateTime::parse(value, IMF_FIXDATE)
        .map(time::PrimitiveDateTime::assume_utc)
        .or_else(|_| {
            time::OffsetDateTime::parse(value, &time::format_description::well_known::Rfc2822)
        })
        .ok()
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
pub(crate) trait Protocol: Send + 'static {
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

    /// The JSON document of `body` (a request body of [`serialize`](Self::serialize)) that
    /// the notification preview writes: the body itself, or the event of an envelope.
    fn preview<'a>(&self, body: &'a [u8]) -> &'a [u8] {
        body
    }

    /// Whether `body` (read back from the spool) is a whole request body of this
    /// destination: by default, one JSON document.
    fn valid_body(&self, body: &[u8]) -> bool {
        serde_json::from_slice::<Value>(body).is_ok()
    }

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
    dest: &dyn Protocol,
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

#[cfg(test)]
mod pause_tests {
    use super::*;

    #[test]
    fn network_numbers_are_clamped_before_they_become_durations() {
        const YEAR: Duration = crate::lifecycle::FOREVER;
        for (secs, want) in [
            (1e20, Some(YEAR)),
            (f64::MAX, Some(YEAR)),
            (f64::INFINITY, Some(YEAR)),
            (-1.0, Some(Duration::ZERO)),
            (f64::NEG_INFINITY, Some(Duration::ZERO)),
            (f64::NAN, None),
            (1.5, Some(Duration::from_millis(1500))),
        ] {
            assert_eq!(network_secs(secs), want, "{secs}");
        }
        assert_eq!(parse_secs(" 7 "), Some(Duration::from_secs(7)));
        assert_eq!(parse_secs("1e20"), Some(YEAR));
        assert_eq!(parse_secs("seven"), None);
    }

    #[test]
    fn retry_after_is_seconds_or_an_http_date() {
        // 1994-11-06 08:49:37 UTC, RFC 9110's example date.
        let now = std::time::UNIX_EPOCH + Duration::from_secs(784_111_777);
        let cases = [
            ("120", Some(Duration::from_secs(120))),
            ("Sun, 06 Nov 1994 08:49:37 GMT", Some(Duration::ZERO)),
            (
                "Sun, 06 Nov 1994 09:49:37 GMT",
                Some(Duration::from_secs(3600)),
            ),
            (
                "Sun, 06 Nov 1994 09:49:37 +0000",
                Some(Duration::from_secs(3600)),
            ),
            ("Sat, 05 Nov 1994 08:49:37 GMT", Some(Duration::ZERO)),
            // Year 9999: far, clamped, no overflow.
            (
                "Fri, 31 Dec 9999 23:59:59 GMT",
                Some(crate::lifecycle::FOREVER),
            ),
            ("Sunday, 06-Nov-94 08:49:37 GMT", None),
            ("tomorrow", None),
            ("", None),
        ];
        for (value, want) in cases {
            assert_eq!(retry_after(value, now), want, "{value:?}");
        }
    }
}
