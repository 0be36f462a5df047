//! What the judging stage hands the outputs, and what the stages report about payprobe
//! itself: the small module both the pipeline and every output depend on, so that neither
//! has to import the other (docs/architecture.md, "Data flow").

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use crate::checked::Checked;
use crate::classify::Diagnosis;
use crate::config::Target;
use crate::judge::Condition;

/// One judged round, owned, as every output receives it (behind an `Arc`: one copy for all
/// the outputs' queues).
#[derive(Debug)]
pub struct JudgedRound {
    pub target: Arc<Target>,
    /// The round's checks as judged, bodies dropped (the excerpt stays: every condition on
    /// a body was judged before). Empty when the
    /// target was re-judged without a new round because a peer changed (its scope moved:
    /// see `judge::Judge::round`).
    pub evidence: Vec<Checked>,
    /// The conditions the judge held the round against, pass or fail, in order (empty for a
    /// re-judgement): the checks above carry the failures they concluded.
    pub conditions: Vec<Condition>,
    pub diagnosis: Arc<Diagnosis>,
    /// The diagnosis before this round; `None` on the target's first round.
    pub previous: Option<Arc<Diagnosis>>,
    /// When health, cause or scope last changed.
    pub since: SystemTime,
    /// When the round finished (or the re-judgement happened).
    pub at: SystemTime,
}

impl JudgedRound {
    /// A re-judgement caused by a peer, not a new round of this target.
    pub fn rejudged(&self) -> bool {
        self.evidence.is_empty()
    }
}

/// Something that turns judged rounds into an output. Each output is called from a task of
/// its own, fed by its own bounded queue (`src/pipeline.rs`): a slow output delays only
/// itself, never a probe nor another output. Rounds and retirements arrive in the order they
/// were judged.
pub trait Output: Send + Sync + 'static {
    /// A short, fixed name: the `queue` label of `payprobe_queue_overflow_total` and the
    /// `where` label of `payprobe_internal_errors_total`.
    fn name(&self) -> &'static str;
    fn publish(&self, round: &JudgedRound);
    /// The target left the config (or changed): drop what is kept for it.
    fn retire(&self, target: &Target);
}

/// What the stages report about payprobe itself, never about a gateway. The metrics are the
/// real one; a stage holds it as this trait so that it does not depend on the metrics.
pub trait SelfReport: Send + Sync + 'static {
    /// payprobe failed at `place` (a caught panic, a poisoned lock, a task that ended).
    fn internal_error(&self, place: &'static str);
    /// A bounded queue between stages was full.
    fn queue_overflow(&self, queue: &'static str);
    /// A round started `lag` after its tick.
    fn round_lag(&self, lag: Duration);
    /// A write to `state_dir` failed.
    fn state_error(&self, what: &'static str);
    /// Bytes written to `state_dir`.
    fn state_written(&self, what: &'static str, bytes: usize);
}
