//! A parser for the `Display` text of [`std::backtrace::Backtrace`].
//!
//! ```text
//!    0: std::backtrace_rs::backtrace::libunwind::trace
//!              at /rustc/.../backtrace/src/backtrace/libunwind.rs:117:9
//!    1: my_app::handler
//!              at ./src/main.rs:10:5
//!       my_app::inlined_helper
//!              at ./src/util.rs:3:1
//!    2: <unknown>
//! ```
//!
//! Each symbol (an inlined call appears as an extra, unnumbered symbol line) becomes one
//! [`Frame`], innermost first, as printed.

/// One parsed frame.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Frame {
    /// The demangled function name, or the address when the symbol is unknown.
    pub(crate) method: String,
    pub(crate) filename: Option<String>,
    pub(crate) lineno: Option<u32>,
    pub(crate) colno: Option<u32>,
}

/// Parses a backtrace's `Display` text into frames, innermost (most recent) first.
/// Returns no frames for `disabled backtrace` / `unsupported backtrace`.
pub(crate) fn parse(text: &str) -> Vec<Frame> {
    let mut frames: Vec<Frame> = Vec::new();
    for line in text.lines() {
        let trimmed = line.trim();
        if trimmed.is_empty() {
            continue;
        }
        if let Some(location) = trimmed.strip_prefix("at ") {
            if let Some(frame) = frames.last_mut() {
                if frame.filename.is_none() {
                    let (file, lineno, colno) = parse_location(location);
                    frame.filename = Some(file.to_owned());
                    frame.lineno = lineno;
                    frame.colno = colno;
                }
            }
            continue;
        }
        let symbol = match trimmed.split_once(": ") {
            Some((index, name)) if index.bytes().all(|b| b.is_ascii_digit()) => name,
            // An unnumbered, indented line: an inlined symbol of the previous frame.
            _ if line.starts_with(' ') && !frames.is_empty() => trimmed,
            _ => continue,
        };
        frames.push(Frame {
            method: symbol.to_owned(),
            filename: None,
            lineno: None,
            colno: None,
        });
    }
    frames
}

/// Splits `path:line:col` (or `path:line`, or just `path`); the path may contain `:`.
pub(crate) fn parse_location(location: &str) -> (&str, Option<u32>, Option<u32>) {
    let number = |s: &str| {
        (!s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()))
            .then(|| s.parse::<u32>().ok())
            .flatten()
    };
    if let Some((rest, last)) = location.rsplit_once(':') {
        if let Some(last) = number(last) {
            if let Some((path, line)) = rest.rsplit_once(':') {
                if let Some(line) = number(line) {
                    return (path, Some(line), Some(last));
                }
            }
            return (rest, Some(last), None);
        }
    }
    (location, None, None)
}

/// Whether a symbol captures a backtrace.
fn is_capture(method: &str) -> bool {
    method.contains("std::backtrace") || method.contains("backtrace::backtrace::")
}

/// Whether a symbol is where a panic enters the runtime.
fn is_panic_entry(method: &str) -> bool {
    const MARKERS: [&str; 6] = [
        "rust_panic_with_hook",
        "begin_panic_handler",
        "rust_begin_unwind",
        "__rust_end_short_backtrace",
        "std::panicking::begin_panic",
        "core::panicking::",
    ];
    MARKERS.iter().any(|m| method.contains(m))
}

/// Whether a symbol belongs to the machinery that runs a panic.
fn is_panic_machinery(method: &str) -> bool {
    is_panic_entry(method)
        || method.contains("std::panicking::")
        || method.contains("std::sys::backtrace::__rust_end")
}

/// Whether a symbol is the runtime that starts `main` or a thread.
fn is_runtime_start(method: &str) -> bool {
    method.contains("__rust_begin_short_backtrace")
}

/// The frames of the panicking code, **oldest call first** as Rollbar wants them.
///
/// From the innermost end, the capture frames, the hook that captured them and the
/// panic machinery are cut: everything up to the first panic entry point
/// (`rust_panic_with_hook`, `rust_begin_unwind`, `core::panicking::*`...) and the
/// machinery frames right after it. Without a panic entry point (a backtrace captured
/// outside a panic) only the capture frames are cut. From the outermost end, the
/// runtime's start-up frames (from `__rust_begin_short_backtrace` outwards) are cut.
/// If nothing would remain, every frame is kept.
pub(crate) fn panic_frames(text: &str) -> Vec<Frame> {
    let all = parse(text);
    let start = match all.iter().position(|f| is_panic_entry(&f.method)) {
        Some(entry) => {
            entry
                + all[entry..]
                    .iter()
                    .take_while(|f| is_panic_machinery(&f.method))
                    .count()
        }
        None => all.iter().take_while(|f| is_capture(&f.method)).count(),
    };
    let end = all
        .iter()
        .skip(start)
        .position(|f| is_runtime_start(&f.method))
        .map_or(all.len(), |i| start + i);
    let mut frames: Vec<Frame> = if start < end {
        all[start..end].to_vec()
    } else {
        all
    };
    frames.reverse();
    frames
}

/// What an item says when a backtrace has no file names (a release build without debug
/// information): why, and how to get useful frames.
pub(crate) const NO_LINE_TABLES: &str = "the backtrace has no file names or lines: build with \
     `debug = \"line-tables-only\"` under `[profile.release]` in Cargo.toml (and keep \
     `strip` off) for useful frames";

/// A panic's frames, oldest call first, and whether they are useful: without a
/// backtrace (disabled or unsupported) or with frames that have no file at all (a
/// release build without line tables), the one frame is the panic's location and the
/// flag is false, so the item can say why.
pub(crate) fn panic_trace(backtrace: Option<&str>, location: Option<&str>) -> (Vec<Frame>, bool) {
    let frames = backtrace.map(panic_frames).unwrap_or_default();
    // Useful when the application's own code has files and lines; a stripped build
    // still has std's (from /rustc/), which say nothing of where the panic was.
    if frames.iter().any(|f| f.filename.is_some() && in_app(f)) {
        return (frames, true);
    }
    let (file, lineno, colno) = parse_location(location.unwrap_or("<unknown>"));
    let at = Frame {
        method: "<panic>".to_owned(),
        filename: Some(file.to_owned()),
        lineno,
        colno,
    };
    // The frames that name a file stay (oldest first), the panic's location last.
    let mut frames: Vec<Frame> = frames
        .into_iter()
        .filter(|f| f.filename.is_some())
        .collect();
    frames.push(at);
    (frames, false)
}

/// A panic's backtrace as a line shows it: the application's frames, innermost first,
/// then how many other frames (std's, the runtime's, dependencies') were left out; the
/// capture and the panic machinery are never shown. `None` when nothing is left.
pub(crate) fn shown_frames(text: &str) -> Option<String> {
    use std::fmt::Write as _;
    let frames = panic_frames(text);
    let mut out = String::new();
    let mut others = 0;
    for frame in frames.iter().rev() {
        if !in_app(frame) {
            others += 1;
            continue;
        }
        let _ = write!(out, "\n  at {}", frame.method);
        if let Some(file) = &frame.filename {
            let _ = write!(out, " ({file}");
            if let Some(line) = frame.lineno {
                let _ = write!(out, ":{line}");
            }
            out.push(')');
        }
    }
    if out.is_empty() {
        return None;
    }
    if others > 0 {
        let _ = write!(
            out,
            "\n  ({others} frames of std, the runtime and dependencies left out)"
        );
    }
    Some(out)
}

/// Whether a frame is the application's code rather than the standard library's, the
/// runtime's, a dependency's (from the Cargo registry or a git checkout) or this crate's
/// hook.
pub(crate) fn in_app(frame: &Frame) -> bool {
    let foreign_symbol = [
        "std::",
        "core::",
        "alloc::",
        "<std::",
        "<core::",
        "<alloc::",
        "tracing_logbook::",
        "<tracing_logbook::",
        "__rust",
    ]
    .iter()
    .any(|p| frame.method.starts_with(p));
    let foreign_file = frame.filename.as_deref().is_some_and(|f| {
        f.starts_with("/rustc/")
            || f.contains("/.cargo/registry/")
            || f.contains("/.cargo/git/")
            || f.contains("/rustlib/")
    });
    !foreign_symbol && !foreign_file && frame.method != "<unknown>"
}

/// The module of the innermost application frame (`my_app::orders` of
/// `my_app::orders::first::{{closure}}`): where a panic happened.
pub(crate) fn panic_module(frames: &[Frame]) -> Option<String> {
    let frame = frames
        .iter()
        .rev()
        .find(|f| in_app(f) && f.method != "<panic>")?;
    let mut path: Vec<&str> = frame
        .method
        .split("::")
        .filter(|segment| !segment.starts_with("{{"))
        .collect();
    path.pop();
    (!path.is_empty()).then(|| path.join("::"))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A stripped release build: std's frames keep their /rustc/ files, the
    /// application's are `<unknown>`. The item gets the panic's location as a frame and
    /// says why (the flag), instead of 13 `<unknown>` frames.
    #[test]
    fn a_stripped_build_s_trace_ends_with_the_location() {
        let text = "   0: std::backtrace::Backtrace::force_capture
             at /rustc/abc/library/std/src/backtrace.rs:312:9
   1: std::panicking::rust_panic_with_hook
             at /rustc/abc/library/std/src/panicking.rs:841:13
   2: <unknown>
   3: <unknown>
   4: std::rt::lang_start_internal
             at /rustc/abc/library/std/src/rt.rs:175:5
";
        let (frames, useful) = panic_trace(Some(text), Some("src/orders.rs:42:9"));
        assert!(!useful);
        let last = frames.last().unwrap();
        assert_eq!(
            (last.method.as_str(), last.filename.as_deref(), last.lineno),
            ("<panic>", Some("src/orders.rs"), Some(42))
        );
        assert!(
            frames.iter().all(|f| f.method != "<unknown>"),
            "{frames:#?}"
        );
    }

    const SAMPLE: &str = "   0: std::backtrace_rs::backtrace::libunwind::trace
             at /rustc/abc/library/std/src/../../backtrace/src/backtrace/libunwind.rs:117:9
   1: std::backtrace::Backtrace::force_capture
             at /rustc/abc/library/std/src/backtrace.rs:312:9
   2: my_app::install_hook::{{closure}}
             at ./src/hook.rs:20:25
   3: std::panicking::rust_panic_with_hook
             at /rustc/abc/library/std/src/panicking.rs:841:13
   4: std::panicking::begin_panic_handler::{{closure}}
             at /rustc/abc/library/std/src/panicking.rs:706:13
   5: std::sys::backtrace::__rust_end_short_backtrace
             at /rustc/abc/library/std/src/sys/backtrace.rs:168:18
   6: __rustc::rust_begin_unwind
             at /rustc/abc/library/std/src/panicking.rs:697:5
   7: core::panicking::panic_fmt
             at /rustc/abc/library/core/src/panicking.rs:75:14
   8: my_app::handler
             at ./src/main.rs:10:5
      my_app::inlined_helper
             at ./src/util.rs:3:1
   9: my_app::main
             at ./src/main.rs:4:5
  10: core::ops::function::FnOnce::call_once
             at /rustc/abc/library/core/src/ops/function.rs:250:5
  11: std::sys::backtrace::__rust_begin_short_backtrace
             at /rustc/abc/library/std/src/sys/backtrace.rs:152:18
  12: std::rt::lang_start::{{closure}}
             at /rustc/abc/library/std/src/rt.rs:206:18
      std::panicking::catch_unwind::do_call
             at /rustc/abc/library/std/src/panicking.rs:589:40
  13: main
  14: __libc_start_main
  15: <unknown>
  16: _start
";

    #[test]
    fn parses_every_symbol_with_its_location() {
        let frames = parse(SAMPLE);
        assert_eq!(frames.len(), 19);
        assert_eq!(
            frames[8],
            Frame {
                method: "my_app::handler".into(),
                filename: Some("./src/main.rs".into()),
                lineno: Some(10),
                colno: Some(5),
            }
        );
        assert_eq!(frames[9].method, "my_app::inlined_helper");
        assert_eq!(frames[9].filename.as_deref(), Some("./src/util.rs"));
        assert_eq!(frames[15].method, "main");
        assert_eq!(frames[15].filename, None);
        assert_eq!(frames[17].method, "<unknown>");
    }

    #[test]
    fn panic_frames_are_the_application_oldest_first() {
        let methods: Vec<_> = panic_frames(SAMPLE).into_iter().map(|f| f.method).collect();
        assert_eq!(
            methods,
            [
                "core::ops::function::FnOnce::call_once",
                "my_app::main",
                "my_app::inlined_helper",
                "my_app::handler",
            ]
        );
    }

    #[test]
    fn disabled_and_odd_backtraces() {
        assert!(parse("disabled backtrace").is_empty());
        assert!(parse("unsupported backtrace").is_empty());
        assert!(panic_frames("").is_empty());
        let frames = parse(
            "   0: 0x55d5c0a1b2c3 - <unknown>\n   1: foo\n             at C:\\src\\lib.rs:7\n",
        );
        assert_eq!(frames.len(), 2);
        assert_eq!(frames[1].filename.as_deref(), Some("C:\\src\\lib.rs"));
        assert_eq!(frames[1].lineno, Some(7));
        assert_eq!(frames[1].colno, None);
        // Nothing recognisable as machinery: everything kept, reversed.
        let kept = panic_frames("   0: a\n   1: b\n");
        assert_eq!(kept.len(), 2);
        assert_eq!(kept[0].method, "b");
    }

    #[test]
    fn panic_traces_say_when_they_are_useless() {
        let (frames, useful) = panic_trace(Some(SAMPLE), Some("src/main.rs:10:5"));
        assert!(useful);
        assert_eq!(frames.last().unwrap().method, "my_app::handler");
        assert!(in_app(frames.last().unwrap()));
        assert!(!in_app(&frames[0]));
        assert_eq!(panic_module(&frames).as_deref(), Some("my_app"));
        // A release build without line tables: symbols at best, no files.
        let release = "   0: <unknown>\n   1: my_app::handler\n   2: main\n";
        let (frames, useful) = panic_trace(Some(release), Some("src/main.rs:10:5"));
        assert!(!useful);
        assert_eq!(frames.len(), 1);
        assert_eq!(frames[0].filename.as_deref(), Some("src/main.rs"));
        assert_eq!(frames[0].lineno, Some(10));
        let (frames, useful) = panic_trace(Some("disabled backtrace"), None);
        assert!(!useful);
        assert_eq!(frames[0].filename.as_deref(), Some("<unknown>"));
        let closure = Frame {
            method: "shop::orders::first::{{closure}}".into(),
            filename: Some("./src/orders.rs".into()),
            lineno: Some(3),
            colno: None,
        };
        assert_eq!(panic_module(&[closure]).as_deref(), Some("shop::orders"));
        let hook = Frame {
            method: "tracing_logbook::panic::report".into(),
            filename: Some("/work/src/panic.rs".into()),
            lineno: Some(1),
            colno: None,
        };
        assert!(!in_app(&hook));
    }

    #[test]
    fn locations() {
        assert_eq!(
            parse_location("src/a.rs:1:2"),
            ("src/a.rs", Some(1), Some(2))
        );
        assert_eq!(parse_location("src/a.rs:1"), ("src/a.rs", Some(1), None));
        assert_eq!(parse_location("src/a.rs"), ("src/a.rs", None, None));
        assert_eq!(
            parse_location("C:\\x\\a.rs:10:3"),
            ("C:\\x\\a.rs", Some(10), Some(3))
        );
    }
}
