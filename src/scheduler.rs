//! One shared scheduler for all targets (cloudprober's shape).
//!
//! Each target gets a lightweight task with its own interval, started at a stable offset
//! inside the interval (a hash of its name) so 10,000 targets with the same interval spread
//! evenly instead of all firing at once. A task runs its rounds one after another, so one
//! target is never probed twice at once; a global semaphore caps probes in flight.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use futures_util::future::BoxFuture;
use tokio::sync::Semaphore;
use tokio::task::JoinHandle;
use tokio::time::{Instant, MissedTickBehavior};

use crate::config::{stable_hash, Plan, Target};
use crate::metrics::Metrics;
use crate::probe::{Evidence, Failure, FailureKind, Phase, Probers};
use crate::state::Store;

/// Slack given to a round past its deadline before the scheduler gives up on it. Probers
/// honour the deadline themselves; this only guards against a bug hanging a target forever.
const OVERRUN_GRACE: Duration = Duration::from_millis(500);

/// Runs one round of a target's checks. [`Probers`] is the real one; tests drive the
/// scheduler's timing with a fake under `tokio::time::pause`.
pub trait Runner: Send + Sync + 'static {
    fn round(&self, target: Arc<Target>, deadline: Instant) -> BoxFuture<'static, Vec<Evidence>>;
}

impl Runner for Probers {
    fn round(&self, target: Arc<Target>, deadline: Instant) -> BoxFuture<'static, Vec<Evidence>> {
        let probers = self.clone();
        Box::pin(async move { probers.round(&target, deadline).await })
    }
}

pub struct Context {
    pub runner: Arc<dyn Runner>,
    pub metrics: Arc<Metrics>,
    pub store: Arc<Store>,
    pub limit: Arc<Semaphore>,
}

struct Running {
    target: Arc<Target>,
    task: JoinHandle<()>,
}

/// What a plan change did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Applied {
    pub added: usize,
    pub removed: usize,
    pub changed: usize,
    pub kept: usize,
}

pub struct Scheduler {
    ctx: Arc<Context>,
    running: HashMap<String, Running>,
}

impl Scheduler {
    pub fn new(ctx: Arc<Context>) -> Scheduler {
        Scheduler {
            ctx,
            running: HashMap::new(),
        }
    }

    /// Brings the running tasks in line with `plan`: unchanged targets keep their rhythm and
    /// state, changed ones restart, removed ones stop and lose their series.
    pub fn apply(&mut self, plan: &Plan) -> Applied {
        let mut out = Applied::default();
        let mut next: HashMap<String, Running> = HashMap::with_capacity(plan.targets.len());
        for t in &plan.targets {
            match self.running.remove(&t.name) {
                Some(r) if *r.target == **t => {
                    out.kept += 1;
                    next.insert(t.name.clone(), r);
                    continue;
                }
                Some(old) => {
                    out.changed += 1;
                    self.retire(old);
                }
                None => out.added += 1,
            }
            let task = tokio::spawn(run_target(t.clone(), self.ctx.clone()));
            next.insert(
                t.name.clone(),
                Running {
                    target: t.clone(),
                    task,
                },
            );
        }
        for (_, old) in std::mem::replace(&mut self.running, next) {
            out.removed += 1;
            self.retire(old);
        }
        out
    }

    fn retire(&self, old: Running) {
        old.task.abort();
        self.ctx.metrics.remove_target(&old.target);
        self.ctx.store.remove(&old.target.name);
    }

    /// Stops every probe loop (in-flight probes are dropped, closing their sockets).
    pub fn stop(&mut self) {
        for (_, r) in self.running.drain() {
            r.task.abort();
        }
    }

    pub fn len(&self) -> usize {
        self.running.len()
    }

    pub fn is_empty(&self) -> bool {
        self.running.is_empty()
    }
}

impl Drop for Scheduler {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Where in its interval a target starts: stable per name, uniform across names.
pub fn start_offset(name: &str, interval: Duration) -> Duration {
    let nanos = interval.as_nanos().max(1) as u64;
    Duration::from_nanos(stable_hash(name) % nanos)
}

async fn run_target(t: Arc<Target>, ctx: Arc<Context>) {
    let first = Instant::now() + start_offset(&t.name, t.interval);
    let mut ticks = tokio::time::interval_at(first, t.interval);
    // A round that starts late (cap reached) must not be followed by a burst of catch-up
    // rounds: skip missed ticks and keep the rhythm.
    ticks.set_missed_tick_behavior(MissedTickBehavior::Skip);
    loop {
        let scheduled = ticks.tick().await;
        let Ok(permit) = ctx.limit.clone().acquire_owned().await else {
            return; // semaphore closed: shutting down
        };
        let started = Instant::now();
        ctx.metrics
            .observe_lag(started.saturating_duration_since(scheduled));
        let deadline = started + t.timeout;
        let round = ctx.runner.round(t.clone(), deadline);
        let round = match tokio::time::timeout_at(deadline + OVERRUN_GRACE, round).await {
            Ok(r) => r,
            Err(_) => overrun(&t),
        };
        drop(permit);
        ctx.metrics.observe(&t, &round);
        if let Some(d) = ctx.store.record(&t, round, std::time::SystemTime::now()) {
            ctx.metrics.observe_diagnosis(&t, &d);
        }
    }
}

/// Evidence for a round that did not return by its deadline (a bug, not a gateway fault).
fn overrun(t: &Target) -> Vec<Evidence> {
    tracing::error!(target_name = %t.name, "probe round overran its deadline; recorded as failed");
    t.checks
        .iter()
        .map(|c| {
            let mut e = Evidence::new(&t.name, *c);
            e.duration = t.timeout + OVERRUN_GRACE;
            e.failure = Some(Failure::new(
                Phase::Processing,
                FailureKind::DeadlineExceeded,
                "the probe did not return by its deadline",
            ));
            e
        })
        .collect()
}
