//! One shared scheduler for all targets (cloudprober's shape).
//!
//! Each target gets a lightweight task with its own interval, started at a stable offset
//! inside the interval (a hash of its name) so 10,000 targets with the same interval spread
//! evenly instead of all firing at once. A task runs its rounds one after another, so one
//! target is never probed twice at once; a global semaphore caps probes in flight.
//!
//! Supervision: a round that panics is caught inside the task and recorded as an
//! `internal_error` failure (payprobe's fault, never the gateway's); the task goes on at its
//! next tick. The tasks live in a [`JoinSet`], so a task that ends anyway is observed by
//! [`Scheduler::supervise`], logged, counted and restarted. What a round produced goes to
//! [`Rounds`] (the pipeline): the scheduler knows no output.

use std::collections::HashMap;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::time::Duration;

use futures_util::future::BoxFuture;
use futures_util::FutureExt;
use tokio::sync::Semaphore;
use tokio::task::{AbortHandle, Id, JoinSet};
use tokio::time::{Instant, MissedTickBehavior};

use crate::config::{stable_hash, Plan, Target};
use crate::pipeline::Rounds;
use crate::probe::{Evidence, Failure, FailureKind, Phase, Probers};

use crate::limits::ROUND_OVERRUN_GRACE as OVERRUN_GRACE;

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

/// What every target task shares.
pub struct TaskEnv {
    pub runner: Arc<dyn Runner>,
    pub rounds: Arc<dyn Rounds>,
    pub limit: Arc<Semaphore>,
}

struct Running {
    target: Arc<Target>,
    task: AbortHandle,
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
    ctx: Arc<TaskEnv>,
    running: HashMap<String, Running>,
    tasks: JoinSet<()>,
    /// Which target each live task probes, to name (and restart) one that ended.
    ids: HashMap<Id, String>,
}

impl Scheduler {
    pub fn new(ctx: Arc<TaskEnv>) -> Scheduler {
        Scheduler {
            ctx,
            running: HashMap::new(),
            tasks: JoinSet::new(),
            ids: HashMap::new(),
        }
    }

    fn spawn(&mut self, t: &Arc<Target>) -> Running {
        let task = self.tasks.spawn(run_target(t.clone(), self.ctx.clone()));
        self.ids.insert(task.id(), t.name.clone());
        Running {
            target: t.clone(),
            task,
        }
    }

    /// Waits for a target task to end. Tasks loop forever, so an end that is not our own
    /// abort is a bug: it is logged, counted and the target restarted. While no task runs
    /// it never resolves, so a `select!` loop can always include it.
    pub async fn supervise(&mut self) {
        let Some(res) = self.tasks.join_next_with_id().await else {
            return std::future::pending().await;
        };
        let (id, why) = match res {
            Ok((id, ())) => (id, "returned".to_string()),
            Err(e) if e.is_cancelled() => {
                self.ids.remove(&e.id());
                return;
            }
            Err(e) => (e.id(), format!("failed: {e}")),
        };
        let Some(name) = self.ids.remove(&id) else {
            return;
        };
        tracing::error!(target_name = %name, "probe task {why}; restarting it");
        self.ctx.rounds.internal_error("task");
        if let Some(t) = self.running.get(&name).map(|r| r.target.clone()) {
            let r = self.spawn(&t);
            self.running.insert(name, r);
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
            let r = self.spawn(t);
            next.insert(t.name.clone(), r);
        }
        for (_, old) in std::mem::replace(&mut self.running, next) {
            out.removed += 1;
            self.retire(old);
        }
        out
    }

    fn retire(&mut self, old: Running) {
        old.task.abort();
        self.ids.remove(&old.task.id());
        self.ctx.rounds.retire(&old.target);
    }

    /// Stops every probe loop (in-flight probes are dropped, closing their sockets).
    pub fn stop(&mut self) {
        self.running.clear();
        self.ids.clear();
        self.tasks.abort_all();
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

async fn run_target(t: Arc<Target>, ctx: Arc<TaskEnv>) {
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
        ctx.rounds
            .started(started.saturating_duration_since(scheduled));
        let deadline = started + t.timeout;
        let round = AssertUnwindSafe(ctx.runner.round(t.clone(), deadline)).catch_unwind();
        let round = match tokio::time::timeout_at(deadline + OVERRUN_GRACE, round).await {
            Ok(Ok(r)) => r,
            Ok(Err(panic)) => {
                ctx.rounds.internal_error("round");
                panicked_round(&t, started.elapsed(), panic.as_ref())
            }
            Err(_) => {
                tracing::error!(target_name = %t.name, "probe round overran its deadline; recorded as failed");
                ctx.rounds.internal_error("deadline");
                failed_round(
                    &t,
                    t.timeout + OVERRUN_GRACE,
                    FailureKind::DeadlineExceeded,
                    "payprobe failed, not the gateway: the probe did not return by its deadline",
                )
            }
        };
        drop(permit);
        let (rounds, target) = (&ctx.rounds, &t);
        if std::panic::catch_unwind(AssertUnwindSafe(|| rounds.finished(target, round))).is_err() {
            tracing::error!(target_name = %t.name, "judging a round panicked; the target goes on at its next round");
            ctx.rounds.internal_error("judge");
        }
    }
}

/// The evidence (and the log line) for a round that panicked.
pub(crate) fn panicked_round(
    t: &Target,
    took: Duration,
    panic: &(dyn std::any::Any + Send),
) -> Vec<Evidence> {
    let what = panic_message(panic);
    tracing::error!(target_name = %t.name, panic = %what, "probe round panicked; recorded as an internal error");
    failed_round(
        t,
        took,
        FailureKind::InternalError,
        &format!("payprobe failed, not the gateway: {what}"),
    )
}

/// The text of a caught panic, when it carried one.
fn panic_message(p: &(dyn std::any::Any + Send)) -> String {
    p.downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| p.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic without a message".to_string())
}

/// Evidence for a round payprobe itself failed to finish: every check failed with `kind`.
fn failed_round(t: &Target, took: Duration, kind: FailureKind, detail: &str) -> Vec<Evidence> {
    t.checks
        .iter()
        .map(|c| {
            let mut e = Evidence::new(&t.name, *c);
            e.duration = took;
            e.failure = Some(Failure::new(Phase::Processing, kind, detail));
            e
        })
        .collect()
}
