//! Long-lived background tasks that are never silently gone.
//!
//! The listener, each output's task (`src/pipeline.rs`), the alert engine and each sink's
//! delivery run for the daemon's lifetime. A
//! bug that panicked one of them (or let it return) would leave a frozen gauge and alerts that
//! never arrive, with nothing said. [`spawn`] runs such a task under a watcher: when it ends
//! for any reason other than being stopped, the end is logged, counted in
//! `payprobe_internal_errors_total{where=NAME}`, and a fresh instance is started after a
//! backoff (doubling from 100 ms to 10 s, so a task that dies at once cannot spin). Target
//! tasks have their own supervisor, `Scheduler::supervise` in `src/scheduler.rs`.

use std::future::Future;
use std::sync::Arc;

use tokio::task::{AbortHandle, JoinHandle};

use crate::output::SelfReport;

use crate::limits::SUPERVISE_FIRST_BACKOFF as FIRST_BACKOFF;
use crate::limits::SUPERVISE_MAX_BACKOFF as MAX_BACKOFF;

/// A supervised task; stopping (or dropping) it stops the task and its watcher.
pub struct Supervised {
    watcher: JoinHandle<()>,
}

impl Supervised {
    pub fn stop(&self) {
        self.watcher.abort();
    }
}

impl Drop for Supervised {
    fn drop(&mut self) {
        self.watcher.abort();
    }
}

/// Aborts the running instance when the watcher itself is stopped.
struct AbortOnDrop(AbortHandle);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Runs `make()` now and again whenever the instance it returned ends, until stopped.
/// `name` is the `where` label: a fixed name, so the label stays bounded.
pub fn spawn<F, Fut>(name: &'static str, report: Arc<dyn SelfReport>, make: F) -> Supervised
where
    F: Fn() -> Fut + Send + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    let watcher = tokio::spawn(async move {
        let mut backoff = FIRST_BACKOFF;
        loop {
            let run = tokio::spawn(make());
            let guard = AbortOnDrop(run.abort_handle());
            let ended = run.await;
            drop(guard);
            match ended {
                Ok(()) => tracing::error!(task = name, "background task ended; restarting it"),
                Err(e) if e.is_panic() => {
                    tracing::error!(task = name, "background task panicked; restarting it")
                }
                // Cancelled from outside (the runtime shutting down): nothing to restart.
                Err(_) => return,
            }
            report.internal_error(name);
            tokio::time::sleep(backoff).await;
            backoff = (backoff * 2).min(MAX_BACKOFF);
        }
    });
    Supervised { watcher }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicU32, Ordering};
    use std::time::Duration;

    use super::*;
    use crate::metrics::Metrics;

    fn errors(m: &Metrics, name: &str) -> u64 {
        let text = m.render().unwrap_or_default();
        let needle = format!("payprobe_internal_errors_total{{where=\"{name}\"}} ");
        text.lines()
            .find_map(|l| l.strip_prefix(&needle))
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or(0)
    }

    #[tokio::test(start_paused = true)]
    async fn a_panicking_task_is_counted_and_restarted() {
        let metrics = Arc::new(Metrics::new().unwrap_or_else(|e| panic!("{e}")));
        let starts = Arc::new(AtomicU32::new(0));
        let s = starts.clone();
        let task = spawn("test_task", metrics.clone(), move || {
            let s = s.clone();
            async move {
                // The first two instances die (a panic, then a return); the third lives.
                match s.fetch_add(1, Ordering::SeqCst) {
                    0 => panic!("a bug"),
                    1 => {}
                    _ => std::future::pending().await,
                }
            }
        });
        tokio::time::sleep(Duration::from_secs(1)).await;
        assert_eq!(starts.load(Ordering::SeqCst), 3);
        assert_eq!(errors(&metrics, "test_task"), 2);
        task.stop();
        tokio::time::sleep(Duration::from_secs(30)).await;
        assert_eq!(starts.load(Ordering::SeqCst), 3, "stopped means stopped");
    }

    #[tokio::test(start_paused = true)]
    async fn stopping_the_watcher_stops_the_running_instance() {
        let metrics = Arc::new(Metrics::new().unwrap_or_else(|e| panic!("{e}")));
        let alive = Arc::new(());
        let held = alive.clone();
        let task = spawn("test_task", metrics, move || {
            let held = held.clone();
            async move {
                let _keep = held;
                std::future::pending::<()>().await
            }
        });
        tokio::time::sleep(Duration::from_millis(10)).await;
        assert_eq!(Arc::strong_count(&alive), 3, "closure + running instance");
        drop(task);
        tokio::time::sleep(Duration::from_millis(10)).await;
        assert_eq!(Arc::strong_count(&alive), 1, "both gone with the watcher");
    }
}
