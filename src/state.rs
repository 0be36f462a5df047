//! The latest evidence and diagnosis of every target.
//!
//! Observations (evidence) are kept apart from judgement (the diagnosis), as gatus does. The
//! store only keeps what a scrape or the API needs: the last round's evidence (without
//! bodies), the window of verdicts, and the diagnosis.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::RwLock;
use std::time::SystemTime;

use crate::classify::{self, Diagnosis, Peers, Window};
use crate::config::{Check, Plan, Target};
use crate::probe::Evidence;

#[derive(Debug, Clone)]
pub struct TargetState {
    /// Last evidence of each check (bodies dropped; the excerpt stays).
    pub latest: BTreeMap<Check, Evidence>,
    pub window: Window,
    pub diagnosis: Diagnosis,
    /// When health, cause or scope last changed (or the first round finished).
    pub since: SystemTime,
}

#[derive(Default)]
struct Inner {
    targets: HashMap<String, TargetState>,
    peers: Peers,
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

    /// Judges and records a round; returns the target's new diagnosis.
    pub fn record(
        &self,
        t: &Target,
        mut round: Vec<Evidence>,
        now: SystemTime,
    ) -> Option<Diagnosis> {
        let verdict = classify::judge_round(t, &round);
        for e in &mut round {
            if let Some(h) = e.http.as_mut() {
                h.body = bytes::Bytes::new();
            }
        }
        let mut inner = self.inner.write().ok()?;
        let Inner { targets, peers } = &mut *inner;
        let st = targets
            .entry(t.name.clone())
            .or_insert_with(|| TargetState {
                latest: BTreeMap::new(),
                window: Window::new(t.failure_threshold, t.success_threshold),
                diagnosis: Diagnosis::pending(),
                since: now,
            });
        st.window.push(verdict);
        for e in round {
            st.latest.insert(e.check, e);
        }
        let ctx = peers.context_for(&t.name, &t.provider, t.control);
        let d = classify::classify(&st.window, &ctx, now);
        peers.set(&t.name, &t.provider, t.control, !d.healthy, d.cause);
        let old = std::mem::replace(&mut st.diagnosis, d.clone());
        let first = st.window.rounds() == 1;
        if first || (old.healthy, old.cause, old.scope) != (d.healthy, d.cause, d.scope) {
            st.since = now;
        }
        if !first && (old.cause, old.scope) != (d.cause, d.scope) {
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
        Some(d)
    }

    pub fn get(&self, name: &str) -> Option<TargetState> {
        self.inner.read().ok()?.targets.get(name).cloned()
    }

    pub fn remove(&self, name: &str) {
        if let Ok(mut inner) = self.inner.write() {
            inner.targets.remove(name);
            inner.peers.remove(name);
        }
    }

    /// Ready once every target of the plan finished a round. Latched: adding targets on a
    /// reload must not take a serving instance out of rotation.
    pub fn is_ready(&self, plan: &Plan) -> bool {
        if self.ready.load(Ordering::Acquire) {
            return true;
        }
        let Ok(inner) = self.inner.read() else {
            return false;
        };
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
