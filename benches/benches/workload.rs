//! What the benches log, for every bench that compares subjects on the same events
//! (`production.rs`, `counts.rs`: each a crate of its own, of which this file is a
//! module): an INFO event with a message and two fields, and a 10-field request span.

// Each bench uses the parts it logs.
#![allow(dead_code)]

use std::fmt;

pub const USER_AGENT: &str =
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36";

/// A request id as a web server makes one: 32 hex digits, of a thread and a number.
pub struct RequestId(pub usize, pub u64);

impl fmt::Display for RequestId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:016x}{:016x}", self.0 as u64 ^ 0x5bd1_e995, self.1)
    }
}

#[inline(never)]
pub fn event(i: u64) {
    tracing::info!(target: "shop::orders", order_id = i, user = "alice", "order placed");
}

/// The 10-field request span of the `in-span` shapes.
#[inline(never)]
pub fn request_span(thread: usize, i: u64) -> tracing::Span {
    tracing::info_span!(
        target: "shop::http",
        "request",
        method = "GET",
        route = "/api/orders/{id}",
        url = "/api/orders/48213?expand=items",
        status = 200u16,
        user_agent = USER_AGENT,
        request_id = %RequestId(thread, i),
        user.id = 4217u64,
        client_ip = "203.0.113.42",
        version = "HTTP/1.1",
        host = "shop.example.com",
    )
}

#[inline(never)]
pub fn spdlog_event(logger: &spdlog::Logger, i: u64) {
    spdlog::info!(logger: logger, "order placed order_id={} user={}", i, "alice");
}

#[inline(never)]
pub fn spdlog_event_in_request(logger: &spdlog::Logger, thread: usize, i: u64) {
    spdlog::info!(
        logger: logger,
        "order placed order_id={} user={} in request{{method={} route={} url={} status={} \
         user_agent={} request_id={} user.id={} client_ip={} version={} host={}}}",
        i,
        "alice",
        "GET",
        "/api/orders/{id}",
        "/api/orders/48213?expand=items",
        200u16,
        USER_AGENT,
        RequestId(thread, 0),
        4217u64,
        "203.0.113.42",
        "HTTP/1.1",
        "shop.example.com",
    );
}
