//! `testing::capture_async` in the async tests a service author writes: `#[tokio::test]`
//! on the current-thread runtime and on the multi-threaded one, where the future hops
//! between worker threads across its awaits.

use tracing::instrument::WithSubscriber as _;
use tracing_logbook::{testing, Level};

async fn checkout(items: u32) -> u32 {
    tracing::info!(target: "shop", items, "checking out");
    tokio::task::yield_now().await;
    tracing::warn!(target: "shop", "slow payment backend");
    items * 4
}

#[tokio::test]
async fn capture_async_on_the_current_thread_runtime() {
    let (total, logs) = testing::capture_async(checkout(3)).await;
    assert_eq!(total, 12);
    assert!(logs.has(Level::Info, "checking out"));
    assert!(logs.has(Level::Warning, "slow payment backend"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn capture_async_follows_the_future_across_worker_threads() {
    let (_, logs) = testing::capture_async(async {
        for i in 0..20 {
            checkout(i).await;
        }
        // A spawned task is captured when it carries the dispatcher along.
        tokio::spawn(checkout(99).with_current_subscriber())
            .await
            .unwrap();
    })
    .await;
    let records = logs.records();
    assert_eq!(records.len(), 42, "{records:#?}");
    assert_eq!(
        records.iter().filter(|r| r.level == Level::Warning).count(),
        21
    );
}
