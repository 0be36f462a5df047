//! The one place a finished round fans out (cloudprober's "surfacers").
//!
//! The scheduler knows only [`Rounds`]: "a round started this late", "a round finished with
//! this evidence", "this target is gone", "payprobe itself failed here". [`Pipeline`]
//! implements it: it has the [`Judge`] judge the round (conditions, rules, window, scope), then
//! publishes one [`JudgedRound`] to every registered [`Output`] — metrics, incidents and
//! alerts, the status page's history. Outputs never see each other, and the scheduler never
//! sees an output, so adding one (a new surfacer) touches this list and nothing else.
//! See docs/architecture.md, "Data flow".

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use crate::classify::Diagnosis;
use crate::config::Target;
use crate::judge::Judge;
use crate::metrics::Metrics;
use crate::probe::Evidence;
use crate::state::Store;

/// One judged round, as every output receives it.
#[derive(Debug)]
pub struct JudgedRound<'a> {
    pub target: &'a Arc<Target>,
    /// The round's evidence, bodies included. Empty when the target was re-judged without
    /// a new round because a peer changed (its scope moved: see [`Judge::round`]).
    pub evidence: &'a [Evidence],
    pub diagnosis: &'a Diagnosis,
    /// The diagnosis before this round; `None` on the target's first round.
    pub previous: Option<&'a Diagnosis>,
    /// When health, cause or scope last changed.
    pub since: SystemTime,
    /// When the round finished (or the re-judgement happened).
    pub at: SystemTime,
}

impl JudgedRound<'_> {
    /// A re-judgement caused by a peer, not a new round of this target.
    pub fn rejudged(&self) -> bool {
        self.evidence.is_empty()
    }
}

/// Something that turns judged rounds into an output. Implementations must return quickly
/// (hand slow work, like network delivery, to a task of their own): the probing task that
/// finished the round is the one calling.
pub trait Output: Send + Sync + 'static {
    /// A short name for logs and `payprobe_internal_errors_total{where}`.
    fn name(&self) -> &'static str;
    fn publish(&self, round: &JudgedRound<'_>);
    /// The target left the config (or changed): drop what is kept for it.
    fn retire(&self, target: &Target);
}

/// What the scheduler reports. [`Pipeline`] is the real one.
pub trait Rounds: Send + Sync + 'static {
    /// A round started `lag` after its tick.
    fn started(&self, lag: Duration);
    /// A round finished.
    fn finished(&self, target: &Arc<Target>, evidence: Vec<Evidence>);
    /// The target's task stopped for good.
    fn retire(&self, target: &Target);
    /// payprobe itself failed (`place` is a bounded label value); logged by the caller.
    fn internal_error(&self, place: &'static str);
}

/// The judge and the outputs.
pub struct Pipeline {
    pub judge: Arc<Judge>,
    /// The judge's store, for readers.
    pub store: Arc<Store>,
    pub metrics: Arc<Metrics>,
    outputs: Vec<Arc<dyn Output>>,
}

impl Pipeline {
    /// A pipeline whose outputs are the metrics and then `more`, in that order.
    pub fn new(judge: Arc<Judge>, metrics: Arc<Metrics>, more: Vec<Arc<dyn Output>>) -> Pipeline {
        let mut outputs: Vec<Arc<dyn Output>> = vec![metrics.clone()];
        outputs.extend(more);
        Pipeline {
            store: judge.store().clone(),
            judge,
            metrics,
            outputs,
        }
    }

    fn publish(&self, round: &JudgedRound<'_>) {
        for o in &self.outputs {
            // One broken output must not take the others (or the probing task) down.
            if catch_unwind(AssertUnwindSafe(|| o.publish(round))).is_err() {
                tracing::error!(output = o.name(), target_name = %round.target.name, "output panicked; the round still reached the other outputs");
                self.metrics.internal_error(o.name());
            }
        }
    }
}

impl Rounds for Pipeline {
    fn started(&self, lag: Duration) {
        self.metrics.observe_lag(lag);
    }

    fn finished(&self, target: &Arc<Target>, evidence: Vec<Evidence>) {
        let now = SystemTime::now();
        let judged = self.judge.round(target, evidence, now);
        let rec = &judged.recorded;
        self.publish(&JudgedRound {
            target,
            evidence: &judged.evidence,
            diagnosis: &rec.diagnosis,
            previous: rec.previous.as_ref(),
            since: rec.since,
            at: now,
        });
        for r in &rec.rejudged {
            self.publish(&JudgedRound {
                target: &r.target,
                evidence: &[],
                diagnosis: &r.diagnosis,
                previous: Some(&r.previous),
                since: r.since,
                at: now,
            });
        }
    }

    fn retire(&self, target: &Target) {
        self.judge.remove(&target.name);
        for o in &self.outputs {
            if catch_unwind(AssertUnwindSafe(|| o.retire(target))).is_err() {
                tracing::error!(output = o.name(), target_name = %target.name, "output panicked while retiring a target");
                self.metrics.internal_error(o.name());
            }
        }
    }

    fn internal_error(&self, place: &'static str) {
        self.metrics.internal_error(place);
    }
}
