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
use crate::limits::{ROLLUP_DAYS as DAYS, ROLLUP_HOURS as HOURS};

// The rings must hold the longest window of each grain (`Span::grain`: 24 hours, 30 days).
const _: () = assert!(HOURS >= 24 && DAYS >= 30);

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

    /// How long the span is at `now_ms`: from the start of its oldest bucket (an hour or a
    /// UTC day) to now.
    pub fn length_ms(self, now_ms: i64) -> i64 {
        let (g, n, len) = self.grain();
        let first = g.index(now_ms).saturating_sub(n - 1);
        (now_ms - i64::from(first) * len).max(0)
    }

    /// Rounds the span holds at `now_ms` for targets probed every `intervals` (one each).
    pub fn slices(self, now_ms: i64, intervals: impl Iterator<Item = std::time::Duration>) -> f64 {
        let length = self.length_ms(now_ms) as f64;
        intervals
            .map(|i| length / (i.as_secs_f64() * 1000.0).max(1.0))
            .sum()
    }

    /// The buckets the span adds: their grain, how many, and a bucket's length.
    fn grain(self) -> (Grain, u32, i64) {
        match self {
            Span::D1 => (Grain::Hour, 24, HOUR_MS),
            Span::D7 => (Grain::Day, 7, DAY_MS),
            Span::D30 => (Grain::Day, 30, DAY_MS),
        }
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
        let (g, n, _) = span.grain();
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

/// The error budget left over the `30d` window for objective `slo`: 1 when no round failed,
/// 0 when the failures used it all, negative past it; `None` without a round.
///
/// Rounds are time slices: each stands for one interval of the gateway's life, and the
/// objective allows `1 - slo` of the window's slices to fail (43 minutes of 30 days at
/// 0.999). `slices` is how many the window holds at the targets' intervals
/// ([`Span::slices`]); less the rounds taken in maintenance, which the objective does not
/// cover, that is the allowance's base, or the rounds counted when there were more (an
/// interval shortened by a reload).
///
/// Why not failed over counted rounds (`1 - (1 - availability) / (1 - slo)`, what this
/// was): that divides by the history there is, so a minute of it stood for the month. One
/// failed round of the first four read as −24,900% at 0.999, and
/// `PaymentAvailabilityBudgetExhausted` ticketed a gateway that had been down 15 seconds.
/// Nor a blank until enough history: a gateway down for the first two hours has really spent
/// 278% of a 0.999 budget, and an SRE must see that on the first day, not the thirtieth. With
/// the window's allowance each failed round spends the same share of the budget on any day,
/// and with 30 days of rounds the figure is the ratio's. Time payprobe did not watch (before
/// its first round, or while stopped) spends nothing, since nothing was seen failing: the
/// `rounds` beside the figure say how much it saw.
pub fn budget_remaining(counts: Counts, slo: f64, slices: f64) -> Option<f64> {
    if counts.rounds == 0 {
        return None;
    }
    let base = (slices - f64::from(counts.maintenance)).max(f64::from(counts.rounds));
    let failed = f64::from(counts.rounds.saturating_sub(counts.healthy));
    Some(1.0 - failed / ((1.0 - slo) * base))
}
