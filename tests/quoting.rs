//! One quoting rule for every field value, whatever its kind: a value is bare only when
//! it is one unambiguous word, and quoted (with escapes) otherwise, whether it was
//! recorded as a string, with `%` (Display), with `?` (Debug) or as an error.

use time::macros::datetime;
use tracing_logbook::testing::{CaptureWriter, ManualClock};
use tracing_logbook::{ColorChoice, JsonLayer, LogbookLayer};
use tracing_subscriber::prelude::*;

#[derive(Debug)]
struct Timeout;
impl std::fmt::Display for Timeout {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("timeout after 3s")
    }
}
impl std::error::Error for Timeout {}

fn line(f: impl FnOnce()) -> String {
    let out = CaptureWriter::new();
    let layer = LogbookLayer::builder()
        .clock(ManualClock::new(datetime!(2026-11-23 19:28:08.123456 UTC)))
        .color(ColorChoice::Never)
        .build(out.clone());
    tracing::subscriber::with_default(tracing_subscriber::registry().with(layer), f);
    let text = out.take_string();
    text.split_once("] INFO: t: m ")
        .unwrap()
        .1
        .trim_end()
        .to_owned()
}

#[test]
fn every_kind_of_value_follows_one_quoting_rule() {
    let path = std::path::Path::new("/var/my logs");
    let cases: Vec<(String, &str)> = vec![
        (
            line(|| tracing::info!(target: "t", v = "a b", "m")),
            r#"v="a b""#,
        ),
        (
            line(|| tracing::info!(target: "t", v = %"a b", "m")),
            r#"v="a b""#,
        ),
        (
            line(|| tracing::info!(target: "t", v = ?"a b", "m")),
            r#"v="\"a b\"""#,
        ),
        (
            line(|| tracing::info!(target: "t", v = %path.display(), "m")),
            r#"v="/var/my logs""#,
        ),
        (
            line(|| tracing::info!(target: "t", v = ?path, "m")),
            r#"v="\"/var/my logs\"""#,
        ),
        (
            line(|| tracing::info!(target: "t", error = &Timeout as &dyn std::error::Error, "m")),
            r#"error="timeout after 3s""#,
        ),
        (
            line(|| tracing::info!(target: "t", v = %Timeout, "m")),
            r#"v="timeout after 3s""#,
        ),
        (
            line(|| tracing::info!(target: "t", v = ?Timeout, "m")),
            "v=Timeout",
        ),
        (
            line(|| tracing::info!(target: "t", v = %"plain", "m")),
            "v=plain",
        ),
        (
            line(|| tracing::info!(target: "t", v = ?Some(7), "m")),
            "v=Some(7)",
        ),
        (
            line(|| tracing::info!(target: "t", v = %"", "m")),
            r#"v="""#,
        ),
        (
            line(|| tracing::info!(target: "t", v = %"k=v", "m")),
            r#"v="k=v""#,
        ),
        (
            line(|| tracing::info!(target: "t", v = %"two\nlines", "m")),
            r#"v="two\nlines""#,
        ),
        (line(|| tracing::info!(target: "t", v = 1.5, "m")), "v=1.5"),
        (
            line(|| tracing::info!(target: "t", v = true, "m")),
            "v=true",
        ),
    ];
    for (got, want) in cases {
        assert_eq!(got, want);
    }
}

#[test]
fn json_keeps_the_text_whatever_the_kind() {
    let out = CaptureWriter::new();
    let layer = JsonLayer::builder().build(out.clone());
    tracing::subscriber::with_default(tracing_subscriber::registry().with(layer), || {
        tracing::info!(a = "a b", b = %"a b", c = ?"a b", error = &Timeout as &dyn std::error::Error, "m");
    });
    let v: serde_json::Value = serde_json::from_str(out.take_string().trim()).unwrap();
    assert_eq!(v["fields"]["a"], "a b");
    assert_eq!(v["fields"]["b"], "a b");
    assert_eq!(v["fields"]["c"], "\"a b\"");
    assert_eq!(v["fields"]["error"], "timeout after 3s");
}
