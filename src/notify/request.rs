//! Request detection and the request vocabulary: the span that looks like an HTTP
//! request, the web glue's response event, and a 5xx response's title.

use super::*;

/// The innermost span around the record that looks like an HTTP request (it has a
/// method field), if any: the unit whose own lines and route identify an error.
pub(super) fn request_span<'r>(record: &'r Record<'_>) -> Option<&'r SpanRef> {
    record.spans.iter().rev().find(|span| {
        span.data
            .fields
            .iter()
            .any(|(name, _)| matches!(name, "method" | "http.method" | "http.request.method"))
    })
}

/// The first value of the span field called one of `names`, as text.
pub(super) fn span_text(span: &SpanRef, names: &[&str]) -> Option<String> {
    span.data
        .fields
        .iter()
        .find(|(name, _)| names.contains(name))
        .map(|(_, value)| value.to_owned_value().to_text())
}

/// The title of a 5xx response's notification: `GET /users/{id} 500 Internal Server
/// Error` (the route, else the path without its query).
pub(super) fn response_title(request: &SpanRef, message: &str) -> String {
    let method = span_text(request, &["method", "http.method", "http.request.method"]);
    let route = span_text(request, &["route", "http.route"]).or_else(|| {
        span_text(request, &["url", "uri", "path", "url.path"])
            .map(|url| url.split(['?', '#']).next().unwrap_or("").to_owned())
    });
    let mut title = String::new();
    for part in [method, route].into_iter().flatten() {
        title.push_str(&part);
        title.push(' ');
    }
    title.push_str(message);
    title
}
