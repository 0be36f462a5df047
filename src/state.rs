//! The store: the last judged round of every target, as the readers (the API, the status
//! page, `/readyz`) see it.
//!
//! It judges nothing: `src/judge` writes here, under its own lock, each round it judged and
//! each target it judged again, so a reader never sees a diagnosis older than the judge's.
//! Observations (evidence) are kept apart from judgement (the diagnosis), as gatus does. Only
//! what a reader needs is kept: the last round's evidence (without bodies), the round count
//! and the diagnosis.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, RwLock};
use std::time::SystemTime;

use crate::checked::Checked;
use crate::classify::{self, Diagnosis};
use crate::config::{Check, Plan, Target};

#[derive(Debug, Clone)]
pub struct TargetState {
    pub target: Arc<Target>,
    /// Last judged check of each kind (bodies dropped; the excerpt stays). Boxed: a BTreeMap
    /// allocates a node of eleven values on its first insert, and with `Checked` inline
    /// that was 14 KiB per target, most of payprobe's memory at 10,000 targets.
    pub latest: BTreeMap<Check, Box<Checked>>,
    /// Rounds judged so far (the window's count).
    pub rounds: u64,
    /// Failing rounds in a row, as the window counts them.
    pub consecutive_failures: u32,
    /// Shared with the judge's own copy (one diagnosis per target in memory, not two).
    pub diagnosis: Arc<Diagnosis>,
    /// When health, cause or scope last changed (or the first round finished).
    pub since: SystemTime,
}

/// What the judge hands the store for one round of a target.
pub struct Entry<'a> {
    pub target: &'a Arc<Target>,
    pub evidence: &'a [Checked],
    pub rounds: u64,
    pub consecutive_failures: u32,
    pub diagnosis: &'a Arc<Diagnosis>,
    pub since: SystemTime,
}

/// All targets' last judged rounds. Writers (the judge) and readers (scrapes, API) hold the
/// lock only to update or copy one entry.
#[derive(Default)]
pub struct Store {
    inner: RwLock<HashMap<String, TargetState>>,
    ready: AtomicBool,
}

impl Store {
    pub fn new() -> Store {
        Store::default()
    }

    /// Keeps a judged round. Bodies are not kept (the excerpt stays).
    pub fn put(&self, e: Entry<'_>) {
        let mut inner = crate::sync::write(&self.inner, "state");
        let st = inner
            .entry(e.target.name.clone())
            .or_insert_with(|| TargetState {
                target: e.target.clone(),
                latest: BTreeMap::new(),
                rounds: 0,
                consecutive_failures: 0,
                diagnosis: e.diagnosis.clone(),
                since: e.since,
            });
        st.target = e.target.clone();
        for ev in e.evidence {
            let mut kept = ev.clone();
            if let Some(h) = kept.observed.http.as_mut() {
                h.body = bytes::Bytes::new();
            }
            st.latest.insert(kept.check(), Box::new(kept));
        }
        st.rounds = e.rounds;
        st.consecutive_failures = e.consecutive_failures;
        st.diagnosis = e.diagnosis.clone();
        st.since = e.since;
    }

    /// A target judged again without a round of its own (its scope moved).
    pub fn rejudged(&self, name: &str, d: &Arc<Diagnosis>, since: SystemTime) {
        let mut inner = crate::sync::write(&self.inner, "state");
        if let Some(st) = inner.get_mut(name) {
            st.diagnosis = d.clone();
            st.since = since;
        }
    }

    /// Health, cause and scope of one target, without copying its evidence (the API's
    /// filters look at every target).
    pub fn verdict_of(&self, name: &str) -> Option<(bool, classify::Cause, classify::Scope)> {
        let inner = crate::sync::read(&self.inner, "state");
        let d = &inner.get(name)?.diagnosis;
        Some((d.healthy, d.cause, d.scope))
    }

    pub fn get(&self, name: &str) -> Option<TargetState> {
        crate::sync::read(&self.inner, "state").get(name).cloned()
    }

    /// The diagnosis and its `since` of every target that finished a round, visited under
    /// one read lock without copying evidence: the status page's summary of 10,000 targets.
    pub fn each_diagnosis(&self, mut f: impl FnMut(&str, &Diagnosis, SystemTime)) {
        let inner = crate::sync::read(&self.inner, "state");
        for (name, st) in inner.iter() {
            f(name, &st.diagnosis, st.since);
        }
    }

    pub fn remove(&self, name: &str) {
        crate::sync::write(&self.inner, "state").remove(name);
    }

    /// Ready once every target of the plan finished a round. Latched: adding targets on a
    /// reload must not take a serving instance out of rotation.
    pub fn is_ready(&self, plan: &Plan) -> bool {
        if self.ready.load(Ordering::Acquire) {
            return true;
        }
        let inner = crate::sync::read(&self.inner, "state");
        let all = plan.targets.iter().all(|t| inner.contains_key(&t.name));
        if all {
            self.ready.store(true, Ordering::Release);
        }
        all
    }
}
