//! Per-target rollups: counts of rounds per UTC hour (the last 24) and per UTC day (the
//! last 31), enough for the `1d`, `7d` and `30d` windows and the page's 30-day strip at a
//! fixed 880 bytes a target.
//!
//! Availability is *rounds judged healthy over rounds*, maintenance excluded: a round taken
//! while a `[[maintenance]]` window covers the target counts in `maintenance` only, neither
//! as healthy nor as a round. `1d` is the current hour and the 23 before it; `7d` and `30d`
//! are the current UTC day and the 6 (29) before it.

use serde::Serialize;

pub const HOUR_MS: i64 = 3_600_000;
pub const DAY_MS: i64 = 86_400_000;
const HOURS: usize = 24;
const DAYS: usize = 31;

/// Rounds in one bucket.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Counts {
    /// Rounds judged healthy, outside maintenance.
    pub healthy: u32,
    /// Rounds outside maintenance.
    pub rounds: u32,
    /// Rounds inside a maintenance window (excluded from the ratio).
    pub maintenance: u32,
}

impl Counts {
    pub fn add(&mut self, o: Counts) {
        self.healthy = self.healthy.saturating_add(o.healthy);
        self.rounds = self.rounds.saturating_add(o.rounds);
        self.maintenance = self.maintenance.saturating_add(o.maintenance);
    }

    /// Healthy over rounds; `None` without a round outside maintenance.
    pub fn ratio(&self) -> Option<f64> {
        (self.rounds > 0).then(|| f64::from(self.healthy) / f64::from(self.rounds))
    }
}

/// A bucket's grain: which ring it belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Grain {
    Hour,
    Day,
}

impl Grain {
    pub fn index(self, ms: i64) -> u32 {
        let len = match self {
            Grain::Hour => HOUR_MS,
            Grain::Day => DAY_MS,
        };
        u32::try_from(ms.max(0) / len).unwrap_or(u32::MAX)
    }
}

/// The windows availability is given over (the `window` label).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Span {
    D1,
    D7,
    D30,
}

impl Span {
    pub const ALL: [Span; 3] = [Span::D1, Span::D7, Span::D30];

    pub fn as_str(self) -> &'static str {
        match self {
            Span::D1 => "1d",
            Span::D7 => "7d",
            Span::D30 => "30d",
        }
    }

    pub fn parse(s: &str) -> Option<Span> {
        Span::ALL.into_iter().find(|w| w.as_str() == s)
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Rollup {
    hours: [(u32, Counts); HOURS],
    days: [(u32, Counts); DAYS],
}

impl Default for Rollup {
    fn default() -> Self {
        Rollup {
            hours: [(0, Counts::default()); HOURS],
            days: [(0, Counts::default()); DAYS],
        }
    }
}

impl Rollup {
    fn slot(&mut self, g: Grain, idx: u32) -> &mut (u32, Counts) {
        match g {
            Grain::Hour => &mut self.hours[idx as usize % HOURS],
            Grain::Day => &mut self.days[idx as usize % DAYS],
        }
    }

    /// Counts one round at `at_ms`.
    pub fn record(&mut self, at_ms: i64, healthy: bool, maintenance: bool) {
        let one = Counts {
            healthy: u32::from(healthy && !maintenance),
            rounds: u32::from(!maintenance),
            maintenance: u32::from(maintenance),
        };
        for g in [Grain::Hour, Grain::Day] {
            let idx = g.index(at_ms);
            let s = self.slot(g, idx);
            if s.0 != idx {
                // A slot of an older hour or day: that bucket has left the window.
                if s.0 > idx {
                    continue; // a round older than what the slot holds: out of every window
                }
                *s = (idx, Counts::default());
            }
            s.1.add(one);
        }
    }

    /// Sets one bucket (replaying the file); a slot holding a newer bucket keeps it.
    pub fn set(&mut self, g: Grain, idx: u32, c: Counts) {
        let s = self.slot(g, idx);
        if s.0 <= idx {
            *s = (idx, c);
        }
    }

    /// The bucket `idx` of grain `g`, if held.
    pub fn get(&self, g: Grain, idx: u32) -> Option<Counts> {
        let s = match g {
            Grain::Hour => self.hours[idx as usize % HOURS],
            Grain::Day => self.days[idx as usize % DAYS],
        };
        (s.0 == idx && s.1 != Counts::default()).then_some(s.1)
    }

    /// Every non-empty bucket (for compaction).
    pub fn buckets(&self) -> impl Iterator<Item = (Grain, u32, Counts)> + '_ {
        let h = self.hours.iter().map(|(i, c)| (Grain::Hour, *i, *c));
        let d = self.days.iter().map(|(i, c)| (Grain::Day, *i, *c));
        h.chain(d).filter(|(_, _, c)| *c != Counts::default())
    }

    /// The counts over `span` ending at `now_ms`.
    pub fn over(&self, span: Span, now_ms: i64) -> Counts {
        let (g, n) = match span {
            Span::D1 => (Grain::Hour, 24),
            Span::D7 => (Grain::Day, 7),
            Span::D30 => (Grain::Day, 30),
        };
        let last = g.index(now_ms);
        let mut sum = Counts::default();
        for idx in (last.saturating_sub(n - 1)..=last).rev().take(n as usize) {
            if let Some(c) = self.get(g, idx) {
                sum.add(c);
            }
        }
        sum
    }

    /// The last `n` UTC days, oldest first: (day index, counts).
    pub fn strip(&self, now_ms: i64, n: u32) -> Vec<(u32, Counts)> {
        let last = Grain::Day.index(now_ms);
        (last.saturating_sub(n.saturating_sub(1))..=last)
            .map(|d| (d, self.get(Grain::Day, d).unwrap_or_default()))
            .collect()
    }
}

/// The error budget left over `counts` for objective `slo`: 1 when no round failed, 0 when
/// the failures used it all, negative past it.
pub fn budget_remaining(counts: Counts, slo: f64) -> Option<f64> {
    let a = counts.ratio()?;
    Some(1.0 - (1.0 - a) / (1.0 - slo))
}
