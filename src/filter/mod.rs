//! [`LogbookFilter`]: `RUST_LOG` directives with Logbook's level names.
//!
//! The syntax is tracing-subscriber's `EnvFilter` directive syntax
//! (`info,my_app::db=trace,[request{path}]=debug`), with three additions:
//!
//! * `notice` works as a threshold: `RUST_LOG=notice` hides `INFO` and below and shows
//!   `NOTICE` and above;
//! * `critical` works as a threshold: `App=critical` shows only `CRITICAL` events of `App`;
//! * `warning` is accepted beside `warn`.
//!
//! Level names are case-insensitive. When the directives contain no bare level (for example
//! `RUST_LOG=my_app=trace`), targets that no directive names keep the default level
//! ([`DEFAULT_LEVEL`], `info`) rather than being silenced.
//!
//! `notice` and `critical` are decided from static callsite metadata, so the filter keeps
//! tracing's per-callsite interest cache: a disabled event costs what it costs under a
//! plain `EnvFilter`. Inside span directives (`[span]=notice`), which tracing evaluates
//! dynamically, `notice` and `critical` act as `info` and `error`.

pub(crate) mod client;
pub(crate) mod gate;

use std::fmt;

use tracing::subscriber::Interest;
use tracing::{Event, Metadata, Subscriber};
use tracing_subscriber::filter::{Directive, EnvFilter, LevelFilter};
use tracing_subscriber::layer::{Context, Filter, Layer};
use tracing_subscriber::registry::LookupSpan;

use crate::level::Level;

/// The level used when `RUST_LOG` is unset or empty, and for targets no directive names.
pub const DEFAULT_LEVEL: Level = Level::Info;

/// A level filter built from `RUST_LOG`-style directives that understands all seven
/// Logbook levels.
///
/// It is a [`Layer`] (a global filter: `registry().with(filter)`) and a [`Filter`] (a
/// per-layer filter: `layer.with_filter(filter)`).
///
/// # Syntax
///
/// tracing's directive syntax (`info,my_app::db=trace,App=warning`) with Logbook's seven
/// levels, `TRACE DEBUG INFO NOTICE WARNING ERROR CRITICAL`, case-insensitively, `warn`
/// beside `warning`, and tracing's numbers (`0` off, `1` error, `2` warning, `3` info,
/// `4` debug, `5` trace): `notice` hides info and below; `info,App=critical` shows only
/// critical events of `App`. [`notice!`](crate::notice) and
/// [`critical!`](crate::critical) emit `INFO` and `ERROR` events marked with
/// [`LEVEL_FIELD`](crate::LEVEL_FIELD), so other layers (JSON, OpenTelemetry) see them at
/// `INFO` and `ERROR`; `warn!` prints `WARNING`. When no bare level is given
/// (`my_app=trace`), other targets keep the default, [`DEFAULT_LEVEL`].
///
/// Levels are decided per callsite, so a disabled `trace!` costs what it costs under
/// plain `tracing-subscriber` (tracing's interest cache is kept; there is a test for it).
/// An invalid directive is an error naming the directive (and `RUST_LOG`, when read by
/// [`Env::from_env`](crate::Env::from_env)); a bare word that is a misspelt level, a
/// number or two directives missing their comma (`info levels=debug`) is not taken for a
/// target name:
///
/// ```text
/// invalid RUST_LOG value "info,db=loud": bad directive "db=loud": unknown level "loud": expected one of trace, debug, info, notice, warning (or warn), error, critical
/// invalid RUST_LOG value "eror": bad directive "eror": unknown level: did you mean `error`? (for a target named eror, write eror=trace)
/// ```
///
/// Inside a [`ReloadableFilter`], [`Guard::set_filter`](crate::Guard::set_filter) changes
/// it while the program runs (an admin endpoint, a signal of its own), with the same
/// syntax and errors.
///
/// # Examples
///
/// ```
/// use tracing_logbook::LogbookFilter;
///
/// let filter = LogbookFilter::parse("notice,my_app::db=trace").unwrap();
///
/// let err = LogbookFilter::parse("info,my_app=loud").unwrap_err();
/// assert_eq!(err.directive(), "my_app=loud");
/// ```
pub struct LogbookFilter {
    env: EnvFilter,
    statics: Vec<StaticDirective>,
    spec: String,
    /// Whether a directive names a span (`[request]=debug`): only then does the
    /// `EnvFilter` need to follow spans.
    spans: bool,
}

/// A static (span-less) directive's target and Logbook threshold.
#[derive(Debug)]
struct StaticDirective {
    target: Option<String>,
    /// `None` is `off`.
    level: Option<Level>,
}

/// A directive that could not be parsed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FilterError {
    directive: String,
    reason: String,
}

impl FilterError {
    /// The directive at fault, as written.
    ///
    /// ```
    /// let err = tracing_logbook::LogbookFilter::parse("info,db=loud").unwrap_err();
    /// assert_eq!(err.directive(), "db=loud");
    /// ```
    pub fn directive(&self) -> &str {
        &self.directive
    }

    /// Why it was rejected.
    ///
    /// ```
    /// let err = tracing_logbook::LogbookFilter::parse("warnig").unwrap_err();
    /// assert!(err.reason().contains("did you mean `warning`?"));
    /// ```
    pub fn reason(&self) -> &str {
        &self.reason
    }
}

impl fmt::Display for FilterError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "bad directive {:?}: {}", self.directive, self.reason)
    }
}

impl std::error::Error for FilterError {}

impl LogbookFilter {
    /// Parses comma-separated directives. An empty string means [`DEFAULT_LEVEL`].
    ///
    /// # Errors
    ///
    /// A [`FilterError`] naming the first directive that is not valid.
    ///
    /// ```
    /// use tracing_logbook::LogbookFilter;
    /// let filter = LogbookFilter::parse("notice,my_app::db=trace,[request]=debug").unwrap();
    /// assert_eq!(filter.to_string(), "notice,my_app::db=trace,[request]=debug");
    /// assert!(LogbookFilter::parse("").is_ok()); // the default, info
    /// ```
    pub fn parse(spec: &str) -> Result<LogbookFilter, FilterError> {
        let mut statics = Vec::new();
        let mut spans = false;
        // The directives, with the bare level (the default for every target) kept apart:
        // EnvFilter's own default would otherwise stay beside it and make its maximum
        // level (the `log` bridge's, tracing's global hint) too verbose.
        let mut directives: Vec<Directive> = Vec::new();
        let mut default: Directive = LevelFilter::from_level(DEFAULT_LEVEL.to_tracing()).into();
        for raw in spec.split(',') {
            let raw = raw.trim();
            if raw.is_empty() {
                continue;
            }
            let bad = |reason: String| FilterError {
                directive: raw.to_owned(),
                reason,
            };
            // The level follows the last `=` that is not inside `[...]`.
            let bracket_end = raw.rfind(']').map_or(0, |i| i + 1);
            let (head, level_str) = match raw[bracket_end..].rfind('=') {
                Some(i) => (&raw[..bracket_end + i], Some(&raw[bracket_end + i + 1..])),
                None => (raw, None),
            };
            // Spaces around `=` are layout; outside `[span{field=value}]`, a space
            // anywhere else means two directives written without their comma
            // (`info levels=debug`), never one odd target.
            let head = head.trim_end();
            let bracket_start = head.find('[').unwrap_or(head.len());
            let bracket_end = head.rfind(']').map_or(bracket_start, |i| i + 1);
            if head[..bracket_start].contains(char::is_whitespace)
                || head[bracket_end.max(bracket_start)..].contains(char::is_whitespace)
            {
                let joined = raw
                    .split_whitespace()
                    .collect::<Vec<_>>()
                    .join(" ")
                    .replace(" =", "=")
                    .replace("= ", "=")
                    .replace(' ', ",");
                return Err(bad(format!(
                    "a space inside a directive: directives are separated by `,` \
                     (did you mean `{joined}`?)"
                )));
            }
            let (head, level) = match level_str {
                Some(l) => (head, parse_level(l).map_err(bad)?),
                None => match parse_level(head) {
                    // A bare level: the default for every target.
                    Ok(level) if !head.contains(['[', ':']) => ("", level),
                    // A level number out of range is not a target either.
                    Err(reason) if head.bytes().all(|b| b.is_ascii_digit()) => {
                        return Err(bad(reason));
                    }
                    // A misspelt level is not silently a target.
                    Err(_) if suggest_level(head).is_some() => {
                        let level = suggest_level(head).unwrap_or_default();
                        return Err(bad(format!(
                            "unknown level: did you mean `{level}`? (for a target named \
                             {head}, write {head}=trace)"
                        )));
                    }
                    // A bare target: everything from it.
                    _ => (head, Some(Level::Trace)),
                },
            };
            if head.is_empty() && level_str.is_some() {
                return Err(bad("the target before `=` is empty".to_owned()));
            }
            let tracing_level = match level {
                None => "off",
                Some(l) => tracing_name(l),
            };
            let translated = if head.is_empty() {
                tracing_level.to_owned()
            } else {
                format!("{head}={tracing_level}")
            };
            // tracing-subscriber's own words would contradict ours (its level list has
            // five names and numbers): say what the syntax is instead.
            let directive: Directive = translated.parse().map_err(|_| {
                bad(
                    "expected `level`, `target=level` or `target[span{field=value}]=level`, \
                     with a level among trace, debug, info, notice, warning, error, critical, off"
                        .to_owned(),
                )
            })?;
            if head.is_empty() {
                default = directive;
            } else {
                directives.push(directive);
            }
            spans |= head.contains('[');
            if !head.contains('[') {
                statics.push(StaticDirective {
                    target: (!head.is_empty()).then(|| head.to_owned()),
                    level,
                });
            }
        }
        let env = directives.into_iter().fold(
            EnvFilter::builder()
                .with_default_directive(default)
                .parse_lossy(""),
            EnvFilter::add_directive,
        );
        Ok(LogbookFilter {
            env,
            statics,
            spec: spec.to_owned(),
            spans,
        })
    }

    /// A filter showing `level` and above for every target.
    ///
    /// ```
    /// use tracing_logbook::{Level, LogbookFilter};
    /// let filter = LogbookFilter::from_level(Level::Warning);
    /// assert_eq!(filter.max_level(), tracing::level_filters::LevelFilter::WARN);
    /// ```
    pub fn from_level(level: Level) -> LogbookFilter {
        // A bare level always parses.
        Self::parse(level.as_lower_str()).unwrap_or_else(|_| unreachable_filter())
    }

    /// The most severe level that could be enabled, as a tracing [`LevelFilter`].
    ///
    /// ```
    /// use tracing::level_filters::LevelFilter;
    /// let filter = tracing_logbook::LogbookFilter::parse("warning,my_app=debug").unwrap();
    /// assert_eq!(filter.max_level(), LevelFilter::DEBUG);
    /// ```
    pub fn max_level(&self) -> LevelFilter {
        <EnvFilter as Layer<tracing_subscriber::Registry>>::max_level_hint(&self.env)
            .unwrap_or(LevelFilter::TRACE)
    }

    /// The level of targets that no directive names: the bare level (`None` for `off`),
    /// else [`DEFAULT_LEVEL`].
    pub(crate) fn default_level(&self) -> Option<Level> {
        self.statics
            .iter()
            .rev()
            .find(|d| d.target.is_none())
            .map_or(Some(DEFAULT_LEVEL), |d| d.level)
    }

    /// The least severe level that every target shows (at it and above the filter need
    /// not be asked), or `None` when that depends on more than the level (a span
    /// directive, or a target that is `off`).
    pub(crate) fn floor(&self) -> Option<Level> {
        if self.spans {
            return None;
        }
        let bare = self.statics.iter().any(|d| d.target.is_none());
        let mut floor = if bare { Level::Trace } else { DEFAULT_LEVEL };
        for d in &self.statics {
            floor = floor.max(d.level?);
        }
        Some(floor)
    }

    /// Whether the static directives veto this callsite: a plain `INFO` event under a
    /// `notice` threshold, or a plain `ERROR` event under a `critical` threshold.
    #[inline]
    fn vetoes(&self, meta: &Metadata<'_>) -> bool {
        if !meta.is_event() {
            return false;
        }
        let level = Level::of(meta);
        if !matches!(level, Level::Info | Level::Error) {
            return false;
        }
        let target = meta.target();
        let mut best: Option<&StaticDirective> = None;
        for d in &self.statics {
            let len = match &d.target {
                None => 0,
                Some(t) if target.starts_with(t.as_str()) => t.len(),
                Some(_) => continue,
            };
            // The later of two equally specific directives wins, as in EnvFilter.
            if best.is_none_or(|b| b.target.as_ref().map_or(0, |t| t.len()) <= len) {
                best = Some(d);
            }
        }
        let threshold = best.map_or(DEFAULT_LEVEL, |d| d.level.unwrap_or(Level::Critical));
        matches!(
            (level, threshold),
            (Level::Info, Level::Notice) | (Level::Error, Level::Critical)
        )
    }
}

#[cold]
fn unreachable_filter() -> LogbookFilter {
    unreachable!("a bare level name is always a valid directive")
}

fn parse_level(s: &str) -> Result<Option<Level>, String> {
    let s = s.trim();
    if s.eq_ignore_ascii_case("off") {
        return Ok(None);
    }
    // tracing's numbers: 0 is off, 1 error ... 5 trace (never a target named `3`).
    if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) {
        return match s {
            "0" => Ok(None),
            "1" => Ok(Some(Level::Error)),
            "2" => Ok(Some(Level::Warning)),
            "3" => Ok(Some(Level::Info)),
            "4" => Ok(Some(Level::Debug)),
            "5" => Ok(Some(Level::Trace)),
            _ => Err(format!(
                "unknown level number {s}: tracing's numbers are 0 (off) to 5 (trace)"
            )),
        };
    }
    s.parse::<Level>().map(Some).map_err(|e| e.to_string())
}

/// The level name `word` is probably a misspelling of (`eror`, `warnig`, `notcie`,
/// `INFOO`): within one edit (a transposition counts as one) for names of up to five
/// letters, two for longer ones. An exact name is not a misspelling.
fn suggest_level(word: &str) -> Option<&'static str> {
    const NAMES: [&str; 9] = [
        "trace", "debug", "info", "notice", "warn", "warning", "error", "critical", "off",
    ];
    let word = word.to_ascii_lowercase();
    if word.is_empty() || !word.bytes().all(|b| b.is_ascii_alphabetic()) {
        return None;
    }
    NAMES
        .iter()
        .map(|name| (edit_distance(&word, name), *name))
        .filter(|&(d, name)| d > 0 && d <= if name.len() <= 5 { 1 } else { 2 })
        .min_by_key(|&(d, _)| d)
        .map(|(_, name)| name)
}

/// Optimal string alignment distance: insertions, deletions, substitutions and
/// transpositions of neighbours each cost one.
fn edit_distance(a: &str, b: &str) -> usize {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    let mut rows = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for (i, row) in rows.iter_mut().enumerate() {
        row[0] = i;
    }
    for (j, cell) in rows[0].iter_mut().enumerate() {
        *cell = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut d = (rows[i - 1][j] + 1)
                .min(rows[i][j - 1] + 1)
                .min(rows[i - 1][j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                d = d.min(rows[i - 2][j - 2] + 1);
            }
            rows[i][j] = d;
        }
    }
    rows[a.len()][b.len()]
}

fn tracing_name(level: Level) -> &'static str {
    match level.to_tracing() {
        tracing::Level::TRACE => "trace",
        tracing::Level::DEBUG => "debug",
        tracing::Level::INFO => "info",
        tracing::Level::WARN => "warn",
        _ => "error",
    }
}

impl fmt::Debug for LogbookFilter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LogbookFilter")
            .field("spec", &self.spec)
            .field("env", &self.env)
            .finish()
    }
}

impl fmt::Display for LogbookFilter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.spec)
    }
}

impl<S> Layer<S> for LogbookFilter
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    fn register_callsite(&self, meta: &'static Metadata<'static>) -> Interest {
        if self.vetoes(meta) {
            Interest::never()
        } else {
            <EnvFilter as Layer<S>>::register_callsite(&self.env, meta)
        }
    }

    fn enabled(&self, meta: &Metadata<'_>, ctx: Context<'_, S>) -> bool {
        !self.vetoes(meta) && <EnvFilter as Layer<S>>::enabled(&self.env, meta, ctx)
    }

    fn max_level_hint(&self) -> Option<LevelFilter> {
        <EnvFilter as Layer<S>>::max_level_hint(&self.env)
    }

    fn event_enabled(&self, event: &Event<'_>, ctx: Context<'_, S>) -> bool {
        <EnvFilter as Layer<S>>::event_enabled(&self.env, event, ctx)
    }

    fn on_new_span(
        &self,
        attrs: &tracing::span::Attributes<'_>,
        id: &tracing::span::Id,
        ctx: Context<'_, S>,
    ) {
        <EnvFilter as Layer<S>>::on_new_span(&self.env, attrs, id, ctx)
    }

    fn on_record(
        &self,
        id: &tracing::span::Id,
        values: &tracing::span::Record<'_>,
        ctx: Context<'_, S>,
    ) {
        <EnvFilter as Layer<S>>::on_record(&self.env, id, values, ctx)
    }

    fn on_enter(&self, id: &tracing::span::Id, ctx: Context<'_, S>) {
        <EnvFilter as Layer<S>>::on_enter(&self.env, id, ctx)
    }

    fn on_exit(&self, id: &tracing::span::Id, ctx: Context<'_, S>) {
        <EnvFilter as Layer<S>>::on_exit(&self.env, id, ctx)
    }

    fn on_close(&self, id: tracing::span::Id, ctx: Context<'_, S>) {
        <EnvFilter as Layer<S>>::on_close(&self.env, id, ctx)
    }
}

impl<S> Filter<S> for LogbookFilter
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    fn enabled(&self, meta: &Metadata<'_>, cx: &Context<'_, S>) -> bool {
        !self.vetoes(meta) && <EnvFilter as Filter<S>>::enabled(&self.env, meta, cx)
    }

    fn callsite_enabled(&self, meta: &'static Metadata<'static>) -> Interest {
        if self.vetoes(meta) {
            Interest::never()
        } else {
            <EnvFilter as Filter<S>>::callsite_enabled(&self.env, meta)
        }
    }

    fn max_level_hint(&self) -> Option<LevelFilter> {
        <EnvFilter as Filter<S>>::max_level_hint(&self.env)
    }

    fn event_enabled(&self, event: &Event<'_>, cx: &Context<'_, S>) -> bool {
        <EnvFilter as Filter<S>>::event_enabled(&self.env, event, cx)
    }

    fn on_new_span(
        &self,
        attrs: &tracing::span::Attributes<'_>,
        id: &tracing::span::Id,
        ctx: Context<'_, S>,
    ) {
        <EnvFilter as Filter<S>>::on_new_span(&self.env, attrs, id, ctx)
    }

    fn on_record(
        &self,
        id: &tracing::span::Id,
        values: &tracing::span::Record<'_>,
        ctx: Context<'_, S>,
    ) {
        <EnvFilter as Filter<S>>::on_record(&self.env, id, values, ctx)
    }

    fn on_enter(&self, id: &tracing::span::Id, ctx: Context<'_, S>) {
        <EnvFilter as Filter<S>>::on_enter(&self.env, id, ctx)
    }

    fn on_exit(&self, id: &tracing::span::Id, ctx: Context<'_, S>) {
        <EnvFilter as Filter<S>>::on_exit(&self.env, id, ctx)
    }

    fn on_close(&self, id: tracing::span::Id, ctx: Context<'_, S>) {
        <EnvFilter as Filter<S>>::on_close(&self.env, id, ctx)
    }
}

/// A [`LogbookFilter`] that can be replaced while the program runs: the global filter
/// [`init`](crate::init) installs, changed through
/// [`Guard::set_filter`](crate::Guard::set_filter).
///
/// It costs what the filter inside costs: the decisions tracing caches per callsite are
/// rebuilt when the filter is replaced, and span callbacks reach the filter only while
/// it has span directives (`[request]=debug`), so events and spans do not take its lock.
///
/// # Examples
///
/// ```
/// use tracing_logbook::{LogbookFilter, ReloadableFilter};
/// use tracing_subscriber::prelude::*;
///
/// let filter = ReloadableFilter::new(LogbookFilter::parse("warning").unwrap());
/// let subscriber = tracing_subscriber::registry().with(filter.clone());
/// tracing::subscriber::with_default(subscriber, || {
///     filter.set(LogbookFilter::parse("debug").unwrap());
///     assert!(tracing::enabled!(tracing::Level::DEBUG));
/// });
/// assert_eq!(filter.to_string(), "debug");
/// ```
#[derive(Clone)]
pub struct ReloadableFilter {
    shared: std::sync::Arc<Reloadable>,
}

struct Reloadable {
    current: std::sync::RwLock<LogbookFilter>,
    spans: std::sync::atomic::AtomicBool,
    /// The current filter's [`floor`](LogbookFilter::floor), for fingers crossed.
    floor: std::sync::atomic::AtomicU8,
    /// The fingers-crossed level, when on (see [`gate`]).
    crossed: std::sync::OnceLock<Level>,
}

/// `Option<Level>` as one byte: 0 is `None`.
fn floor_byte(floor: Option<Level>) -> u8 {
    floor.map_or(0, |l| l as u8 + 1)
}

impl ReloadableFilter {
    /// A reloadable filter starting as `filter`.
    ///
    /// ```
    /// use tracing_logbook::{LogbookFilter, ReloadableFilter};
    /// let filter = ReloadableFilter::new(LogbookFilter::parse("info").unwrap());
    /// assert_eq!(filter.to_string(), "info");
    /// ```
    pub fn new(filter: LogbookFilter) -> ReloadableFilter {
        ReloadableFilter {
            shared: std::sync::Arc::new(Reloadable {
                spans: std::sync::atomic::AtomicBool::new(filter.spans),
                floor: std::sync::atomic::AtomicU8::new(floor_byte(filter.floor())),
                crossed: std::sync::OnceLock::new(),
                current: std::sync::RwLock::new(filter),
            }),
        }
    }

    /// Replaces the filter, then rebuilds tracing's per-callsite decisions and the `log`
    /// crate's maximum level. Spans that already exist when span directives are first
    /// added are not matched by them.
    ///
    /// ```
    /// use tracing_logbook::{LogbookFilter, ReloadableFilter};
    /// let filter = ReloadableFilter::new(LogbookFilter::parse("info").unwrap());
    /// filter.set(LogbookFilter::parse("debug").unwrap());
    /// assert_eq!(filter.to_string(), "debug");
    /// ```
    pub fn set(&self, filter: LogbookFilter) {
        let mut max = filter.max_level();
        if let Some(level) = self.crossed() {
            max = gate::hint(level, Some(max));
        }
        let spans = filter.spans;
        let floor = floor_byte(filter.floor());
        *self.write() = filter;
        self.shared
            .spans
            .store(spans, std::sync::atomic::Ordering::Release);
        self.shared
            .floor
            .store(floor, std::sync::atomic::Ordering::Release);
        tracing_core::callsite::rebuild_interest_cache();
        log::set_max_level(tracing_log::AsLog::as_log(&max));
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, LogbookFilter> {
        self.shared
            .current
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, LogbookFilter> {
        self.shared
            .current
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    #[inline]
    fn follows_spans(&self) -> bool {
        self.shared.spans.load(std::sync::atomic::Ordering::Acquire)
    }

    /// Turns on the fingers-crossed gate down to `level` (before the subscriber is
    /// built; once).
    pub(crate) fn set_fingers_crossed(&self, level: Level) {
        let _ = self.shared.crossed.set(level);
    }

    #[inline]
    fn crossed(&self) -> Option<Level> {
        self.shared.crossed.get().copied()
    }

    /// The current filter's [`floor`](LogbookFilter::floor).
    #[inline]
    pub(crate) fn floor(&self) -> Option<Level> {
        match self.shared.floor.load(std::sync::atomic::Ordering::Acquire) {
            0 => None,
            n => Level::ALL.get(usize::from(n) - 1).copied(),
        }
    }

    /// The current filter's own interest in a callsite (the gate aside).
    pub(crate) fn interest_without_gate<S>(&self, meta: &'static Metadata<'static>) -> Interest
    where
        S: Subscriber + for<'a> LookupSpan<'a>,
    {
        <LogbookFilter as Layer<S>>::register_callsite(&self.read(), meta)
    }

    /// Whether the current filter itself shows `meta` (the gate aside).
    pub(crate) fn shows<S>(&self, meta: &Metadata<'_>, ctx: &Context<'_, S>) -> bool
    where
        S: Subscriber + for<'a> LookupSpan<'a>,
    {
        <LogbookFilter as Layer<S>>::enabled(&self.read(), meta, ctx.clone())
    }
}

impl fmt::Debug for ReloadableFilter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("ReloadableFilter")
            .field(&*self.read())
            .finish()
    }
}

impl fmt::Display for ReloadableFilter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&*self.read(), f)
    }
}

impl<S> Layer<S> for ReloadableFilter
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    fn register_callsite(&self, meta: &'static Metadata<'static>) -> Interest {
        let base = <LogbookFilter as Layer<S>>::register_callsite(&self.read(), meta);
        match self.crossed() {
            Some(level) => gate::interest(level, meta, base),
            None => base,
        }
    }

    fn enabled(&self, meta: &Metadata<'_>, ctx: Context<'_, S>) -> bool {
        if let Some(level) = self.crossed() {
            if gate::admits(level, meta) {
                return true;
            }
        }
        <LogbookFilter as Layer<S>>::enabled(&self.read(), meta, ctx)
    }

    fn max_level_hint(&self) -> Option<LevelFilter> {
        let base = <LogbookFilter as Layer<S>>::max_level_hint(&self.read());
        match self.crossed() {
            Some(level) => Some(gate::hint(level, base)),
            None => base,
        }
    }

    fn event_enabled(&self, event: &Event<'_>, ctx: Context<'_, S>) -> bool {
        !self.follows_spans()
            || <LogbookFilter as Layer<S>>::event_enabled(&self.read(), event, ctx)
    }

    fn on_new_span(
        &self,
        attrs: &tracing::span::Attributes<'_>,
        id: &tracing::span::Id,
        ctx: Context<'_, S>,
    ) {
        if self.follows_spans() {
            <LogbookFilter as Layer<S>>::on_new_span(&self.read(), attrs, id, ctx)
        }
    }

    fn on_record(
        &self,
        id: &tracing::span::Id,
        values: &tracing::span::Record<'_>,
        ctx: Context<'_, S>,
    ) {
        if self.follows_spans() {
            <LogbookFilter as Layer<S>>::on_record(&self.read(), id, values, ctx)
        }
    }

    fn on_enter(&self, id: &tracing::span::Id, ctx: Context<'_, S>) {
        if self.crossed().is_some() {
            gate::enter(id, &ctx);
        }
        if self.follows_spans() {
            <LogbookFilter as Layer<S>>::on_enter(&self.read(), id, ctx)
        }
    }

    fn on_exit(&self, id: &tracing::span::Id, ctx: Context<'_, S>) {
        if self.crossed().is_some() {
            gate::exit(id, &ctx);
        }
        if self.follows_spans() {
            <LogbookFilter as Layer<S>>::on_exit(&self.read(), id, ctx)
        }
    }

    fn on_close(&self, id: tracing::span::Id, ctx: Context<'_, S>) {
        if self.follows_spans() {
            <LogbookFilter as Layer<S>>::on_close(&self.read(), id, ctx)
        }
    }
}
