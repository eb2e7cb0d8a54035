//! Nothing to use: this package only holds the production-path benchmark of
//! `tracing-logbook` against its peers, `benches/production.rs`. Cargo needs a library
//! or binary target in every package, so this is an empty one.
