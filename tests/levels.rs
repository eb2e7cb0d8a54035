//! Levels, `RUST_LOG` thresholds, fields, spans and hostile content, through real
//! subscribers (scoped with `with_default`, nothing installed globally).

use std::sync::{Arc, Mutex};

use time::macros::datetime;
use tracing::Subscriber;
use tracing_logbook::testing::{CaptureWriter, ManualClock};
use tracing_logbook::{critical, notice, ColorChoice, LogbookFilter, LogbookLayer};
use tracing_subscriber::layer::{Context, Layer};
use tracing_subscriber::prelude::*;

const PREFIX: &str = "[2026-11-23 19:28:08.123456] ";

fn layer(out: &CaptureWriter) -> LogbookLayer<CaptureWriter> {
    LogbookLayer::builder()
        .clock(ManualClock::new(datetime!(2026-11-23 19:28:08.123456 UTC)))
        .color(ColorChoice::Never)
        // Every span field, request spans' too: these tests are about how fields print
        // (the default, a request's identity, has its own test below).
        .span_fields(tracing_logbook::SpanFields::All)
        .build(out.clone())
}

/// The lines `f` produces under `RUST_LOG=spec`, without the timestamp prefix.
fn lines(spec: &str, f: impl FnOnce()) -> Vec<String> {
    let out = CaptureWriter::new();
    let subscriber = tracing_subscriber::registry()
        .with(LogbookFilter::parse(spec).unwrap())
        .with(layer(&out));
    tracing::subscriber::with_default(subscriber, f);
    out.take_string()
        .lines()
        .map(|l| l.strip_prefix(PREFIX).unwrap_or(l).to_owned())
        .collect()
}

fn all_levels() {
    tracing::trace!(target: "App", "t");
    tracing::debug!(target: "App", "d");
    tracing::info!(target: "App", "i");
    notice!(target: "App", "n");
    tracing::warn!(target: "App", "w");
    tracing::error!(target: "App", "e");
    critical!(target: "App", "c");
}

#[test]
fn the_issue_example() {
    let got = lines("trace", || {
        tracing::info!(target: "App", "server started");
        notice!(target: "App", port = 8080, "listening");
    });
    assert_eq!(
        got,
        [
            "INFO: App: server started",
            "NOTICE: App: listening port=8080"
        ]
    );
}

#[test]
fn seven_levels_printed_by_name() {
    assert_eq!(
        lines("trace", all_levels),
        [
            "TRACE: App: t",
            "DEBUG: App: d",
            "INFO: App: i",
            "NOTICE: App: n",
            "WARNING: App: w",
            "ERROR: App: e",
            "CRITICAL: App: c"
        ]
    );
}

#[test]
fn thresholds_including_notice_and_critical() {
    let names = |spec: &str| -> String {
        lines(spec, all_levels)
            .iter()
            .map(|l| l.split(':').next().unwrap().chars().next().unwrap())
            .collect()
    };
    assert_eq!(names("trace"), "TDINWEC");
    assert_eq!(names("debug"), "DINWEC");
    assert_eq!(names("info"), "INWEC");
    assert_eq!(names("notice"), "NWEC");
    assert_eq!(names("NOTICE"), "NWEC");
    assert_eq!(names("warning"), "WEC");
    assert_eq!(names("warn"), "WEC");
    assert_eq!(names("error"), "EC");
    assert_eq!(names("critical"), "C");
    assert_eq!(names("off"), "");
    // Unset means the documented default, info.
    assert_eq!(names(""), "INWEC");
    // Per-target thresholds, most specific wins; other targets keep the default.
    assert_eq!(names("critical,App=notice"), "NWEC");
    assert_eq!(names("App=critical"), "C");
    assert_eq!(names("Ap=critical,App=trace"), "TDINWEC");
    assert_eq!(names("Other=trace"), "INWEC");
}

#[test]
fn directives_with_module_paths_and_spans() {
    let got = lines("warning,my_app::db=trace,[request]=debug", || {
        tracing::trace!(target: "my_app::db::pool", "pool trace");
        tracing::info!(target: "my_app::web", "hidden");
        let span = tracing::info_span!("request", path = "/x");
        span.in_scope(|| tracing::debug!(target: "my_app::web", "in request"));
    });
    assert_eq!(
        got,
        [
            "TRACE: my_app::db::pool: pool trace",
            "DEBUG: my_app::web: in request in request{path=/x}"
        ]
    );
}

#[test]
fn invalid_directives_are_named() {
    for (spec, bad) in [
        ("info,my_app=loud", "my_app=loud"),
        ("=info", "=info"),
        ("info,my_app=", "my_app="),
        ("notice,[unclosed=info", "[unclosed=info"),
    ] {
        let err = LogbookFilter::parse(spec).unwrap_err();
        assert_eq!(err.directive(), bad, "{spec}: {err}");
        assert!(err.to_string().contains(bad));
    }
}

#[test]
fn a_misspelt_level_is_an_error_with_a_suggestion() {
    for (spec, bad, meant) in [
        ("eror", "eror", "error"),
        ("warnig", "warnig", "warning"),
        ("info,notcie", "notcie", "notice"),
        ("INOF", "INOF", "info"),
        ("debg", "debg", "debug"),
        ("critcal", "critcal", "critical"),
        ("trce", "trce", "trace"),
    ] {
        let err = LogbookFilter::parse(spec).unwrap_err();
        assert_eq!(err.directive(), bad, "{spec}: {err}");
        assert!(
            err.reason().contains(&format!("did you mean `{meant}`?")),
            "{spec}: {err}"
        );
        assert!(
            err.reason().contains(&format!("write {bad}=trace")),
            "{err}"
        );
    }
    // Real target names are still targets; a level is always exact.
    for spec in ["my_app", "hyper", "tokio", "axum", "sqlx", "app=eror_free"] {
        let ok = !spec.contains("eror_free");
        assert_eq!(LogbookFilter::parse(spec).is_ok(), ok, "{spec}");
    }
    // The escape for a target that looks like a level.
    assert!(LogbookFilter::parse("warp=trace").is_ok());
}

#[test]
fn grammar_errors_are_in_the_crate_s_own_words() {
    for spec in ["notice,[unclosed=info", "app[span{=info"] {
        let err = LogbookFilter::parse(spec).unwrap_err();
        let reason = err.reason();
        assert!(!reason.contains("0-5"), "{spec}: {reason}");
        assert!(
            reason.contains("notice, warning, error, critical"),
            "{spec}: {reason}"
        );
    }
}

/// Records the tracing level of each event, as a third-party layer sees it.
#[derive(Clone, Default)]
struct Levels(Arc<Mutex<Vec<tracing::Level>>>);

impl<S: Subscriber> Layer<S> for Levels {
    fn on_event(&self, event: &tracing::Event<'_>, _: Context<'_, S>) {
        self.0.lock().unwrap().push(*event.metadata().level());
    }
}

#[test]
fn other_layers_see_notice_as_info_and_critical_as_error() {
    let levels = Levels::default();
    let subscriber = tracing_subscriber::registry().with(levels.clone());
    tracing::subscriber::with_default(subscriber, || {
        notice!("n");
        critical!("c");
    });
    assert_eq!(
        *levels.0.lock().unwrap(),
        [tracing::Level::INFO, tracing::Level::ERROR]
    );
}

#[test]
fn every_macro_form() {
    let got = lines("trace", || {
        let span = tracing::info_span!("outer", id = 7);
        let x = 3;
        let name = "Zoë";
        notice!("plain");
        notice!("formatted {} {x}", 1);
        notice!(x, "shorthand");
        notice!(%name, ?x, "sigils");
        notice!(a.b = 1, "dotted");
        notice!(target: "T", "target");
        notice!(parent: &span, "parent");
        notice!(target: "T", parent: &span, "both");
        notice!(name: "ev", "named");
        notice!(name: "ev", target: "T", "named target");
        notice!(name: "ev", parent: &span, "named parent");
        notice!(name: "ev", target: "T", parent: &span, "all three");
        critical!(target: "T", error = %std::io::Error::other("disk"), "critical {}", x);
    });
    let module = module_path!();
    let want: Vec<String> = [
        format!("NOTICE: {module}: plain"),
        format!("NOTICE: {module}: formatted 1 3"),
        format!("NOTICE: {module}: shorthand x=3"),
        format!("NOTICE: {module}: sigils name=Zoë x=3"),
        format!("NOTICE: {module}: dotted a.b=1"),
        "NOTICE: T: target".to_owned(),
        format!("NOTICE: {module}: parent in outer{{id=7}}"),
        "NOTICE: T: both in outer{id=7}".to_owned(),
        format!("NOTICE: {module}: named"),
        "NOTICE: T: named target".to_owned(),
        format!("NOTICE: {module}: named parent in outer{{id=7}}"),
        "NOTICE: T: all three in outer{id=7}".to_owned(),
        "CRITICAL: T: critical 3 error=disk".to_owned(),
    ]
    .into();
    assert_eq!(got, want);
}

#[test]
fn fields_and_spans_follow_the_message() {
    let got = lines("trace", || {
        let request = tracing::info_span!("request", method = "GET", path = "/a b");
        let _r = request.enter();
        let handler = tracing::info_span!("handler", user = tracing::field::Empty);
        let _h = handler.enter();
        handler.record("user", 42);
        tracing::info!(target: "App", status = 200u16, took = 1.5, ok = true, note = "", "done");
        tracing::info!(target: "App", only = "fields");
        let inner = tracing::info_span!("bare");
        inner.in_scope(|| tracing::warn!(target: "App", "deep"));
    });
    assert_eq!(
        got,
        [
            r#"INFO: App: done status=200 took=1.5 ok=true note="" in request{method=GET path="/a b"}:handler{user=42}"#,
            r#"INFO: App: only=fields in request{method=GET path="/a b"}:handler{user=42}"#,
            r#"WARNING: App: deep in request{method=GET path="/a b"}:handler{user=42}:bare"#,
        ]
    );
}

#[test]
fn no_content_can_forge_a_record_or_reach_the_terminal() {
    let fake = "ok\n[2026-11-23 19:28:08.123456] CRITICAL: App: forged\x1b[2J\r";
    let out = CaptureWriter::new();
    let subscriber = tracing_subscriber::registry().with(layer(&out));
    tracing::subscriber::with_default(subscriber, || {
        let span = tracing::info_span!("s", v = fake);
        let _e = span.enter();
        tracing::info!(target: "App", field = fake, debug = ?fake, "{}", fake);
        tracing_log::format_trace(
            &log::Record::builder()
                .target("evil\n[2026] CRITICAL: x")
                .level(log::Level::Warn)
                .args(format_args!("m"))
                .build(),
        )
        .unwrap();
    });
    let text = out.take_string();
    let records: Vec<&str> = text.lines().filter(|l| l.starts_with('[')).collect();
    assert_eq!(records.len(), 2, "{text}");
    assert!(
        text.lines()
            .all(|l| l.starts_with('[') || l.starts_with("  ")),
        "{text}"
    );
    assert!(
        !text.bytes().any(|b| (b < 0x20 && b != b'\n') || b == 0x7f),
        "{text:?}"
    );
    assert!(text.contains(r#"field="ok\n[2026-11-23"#), "{text}");
    assert!(
        text.contains(r#"WARNING: evil\n[2026] CRITICAL: x: m"#),
        "{text}"
    );
}

#[test]
fn log_records_use_their_real_target() {
    let target = String::from("actix_web::middleware::logger");
    let got = lines("info", || {
        tracing_log::format_trace(
            &log::Record::builder()
                .target(&target)
                .level(log::Level::Warn)
                .file(Some("src/logger.rs"))
                .line(Some(10))
                .args(format_args!("slow request"))
                .build(),
        )
        .unwrap();
    });
    assert_eq!(
        got,
        ["WARNING: actix_web::middleware::logger: slow request"]
    );
}

#[test]
fn one_channel_for_a_whole_program() {
    let out = CaptureWriter::new();
    let layer = LogbookLayer::builder()
        .clock(ManualClock::new(datetime!(2026-11-23 19:28:08.123456 UTC)))
        .channel("levels", "App")
        .build(out.clone());
    tracing::subscriber::with_default(tracing_subscriber::registry().with(layer), || {
        tracing::info!("from the crate root");
        tracing::info!(target: "levels::db", "from a module");
        tracing::info!(target: "levelsx", "another crate");
    });
    assert_eq!(
        out.take_string(),
        format!("{PREFIX}INFO: App: from the crate root\n{PREFIX}INFO: App: from a module\n{PREFIX}INFO: levelsx: another crate\n")
    );
}

#[test]
fn a_display_impl_that_logs_does_not_deadlock_or_panic() {
    struct Loud;
    impl std::fmt::Display for Loud {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            tracing::warn!(target: "inner", "logged while formatting");
            f.write_str("loud")
        }
    }
    let got = lines(
        "trace",
        || tracing::info!(target: "outer", "value {}", Loud),
    );
    // tracing-core itself hands events emitted from inside a dispatch to the no-op
    // dispatcher, so the inner event is not seen; the outer line must be intact.
    assert_eq!(got, ["INFO: outer: value loud"]);
}

#[test]
fn many_threads_never_tear_lines() {
    let out = CaptureWriter::new();
    let subscriber = Arc::new(tracing_subscriber::registry().with(layer(&out)));
    let threads: Vec<_> = (0..8)
        .map(|t| {
            let subscriber = subscriber.clone();
            std::thread::spawn(move || {
                tracing::subscriber::with_default(subscriber, || {
                    for i in 0..500 {
                        tracing::info!(target: "App", thread = t, i, "line {}", "x".repeat(i % 50));
                    }
                })
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    let text = out.take_string();
    assert_eq!(text.lines().count(), 4000);
    for line in text.lines() {
        let rest = line.strip_prefix(PREFIX).unwrap();
        assert!(rest.starts_with("INFO: App: line "), "{line}");
        let (msg, fields) = rest.rsplit_once(" thread=").unwrap();
        let i: usize = fields.split_once(" i=").unwrap().1.parse().unwrap();
        assert_eq!(msg, format!("INFO: App: line {}", "x".repeat(i % 50)));
    }
}

#[test]
fn tracing_s_level_numbers_are_levels_never_targets() {
    let count = |spec: &str| lines(spec, all_levels).len();
    // 0 is off (it used to be a target named `0`, so everything showed at INFO).
    assert_eq!(count("0"), 0);
    assert_eq!(count("1"), 2, "error and critical");
    assert_eq!(count("2"), 3);
    assert_eq!(count("3"), 5, "info and above, notice included");
    assert_eq!(count("4"), 6);
    assert_eq!(count("5"), 7);
    assert_eq!(count("info,App=0"), 0);
    assert_eq!(count("off,App=4"), 6);
    for spec in ["6", "42", "App=9"] {
        let err = LogbookFilter::parse(spec).unwrap_err();
        assert!(
            err.reason().contains("0 (off) to 5 (trace)"),
            "{spec}: {err}"
        );
    }
}

#[test]
fn a_space_inside_a_directive_is_an_error_not_a_target() {
    for (spec, bad, meant) in [
        (
            "info levels=debug",
            "info levels=debug",
            "info,levels=debug",
        ),
        ("warn, my app=debug", "my app=debug", "my,app=debug"),
        ("my app = debug", "my app = debug", "my,app=debug"),
    ] {
        let err = LogbookFilter::parse(spec).unwrap_err();
        assert_eq!(err.directive(), bad, "{spec}: {err}");
        assert!(
            err.reason().contains(&format!("did you mean `{meant}`?")),
            "{spec}: {err}"
        );
    }
    // Spaces around directives and inside a span's field value are fine.
    assert!(LogbookFilter::parse(" info , App=debug ").is_ok());
    assert_eq!(
        lines(" notice , App = debug ", all_levels).len(),
        6,
        "spaces around `=` are trimmed"
    );
}

/// `log` records' key-values are fields, typed as tracing's are, on every output (they
/// all read the one record `testing::capture` shows).
#[test]
fn log_key_values_become_typed_fields() {
    use tracing_logbook::testing::FieldValue;
    #[derive(Debug)]
    struct Point {
        #[allow(dead_code)] // read by `Debug`
        x: i32,
    }
    let captured = tracing_logbook::testing::capture(|| {
        let _in = tracing::info_span!("job", id = 3).entered();
        log::warn!(
            target: "legacy",
            n = -7, big = u64::MAX, ratio = 0.5, ok = false, who = "ann", at:? = Point { x: 1 };
            "with {} values", 6
        );
        log::warn!(target: "legacy", "without");
    });
    let records = captured.records();
    let r = &records[0];
    assert_eq!(r.message, "with 6 values");
    assert_eq!(r.field("n"), Some(&FieldValue::I64(-7)));
    assert_eq!(r.field("big"), Some(&FieldValue::U64(u64::MAX)));
    assert_eq!(r.field("ratio"), Some(&FieldValue::F64(0.5)));
    assert_eq!(r.field("ok"), Some(&FieldValue::Bool(false)));
    assert_eq!(r.field("who"), Some(&FieldValue::Str("ann".into())));
    assert_eq!(
        r.field("at"),
        Some(&FieldValue::Debug("Point { x: 1 }".into()))
    );
    assert!(
        r.formatted().ends_with(
            "with 6 values n=-7 big=18446744073709551615 ratio=0.5 ok=false who=ann \
             at=\"Point { x: 1 }\" in job{id=3}"
        ),
        "{}",
        r.formatted()
    );
    // The next record does not inherit them.
    assert_eq!(records[1].field("n"), None);
}

/// Secrets never reach a line: a field the notifier scrubs (`password`, `token`, ...,
/// whatever its type, also in span fields and `log` key-values) and a URL's password in
/// a message or a value are masked at capture, for every output.
#[test]
fn secret_fields_and_url_passwords_are_masked_in_lines() {
    let got = lines("trace", || {
        let _in = tracing::info_span!("db", url = "postgres://app:two words@db/app").entered();
        tracing::info!(
            target: "App",
            password = "hunter2",
            passwd = 1234,
            user.token = %"abc",
            user = "ann",
            "connecting to postgres://app:s3cret@db.internal:5432/x"
        );
    });
    assert_eq!(
        got,
        [
            "INFO: App: connecting to postgres://app:***@db.internal:5432/x password=*** \
             passwd=*** user.token=*** user=ann in db{url=postgres://app:***@db/app}"
        ]
    );
    let captured = tracing_logbook::testing::capture(|| {
        log::warn!(target: "legacy", api_key = "k-123", id = 7; "with a key");
    });
    assert!(
        captured.formatted()[0].ends_with("with a key api_key=*** id=7"),
        "{:?}",
        captured.formatted()
    );
}

/// Inside a request span, a line shows the request's identity (by default); its response
/// line shows the whole request; `all` and `none` say more and less. Other spans always
/// show their fields.
#[test]
fn request_spans_show_their_identity_on_lines_and_everything_on_the_response_line() {
    use tracing_logbook::SpanFields;
    let run = |span_fields: Option<SpanFields>| {
        let out = CaptureWriter::new();
        let mut builder = LogbookLayer::builder()
            .clock(ManualClock::new(datetime!(2026-11-23 19:28:08.123456 UTC)))
            .color(ColorChoice::Never);
        if let Some(s) = span_fields {
            builder = builder.span_fields(s);
        }
        let subscriber = tracing_subscriber::registry().with(builder.build(out.clone()));
        tracing::subscriber::with_default(subscriber, || {
            let request = tracing::error_span!(
                "request",
                method = "GET",
                url = "/cart",
                request_id = "7f3a",
                route = "/cart",
                client.address = "203.0.113.7",
                user.id = tracing::field::Empty,
            );
            let _in = request.enter();
            request.record("user.id", 42);
            let _job = tracing::info_span!("pricing", currency = "EUR").entered();
            tracing::info!(target: "app", "3 items in cart");
            tracing::info!(name: "http.response", target: "http", latency_ms = 2, "200 OK");
        });
        out.take_string()
            .lines()
            .map(|l| l.strip_prefix(PREFIX).unwrap().to_owned())
            .collect::<Vec<_>>()
    };
    let whole = "request{method=GET url=/cart request_id=7f3a route=/cart \
                 client.address=203.0.113.7 user.id=42}:pricing{currency=EUR}";
    assert_eq!(
        run(None),
        [
            "INFO: app: 3 items in cart in request{request_id=7f3a route=/cart user.id=42}:pricing{currency=EUR}".to_owned(),
            format!("INFO: http: 200 OK latency_ms=2 in {whole}"),
        ]
    );
    assert_eq!(
        run(Some(SpanFields::All))[0],
        format!("INFO: app: 3 items in cart in {whole}")
    );
    assert_eq!(
        run(Some(SpanFields::None)),
        [
            "INFO: app: 3 items in cart in request:pricing{currency=EUR}".to_owned(),
            format!("INFO: http: 200 OK latency_ms=2 in {whole}"),
        ]
    );
}
