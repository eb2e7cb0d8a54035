//! Test helpers: a loopback HTTP server and a JSON Schema validator.
#![allow(dead_code, unreachable_pub)]

pub mod plant;
pub mod schema;
pub mod server;
