//! A reader of incident events that keeps its own ledger (the alert engine's view).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use tokio::sync::mpsc::Receiver;

use super::ledger::{Ledger, Stamped};
use super::Incidents;

/// What offering an event to a follower's queue did.
pub(super) enum Offer {
    Taken,
    /// Its queue is full: it is marked behind and rebuilds from a snapshot.
    Full,
    /// The follower is gone (a restarted alert engine left its old queue): dropped.
    Gone,
}

/// A reader of the events: offered each one under the book's lock (so in order).
pub(super) struct Subscriber {
    pub(super) name: &'static str,
    pub(super) offer: Box<dyn Fn(Arc<Stamped>) -> Offer + Send + Sync>,
    pub(super) behind: Arc<AtomicBool>,
}

/// Its own copy of the incidents, kept current by the book's events: reading it takes no
/// lock of the book and copies nothing per tick (the engine used to clone every open
/// incident each second).
pub struct Follower {
    rx: Receiver<Arc<Stamped>>,
    behind: Arc<AtomicBool>,
    seq: u64,
    ledger: Ledger,
}

impl Follower {
    pub(super) fn new(
        rx: Receiver<Arc<Stamped>>,
        behind: Arc<AtomicBool>,
        seq: u64,
        ledger: Ledger,
    ) -> Follower {
        Follower {
            rx,
            behind,
            seq,
            ledger,
        }
    }

    pub fn ledger(&self) -> &Ledger {
        &self.ledger
    }

    /// The number of the last event applied.
    pub fn seq(&self) -> u64 {
        self.seq
    }

    /// Waits for the next event and applies it; `false` once the book is gone.
    pub async fn next(&mut self) -> bool {
        match self.rx.recv().await {
            Some(s) => {
                self.take(&s);
                true
            }
            None => false,
        }
    }

    /// Applies every event waiting, and rebuilds from the book if events were lost;
    /// returns how many events it took.
    pub fn catch_up(&mut self, book: &Incidents) -> usize {
        if self.behind.swap(false, Ordering::AcqRel) {
            (self.seq, self.ledger) = book.ledger();
        }
        let mut n = 0;
        while let Ok(s) = self.rx.try_recv() {
            self.take(&s);
            n += 1;
        }
        n
    }

    fn take(&mut self, s: &Stamped) {
        if s.seq > self.seq {
            self.ledger.apply(&s.event);
            self.seq = s.seq;
        }
    }
}
