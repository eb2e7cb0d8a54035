//! Capturing records in unit tests, as Logbook's `TestHandler` does.
//!
//! # Examples
//!
//! ```
//! use tracing_logbook::{testing, Level};
//!
//! fn reserve(seats: u32) {
//!     if seats > 10 {
//!         tracing::warn!(target: "booking", seats, "large reservation");
//!     }
//! }
//!
//! let logs = testing::capture(|| reserve(12));
//! assert!(logs.has(Level::Warning, "large reservation"));
//! let record = &logs.records()[0];
//! assert_eq!(record.channel, "booking");
//! assert_eq!(record.field("seats").unwrap().to_text(), "12");
//! assert_eq!(logs.formatted(), ["[WARNING] booking: large reservation seats=12"]);
//! ```

use std::sync::{Arc, Mutex, PoisonError};

use tracing::Subscriber;
use tracing_subscriber::layer::{Layer, SubscriberExt};
use tracing_subscriber::registry::LookupSpan;

use crate::layer::{self, Emit, Spine};
use crate::level::Level;
use crate::record;

pub use crate::clock::ManualClock;
pub use crate::record::{FieldValue, Fields};
pub use crate::sink::CaptureWriter;

/// One captured event.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct Record {
    /// The Logbook level.
    pub level: Level,
    /// The channel (the event's target; the real target for `log` records).
    pub channel: String,
    /// The rendered message, unescaped.
    pub message: String,
    /// The event's own fields (without the message).
    pub fields: Fields,
    /// The enclosing spans, root first: name and fields.
    pub spans: Vec<(&'static str, Fields)>,
    /// The source file, when known.
    pub file: Option<String>,
    /// The source line, when known.
    pub line: Option<u32>,
}

impl Record {
    /// The last value of the event field `name`.
    ///
    /// ```
    /// let logs = tracing_logbook::testing::capture(|| tracing::info!(seats = 12, "booked"));
    /// assert_eq!(logs.records()[0].field("seats").unwrap().to_text(), "12");
    /// assert!(logs.records()[0].field("nope").is_none());
    /// ```
    pub fn field(&self, name: &str) -> Option<&FieldValue> {
        self.fields.get(name)
    }

    /// The record as Logbook's TestHandler formats it: `[LEVEL] channel: message`, plus
    /// fields and spans the way Logbook lines print them.
    ///
    /// ```
    /// let logs = tracing_logbook::testing::capture(|| {
    ///     let span = tracing::info_span!("request", id = 7);
    ///     let _e = span.enter();
    ///     tracing::warn!(target: "shop", seats = 12, "large reservation");
    /// });
    /// assert_eq!(
    ///     logs.records()[0].formatted(),
    ///     "[WARNING] shop: large reservation seats=12 in request{id=7}"
    /// );
    /// ```
    pub fn formatted(&self) -> String {
        use std::fmt::Write as _;
        let mut s = format!("[{}] {}: {}", self.level, self.channel, self.message);
        if !self.fields.is_empty() {
            let _ = write!(s, " {}", self.fields);
        }
        for (i, (name, fields)) in self.spans.iter().enumerate() {
            s.push_str(if i == 0 { " in " } else { ":" });
            record::text::push_name(&mut s, name);
            if !fields.is_empty() {
                let _ = write!(s, "{{{fields}}}");
            }
        }
        s
    }
}

/// The records captured by [`capture`] or a [`CaptureLayer`].
#[derive(Clone, Debug, Default)]
pub struct Captured {
    records: Arc<Mutex<Vec<Record>>>,
}

impl Captured {
    /// A copy of the records, oldest first.
    ///
    /// ```
    /// let logs = tracing_logbook::testing::capture(|| {
    ///     tracing::info!("one");
    ///     tracing::error!("two");
    /// });
    /// let messages: Vec<String> = logs.records().into_iter().map(|r| r.message).collect();
    /// assert_eq!(messages, ["one", "two"]);
    /// ```
    pub fn records(&self) -> Vec<Record> {
        self.records
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Every record as [`Record::formatted`].
    ///
    /// ```
    /// let logs = tracing_logbook::testing::capture(|| tracing_logbook::notice!(target: "App", "up"));
    /// assert_eq!(logs.formatted(), ["[NOTICE] App: up"]);
    /// ```
    pub fn formatted(&self) -> Vec<String> {
        self.records().iter().map(Record::formatted).collect()
    }

    /// Whether a record has exactly this level and message.
    ///
    /// ```
    /// use tracing_logbook::{testing, Level};
    /// let logs = testing::capture(|| tracing_logbook::critical!("disk full"));
    /// assert!(logs.has(Level::Critical, "disk full"));
    /// assert!(!logs.has(Level::Error, "disk full"));
    /// ```
    pub fn has(&self, level: Level, message: &str) -> bool {
        self.find(|r| r.level == level && r.message == message)
            .is_some()
    }

    /// Whether any record has this level.
    ///
    /// ```
    /// use tracing_logbook::{testing, Level};
    /// let logs = testing::capture(|| tracing::warn!("slow"));
    /// assert!(logs.has_level(Level::Warning));
    /// assert!(!logs.has_level(Level::Error));
    /// ```
    pub fn has_level(&self, level: Level) -> bool {
        self.find(|r| r.level == level).is_some()
    }

    /// The first record matching `pred`.
    ///
    /// ```
    /// let logs = tracing_logbook::testing::capture(|| {
    ///     tracing::info!(order = 1, "paid");
    ///     tracing::info!(order = 2, "paid");
    /// });
    /// let second = logs.find(|r| r.field("order").is_some_and(|v| v.to_text() == "2"));
    /// assert!(second.is_some());
    /// ```
    pub fn find(&self, pred: impl Fn(&Record) -> bool) -> Option<Record> {
        self.records
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .iter()
            .find(|r| pred(r))
            .cloned()
    }

    /// Removes and returns all records.
    ///
    /// ```
    /// let logs = tracing_logbook::testing::capture(|| tracing::info!("once"));
    /// assert_eq!(logs.take().len(), 1);
    /// assert!(logs.records().is_empty());
    /// ```
    pub fn take(&self) -> Vec<Record> {
        std::mem::take(&mut *self.records.lock().unwrap_or_else(PoisonError::into_inner))
    }
}

/// Installs the `log` bridge once for the process, unless another logger is installed.
fn install_bridge() {
    static BRIDGE: std::sync::Once = std::sync::Once::new();
    BRIDGE.call_once(|| {
        // Fails only when a logger is installed already (then `log` goes there).
        let _ = crate::record::from_log::install(log::LevelFilter::Trace);
    });
}

/// A [`Layer`] that stores every event it sees as a [`Record`].
#[derive(Debug)]
pub struct CaptureLayer {
    spine: Spine<Captured>,
}

impl CaptureLayer {
    /// A layer and the handle that reads what it captures.
    ///
    /// ```
    /// use tracing_subscriber::prelude::*;
    ///
    /// let (layer, captured) = tracing_logbook::testing::CaptureLayer::new();
    /// tracing::subscriber::with_default(tracing_subscriber::registry().with(layer), || {
    ///     tracing::info!("seen");
    /// });
    /// assert_eq!(captured.records()[0].message, "seen");
    /// ```
    pub fn new() -> (CaptureLayer, Captured) {
        let captured = Captured::default();
        (
            CaptureLayer {
                // Capture has no clock of its own: records carry no time.
                spine: Spine::new(
                    captured.clone(),
                    Arc::new(crate::clock::ManualClock::new(
                        time::OffsetDateTime::UNIX_EPOCH,
                    )),
                    None,
                ),
            },
            captured,
        )
    }
}

/// Runs `f` with a subscriber that captures every event (all levels) on this thread, and
/// returns what was captured.
///
/// Records of libraries that log through the `log` crate are captured too, with their
/// target as channel: the first call installs the `log` → `tracing` bridge for the
/// process when no other `log` logger is installed (with another one, such as
/// `env_logger`, `log` records go to it instead).
///
/// ```
/// use tracing_logbook::{testing, Level};
///
/// let captured = testing::capture(|| {
///     tracing::info!(target: "app", "from tracing");
///     log::warn!(target: "legacy::db", "from log");
/// });
/// let records = captured.records();
/// assert_eq!(records[1].level, Level::Warning);
/// assert_eq!(records[1].channel, "legacy::db");
/// assert_eq!(records[1].message, "from log");
/// ```
pub fn capture(f: impl FnOnce()) -> Captured {
    install_bridge();
    let (layer, captured) = CaptureLayer::new();
    tracing::subscriber::with_default(tracing_subscriber::registry().with(layer), f);
    captured
}

/// Keeps the crate's own diagnostics (the `[tracing-logbook]` lines it otherwise writes
/// to stderr: a full disk, a refused tracker, what a flush could not deliver) while the
/// returned handle lives, so a test can assert on them and a passing test prints none.
///
/// Process-wide: while any handle lives, every thread's diagnostics are kept (the most
/// recent 4,096), and each handle sees those reported since it was made. When the last
/// handle is dropped they go to stderr again.
///
/// ```
/// use tracing_logbook::{Env, LogFile, Mode};
///
/// let diagnostics = tracing_logbook::testing::capture_diagnostics();
/// let dir = tempfile::tempdir().unwrap();
/// let env = Env::new(Mode::Production).log_file(LogFile::Path(dir.path().join("app.log")));
/// let (_dispatch, guard) = tracing_logbook::build(env).unwrap();
/// drop(guard);
/// // Nothing went wrong, so nothing was said.
/// assert!(!diagnostics.lines().iter().any(|l| l.contains("cannot")));
/// ```
pub fn capture_diagnostics() -> Diagnostics {
    Diagnostics {
        from: crate::diag::hold(),
    }
}

/// The crate's diagnostics kept since [`capture_diagnostics`] made this handle.
#[derive(Debug)]
pub struct Diagnostics {
    from: u64,
}

impl Diagnostics {
    /// Every diagnostic line reported since this handle was made, each with its
    /// `[tracing-logbook]` prefix, oldest first (from any thread of the process).
    pub fn lines(&self) -> Vec<String> {
        crate::diag::kept_since(self.from)
    }

    /// Whether a diagnostic reported since this handle was made contains `text`.
    pub fn contains(&self, text: &str) -> bool {
        self.lines().iter().any(|l| l.contains(text))
    }

    /// Waits, at most `timeout`, for a diagnostic containing `text` (the background
    /// threads report theirs when they get there); returns whether one came.
    pub fn wait_for(&self, text: &str, timeout: std::time::Duration) -> bool {
        let deadline = crate::lifecycle::Deadline::after(timeout);
        loop {
            if self.contains(text) {
                return true;
            }
            if deadline.passed() {
                return false;
            }
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
    }

    /// Panics, listing every diagnostic this handle saw, unless one containing `text`
    /// comes within [`SAID_WITHIN`](Self::SAID_WITHIN): a test's assertion that its fault
    /// was reported.
    ///
    /// ```should_panic
    /// let said = tracing_logbook::testing::capture_diagnostics();
    /// said.assert_said("never reported");
    /// ```
    #[track_caller]
    pub fn assert_said(&self, text: &str) {
        assert!(
            self.wait_for(text, Self::SAID_WITHIN),
            "no diagnostic containing {text:?} within {:?}; the diagnostics: {:?}",
            Self::SAID_WITHIN,
            self.lines()
        );
    }

    /// How long [`assert_said`](Self::assert_said) waits for a diagnostic.
    pub const SAID_WITHIN: std::time::Duration = std::time::Duration::from_secs(10);
}

impl Drop for Diagnostics {
    fn drop(&mut self) {
        crate::diag::release();
    }
}

/// [`capture`] for async tests (`#[tokio::test]`, any runtime and flavor): runs `fut`
/// with a subscriber that captures every event of it, whichever thread polls it, and
/// returns its output and what was captured. Tasks it spawns are the runtime's, not its
/// own: their events are captured when they are instrumented with the current
/// dispatcher (`task.with_current_subscriber()`), as tracing's own `WithSubscriber`
/// requires. The `log` bridge is installed as by [`capture`].
///
/// ```
/// # fn block_on<F: std::future::Future>(f: F) -> F::Output {
/// #     use std::task::{Context, Poll, Wake, Waker};
/// #     struct W; impl Wake for W { fn wake(self: std::sync::Arc<Self>) {} }
/// #     let waker = Waker::from(std::sync::Arc::new(W));
/// #     let mut f = std::pin::pin!(f);
/// #     loop { if let Poll::Ready(v) = f.as_mut().poll(&mut Context::from_waker(&waker)) { return v; } }
/// # }
/// # block_on(async {
/// // In a `#[tokio::test] async fn`:
/// let (total, logs) = tracing_logbook::testing::capture_async(async {
///     tracing::info!(target: "shop", items = 3, "checked out");
///     3 * 4
/// })
/// .await;
/// assert_eq!(total, 12);
/// assert!(logs.has(tracing_logbook::Level::Info, "checked out"));
/// # });
/// ```
pub async fn capture_async<F: std::future::Future>(fut: F) -> (F::Output, Captured) {
    use tracing::instrument::WithSubscriber as _;
    install_bridge();
    let (layer, captured) = CaptureLayer::new();
    let output = fut
        .with_subscriber(tracing_subscriber::registry().with(layer))
        .await;
    (output, captured)
}

impl Emit for Captured {
    fn emit(&self, record: &record::Record<'_>) {
        let captured = Record {
            level: record.level,
            channel: record.target.to_owned(),
            message: record.message.to_owned(),
            fields: record.fields.to_fields(),
            spans: record
                .spans
                .iter()
                .map(|span| (span.name, span.data.fields.to_fields()))
                .collect(),
            file: record.file.map(str::to_owned),
            line: record.line,
        };
        self.records
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(captured);
    }
}

impl CaptureLayer {
    /// The layer's output, for a fan-out.
    pub(crate) fn into_output(self) -> Captured {
        self.spine.into_output()
    }
}

layer::output! { [] CaptureLayer; }

impl<S> Layer<S> for CaptureLayer
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    layer::delegate_layer!(spine);
}
