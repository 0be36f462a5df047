//! The one place a finished round is judged and fanned out (cloudprober's "surfacers").
//!
//! The scheduler knows only [`Rounds`]: "a round started this late", "a round finished with
//! this evidence", "this target is gone", "payprobe itself failed here". [`Pipeline`]
//! implements it: it has the [`Judge`] judge the round (conditions, rules, window, scope),
//! then offers one owned [`JudgedRound`] to every registered [`Output`] — metrics, incidents
//! and alerts, the status page's history, availability — each through its own bounded queue
//! read by its own supervised task, as cloudprober's surfacers each get a buffered,
//! non-blocking write. A full queue drops that round for that output only and is counted
//! (`payprobe_queue_overflow_total{queue="<output>"}`): an output never blocks a probe nor
//! another output. Outputs never see each other, and the scheduler never sees an output, so
//! adding one touches the list in `src/app.rs` and nothing else. See docs/architecture.md,
//! "Data flow".

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use tokio::sync::mpsc::error::TrySendError;
use tokio::sync::{mpsc, oneshot, Mutex};

use crate::config::Target;
use crate::judge::Judge;
use crate::probe::Evidence;
use crate::state::Store;
use crate::supervise::{self, Supervised};

pub use crate::output::{JudgedRound, Output, SelfReport};

/// What the scheduler reports. [`Pipeline`] is the real one.
pub trait Rounds: Send + Sync + 'static {
    /// A round started `lag` after its tick.
    fn started(&self, lag: Duration);
    /// A round finished: what its checks observed, not yet judged.
    fn finished(&self, target: &Arc<Target>, evidence: Vec<Evidence>);
    /// The target's task stopped for good.
    fn retire(&self, target: &Target);
    /// payprobe itself failed (`place` is a bounded label value); logged by the caller.
    fn internal_error(&self, place: &'static str);
}

/// What an output's queue carries, in the order it was judged.
enum Msg {
    Round(Arc<JudgedRound>),
    Retire(Arc<Target>),
    /// Answered once everything queued before it was handled.
    Flush(oneshot::Sender<()>),
}

/// One output's end of its queue, and the task that reads it.
struct Outlet {
    name: &'static str,
    tx: mpsc::Sender<Msg>,
    _task: Supervised,
}

/// The judge and the outputs' queues.
pub struct Pipeline {
    pub judge: Arc<Judge>,
    /// The judge's store, for readers.
    pub store: Arc<Store>,
    report: Arc<dyn SelfReport>,
    outlets: Vec<Outlet>,
}

impl Pipeline {
    /// A pipeline offering every judged round to `outputs`, each on a supervised task of its
    /// own (so it must be built inside a Tokio runtime). `report` counts payprobe's own
    /// failures and the queues' overflows.
    pub fn new(
        judge: Arc<Judge>,
        report: Arc<dyn SelfReport>,
        outputs: Vec<Arc<dyn Output>>,
    ) -> Pipeline {
        let outlets = outputs
            .into_iter()
            .map(|o| outlet(o, report.clone()))
            .collect();
        Pipeline {
            store: judge.store().clone(),
            judge,
            report,
            outlets,
        }
    }

    fn offer(&self, o: &Outlet, msg: Msg) {
        match o.tx.try_send(msg) {
            Ok(()) => {}
            Err(TrySendError::Full(Msg::Retire(t))) => {
                // A retirement must not be lost (the target's state would outlive it): it
                // waits for room on a task of its own instead of on the probing task.
                self.report.queue_overflow(o.name);
                let tx = o.tx.clone();
                if let Ok(rt) = tokio::runtime::Handle::try_current() {
                    rt.spawn(async move { tx.send(Msg::Retire(t)).await });
                }
            }
            Err(TrySendError::Full(_)) => {
                self.report.queue_overflow(o.name);
                if OVERFLOWS.allow() {
                    tracing::warn!(
                        queue = o.name,
                        "output queue full: this round skipped that output"
                    );
                }
            }
            Err(TrySendError::Closed(_)) => self.report.internal_error(o.name),
        }
    }

    fn publish(&self, round: JudgedRound) {
        let round = Arc::new(round);
        for o in &self.outlets {
            self.offer(o, Msg::Round(round.clone()));
        }
    }

    /// Offers a judged round, and the peers it re-judged, to every output.
    fn fan_out(&self, target: &Arc<Target>, judged: crate::judge::Judged, now: SystemTime) {
        let rec = judged.recorded;
        let mut evidence = judged.evidence;
        // Judged by now: a queued round need not hold bodies (the excerpt stays).
        for h in evidence.iter_mut().filter_map(|c| c.observed.http.as_mut()) {
            h.body = bytes::Bytes::new();
        }
        self.publish(JudgedRound {
            target: target.clone(),
            evidence,
            conditions: judged.conditions,
            diagnosis: rec.diagnosis,
            previous: rec.previous,
            since: rec.since,
            at: now,
        });
        for r in rec.rejudged {
            self.publish(JudgedRound {
                target: r.target,
                evidence: Vec::new(),
                conditions: Vec::new(),
                diagnosis: r.diagnosis,
                previous: Some(r.previous),
                since: r.since,
                at: now,
            });
        }
    }

    /// Waits until every output handled what was offered to it before the call: for a
    /// caller that must read an output right after a round (tests; a clean stop).
    pub async fn flush(&self) {
        for o in &self.outlets {
            let (ack, done) = oneshot::channel();
            if o.tx.send(Msg::Flush(ack)).await.is_ok() {
                let _ = done.await;
            }
        }
    }
}

/// Writes the summary of "output queue full" lines left out in a log window that is over
/// (`limits::PER_TARGET_LOG_WINDOW_SECS`, 10 s).
pub fn flush_logs() {
    OVERFLOWS.flush();
}

static OVERFLOWS: crate::logbudget::Budget =
    crate::logbudget::Budget::new("output queue full", crate::limits::PER_TARGET_LOG_LINES);

/// Starts `o`'s task: it reads the queue until the pipeline is gone. The receiver outlives a
/// restarted instance (supervision), so nothing queued is lost to a restart.
fn outlet(o: Arc<dyn Output>, report: Arc<dyn SelfReport>) -> Outlet {
    let (tx, rx) = mpsc::channel(crate::limits::OUTPUT_QUEUE);
    let rx = Arc::new(Mutex::new(rx));
    let name = o.name();
    let task = supervise::spawn(name, report.clone(), move || {
        consume(o.clone(), rx.clone(), report.clone())
    });
    Outlet {
        name,
        tx,
        _task: task,
    }
}

async fn consume(o: Arc<dyn Output>, rx: Arc<Mutex<mpsc::Receiver<Msg>>>, r: Arc<dyn SelfReport>) {
    let mut rx = rx.lock().await;
    while let Some(msg) = rx.recv().await {
        // One broken output must not take its task down: the next round still reaches it.
        let ok = match &msg {
            Msg::Round(round) => catch_unwind(AssertUnwindSafe(|| o.publish(round))).is_ok(),
            Msg::Retire(t) => catch_unwind(AssertUnwindSafe(|| o.retire(t))).is_ok(),
            Msg::Flush(_) => true,
        };
        if !ok {
            tracing::error!(
                output = o.name(),
                "output panicked; the round still reached the other outputs"
            );
            r.internal_error(o.name());
        }
        if let Msg::Flush(ack) = msg {
            let _ = ack.send(());
        }
    }
}

impl Rounds for Pipeline {
    fn started(&self, lag: Duration) {
        self.report.round_lag(lag);
    }

    fn finished(&self, target: &Arc<Target>, evidence: Vec<Evidence>) {
        let now = SystemTime::now();
        // Offered under the judge's lock: every queue gets the rounds in the order they were
        // judged (`try_send` never waits).
        self.judge
            .round_then(target, evidence, now, |j| self.fan_out(target, j, now));
    }

    fn retire(&self, target: &Target) {
        self.judge.remove(&target.name);
        let t = Arc::new(target.clone());
        for o in &self.outlets {
            self.offer(o, Msg::Retire(t.clone()));
        }
    }

    fn internal_error(&self, place: &'static str) {
        self.report.internal_error(place);
    }
}

#[cfg(test)]
mod tests;
