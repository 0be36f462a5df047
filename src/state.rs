//! The latest evidence and diagnosis of every target.
//!
//! Observations (evidence) are kept apart from judgement (the diagnosis), as gatus does. The
//! store only keeps what a scrape or the API needs: the last round's evidence (without
//! bodies), the window of verdicts, and the diagnosis.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, RwLock};
use std::time::SystemTime;

use crate::classify::{self, Diagnosis, Peers, Reach, Window};
use crate::config::{Check, Plan, Target};
use crate::probe::Evidence;

#[derive(Debug, Clone)]
pub struct TargetState {
    pub target: Arc<Target>,
    /// Last evidence of each check (bodies dropped; the excerpt stays). Boxed: a BTreeMap
    /// allocates a node of eleven values on its first insert, and with `Evidence` inline
    /// that was 14 KiB per target, most of payprobe's memory at 10,000 targets.
    pub latest: BTreeMap<Check, Box<Evidence>>,
    pub window: Window,
    pub diagnosis: Diagnosis,
    /// When health, cause or scope last changed (or the first round finished).
    pub since: SystemTime,
}

#[derive(Default)]
struct Inner {
    targets: HashMap<String, TargetState>,
    peers: Peers,
    /// Unhealthy targets by provider: the only ones another target's change can re-judge, so
    /// a flip costs O(unhealthy), not O(targets) (at 100,000 targets every first round moved
    /// the counts, and scanning them all saturated the probing core).
    failing: HashMap<String, HashSet<String>>,
}

/// What recording a round did.
#[derive(Debug)]
pub struct Recorded {
    pub diagnosis: Diagnosis,
    /// The diagnosis before this round; `None` on the first round.
    pub previous: Option<Diagnosis>,
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
    pub diagnosis: Diagnosis,
    pub previous: Diagnosis,
    pub since: SystemTime,
}

/// All targets' state. Writers (probe rounds) and readers (scrapes, API) hold the lock only
/// to update or copy one entry; diagnosis is O(1) per round thanks to [`Peers`].
#[derive(Default)]
pub struct Store {
    inner: RwLock<Inner>,
    ready: AtomicBool,
}

impl Store {
    pub fn new() -> Store {
        Store::default()
    }

    /// Judges and records a round. Bodies are not kept (the excerpt stays).
    pub fn record(&self, t: &Arc<Target>, round: &[Evidence], now: SystemTime) -> Recorded {
        let verdict = classify::judge_round(t, round);
        let mut inner = crate::sync::write(&self.inner, "state");
        let Inner {
            targets,
            peers,
            failing,
        } = &mut *inner;
        let st = targets
            .entry(t.name.clone())
            .or_insert_with(|| TargetState {
                target: t.clone(),
                latest: BTreeMap::new(),
                window: Window::new(t.failure_threshold, t.success_threshold),
                diagnosis: Diagnosis::pending(),
                since: now,
            });
        if st.target.provider != t.provider {
            mark_failing(failing, &st.target, false);
        }
        st.target = t.clone();
        st.window.push(verdict);
        for e in round {
            let mut kept = e.clone();
            if let Some(h) = kept.http.as_mut() {
                h.body = bytes::Bytes::new();
            }
            st.latest.insert(kept.check, Box::new(kept));
        }
        let ctx = peers.context_for(classify::Seat::of(t));
        let d = classify::classify(&st.window, &ctx, now);
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

    /// Health, cause and scope of one target, without copying its evidence (the API's
    /// filters look at every target).
    pub fn verdict_of(&self, name: &str) -> Option<(bool, classify::Cause, classify::Scope)> {
        let inner = crate::sync::read(&self.inner, "state");
        let d = &inner.targets.get(name)?.diagnosis;
        Some((d.healthy, d.cause, d.scope))
    }

    pub fn get(&self, name: &str) -> Option<TargetState> {
        crate::sync::read(&self.inner, "state")
            .targets
            .get(name)
            .cloned()
    }

    /// The diagnosis and its `since` of every target that finished a round, visited under
    /// one read lock without copying evidence: the status page's summary of 10,000 targets.
    pub fn each_diagnosis(&self, mut f: impl FnMut(&str, &Diagnosis, SystemTime)) {
        let inner = crate::sync::read(&self.inner, "state");
        for (name, st) in &inner.targets {
            f(name, &st.diagnosis, st.since);
        }
    }

    pub fn remove(&self, name: &str) {
        {
            let mut inner = crate::sync::write(&self.inner, "state");
            if let Some(st) = inner.targets.remove(name) {
                mark_failing(&mut inner.failing, &st.target, false);
            }
            inner.peers.remove(name);
        }
    }

    /// Ready once every target of the plan finished a round. Latched: adding targets on a
    /// reload must not take a serving instance out of rotation.
    pub fn is_ready(&self, plan: &Plan) -> bool {
        if self.ready.load(Ordering::Acquire) {
            return true;
        }
        let inner = crate::sync::read(&self.inner, "state");
        let all = plan
            .targets
            .iter()
            .all(|t| inner.targets.contains_key(&t.name));
        if all {
            self.ready.store(true, Ordering::Release);
        }
        all
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
    targets: &mut HashMap<String, TargetState>,
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
        let d = classify::classify(&st.window, &ctx, now);
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

/// Writes the summary of "diagnosis changed" lines left out in a second that is over.
pub fn flush_logs() {
    LOG_CHANGES.flush();
}

static LOG_CHANGES: crate::logbudget::Budget = crate::logbudget::Budget::new(
    "diagnosis changed",
    crate::limits::PER_TARGET_LOG_LINES_PER_SECOND,
);

/// Each change of cause or scope is logged once, as structured fields, within the per-second
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
