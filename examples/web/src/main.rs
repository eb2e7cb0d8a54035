//! A web service logged with tracing-logbook: one line per request, one notification per
//! failed request.
//!
//! ```console
//! cargo run -p tracing-logbook-example-web
//! curl -i localhost:3000/            # 200
//! curl -i localhost:3000/nope        # 404: a line, no notification
//! curl -i localhost:3000/fail        # 500: an ERROR line (notified in production)
//! curl -i localhost:3000/panic       # a panicking handler: CRITICAL, answered 500
//! curl -i 'localhost:3000/login?user=ann&password=hunter2'   # the password is logged as ***
//! curl -i -X POST -H 'x-user: ann' localhost:3000/users/17    # 201, then 409: the id is taken
//! ```
//!
//! `POST /users/{id}` inserts into a SQLite database (`DATABASE_PATH`, default
//! `users.db`). A duplicate id is a primary-key violation: one notification whose class
//! is rusqlite's error (`SqliteFailure`), whose causes are its chain, with the request and
//! the user (`X-User`). A locked or read-only database is a notification that says so.
//!
//! In development the lines go to the terminal. With `APP_ENV=production` they go to the
//! daily file (`LOG_FILE`, default `logs/web.log`), and with `ROLLBAR_ACCESS_TOKEN` set
//! each 5xx and each panic is sent to Rollbar with its request. `PORT` picks the port
//! (default 3000); the service listens on 127.0.0.1 only. Ctrl+C stops it gracefully,
//! delivering what is still queued.

#![allow(clippy::print_stdout)] // the bound address is for the person who started it

mod app;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    // Bound first, dropped last: after the runtime has stopped, it flushes the file and
    // delivers the queued notifications.
    let _guard = tracing_logbook::init(tracing_logbook::Env::from_env()?)?;
    let port: u16 = match std::env::var("PORT") {
        Ok(port) => port
            .parse()
            .map_err(|_| format!("PORT={port}: expected a port number"))?,
        Err(_) => 3000,
    };
    let db_path = std::env::var_os("DATABASE_PATH").unwrap_or_else(|| "users.db".into());
    let db = app::open_db(std::path::Path::new(&db_path))
        .map_err(|e| format!("DATABASE_PATH={}: {e}", db_path.to_string_lossy()))?;
    let runtime = tokio::runtime::Runtime::new()?;
    runtime.block_on(async {
        let shutdown = app::shutdown_signal()?;
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
        // Logged before it is printed: once a reader sees the address, the line exists.
        tracing_logbook::notice!(addr = %listener.local_addr()?, "listening");
        println!("listening on http://{}", listener.local_addr()?);
        app::serve(listener, db, shutdown).await
    })?;
    tracing::info!("stopped");
    Ok(())
}
