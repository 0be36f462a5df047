//! The last verdicts of one target, with threshold hysteresis and flapping detection.
//!
//! Only the newest verdict (and the newest failing one) is kept whole; of the rounds before
//! it, flapping needs only pass or fail, kept as bits. At 10,000 targets, ten whole verdicts
//! (reasons, symptoms, warnings) per target were 16 MB for one bit each.

use super::RoundVerdict;
use crate::limits::{FLAP_CHANGES, FLAP_WINDOW};

// The pass/fail bits of the window are kept in a `u16`.
const _: () = assert!(FLAP_WINDOW >= 2 && FLAP_WINDOW <= u16::BITS);

#[derive(Debug, Clone)]
pub struct Window {
    latest: Option<RoundVerdict>,
    /// Pass (1) or fail (0) of the last `min(rounds, FLAP_WINDOW)` rounds, newest in bit 0.
    passes: u16,
    failure_threshold: u32,
    success_threshold: u32,
    healthy: bool,
    consecutive_failures: u32,
    consecutive_successes: u32,
    rounds: u64,
    /// The most recent failing verdict, kept after it leaves the window: while a target
    /// recovers it is still the explanation.
    last_failure: Option<RoundVerdict>,
}

impl Window {
    /// A new window. Targets start healthy: they are failed only after `failure_threshold`
    /// failing rounds in a row.
    pub fn new(failure_threshold: u32, success_threshold: u32) -> Window {
        Window {
            latest: None,
            passes: 0,
            failure_threshold: failure_threshold.max(1),
            success_threshold: success_threshold.max(1),
            healthy: true,
            consecutive_failures: 0,
            consecutive_successes: 0,
            rounds: 0,
            last_failure: None,
        }
    }

    /// Adds a round's verdict; returns the new health when it flipped.
    pub fn push(&mut self, v: RoundVerdict) -> Option<bool> {
        self.rounds += 1;
        if v.ok {
            self.consecutive_successes += 1;
            self.consecutive_failures = 0;
        } else {
            self.consecutive_failures += 1;
            self.consecutive_successes = 0;
            self.last_failure = Some(v.clone());
        }
        self.passes = (self.passes << 1 | u16::from(v.ok)) & ((1 << FLAP_WINDOW) - 1);
        self.latest = Some(v);
        let flip = if self.healthy && self.consecutive_failures >= self.failure_threshold {
            Some(false)
        } else if !self.healthy && self.consecutive_successes >= self.success_threshold {
            Some(true)
        } else {
            None
        };
        if let Some(h) = flip {
            self.healthy = h;
        }
        flip
    }

    pub fn healthy(&self) -> bool {
        self.healthy
    }

    /// Changed between pass and fail at least `FLAP_CHANGES` (4) times in the last rounds.
    pub fn flapping(&self) -> bool {
        let kept = self.rounds.min(u64::from(FLAP_WINDOW)) as u32;
        // Neighbouring rounds that differ: bits of passes ^ (passes >> 1), within the kept.
        let pairs = kept.saturating_sub(1);
        let mask = (1u16 << pairs) - 1;
        ((self.passes ^ (self.passes >> 1)) & mask).count_ones() >= FLAP_CHANGES
    }

    pub fn latest(&self) -> Option<&RoundVerdict> {
        self.latest.as_ref()
    }

    pub fn last_failure(&self) -> Option<&RoundVerdict> {
        self.last_failure.as_ref()
    }

    pub fn rounds(&self) -> u64 {
        self.rounds
    }

    pub fn consecutive_failures(&self) -> u32 {
        self.consecutive_failures
    }
}
