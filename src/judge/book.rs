//! The judge's memory across rounds and across targets: each target's window and last
//! diagnosis, the [`Peers`] counts scope is read from, and the index of failing targets by
//! provider. It lives here, not in the store, so that every piece of cross-target state is
//! the judge's (docs/architecture.md, "Data flow"); the store only receives the results.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::SystemTime;

use crate::classify::{self, Diagnosis, Peers, Reach, RoundVerdict, Window};
use crate::config::Target;

/// One target as the judge remembers it.
#[derive(Debug)]
pub(super) struct Judging {
    pub target: Arc<Target>,
    pub window: Window,
    pub diagnosis: Arc<Diagnosis>,
    /// When health, cause or scope last changed (or the first round finished).
    pub since: SystemTime,
}

#[derive(Default)]
pub(super) struct Book {
    pub targets: HashMap<String, Judging>,
    peers: Peers,
    /// Unhealthy targets by provider: the only ones another target's change can re-judge, so
    /// a flip costs O(unhealthy), not O(targets) (at 100,000 targets every first round moved
    /// the counts, and scanning them all saturated the probing core).
    failing: HashMap<String, HashSet<String>>,
}

/// What judging a round did.
#[derive(Debug)]
pub struct Recorded {
    pub diagnosis: Arc<Diagnosis>,
    /// The diagnosis before this round; `None` on the first round.
    pub previous: Option<Arc<Diagnosis>>,
    pub since: SystemTime,
    /// Other targets whose scope moved because this one changed health (a control failed,
    /// a provider's last endpoint went down): judged again at once rather than at their own
    /// next round, so a local outage never shows as `endpoint` for an interval.
    pub rejudged: Vec<Rejudged>,
}

/// A target judged again without a round of its own.
#[derive(Debug)]
pub struct Rejudged {
    pub target: Arc<Target>,
    pub diagnosis: Arc<Diagnosis>,
    pub previous: Arc<Diagnosis>,
    pub since: SystemTime,
}

impl Book {
    /// Pushes a round's verdict (from the rules table) into the target's window, reads its
    /// diagnosis with the peers' view and re-judges the peers whose scope it moved.
    pub fn record(&mut self, t: &Arc<Target>, verdict: RoundVerdict, now: SystemTime) -> Recorded {
        let Book {
            targets,
            peers,
            failing,
        } = self;
        let st = targets.entry(t.name.clone()).or_insert_with(|| Judging {
            target: t.clone(),
            window: Window::new(t.failure_threshold, t.success_threshold),
            diagnosis: Arc::new(Diagnosis::pending()),
            since: now,
        });
        if st.target.provider != t.provider {
            mark_failing(failing, &st.target, false);
        }
        st.target = t.clone();
        st.window.push(verdict);
        let ctx = peers.context_for(classify::Seat::of(t));
        let d = Arc::new(classify::classify(&st.window, &ctx, now));
        let before = peers.way_out(&t.egress_label);
        let reach = peers.set(classify::Seat::of(t), !d.healthy, d.cause);
        log_way_out(&t.egress_label, before, peers.way_out(&t.egress_label));
        mark_failing(failing, t, !d.healthy);
        let old = std::mem::replace(&mut st.diagnosis, d.clone());
        let first = st.window.rounds() == 1;
        if first || (old.healthy, old.cause, old.scope) != (d.healthy, d.cause, d.scope) {
            st.since = now;
        }
        if !first {
            log_change(t, &old, &d);
        }
        let since = st.since;
        let rejudged = rejudge_others(targets, peers, failing, t, reach, now);
        Recorded {
            diagnosis: d,
            previous: (!first).then_some(old),
            since,
            rejudged,
        }
    }

    pub fn remove(&mut self, name: &str) {
        if let Some(st) = self.targets.remove(name) {
            mark_failing(&mut self.failing, &st.target, false);
        }
        self.peers.remove(name);
    }
}

/// Judges again every other unhealthy target whose scope depends on the peer that changed.
/// Runs only when a target's health or network-ness flips (rare), at O(targets) then.
/// Files `t` as unhealthy (`on`) or not under its provider.
fn mark_failing(failing: &mut HashMap<String, HashSet<String>>, t: &Target, on: bool) {
    if on {
        failing
            .entry(t.provider.clone())
            .or_default()
            .insert(t.name.clone());
    } else if let Some(names) = failing.get_mut(&t.provider) {
        names.remove(&t.name);
        if names.is_empty() {
            failing.remove(&t.provider);
        }
    }
}

fn rejudge_others(
    targets: &mut HashMap<String, Judging>,
    peers: &Peers,
    failing: &HashMap<String, HashSet<String>>,
    changed: &Target,
    reach: Reach,
    now: SystemTime,
) -> Vec<Rejudged> {
    let candidates: Vec<&String> = match reach {
        Reach::Nobody => return Vec::new(),
        Reach::Provider => failing
            .get(&changed.provider)
            .into_iter()
            .flatten()
            .collect(),
        Reach::Everyone => failing.values().flatten().collect(),
    };
    let mut out = Vec::new();
    for name in candidates {
        let Some(st) = targets.get_mut(name) else {
            continue;
        };
        if *name == changed.name || st.diagnosis.healthy || st.window.rounds() == 0 {
            continue;
        }
        let t = &st.target;
        let ctx = peers.context_for(classify::Seat::of(t));
        let d = Arc::new(classify::classify(&st.window, &ctx, now));
        if d.scope == st.diagnosis.scope {
            continue;
        }
        log_change(t, &st.diagnosis, &d);
        let previous = std::mem::replace(&mut st.diagnosis, d.clone());
        st.since = now;
        out.push(Rejudged {
            target: t.clone(),
            diagnosis: d,
            previous,
            since: now,
        });
    }
    out
}

/// One line when a way out is cut off or comes back (a failing control and the other paths
/// agreeing), whatever the number of targets it moves: the line an operator needs first.
fn log_way_out(egress: &str, before: classify::WayOut, now: classify::WayOut) {
    let way = if egress.is_empty() { "direct" } else { egress };
    match (before.cut_off(), now.cut_off()) {
        (false, true) => tracing::warn!(
            way_out = way,
            targets_failing = now.targets_failing,
            targets = now.targets,
            controls_failing = now.controls_failing,
            controls = now.controls,
            "this vantage point lost its network: {} of {} targets fail, {} of {} controls failing ({way} way out)",
            now.targets_failing, now.targets, now.controls_failing, now.controls
        ),
        (true, false) => tracing::warn!(
            way_out = way,
            targets_failing = now.targets_failing,
            targets = now.targets,
            "this vantage point's network is back ({way} way out): {} of {} targets still failing",
            now.targets_failing, now.targets
        ),
        _ => {}
    }
}

/// Writes the summary of "diagnosis changed" lines left out in a log window that is over
/// (`limits::PER_TARGET_LOG_WINDOW_SECS`).
pub fn flush_logs() {
    LOG_CHANGES.flush();
}

static LOG_CHANGES: crate::logbudget::Budget =
    crate::logbudget::Budget::new("diagnosis changed", crate::limits::PER_TARGET_LOG_LINES);

/// Each change of cause or scope is logged once, as structured fields, within the per-window
/// budget (a mass change is summed up in one line: see `src/logbudget.rs`).
fn log_change(t: &Target, old: &Diagnosis, d: &Diagnosis) {
    if (old.cause, old.scope) == (d.cause, d.scope) || !LOG_CHANGES.allow() {
        return;
    }
    tracing::warn!(
        target_name = %t.name,
        provider = %t.provider,
        cause_from = old.cause.as_str(),
        cause = d.cause.as_str(),
        scope_from = old.scope.as_str(),
        scope = d.scope.as_str(),
        rule = d.rule,
        reason = %d.reason,
        "diagnosis changed"
    );
}
