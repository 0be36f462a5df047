//! Incidents: the model alerts, the API and the status page read.
//!
//! An incident opens when a target turns unhealthy (after its `failure_threshold`), records
//! every change of cause or scope while open, and closes when the target is healthy again
//! (after its `success_threshold`) with its duration. Open incidents and the most recent
//! closed ones are persisted under `[server] state_dir` (see [`persist`]) and reloaded at
//! start, so a restart neither forgets an outage nor opens it twice. See
//! docs/architecture.md, "Data flow": [`Incidents`] is one `pipeline::Output`.

mod model;
mod persist;

use std::collections::{HashMap, VecDeque};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use tokio::sync::Notify;

pub use model::{unix_ms, Change, Incident, IncidentView, RECOVERED};
pub(crate) use persist::write_atomic;

use crate::classify::Diagnosis;
use crate::config::Target;
use crate::metrics::Metrics;
use crate::pipeline::{JudgedRound, Output};

/// `closed_by` of an incident whose target left the config (or changed on a reload).
pub const REMOVED: &str = "target removed or changed";

/// Closed incidents kept (in memory, on disk and in the API).
pub const RECENT_CLOSED: usize = 200;
/// Changes kept per incident: a flapping cause must not grow one without bound.
pub const MAX_CHANGES: usize = 50;

#[derive(Default)]
struct Book {
    /// By target name.
    open: HashMap<String, Incident>,
    /// Newest last.
    closed: VecDeque<Incident>,
    /// The first failing round of a target while it was still healthy (time to detect).
    first_failure: HashMap<String, u64>,
    /// Targets whose open incident was restored from disk, with the passing rounds seen
    /// since: the window restarts healthy, so "healthy" alone proves nothing after a restart.
    restored_passes: HashMap<String, u32>,
}

/// All incidents, and the output that keeps them.
pub struct Incidents {
    book: Mutex<Book>,
    metrics: Arc<Metrics>,
    persist: persist::Persister,
    /// Woken on every open, change and close (the alert engine waits on it).
    changed: Arc<Notify>,
    /// Marks an incident opened inside a maintenance window (set once by the daemon).
    maintenance: std::sync::OnceLock<Arc<crate::maintenance::Live>>,
}

impl Incidents {
    /// Loads what `state_dir` holds (a missing or unreadable file is logged, never fatal).
    /// Restored open incidents of targets not in `targets` are closed as removed.
    pub fn new(state_dir: &Path, targets: &[Arc<Target>], metrics: Arc<Metrics>) -> Incidents {
        let (persist, loaded) = persist::Persister::open(state_dir, metrics.clone());
        let mut book = Book {
            closed: loaded.closed.into_iter().collect(),
            ..Book::default()
        };
        let now = unix_ms(SystemTime::now());
        for mut i in loaded.open {
            if targets.iter().any(|t| t.name == i.target) {
                metrics.incidents.set_open(&i.target, &i.provider, i.cause);
                book.restored_passes.insert(i.target.clone(), 0);
                book.open.insert(i.target.clone(), i);
            } else {
                i.closed_ms = Some(now);
                i.closed_by = Some(REMOVED.to_string());
                book.closed.push_back(i);
            }
        }
        while book.closed.len() > RECENT_CLOSED {
            book.closed.pop_front();
        }
        Incidents {
            book: Mutex::new(book),
            metrics,
            persist,
            changed: Arc::new(Notify::new()),
            maintenance: std::sync::OnceLock::new(),
        }
    }

    /// Incidents opened while a window covers their target are marked with its name.
    pub fn watch_maintenance(&self, live: Arc<crate::maintenance::Live>) {
        let _ = self.maintenance.set(live);
    }

    /// Woken whenever an incident opens, changes or closes.
    pub fn notifier(&self) -> Arc<Notify> {
        self.changed.clone()
    }

    /// The open incidents (oldest first).
    pub fn open(&self) -> Vec<Incident> {
        let Ok(b) = self.book.lock() else {
            return Vec::new();
        };
        let mut v: Vec<Incident> = b.open.values().cloned().collect();
        v.sort_by(|a, b| (a.opened_ms, &a.target).cmp(&(b.opened_ms, &b.target)));
        v
    }

    /// Open incidents first (oldest first), then the most recent closed ones (newest
    /// first), at most `limit` in all. Cheap: a copy under one short lock.
    pub fn snapshot(&self, limit: usize) -> Vec<Incident> {
        let mut v = self.open();
        if let Ok(b) = self.book.lock() {
            v.extend(b.closed.iter().rev().cloned());
        }
        v.truncate(limit);
        v
    }

    /// One target's incidents: its open one first, then its closed ones, newest first.
    pub fn of_target(&self, name: &str, limit: usize) -> Vec<Incident> {
        let Ok(b) = self.book.lock() else {
            return Vec::new();
        };
        let mut v: Vec<Incident> = b.open.get(name).cloned().into_iter().collect();
        v.extend(b.closed.iter().rev().filter(|i| i.target == name).cloned());
        v.truncate(limit);
        v
    }

    fn save(&self, b: &Book) {
        let open: Vec<&Incident> = b.open.values().collect();
        let closed: Vec<&Incident> = b.closed.iter().collect();
        self.persist.save(&open, &closed);
    }

    fn close(&self, b: &mut Book, t: &Target, at: u64, why: &str) {
        let Some(mut inc) = b.open.remove(&t.name) else {
            return;
        };
        b.restored_passes.remove(&t.name);
        inc.closed_ms = Some(at);
        inc.closed_by = Some(why.to_string());
        let secs = inc.duration_secs(at);
        self.metrics
            .incidents
            .closed(&t.name, &t.provider, inc.opened_cause(), secs);
        tracing::info!(target_name = %t.name, provider = %t.provider, cause = inc.cause.as_str(), duration_seconds = secs, why, "incident closed");
        b.closed.push_back(inc);
        while b.closed.len() > RECENT_CLOSED {
            b.closed.pop_front();
        }
    }

    /// What one judged round does to the book; true when something changed.
    fn apply(&self, b: &mut Book, r: &JudgedRound<'_>) -> bool {
        let t = r.target;
        let d: &Diagnosis = r.diagnosis;
        let at = unix_ms(r.at);
        let passed = !r.rejudged() && r.evidence.iter().all(|e| e.success);
        if d.healthy {
            if !r.rejudged() && !passed {
                b.first_failure.entry(t.name.clone()).or_insert(at);
            } else if passed {
                b.first_failure.remove(&t.name);
            }
            if !b.open.contains_key(&t.name) {
                return false;
            }
            if let Some(n) = b.restored_passes.get_mut(&t.name) {
                // Restored from disk: close only once this process saw it recover.
                *n = if passed { *n + 1 } else { 0 };
                if *n < t.success_threshold.max(1) {
                    return false;
                }
            }
            self.close(b, t, at, model::RECOVERED);
            return true;
        }
        let first = b.first_failure.remove(&t.name);
        b.restored_passes.remove(&t.name);
        match b.open.get_mut(&t.name) {
            Some(inc) => {
                if (inc.cause, inc.scope) == (d.cause, d.scope) {
                    return false;
                }
                inc.record(d, at, excerpt(r));
                self.metrics
                    .incidents
                    .set_open(&t.name, &t.provider, d.cause);
                tracing::warn!(target_name = %t.name, cause = d.cause.as_str(), scope = d.scope.as_str(), "incident changed");
                true
            }
            None => {
                let mut inc = Incident::open(t, d, at, first, excerpt(r));
                inc.maintenance = self.maintenance.get().and_then(|m| {
                    m.covering(&t.name, &t.provider, i64::try_from(at).unwrap_or(i64::MAX))
                });
                let detect = inc.detect_secs();
                self.metrics.incidents.opened(t, d.cause, detect);
                tracing::warn!(target_name = %t.name, provider = %t.provider, cause = d.cause.as_str(), scope = d.scope.as_str(), reason = %d.reason, "incident opened");
                b.open.insert(t.name.clone(), inc);
                true
            }
        }
    }
}

/// The failing evidence in one line, for notifications (bounded; bodies are excerpts).
fn excerpt(r: &JudgedRound<'_>) -> Option<String> {
    let e = r.evidence.iter().find(|e| !e.success)?;
    let mut s = format!("{} check", e.check.as_str());
    if let Some(f) = &e.failure {
        s.push_str(&format!(" failed at {}: {}", f.phase.as_str(), f.detail));
    }
    if let Some(h) = &e.http {
        if let Some(code) = h.status {
            s.push_str(&format!("; HTTP {code}"));
        }
        if !h.body_excerpt.is_empty() {
            s.push_str(&format!("; body: {}", h.body_excerpt));
        }
    }
    Some(model::clip(&s, 400))
}

impl Output for Incidents {
    fn name(&self) -> &'static str {
        "incidents"
    }

    fn publish(&self, round: &JudgedRound<'_>) {
        let changed = {
            let Ok(mut b) = self.book.lock() else { return };
            let changed = self.apply(&mut b, round);
            if changed {
                self.save(&b);
            }
            changed
        };
        if changed {
            self.changed.notify_one();
        }
    }

    fn retire(&self, target: &Target) {
        if let Ok(mut b) = self.book.lock() {
            b.first_failure.remove(&target.name);
            if b.open.contains_key(&target.name) {
                self.close(&mut b, target, unix_ms(SystemTime::now()), REMOVED);
                self.save(&b);
                self.changed.notify_one();
            }
        }
    }
}

#[cfg(test)]
mod tests;
