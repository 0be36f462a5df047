//! What readers get of the book: under its lock, taking only what they need.

use super::{lock, Incident, Incidents, Ledger};

impl Incidents {
    /// The book's event number and a copy of its ledger (a follower that fell behind).
    pub fn ledger(&self) -> (u64, Ledger) {
        let b = lock(&self.book, self.report.as_ref());
        (b.seq, b.ledger.clone())
    }

    /// Runs `f` over the ledger under the lock: readers take what they need (a page)
    /// without copying the book.
    pub fn read<R>(&self, f: impl FnOnce(&Ledger) -> R) -> R {
        f(&lock(&self.book, self.report.as_ref()).ledger)
    }

    /// The open incidents (oldest first).
    pub fn open(&self) -> Vec<Incident> {
        let mut v: Vec<Incident> = self.read(|l| l.open.values().map(|i| (**i).clone()).collect());
        v.sort_by(|a, b| (a.opened_ms, &a.target).cmp(&(b.opened_ms, &b.target)));
        v
    }

    /// Open incidents first (oldest first), then the most recent closed ones (newest
    /// first), at most `limit` in all.
    pub fn snapshot(&self, limit: usize) -> Vec<Incident> {
        let mut v = self.open();
        self.read(|l| v.extend(l.closed.iter().rev().take(limit).map(|i| (**i).clone())));
        v.truncate(limit);
        v
    }

    /// One target's incidents: its open one first, then its closed ones, newest first.
    pub fn of_target(&self, name: &str, limit: usize) -> Vec<Incident> {
        self.read(|l| {
            let mut v: Vec<Incident> = l
                .open
                .get(name)
                .map(|i| (**i).clone())
                .into_iter()
                .collect();
            v.extend(
                l.closed
                    .iter()
                    .rev()
                    .filter(|i| i.target == name)
                    .map(|i| (**i).clone()),
            );
            v.truncate(limit);
            v
        })
    }
}
