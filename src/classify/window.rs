//! The last verdicts of one target, with threshold hysteresis and flapping detection.

use std::collections::VecDeque;

use super::RoundVerdict;

/// Verdicts kept for flapping detection.
const FLAP_WINDOW: usize = 10;
/// Pass/fail changes within `FLAP_WINDOW` (10) rounds that make a target "flapping".
const FLAP_CHANGES: usize = 4;

#[derive(Debug, Clone)]
pub struct Window {
    verdicts: VecDeque<RoundVerdict>,
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
            verdicts: VecDeque::with_capacity(FLAP_WINDOW),
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
        if self.verdicts.len() == FLAP_WINDOW {
            self.verdicts.pop_front();
        }
        self.verdicts.push_back(v);
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
        let changes = self
            .verdicts
            .iter()
            .zip(self.verdicts.iter().skip(1))
            .filter(|(a, b)| a.ok != b.ok)
            .count();
        changes >= FLAP_CHANGES
    }

    pub fn latest(&self) -> Option<&RoundVerdict> {
        self.verdicts.back()
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
