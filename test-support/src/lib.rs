//! What the tests of tracing-logbook's packages share (the library's `tests/*.rs` and the
//! example packages' tests): a loopback HTTP server that records requests, a JSON Schema
//! validator for Rollbar items, a real Bugsink runner, the way a test needing an outside
//! program (rsyslog, Bugsink, Python) says it could not run, a secret planted everywhere, the
//! signal tests' working loop, and the one child-process runner every test that
//! re-executes its own binary uses.
//!
//! Not published, and independent of tracing-logbook (see `Cargo.toml`): helpers that
//! need the library's types take them from the test as closures.

pub mod bugsink;
pub mod child;
pub mod external;
pub mod plant;
pub mod python;
pub mod schema;
pub mod server;
pub mod working;
