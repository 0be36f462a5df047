//! Incident events and the ledger every holder applies them to.
//!
//! The book (the probing side), the journal writer and the alert engine each keep their own
//! copy of the open and recent closed incidents, and each copy changes only through
//! [`Ledger::apply`] of the same [`Event`]s in the same order, so the copies cannot drift.
//! An event says what changed (one incident), never the whole book: a mass outage costs
//! what it changes (issue 20).

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::model::{Change, Incident};
use super::{MAX_CHANGES, RECENT_CLOSED};

/// One change to the incidents.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum Event {
    /// A target turned unhealthy (or, in a compacted journal, an incident still open).
    Opened { incident: Arc<Incident> },
    /// The open incident of `target` has a new cause or scope.
    Changed {
        target: String,
        change: Change,
        rule: String,
        /// The failing evidence when it changed, if the round had any.
        #[serde(default)]
        evidence: Option<String>,
        /// The incident as the book has it after the change, shared with every follower
        /// instead of one more copy each (not in the journal: replay applies the change).
        #[serde(skip)]
        after: Option<Arc<Incident>>,
    },
    /// The open incident of `target` closed at `at_ms`: `recovered` or removed.
    Closed {
        target: String,
        at_ms: u64,
        by: String,
        /// As for `Changed`: the closed incident, shared.
        #[serde(skip)]
        after: Option<Arc<Incident>>,
    },
    /// A closed incident kept for the API (a compacted journal's history).
    Kept { incident: Arc<Incident> },
}

/// An event with its place in the book's order: a reader that rebuilt its copy from a
/// snapshot taken at `seq` skips the events it already holds.
#[derive(Debug)]
pub struct Stamped {
    pub seq: u64,
    pub event: Event,
}

/// The open incidents (by target, so readers get a stable order) and the most recent closed
/// ones (newest last, at most [`RECENT_CLOSED`]).
///
/// Incidents are shared (`Arc`) between the copies: an opening event is one allocation
/// however many followers apply it, and a copy clones an incident only when it changes it
/// (at 10,000 open incidents, three private copies were about 30 MB of the outage's peak).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Ledger {
    pub open: BTreeMap<String, Arc<Incident>>,
    pub closed: VecDeque<Arc<Incident>>,
    /// The open incidents oldest first, `(opened_ms, target)`: a page of them costs
    /// O(log n + page), never a sort of every open incident under the lock.
    by_age: BTreeSet<(u64, String)>,
}

impl Ledger {
    /// Applies one event. An event that does not fit (a change for a target with no open
    /// incident) is ignored: replaying a journal must never fail on its own history.
    pub fn apply(&mut self, e: &Event) {
        match e {
            Event::Opened { incident } => {
                let key = (incident.opened_ms, incident.target.clone());
                if let Some(old) = self
                    .open
                    .insert(incident.target.clone(), Arc::clone(incident))
                {
                    self.by_age.remove(&(old.opened_ms, old.target.clone()));
                }
                self.by_age.insert(key);
            }
            Event::Changed {
                target,
                change,
                rule,
                evidence,
                after,
            } => {
                if let Some(inc) = self.open.get_mut(target) {
                    if let Some(a) = after.as_ref().filter(|a| a.id == inc.id) {
                        *inc = Arc::clone(a);
                        return;
                    }
                    let inc = Arc::make_mut(inc);
                    inc.cause = change.cause;
                    inc.scope = change.scope;
                    inc.rule.clone_from(rule);
                    inc.reason.clone_from(&change.reason);
                    if let Some(ev) = evidence {
                        inc.evidence.clone_from(ev);
                    }
                    if inc.changes.len() >= MAX_CHANGES {
                        // Keep the opening entry; drop the oldest of the rest.
                        inc.changes.remove(1);
                    }
                    inc.changes.push(change.clone());
                }
            }
            Event::Closed {
                target,
                at_ms,
                by,
                after,
            } => {
                if let Some(mut inc) = self.open.remove(target) {
                    self.by_age.remove(&(inc.opened_ms, inc.target.clone()));
                    if let Some(a) = after.as_ref().filter(|a| a.id == inc.id) {
                        self.keep(Arc::clone(a));
                        return;
                    }
                    let inc_mut = Arc::make_mut(&mut inc);
                    inc_mut.closed_ms = Some(*at_ms);
                    inc_mut.closed_by = Some(by.clone());
                    self.keep(inc);
                }
            }
            Event::Kept { incident } => self.keep(Arc::clone(incident)),
        }
    }

    fn keep(&mut self, inc: Arc<Incident>) {
        self.closed.push_back(inc);
        while self.closed.len() > RECENT_CLOSED {
            self.closed.pop_front();
        }
    }

    /// Open incidents oldest first, starting after `(opened_ms, target)` when given.
    pub fn open_after<'a>(
        &'a self,
        after: Option<&(u64, String)>,
    ) -> impl Iterator<Item = &'a Incident> + 'a {
        use std::ops::Bound;
        let from = after.map_or(Bound::Unbounded, |k| Bound::Excluded(k.clone()));
        self.by_age
            .range((from, Bound::Unbounded))
            .filter_map(|(_, t)| self.open.get(t).map(|i| i.as_ref()))
    }

    /// The events that rebuild this ledger from nothing (a compacted journal).
    pub fn events(&self) -> impl Iterator<Item = Event> + '_ {
        let kept = self.closed.iter().map(|i| Event::Kept {
            incident: Arc::clone(i),
        });
        let open = self.open.values().map(|i| Event::Opened {
            incident: Arc::clone(i),
        });
        kept.chain(open)
    }
}
