//! Nothing to use: this package only holds the benchmarks of `tracing-logbook`, under
//! `benches/benches/`: the production path against its peers (`production.rs`) and the
//! single pieces (`format.rs`, `file.rs`, `notify.rs`). Cargo needs a library or binary
//! target in every package, so this is an empty one.
