//! [`NotifyLayer`]: the notifier as a layer, a spine of one output (the [`Notifier`],
//! which decides what is a notification, lives with its settings in `notify/`).

use std::fmt;
use std::sync::Arc;

use tracing::Subscriber;
use tracing_subscriber::layer::Layer;
use tracing_subscriber::registry::LookupSpan;

use crate::clock::SystemClock;
use crate::layer::{Emit, Spine};
use crate::notify::{Notifier, NotifyConfig, NotifyHandle, Transport};
use crate::record::Record;

/// A [`Layer`] that sends error events and panics to Rollbar or a Sentry-compatible
/// tracker; see the [`notify`](crate::notify) module. Built by `NotifyConfig::build`
/// (with the `http-client` feature) or [`NotifyConfig::build_with_transport`]. A spine of
/// one output, the notifier (which can also be an output of a [`FanOut`](crate::FanOut)).
pub struct NotifyLayer {
    spine: Spine<Notifier>,
}

impl fmt::Debug for NotifyLayer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NotifyLayer")
            .field("threshold", &self.spine.output.threshold)
            .field("telemetry", &self.spine.output.telemetry_size)
            .finish_non_exhaustive()
    }
}

impl NotifyLayer {
    /// Settings with the default values and `token`: [`NotifyConfig::rollbar`].
    pub fn builder(token: impl Into<String>) -> NotifyConfig {
        NotifyConfig::rollbar(token)
    }

    /// The layer's output, for a fan-out.
    pub(crate) fn into_output(self) -> Notifier {
        self.spine.into_output()
    }
}

crate::layer::output! { [] NotifyLayer; }

impl<S> Layer<S> for NotifyLayer
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    crate::layer::delegate_layer!(spine);
}

impl Emit for Notifier {
    fn emit(&self, record: &Record<'_>) {
        self.on_record(record);
    }

    /// A failed request's held lines (fingers crossed) join its telemetry; its error is
    /// notified with them.
    fn emit_failed(&self, block: &[Record<'_>], record: &Record<'_>) {
        self.on_failed_request(block, record);
    }
}

/// The layer of a notifier: built here, where the spine is, from the parts
/// `NotifyConfig` makes.
impl NotifyConfig {
    /// Builds the layer and its handle, sending over HTTPS with `ureq`.
    ///
    /// ```
    /// use tracing_logbook::notify::NotifyConfig;
    /// use tracing_subscriber::prelude::*;
    ///
    /// let (layer, handle) = NotifyConfig::rollbar("token").endpoint("http://127.0.0.1:9/").build();
    /// let subscriber = tracing_subscriber::registry().with(layer);
    /// tracing::subscriber::with_default(subscriber, || tracing::info!("not an error: kept as telemetry"));
    /// assert_eq!(handle.sent(), 0);
    /// ```
    #[cfg(feature = "http-client")]
    #[cfg_attr(docsrs, doc(cfg(feature = "http-client")))]
    pub fn build(self) -> (NotifyLayer, NotifyHandle) {
        let transport = self.default_transport();
        self.build_with_transport(transport)
    }

    /// Builds the layer and its handle, sending with `transport` (for tests, or another
    /// HTTP client). The timeouts are then the transport's business.
    ///
    /// # Examples
    ///
    /// ```
    /// use tracing_logbook::notify::{NotifyConfig, Request, Response, TransportError};
    /// use tracing_subscriber::prelude::*;
    ///
    /// let transport = |_: &Request<'_>| -> Result<Response, TransportError> {
    ///     Ok(Response::status(200))
    /// };
    /// let (layer, handle) = NotifyConfig::rollbar("token").build_with_transport(transport);
    /// tracing::subscriber::with_default(tracing_subscriber::registry().with(layer), || {
    ///     tracing::error!("disk full");
    /// });
    /// assert!(handle.flush(std::time::Duration::from_secs(5)));
    /// assert_eq!(handle.sent(), 1);
    /// ```
    pub fn build_with_transport<T: Transport>(self, transport: T) -> (NotifyLayer, NotifyHandle) {
        let (notifier, handle) = self.into_parts(transport);
        let layer = NotifyLayer {
            // Notifications carry the system's time (an injected clock is for lines).
            spine: Spine::new(notifier, Arc::new(SystemClock), None),
        };
        (layer, handle)
    }
}
