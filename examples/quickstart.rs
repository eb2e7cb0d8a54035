//! The README's first command: `cargo run --example quickstart`.
//!
//! Try `RUST_LOG=notice`, `LOG_COLOR=always`, `LOG_TIMEZONE=local`, or
//! `APP_ENV=production` (see the README for what each does).

fn main() -> Result<(), tracing_logbook::Error> {
    let _guard = tracing_logbook::init(tracing_logbook::Env::from_env()?)?; // APP_ENV
    tracing::info!("server started");
    tracing_logbook::notice!(port = 8080, "listening");

    let request = tracing::info_span!("request", method = "GET", request_id = "7f3a");
    let _entered = request.enter();
    tracing::debug!("not shown unless RUST_LOG=debug");
    tracing::warn!(elapsed_ms = 1250, "slow query");
    log::error!(target: "legacy::billing", "card declined for order {}", 7);
    tracing_logbook::critical!(reason = "disk full", "cannot write the ledger");
    Ok(())
}
