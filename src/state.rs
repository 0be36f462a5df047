//! The latest evidence per target, and health after thresholds.
//!
//! Observations (evidence) are kept apart from judgement (healthy or not), as gatus does:
//! the judgement here is only the `failure_threshold` / `success_threshold` hysteresis, so one
//! lost probe does not flip a target.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::RwLock;
use std::time::SystemTime;

use serde::Serialize;

use crate::config::{Check, Plan, Target};
use crate::probe::Evidence;

#[derive(Debug, Clone, Serialize)]
pub struct TargetState {
    /// Last evidence of each check.
    pub latest: BTreeMap<Check, Evidence>,
    /// Completed probe rounds since the target was (re)scheduled.
    pub rounds: u64,
    pub consecutive_failures: u32,
    pub consecutive_successes: u32,
    /// Health after thresholds. Starts healthy: a target is failed only after
    /// `failure_threshold` failed rounds in a row.
    pub healthy: bool,
    /// When `healthy` last changed (or when the target was first scheduled).
    #[serde(serialize_with = "rfc3339")]
    pub since: SystemTime,
}

impl TargetState {
    fn new() -> TargetState {
        TargetState {
            latest: BTreeMap::new(),
            rounds: 0,
            consecutive_failures: 0,
            consecutive_successes: 0,
            healthy: true,
            since: SystemTime::now(),
        }
    }

    /// Folds one round in; returns `Some(new_health)` when health flipped.
    pub fn record(&mut self, t: &Target, round: Vec<Evidence>) -> Option<bool> {
        let ok = round.iter().all(|e| e.success);
        for e in round {
            self.latest.insert(e.check, e);
        }
        self.rounds += 1;
        if ok {
            self.consecutive_successes += 1;
            self.consecutive_failures = 0;
        } else {
            self.consecutive_failures += 1;
            self.consecutive_successes = 0;
        }
        let flip = if self.healthy && self.consecutive_failures >= t.failure_threshold {
            Some(false)
        } else if !self.healthy && self.consecutive_successes >= t.success_threshold {
            Some(true)
        } else {
            None
        };
        if let Some(h) = flip {
            self.healthy = h;
            self.since = SystemTime::now();
        }
        flip
    }
}

/// All targets' state. Reads (scrapes, API) and writes (probe rounds) hold the lock only to
/// copy or update one entry.
#[derive(Default)]
pub struct Store {
    targets: RwLock<HashMap<String, TargetState>>,
    ready: AtomicBool,
}

impl Store {
    pub fn new() -> Store {
        Store::default()
    }

    /// Records a round; returns the target's state after it.
    pub fn record(&self, t: &Target, round: Vec<Evidence>) -> Option<TargetState> {
        let mut map = self.targets.write().ok()?;
        let st = map.entry(t.name.clone()).or_insert_with(TargetState::new);
        let flip = st.record(t, round);
        if let Some(h) = flip {
            tracing::info!(target_name = %t.name, provider = %t.provider, healthy = h, "target health changed");
        }
        Some(st.clone())
    }

    pub fn get(&self, name: &str) -> Option<TargetState> {
        self.targets.read().ok()?.get(name).cloned()
    }

    pub fn remove(&self, name: &str) {
        if let Ok(mut m) = self.targets.write() {
            m.remove(name);
        }
    }

    /// Ready once every target of the plan finished a round. Latched: adding targets on a
    /// reload must not take a serving instance out of rotation.
    pub fn is_ready(&self, plan: &Plan) -> bool {
        if self.ready.load(Ordering::Acquire) {
            return true;
        }
        let Ok(map) = self.targets.read() else {
            return false;
        };
        let all = plan
            .targets
            .iter()
            .all(|t| map.get(&t.name).is_some_and(|s| s.rounds > 0));
        if all {
            self.ready.store(true, Ordering::Release);
        }
        all
    }
}

fn rfc3339<S: serde::Serializer>(t: &SystemTime, s: S) -> Result<S::Ok, S::Error> {
    s.collect_str(&humantime::format_rfc3339_seconds(*t))
}
