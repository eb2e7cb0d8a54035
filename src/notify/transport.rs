//! The HTTP side of the notifier, behind the [`Transport`] trait.

use std::fmt;
#[cfg(feature = "http-client")]
use std::time::Duration;

/// A credential: a Rollbar access token, or the public key of a Sentry DSN. Its `Debug`
/// and `Display` never show it.
#[derive(Clone, PartialEq, Eq)]
pub struct AccessToken(String);

impl AccessToken {
    /// Wraps a token.
    pub fn new(token: impl Into<String>) -> AccessToken {
        AccessToken(token.into())
    }

    /// The token itself (already in the request's [`headers`](Request::headers)).
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for AccessToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("AccessToken(<redacted>)")
    }
}

impl fmt::Display for AccessToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

/// One item to POST. Its `Debug` shows header names, not values.
pub struct Request<'a> {
    /// The endpoint, e.g. `https://api.rollbar.com/api/1/item/` or a Sentry
    /// `.../api/<project>/envelope/` URL.
    pub endpoint: &'a str,
    /// The destination's credential (the Rollbar access token, the Sentry key), for
    /// transports that check it; it is also in [`headers`](Self::headers).
    pub token: &'a AccessToken,
    /// Every header to send: `Content-Type` and the authentication
    /// (`X-Rollbar-Access-Token`, `X-Sentry-Auth`).
    pub headers: &'a [(String, String)],
    /// The body: Rollbar's JSON item, or a Sentry envelope.
    pub body: &'a [u8],
}

impl fmt::Debug for Request<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<&str> = self.headers.iter().map(|(k, _)| k.as_str()).collect();
        f.debug_struct("Request")
            .field("endpoint", &self.endpoint)
            .field("token", &self.token)
            .field("headers", &names)
            .field("body_len", &self.body.len())
            .finish()
    }
}

impl Request<'_> {
    /// The first header called `name`, ignoring ASCII case.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// What the server answered.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Response {
    /// The HTTP status code.
    pub status: u16,
    /// Response headers (names as received); the notifier reads the rate-limit ones.
    pub headers: Vec<(String, String)>,
    /// The start of the response body (Rollbar's `{"err":1,"message":...}`), for
    /// diagnostics.
    pub body: String,
    /// The same start of the body as bytes: an OTLP collector's protobuf answer is not
    /// text.
    pub body_bytes: Vec<u8>,
}

impl Response {
    /// A response with `status` and no headers or body.
    pub fn status(status: u16) -> Response {
        Response {
            status,
            ..Response::default()
        }
    }

    /// The first header called `name`, ignoring ASCII case.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// A server's text (an error message it sent) fit for a diagnostic: control characters
/// removed, each of `secrets` replaced by `<redacted>` should the server echo it, cut to
/// 200 characters. The server may be hostile: nothing of it reaches stderr otherwise.
pub(crate) fn server_text(text: &str, secrets: &[&str]) -> String {
    let mut text = text.to_owned();
    for secret in secrets.iter().filter(|s| !s.is_empty()) {
        text = text.replace(secret, "<redacted>");
    }
    let text: String = text.chars().filter(|c| !c.is_control()).collect();
    super::occurrence::truncate_chars(text.trim(), 200)
}

/// A request that got no HTTP answer: refused, reset, timed out, TLS failure...
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TransportError {
    message: String,
}

impl TransportError {
    /// An error described by `message` (which must not contain the token).
    pub fn new(message: impl Into<String>) -> TransportError {
        TransportError {
            message: message.into(),
        }
    }
}

impl fmt::Display for TransportError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for TransportError {}

/// Sends one request and returns the server's answer, whatever its status.
///
/// The notifier's background thread is the only caller, one request at a time.
/// Implementations must bound the time a request can take (connect and read timeouts):
/// a hanging server must not hold the thread forever.
///
/// # Examples
///
/// A transport that accepts everything, for tests:
///
/// ```
/// use tracing_logbook::notify::{Request, Response, Transport, TransportError};
///
/// struct AcceptAll;
///
/// impl Transport for AcceptAll {
///     fn send(&mut self, _request: &Request<'_>) -> Result<Response, TransportError> {
///         Ok(Response::status(200))
///     }
/// }
/// ```
pub trait Transport: Send + 'static {
    /// POSTs `request`.
    fn send(&mut self, request: &Request<'_>) -> Result<Response, TransportError>;
}

impl<F> Transport for F
where
    F: FnMut(&Request<'_>) -> Result<Response, TransportError> + Send + 'static,
{
    fn send(&mut self, request: &Request<'_>) -> Result<Response, TransportError> {
        self(request)
    }
}

/// The [`Transport`] over HTTP(S) with `ureq` (feature `http-client`).
#[cfg(feature = "http-client")]
#[cfg_attr(docsrs, doc(cfg(feature = "http-client")))]
pub struct UreqTransport {
    agent: ureq::Agent,
}

#[cfg(feature = "http-client")]
impl fmt::Debug for UreqTransport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UreqTransport").finish_non_exhaustive()
    }
}

#[cfg(feature = "http-client")]
impl UreqTransport {
    /// A transport whose connections time out after `connect_timeout` and whose whole
    /// request (connect, send, wait for and read the answer) after `request_timeout`.
    pub fn new(connect_timeout: Duration, request_timeout: Duration) -> UreqTransport {
        let agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_connect(Some(connect_timeout))
            .timeout_recv_response(Some(request_timeout))
            .timeout_global(Some(request_timeout))
            .max_redirects(0)
            .user_agent(concat!("tracing-logbook/", env!("CARGO_PKG_VERSION")))
            .build()
            .new_agent();
        UreqTransport { agent }
    }
}

#[cfg(feature = "http-client")]
impl Transport for UreqTransport {
    fn send(&mut self, request: &Request<'_>) -> Result<Response, TransportError> {
        let mut post = self.agent.post(request.endpoint);
        for (name, value) in request.headers {
            post = post.header(name.as_str(), value.as_str());
        }
        let mut response = post
            .send(request.body)
            .map_err(|e| TransportError::new(e.to_string()))?;
        let status = response.status().as_u16();
        let headers = response
            .headers()
            .iter()
            .filter_map(|(k, v)| Some((k.as_str().to_owned(), v.to_str().ok()?.to_owned())))
            .collect();
        // The start of the body (a larger one is cut there, not refused): room for an
        // OTLP collector's message on the records it rejected.
        let mut body_bytes = Vec::new();
        let _ = std::io::Read::read_to_end(
            &mut std::io::Read::take(response.body_mut().as_reader(), 64 * 1024),
            &mut body_bytes,
        );
        Ok(Response {
            status,
            headers,
            body: String::from_utf8_lossy(&body_bytes).into_owned(),
            body_bytes,
        })
    }
}
