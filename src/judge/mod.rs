//! The judging stage: the one place between observation (`src/probe`) and the outputs where
//! what was seen is held against what is acceptable and turned into a diagnosis.
//!
//! Two steps, both here:
//!
//! 1. [`Judge::conditions`] holds a target's observed round against its conditions
//!    ([`verdict`]: expected status, provider codes, version range, loss threshold, chain and
//!    lag, certificate expiry) — the one function the scheduled rounds, `/probe` and
//!    `payprobe probe-once` all go through.
//! 2. [`Judge::round`] then applies the rules table (`classify::judge_round`), the target's
//!    window and its scope among its peers ([`book`]), and writes the result to the store
//!    (`src/state.rs`) the readers use.
//!
//! Every piece of cross-target state is the judge's: the chain heights (in [`verdict`]),
//! the [`classify::Peers`] counts and the index of failing targets (in [`book`]). The probers
//! know none of it, and the outputs receive only what was judged.

mod book;
pub mod condition;
pub mod verdict;

use std::sync::{Arc, Mutex};
use std::time::SystemTime;

pub use book::{Recorded, Rejudged};
pub use condition::{Condition, Judgement};

use crate::checked::Checked;
use crate::config::{Check, Target};
use crate::probe::Evidence;
use crate::state::{Entry, Store};

/// The judging stage, shared by every target's rounds (scope and the `rpc` check's lag
/// compare a target with its peers).
pub struct Judge {
    verdicts: verdict::Verdicts,
    book: Mutex<book::Book>,
    store: Arc<Store>,
}

/// A judged round: its checks as judged, the conditions held, and the diagnosis.
#[derive(Debug)]
pub struct Judged {
    /// Built from the observations and the conditions ([`condition::view`]).
    pub evidence: Vec<Checked>,
    pub conditions: Vec<Condition>,
    pub recorded: Recorded,
}

impl Default for Judge {
    fn default() -> Judge {
        Judge::new(Arc::new(Store::new()))
    }
}

impl Judge {
    /// A judge writing its results to `store`.
    pub fn new(store: Arc<Store>) -> Judge {
        Judge {
            verdicts: verdict::Verdicts::default(),
            book: Mutex::new(book::Book::default()),
            store,
        }
    }

    /// The store this judge writes to.
    pub fn store(&self) -> &Arc<Store> {
        &self.store
    }

    /// Holds an observed round against the target's conditions and returns each check
    /// judged (its failure and readings beside the observation): what `/probe`, `probe-once`
    /// and [`Judge::round`] all go through.
    pub fn conditions(&self, t: &Target, observed: Vec<Evidence>, now: SystemTime) -> Vec<Checked> {
        self.check(t, observed, now).0
    }

    /// The judged checks and the conditions they were built from. The observations are read,
    /// never written.
    ///
    /// When a target has both `http` and `api_version`, the probers made one request (payment
    /// APIs rate-limit) and observed only the `http` check: its answer is judged once, then
    /// read for its version here.
    pub fn check(
        &self,
        t: &Target,
        observed: Vec<Evidence>,
        now: SystemTime,
    ) -> (Vec<Checked>, Judgement) {
        let mut out = observed;
        let mut j = self.verdicts.judge_round(t, &out, now);
        let shared = t.checks.contains(&Check::Http) && t.checks.contains(&Check::ApiVersion);
        let derived = shared && !out.iter().any(|e| e.check == Check::ApiVersion);
        if derived {
            if let Some(http) = out.iter().find(|e| e.check == Check::Http) {
                let version = verdict::api_version_of(t, http, &mut j, now);
                let at = t
                    .checks
                    .iter()
                    .position(|c| *c == Check::ApiVersion)
                    .unwrap_or(out.len());
                out.insert(at.min(out.len()), version);
            }
        }
        (condition::view(out, &j), j)
    }

    /// Judges a scheduled round: conditions, rules, window and scope; records it in the
    /// store, with the peers it judged again.
    pub fn round(&self, t: &Arc<Target>, observed: Vec<Evidence>, now: SystemTime) -> Judged {
        self.round_then(t, observed, now, |j| j)
    }

    /// [`Judge::round`], then `then` with the result while the judge's lock is still held:
    /// what `then` hands on (the pipeline's queues) is in the order the rounds were judged, so
    /// a peer's re-judgement never reaches an output before the round it follows. `then`
    /// must not wait.
    pub fn round_then<R>(
        &self,
        t: &Arc<Target>,
        observed: Vec<Evidence>,
        now: SystemTime,
        then: impl FnOnce(Judged) -> R,
    ) -> R {
        let (evidence, judgement) = self.check(t, observed, now);
        let verdict = crate::classify::judge_round(t, &evidence);
        let mut book = crate::sync::lock(&self.book, "judge");
        let recorded = book.record(t, verdict, now);
        // Written under the judge's lock, so two rounds judged one after the other reach the
        // store in that order (a re-judged peer never gets an older diagnosis back).
        if let Some(j) = book.targets.get(&t.name) {
            self.store.put(Entry {
                target: t,
                evidence: &evidence,
                rounds: j.window.rounds(),
                consecutive_failures: j.window.consecutive_failures(),
                diagnosis: &recorded.diagnosis,
                since: recorded.since,
            });
        }
        for r in &recorded.rejudged {
            self.store.rejudged(&r.target.name, &r.diagnosis, r.since);
        }
        let out = then(Judged {
            evidence,
            conditions: judgement.conditions,
            recorded,
        });
        drop(book);
        out
    }

    /// The target left the config: forget it (its peers' counts too).
    pub fn remove(&self, name: &str) {
        let mut book = crate::sync::lock(&self.book, "judge");
        book.remove(name);
        self.store.remove(name);
    }
}

/// Writes the summary of "diagnosis changed" lines left out in a log window that is over
/// (`limits::PER_TARGET_LOG_WINDOW_SECS`, 10 s).
pub fn flush_logs() {
    book::flush_logs();
}
