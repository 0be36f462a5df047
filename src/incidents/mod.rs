//! Incidents: the model alerts, the API and the status page read.
//!
//! An incident opens when a target turns unhealthy (after its `failure_threshold`), records
//! every change of cause or scope while open, and closes when the target is healthy again
//! (after its `success_threshold`) with its duration. Each of those is one [`Event`], applied
//! to the book and offered to every follower through its own bounded queue: the journal
//! writer ([`persist`], which keeps them across restarts), the alert engine
//! ([`Follower`]) and the incident metrics ([`Incidents::watch`]). Nothing here serializes or copies the book per change, and a follower
//! that falls behind rebuilds from a snapshot instead of losing events. See
//! docs/architecture.md, "Data flow": [`Incidents`] is one `pipeline::Output`.

mod apply;
mod follow;
mod ledger;
mod model;
mod persist;
mod read;

use std::collections::HashMap;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::SystemTime;

pub use follow::Follower;
use follow::{Offer, Subscriber};
pub use ledger::{Event, Ledger, Stamped};
pub use model::{unix_ms, Change, Incident, IncidentView, RECOVERED};

use crate::config::Target;
use crate::logbudget::Budget;
use crate::output::{JudgedRound, Output, SelfReport};

/// `closed_by` of an incident whose target left the config (or changed on a reload).
pub const REMOVED: &str = "target removed or changed";

pub use crate::limits::INCIDENTS_RECENT_CLOSED as RECENT_CLOSED;
pub use crate::limits::INCIDENT_MAX_CHANGES as MAX_CHANGES;

static LOG_OPENED: Budget = Budget::new("incident opened", crate::limits::PER_TARGET_LOG_LINES);
static LOG_CHANGED: Budget = Budget::new("incident changed", crate::limits::PER_TARGET_LOG_LINES);
static LOG_CLOSED: Budget = Budget::new("incident closed", crate::limits::PER_TARGET_LOG_LINES);

/// Writes the summaries of per-target lines left out in a log window that is over
/// (`limits::PER_TARGET_LOG_WINDOW_SECS`; called every second by the incident sweeper, so a
/// burst's summary does not wait for the next burst).
pub fn flush_logs() {
    for b in [&LOG_OPENED, &LOG_CHANGED, &LOG_CLOSED] {
        b.flush();
    }
}

fn grace_ms() -> u64 {
    u64::try_from(crate::limits::REMOVED_TARGET_GRACE.as_millis()).unwrap_or(u64::MAX)
}

#[derive(Default)]
struct Book {
    ledger: Ledger,
    /// The number of the last event applied.
    seq: u64,
    /// The first failing round of a target while it was still healthy (time to detect).
    first_failure: HashMap<String, u64>,
    /// Targets whose open incident was restored from disk, with the passing rounds seen
    /// since: the window restarts healthy, so "healthy" alone proves nothing after a restart.
    restored_passes: HashMap<String, u32>,
    /// Targets that left the config with an open incident: (provider, when it closes as
    /// removed). A target re-added by the next reload continues its incident instead.
    retiring: HashMap<String, (String, u64)>,
    subscribers: Vec<Subscriber>,
}

/// All incidents, and the output that keeps them.
pub struct Incidents {
    book: Arc<Mutex<Book>>,
    /// payprobe's own failures (a poisoned book) and full event queues are counted here.
    report: Arc<dyn SelfReport>,
    /// Marks an incident opened inside a maintenance window (set once by the daemon).
    maintenance: std::sync::OnceLock<Arc<crate::maintenance::Live>>,
    /// How far the journal writer has got; `None` without a writer (nothing to wait for).
    journal: Option<Arc<persist::Progress>>,
    /// The language reasons are recorded in (`[server] lang`, an index of `Lang::ALL`): an
    /// incident's reason and the alerts made from it speak the configured language.
    lang: std::sync::atomic::AtomicUsize,
}

/// The book. A poisoned lock is taken over, never read as "no data" (which silently stopped
/// every incident and alert after one panic), and counted as `where="incidents_lock"`.
fn lock<'a>(book: &'a Mutex<Book>, _report: &dyn SelfReport) -> MutexGuard<'a, Book> {
    crate::sync::lock(book, "incidents_lock")
}

impl Incidents {
    /// Records the reasons of incidents opened or changed from now on in `lang` (at start
    /// and on every reload: `[server] lang`, or `--lang`).
    pub fn speak(&self, lang: crate::vocab::Lang) {
        let i = crate::vocab::Lang::ALL
            .iter()
            .position(|l| *l == lang)
            .unwrap_or(0);
        self.lang.store(i, std::sync::atomic::Ordering::Relaxed);
    }

    fn lang(&self) -> crate::vocab::Lang {
        let i = self.lang.load(std::sync::atomic::Ordering::Relaxed);
        crate::vocab::Lang::ALL.get(i).copied().unwrap_or_default()
    }

    /// Loads what `state_dir` holds (a missing or unreadable journal is logged, never
    /// fatal) and starts its writer. Restored open incidents of targets not in `targets`
    /// wait out the removal grace period like a target removed by a reload (a daemon started
    /// on a half-written config keeps them if the next reload brings their targets back).
    pub fn new(
        state_dir: &Path,
        targets: &[Arc<Target>],
        report: Arc<dyn SelfReport>,
    ) -> Incidents {
        let ledger = persist::load(state_dir, report.as_ref());
        let known: std::collections::HashSet<&str> =
            targets.iter().map(|t| t.name.as_str()).collect();
        let mut book = Book::default();
        let until = unix_ms(SystemTime::now()).saturating_add(grace_ms());
        for i in ledger.open.values() {
            book.restored_passes.insert(i.target.clone(), 0);
            if !known.contains(i.target.as_str()) {
                book.retiring
                    .insert(i.target.clone(), (i.provider.clone(), until));
            }
        }
        book.ledger = ledger.clone();
        let book = Arc::new(Mutex::new(book));
        let progress = Arc::new(persist::Progress::default());
        let mut incidents = Incidents {
            book: book.clone(),
            report: report.clone(),
            maintenance: std::sync::OnceLock::new(),
            journal: None,
            lang: std::sync::atomic::AtomicUsize::new(0),
        };
        let behind = Arc::new(AtomicBool::new(false));
        let weak = Arc::downgrade(&book);
        let m = report.clone();
        let snapshot: persist::Snapshot = Arc::new(move || match weak.upgrade() {
            Some(b) => {
                let b = lock(&b, m.as_ref());
                (b.seq, b.ledger.clone())
            }
            None => (0, Ledger::default()),
        });
        let writer = persist::start(
            state_dir,
            ledger,
            behind.clone(),
            snapshot,
            progress.clone(),
            report,
        );
        if let Some(tx) = writer {
            incidents.journal = Some(progress);
            incidents.add(Subscriber {
                name: "incident_journal",
                offer: Box::new(move |s| match tx.try_send(s) {
                    Ok(()) => Offer::Taken,
                    Err(std::sync::mpsc::TrySendError::Full(_)) => Offer::Full,
                    Err(std::sync::mpsc::TrySendError::Disconnected(_)) => Offer::Gone,
                }),
                behind,
            });
        }
        incidents
    }

    /// Targets of a new plan whose incident was waiting out its removal grace (a reload that
    /// brought them back): the incident goes on if the target is the same target (provider,
    /// control, way out); a target that came back as something else has its old incident
    /// closed as removed when the grace ends, or at its first round.
    pub fn adopt(&self, targets: &[Arc<Target>]) {
        let mut b = lock(&self.book, self.report.as_ref());
        if b.retiring.is_empty() {
            return;
        }
        for t in targets {
            if b.retiring.contains_key(&t.name) {
                self.come_back(&mut b, t);
            }
        }
    }

    /// A retiring target is back: continue its incident, or close it if the target changed
    /// identity (its alert would otherwise be grouped under the old provider or way out).
    fn come_back(&self, b: &mut Book, t: &Target) {
        let Some((provider, _)) = b.retiring.remove(&t.name) else {
            return;
        };
        let same = b.ledger.open.get(&t.name).is_some_and(|i| {
            i.provider == t.provider && i.control == t.control && i.egress == model::egress_of(t)
        });
        if !same {
            let now = unix_ms(SystemTime::now());
            self.close(b, &t.name, &provider, now, REMOVED);
            return;
        }
        // Its window starts afresh (healthy): like a restored incident, it closes only once
        // this target is seen passing again.
        b.restored_passes.insert(t.name.clone(), 0);
        tracing::info!(target_name = %t.name, "target back in the config: its open incident continues");
    }

    fn add(&self, s: Subscriber) {
        lock(&self.book, self.report.as_ref()).subscribers.push(s);
    }

    /// Incidents opened while a window covers their target are marked with its name.
    pub fn watch_maintenance(&self, live: Arc<crate::maintenance::Live>) {
        let _ = self.maintenance.set(live);
    }

    /// A new reader of the events, starting from the book as it is now.
    pub fn follow(&self, name: &'static str) -> Follower {
        let (tx, rx) = tokio::sync::mpsc::channel(crate::limits::INCIDENT_EVENT_QUEUE);
        let behind = Arc::new(AtomicBool::new(false));
        let mut b = lock(&self.book, self.report.as_ref());
        b.subscribers.push(Subscriber {
            name,
            offer: Box::new(move |s| match tx.try_send(s) {
                Ok(()) => Offer::Taken,
                Err(tokio::sync::mpsc::error::TrySendError::Full(_)) => Offer::Full,
                Err(tokio::sync::mpsc::error::TrySendError::Closed(_)) => Offer::Gone,
            }),
            behind: behind.clone(),
        });
        Follower::new(rx, behind, b.seq, b.ledger.clone())
    }

    /// Waits (at most [`crate::limits::JOURNAL_WAIT`]) until the journal has written event
    /// `seq`: the alert engine pages on an event only once it is on disk. `false` when the
    /// time ran out.
    pub async fn journaled(&self, seq: u64) -> bool {
        match &self.journal {
            Some(p) => p.wait_for(seq, crate::limits::JOURNAL_WAIT).await,
            None => true,
        }
    }

    /// A reader called with each event, in order, under the book's lock — so it must be quick
    /// and never block (the incident metrics: a few gauge updates) — after `start` saw the
    /// book as it is now. What it derives can never run ahead of the book: an incident is
    /// open before its metric says so.
    pub fn watch(
        &self,
        name: &'static str,
        start: impl FnOnce(&Ledger),
        each: impl Fn(&Event) + Send + Sync + 'static,
    ) {
        let mut b = lock(&self.book, self.report.as_ref());
        start(&b.ledger);
        b.subscribers.push(Subscriber {
            name,
            offer: Box::new(move |s| {
                each(&s.event);
                Offer::Taken
            }),
            behind: Arc::new(AtomicBool::new(false)),
        });
    }

    /// Applies `e` to the book and offers it to every follower, in order.
    fn emit(&self, b: &mut Book, mut e: Event) {
        b.ledger.apply(&e);
        // Followers take the book's result rather than making a copy each.
        match &mut e {
            Event::Changed { target, after, .. } => *after = b.ledger.open.get(target).cloned(),
            Event::Closed { after, .. } => *after = b.ledger.closed.back().cloned(),
            Event::Opened { .. } | Event::Kept { .. } => {}
        }
        b.seq += 1;
        let stamped = Arc::new(Stamped {
            seq: b.seq,
            event: e,
        });
        let mut gone = Vec::new();
        for (i, s) in b.subscribers.iter().enumerate() {
            match (s.offer)(stamped.clone()) {
                Offer::Taken => {}
                Offer::Gone => gone.push(i),
                Offer::Full => {
                    if !s.behind.swap(true, Ordering::AcqRel) {
                        self.report.queue_overflow(s.name);
                        tracing::warn!(
                            queue = s.name,
                            "incident event queue full; that reader rebuilds from a snapshot"
                        );
                    }
                }
            }
        }
        for i in gone.into_iter().rev() {
            b.subscribers.remove(i);
        }
    }

    fn close(&self, b: &mut Book, name: &str, provider: &str, at: u64, why: &str) {
        let Some(inc) = b.ledger.open.get(name) else {
            return;
        };
        let secs = at.saturating_sub(inc.opened_ms) as f64 / 1000.0;
        let cause = inc.cause;
        b.restored_passes.remove(name);
        b.retiring.remove(name);
        if LOG_CLOSED.allow() {
            tracing::info!(target_name = %name, provider = %provider, cause = cause.as_str(), duration_seconds = secs, why, "incident closed");
        }
        self.emit(
            b,
            Event::Closed {
                target: name.to_string(),
                at_ms: at,
                by: why.to_string(),
                after: None,
            },
        );
    }

    /// Closes, as removed, the incidents of targets that left the config more than the
    /// grace period before `now_ms` and did not come back (called every second).
    pub fn sweep(&self, now_ms: u64) {
        let mut b = lock(&self.book, self.report.as_ref());
        let due: Vec<(String, String)> = b
            .retiring
            .iter()
            .filter(|(_, (_, at))| *at <= now_ms)
            .map(|(n, (p, _))| (n.clone(), p.clone()))
            .collect();
        for (name, provider) in due {
            self.close(&mut b, &name, &provider, now_ms, REMOVED);
        }
    }
}

impl Output for Incidents {
    fn name(&self) -> &'static str {
        "incidents"
    }

    fn publish(&self, round: &JudgedRound) {
        let mut b = lock(&self.book, self.report.as_ref());
        self.apply(&mut b, round);
    }

    /// The target left the config (or changed): its open incident is kept, paging nothing
    /// new, for [`crate::limits::REMOVED_TARGET_GRACE`], then closed as removed by
    /// [`Incidents::sweep`]. A config cut short while it was written, then fixed by the next
    /// reload, used to resolve and re-open every incident of the targets it lost.
    fn retire(&self, target: &Target) {
        let mut b = lock(&self.book, self.report.as_ref());
        b.first_failure.remove(&target.name);
        if b.ledger.open.contains_key(&target.name) {
            let at = unix_ms(SystemTime::now()).saturating_add(grace_ms());
            b.retiring
                .insert(target.name.clone(), (target.provider.clone(), at));
        }
    }
}

#[cfg(test)]
mod tests;
