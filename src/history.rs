//! The last rounds of every target, for the status page's sparklines.
//!
//! An [`Output`] of the pipeline (src/pipeline.rs): each finished round adds one [`Point`] to
//! its target's ring, and the ring never grows past its capacity, so memory is bounded by
//! `targets × capacity × size_of::<Point>()` (10,000 targets × 60 points × 16 bytes ≈ 10 MB)
//! however long the daemon runs. Re-judgements without a round of their own add nothing.

use std::collections::{HashMap, VecDeque};
use std::sync::RwLock;
use std::time::{SystemTime, UNIX_EPOCH};

use crate::config::Target;
use crate::output::{JudgedRound, Output};

pub use crate::limits::HISTORY_ROUNDS as DEFAULT_CAPACITY;

/// One round as the page draws it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Point {
    /// When the round finished, milliseconds since the Unix epoch.
    pub at_ms: u64,
    /// The user-facing latency: the HTTP exchange when there is one, else the slowest check.
    pub millis: f32,
    /// Every check of the round passed.
    pub ok: bool,
    /// Health after the thresholds, as judged at that round.
    pub healthy: bool,
}

/// A bounded ring of points per target.
pub struct History {
    capacity: usize,
    rings: RwLock<HashMap<String, VecDeque<Point>>>,
}

impl History {
    /// `capacity` is clamped to at least 1.
    pub fn new(capacity: usize) -> History {
        History {
            capacity: capacity.max(1),
            rings: RwLock::new(HashMap::new()),
        }
    }

    /// Adds a point, dropping the oldest once the ring is full.
    pub fn push(&self, target: &str, p: Point) {
        let mut rings = crate::sync::write(&self.rings, "history");
        let ring = match rings.get_mut(target) {
            Some(r) => r,
            None => rings
                .entry(target.to_string())
                .or_insert_with(|| VecDeque::with_capacity(self.capacity)),
        };
        while ring.len() >= self.capacity {
            ring.pop_front();
        }
        ring.push_back(p);
    }

    /// The target's points, oldest first (empty for an unknown target).
    pub fn points(&self, target: &str) -> Vec<Point> {
        crate::sync::read(&self.rings, "history")
            .get(target)
            .map(|ring| ring.iter().copied().collect())
            .unwrap_or_default()
    }

    /// Every target's points, oldest first (persisted by `crate::availability`).
    pub fn all(&self) -> Vec<(String, Vec<Point>)> {
        crate::sync::read(&self.rings, "history")
            .iter()
            .map(|(k, v)| (k.clone(), v.iter().copied().collect()))
            .collect()
    }

    /// The point a finished round adds (`publish`; the availability writer persists it).
    pub fn point(round: &JudgedRound) -> Point {
        let measured = crate::checked::measured(&round.evidence);
        Point {
            at_ms: epoch_ms(round.at),
            millis: measured.map_or(0.0, |e| e.duration.as_secs_f32() * 1000.0),
            ok: round.evidence.iter().all(crate::checked::Checked::success),
            healthy: round.diagnosis.healthy,
        }
    }

    pub fn capacity(&self) -> usize {
        self.capacity
    }

    pub fn remove(&self, target: &str) {
        crate::sync::write(&self.rings, "history").remove(target);
    }
}

impl Default for History {
    fn default() -> History {
        History::new(DEFAULT_CAPACITY)
    }
}

impl Output for History {
    fn name(&self) -> &'static str {
        "history"
    }

    fn publish(&self, round: &JudgedRound) {
        if round.rejudged() {
            return;
        }
        self.push(&round.target.name, History::point(round));
    }

    fn retire(&self, target: &Target) {
        self.remove(&target.name);
    }
}

/// Milliseconds since the epoch of `t` (0 before 1970).
pub fn epoch_ms(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(i: u64) -> Point {
        Point {
            at_ms: i,
            millis: i as f32,
            ok: i % 3 != 0,
            healthy: true,
        }
    }

    #[test]
    fn a_ring_keeps_only_its_newest_points() {
        let h = History::new(5);
        for i in 0..1000 {
            h.push("a", p(i));
        }
        let pts = h.points("a");
        assert_eq!(pts.len(), 5, "bounded by the capacity");
        let at: Vec<u64> = pts.iter().map(|p| p.at_ms).collect();
        assert_eq!(
            at,
            vec![995, 996, 997, 998, 999],
            "oldest first, newest kept"
        );
        assert!(h.points("b").is_empty());
    }

    #[test]
    fn rings_are_per_target_and_removed_with_it() {
        let h = History::new(3);
        h.push("a", p(1));
        h.push("b", p(2));
        h.push("b", p(3));
        assert_eq!(h.points("a").len(), 1);
        assert_eq!(h.points("b").len(), 2);
        h.remove("b");
        assert!(h.points("b").is_empty());
        assert_eq!(h.points("a").len(), 1);
        assert_eq!(History::new(0).capacity(), 1);
    }
}
