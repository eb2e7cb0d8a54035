//! The `log` bridge: tracing-log's `LogTracer`, plus the record's key-values
//! (`log::info!(user_id = 7; "...")`), which `LogTracer` drops. They travel beside the
//! event in a thread-local while it is dispatched, and [`capture`](super::capture)
//! appends them to the record's fields: every output sees them as it sees tracing
//! fields.

use std::cell::RefCell;
use std::collections::HashSet;
use std::fmt::Write as _;
use std::sync::{Mutex, OnceLock, PoisonError};

use log::kv::{Key, Value, VisitSource};

use super::{FieldList, Kind};

/// How many distinct key names are kept as field names; further names (keys made at
/// run time from outside input, say) are shown as `kv="name=value"`.
const MAX_NAMES: usize = 1024;

/// The field a key-value goes under once [`MAX_NAMES`] names are taken.
const OVERFLOW: &str = "kv";

thread_local! {
    /// The key-values of the `log` record being dispatched on this thread.
    static PENDING: RefCell<Option<FieldList>> = const { RefCell::new(None) };
}

/// The logger `init` and `testing::capture` install for `log`.
#[derive(Debug, Default)]
pub(crate) struct Bridge {
    inner: tracing_log::LogTracer,
}

/// Installs the [`Bridge`] as `log`'s logger, with `max` as `log`'s maximum level.
pub(crate) fn install(max: log::LevelFilter) -> Result<(), log::SetLoggerError> {
    log::set_boxed_logger(Box::new(Bridge::default()))?;
    log::set_max_level(max);
    Ok(())
}

impl log::Log for Bridge {
    fn enabled(&self, metadata: &log::Metadata<'_>) -> bool {
        self.inner.enabled(metadata)
    }

    fn log(&self, record: &log::Record<'_>) {
        let kvs = record.key_values();
        if kvs.count() == 0 || !self.inner.enabled(record.metadata()) {
            return self.inner.log(record);
        }
        let mut fields = FieldList::default();
        let _ = kvs.visit(&mut Collect(&mut fields));
        // Kept aside (and put back) so that a `log` call made while this one is
        // dispatched (by a value's `Display`) does not take or lose these.
        let outer = PENDING.try_with(|p| p.replace(Some(fields))).ok();
        self.inner.log(record);
        if let Some(outer) = outer {
            let _ = PENDING.try_with(|p| p.replace(outer));
        }
    }

    fn flush(&self) {}
}

/// Appends the key-values of the `log` record being dispatched, if any.
pub(super) fn append_pending(fields: &mut FieldList) {
    let _ = PENDING.try_with(|p| {
        if let Ok(pending) = p.try_borrow() {
            if let Some(kv) = pending.as_ref() {
                fields.extend(kv);
            }
        }
    });
}

struct Collect<'a>(&'a mut FieldList);

impl<'kvs> VisitSource<'kvs> for Collect<'_> {
    fn visit_pair(&mut self, key: Key<'kvs>, value: Value<'kvs>) -> Result<(), log::kv::Error> {
        let Some(name) = intern(key.as_str()) else {
            let a = self.0.text.len();
            let _ = write!(self.0.text, "{}={value}", key.as_str());
            self.0.push(OVERFLOW, Kind::Str(a, self.0.text.len()));
            return Ok(());
        };
        if super::scrub::Lines::get().masks(name) {
            self.0.push_str(name, super::scrub::SCRUBBED);
        } else if let Some(v) = value.to_bool() {
            self.0.push(name, Kind::Bool(v));
        } else if let Some(v) = value.to_i64() {
            self.0.push(name, Kind::I64(v));
        } else if let Some(v) = value.to_u64() {
            self.0.push(name, Kind::U64(v));
        } else if let Some(v) = value.to_f64() {
            self.0.push(name, Kind::F64(v));
        } else if let Some(v) = value.to_borrowed_str() {
            let from = self.0.text.len();
            self.0.push_str(name, v);
            self.0.mask_urls_from(from);
        } else {
            // `key:? = v`, `key:% = v` and other captured values: their own text.
            let a = self.0.text.len();
            let _ = write!(self.0.text, "{value}");
            self.0.push(name, Kind::Debug(a, self.0.text.len()));
            self.0.mask_urls_from(a);
        }
        Ok(())
    }
}

/// The `'static` name for a key (field names are static in tracing): names are kept
/// for the life of the process, at most [`MAX_NAMES`] of them.
fn intern(key: &str) -> Option<&'static str> {
    static NAMES: OnceLock<Mutex<HashSet<&'static str>>> = OnceLock::new();
    let mut names = NAMES
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(PoisonError::into_inner);
    if let Some(&name) = names.get(key) {
        return Some(name);
    }
    if names.len() >= MAX_NAMES || super::is_hidden(key, true) {
        return None;
    }
    let name: &'static str = Box::leak(key.to_owned().into_boxed_str());
    names.insert(name);
    Some(name)
}

/// The metadata of the `log` record `event` carries (tracing-log's normalization), or
/// `None` for a tracing event. tracing-log tells its events by their callsite, which
/// costs a comparison with each level's; its events' name and target rule out every
/// other event first, for a length check.
#[inline]
pub(crate) fn normalized<'a>(event: &'a tracing::Event<'a>) -> Option<tracing::Metadata<'a>> {
    use tracing_log::NormalizeEvent;
    let meta = event.metadata();
    if meta.name() != "log event" || meta.target() != "log" {
        return None;
    }
    event.normalized_metadata()
}
