//! The panic hook: a panic becomes a `CRITICAL` record, then everything is flushed.
//!
//! The hook emits one event with target `panic` through the installed subscriber, so
//! every layer sees it: the Logbook line reads
//! `CRITICAL: panic: thread 'main' panicked at src/main.rs:10:5: boom in request{…}`
//! (followed, when `RUST_BACKTRACE` enables one, by the application's frames as indented
//! continuation lines: the hook's, std's and the runtime's are left out), and a
//! notifier receives the structured fields below to build a stack trace. Then the
//! [`Guard`](crate::Guard)'s components are flushed within [`PANIC_FLUSH_TIMEOUT`], and
//! the previous hook (by default, the message on stderr) runs.
//!
//! The panic starts the process-wide shutdown deadline,
//! [`SHUTDOWN_TIMEOUT`](crate::SHUTDOWN_TIMEOUT) from the panic, which the guard dropped
//! by the unwinding and the at-exit hook (a hook that calls `std::process::exit`) honour:
//! the panic's flush and theirs end within `SHUTDOWN_TIMEOUT` in all, even against a hung
//! tracker. If the process lives on past that deadline (the panic was caught), a later
//! shutdown starts a new one. Each of them reports on stderr the lines and error
//! notifications it could not deliver.

use std::backtrace::{Backtrace, BacktraceStatus};
use std::sync::Once;
use std::time::Duration;

/// The target of panic events.
pub const PANIC_TARGET: &str = "panic";
/// Field: the panic message.
pub const FIELD_MESSAGE: &str = "panic.message";
/// Field: `file:line:column` of the panic.
pub const FIELD_LOCATION: &str = "panic.location";
/// Field: the panicking thread's name (`<unnamed>` when it has none).
pub const FIELD_THREAD: &str = "panic.thread";
/// Field: the `Display` text of a force-captured [`Backtrace`].
pub const FIELD_BACKTRACE: &str = "panic.backtrace";
/// Field: the backtrace as a line shows it, when `RUST_BACKTRACE` asks for one: the
/// application's frames, innermost first, then how many others were left out. Lines
/// print it after the request span, as continuation lines.
pub const FIELD_SHOWN: &str = "panic.shown_backtrace";

/// How long the panic hook waits, at most, for lines and notifications to go out on the
/// main thread (less when the shutdown deadline comes first).
pub const PANIC_FLUSH_TIMEOUT: Duration = Duration::from_secs(3);

/// How long the panic hook waits on any other thread: such a panic is usually caught (a
/// web framework answers 500 and the worker serves the next request), so it must not
/// hold the worker; what is not delivered by then is delivered by the background
/// threads, or flushed when the process ends.
pub const PANIC_FLUSH_OFF_MAIN: Duration = Duration::from_millis(250);

/// Installs the panic hook, once per process (later calls do nothing): a panic becomes a
/// `CRITICAL` event with target [`PANIC_TARGET`] and the fields above, through whatever
/// subscriber is current, then the logger [`init`](crate::init) installed (if any) is
/// flushed within [`PANIC_FLUSH_TIMEOUT`], then the previous hook runs.
///
/// `init` calls it in every mode (in development, a panic prints its `CRITICAL` line with
/// its request, as in production). A
/// program that composes its own subscriber from the crate's layers calls it after
/// installing the subscriber; its own [`DailyFile`](crate::DailyFile) and notifier
/// handles are flushed when they are dropped as the panic unwinds `main`.
///
/// # Examples
///
/// ```
/// use tracing_subscriber::prelude::*;
///
/// let out = tracing_logbook::testing::CaptureWriter::new();
/// let subscriber = tracing_subscriber::registry()
///     .with(tracing_logbook::LogbookLayer::builder().build(out.clone()));
/// tracing::subscriber::set_global_default(subscriber).unwrap();
/// tracing_logbook::panic::install_hook();
///
/// let _ = std::panic::catch_unwind(|| panic!("boom"));
/// assert!(out.take_string().contains("CRITICAL: panic: thread 'main' panicked at"));
/// ```
pub fn install_hook() {
    static INSTALL: Once = Once::new();
    INSTALL.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            report(info);
            previous(info);
        }));
    });
}

fn report(info: &std::panic::PanicHookInfo<'_>) {
    let message = if let Some(s) = info.payload().downcast_ref::<&str>() {
        s
    } else if let Some(s) = info.payload().downcast_ref::<String>() {
        s.as_str()
    } else {
        "Box<dyn Any>"
    };
    let location = info
        .location()
        .map(|l| format!("{}:{}:{}", l.file(), l.line(), l.column()))
        .unwrap_or_else(|| "<unknown>".to_owned());
    let thread = std::thread::current();
    let thread = thread.name().unwrap_or("<unnamed>");
    // Always captured for notifiers; shown on the line only when RUST_BACKTRACE asks,
    // and then only the application's frames, after the message and the request.
    let backtrace = Backtrace::force_capture();
    let text = backtrace.to_string();
    let shown = match Backtrace::capture().status() {
        BacktraceStatus::Captured => crate::notify::backtrace::shown_frames(&text),
        _ => None,
    };
    crate::critical!(
        target: "panic",
        panic.message = message,
        panic.location = location.as_str(),
        panic.thread = thread,
        panic.backtrace = text.as_str(),
        panic.shown_backtrace = shown.as_deref(),
        "thread '{thread}' panicked at {location}: {message}"
    );
    let bound = match thread == "main" {
        true => PANIC_FLUSH_TIMEOUT,
        false => PANIC_FLUSH_OFF_MAIN,
    };
    // What the flush leaves is lost only if the process aborts now; otherwise the panic
    // unwinds (and is often caught), the background threads go on delivering, and the
    // guard's drop or the at-exit flush says what the process's end loses.
    crate::lifecycle::flush_after_panic(bound, cfg!(panic = "abort"));
}
