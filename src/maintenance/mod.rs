//! Maintenance windows (`[[maintenance]]`): when a provider or target is expected to fail,
//! so that its failures page nobody and do not count against its availability.
//!
//! A window is one-off (`start`/`end`, RFC 3339) or weekly (`weekly = "Sun 01:00-03:00"` in
//! `timezone`). Weekly windows are computed in the named zone from the tz database compiled
//! into the binary (jiff's `tzdb-bundle-always`): a provider announces its night window in
//! its own local time, and a DST change must move the window with the wall clock, not keep
//! its UTC offset. Everything here is pure: `now` is passed in as Unix milliseconds.
//!
//! [`Live`] holds the schedule of the running plan (swapped on SIGHUP); the alert engine,
//! incidents, availability and the API ask it. `src/alerts/maintenance.rs` turns window starts
//! and ends into notifications, `gauge.rs` exports `payprobe_maintenance_active`.

mod weekly;

use std::sync::{Arc, RwLock};

use serde::Serialize;

pub use weekly::{parse_weekly, Weekly};

/// One `[[maintenance]]` entry, validated.
#[derive(Debug, Clone)]
pub struct Window {
    pub name: String,
    /// Providers it covers; with `targets` empty too, it covers every target.
    pub providers: Vec<String>,
    pub targets: Vec<String>,
    pub when: When,
}

#[derive(Debug, Clone)]
pub enum When {
    /// `start`/`end`: one interval, Unix milliseconds, `start < end`.
    Once { start_ms: i64, end_ms: i64 },
    /// `weekly` in `timezone`.
    Weekly(Weekly),
}

/// One occurrence of a window: `[start_ms, end_ms)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Occurrence {
    pub start_ms: i64,
    pub end_ms: i64,
}

impl Occurrence {
    pub fn contains(&self, ms: i64) -> bool {
        self.start_ms <= ms && ms < self.end_ms
    }
}

impl Window {
    /// Whether the window is about this target (by name or by provider).
    pub fn applies(&self, target: &str, provider: &str) -> bool {
        (self.providers.is_empty() && self.targets.is_empty())
            || self.targets.iter().any(|t| t == target)
            || self.providers.iter().any(|p| p == provider)
    }

    /// Occurrences that overlap `[from_ms, to_ms)`, in time order.
    pub fn occurrences(&self, from_ms: i64, to_ms: i64) -> Vec<Occurrence> {
        match &self.when {
            When::Once { start_ms, end_ms } => {
                let o = Occurrence {
                    start_ms: *start_ms,
                    end_ms: *end_ms,
                };
                if o.end_ms > from_ms && o.start_ms < to_ms {
                    vec![o]
                } else {
                    Vec::new()
                }
            }
            When::Weekly(w) => w.occurrences(from_ms, to_ms),
        }
    }

    /// The occurrence holding `now_ms`, if any.
    pub fn active_at(&self, now_ms: i64) -> Option<Occurrence> {
        self.occurrences(now_ms, now_ms.saturating_add(1))
            .into_iter()
            .find(|o| o.contains(now_ms))
    }

    /// The occurrence going on at `now_ms`, else the next one (within `HORIZON_MS`).
    pub fn current_or_next(&self, now_ms: i64) -> Option<Occurrence> {
        self.occurrences(now_ms, now_ms.saturating_add(HORIZON_MS))
            .into_iter()
            .find(|o| o.end_ms > now_ms)
    }
}

pub use crate::limits::MAINTENANCE_HORIZON_MS as HORIZON_MS;

/// The windows of one plan.
#[derive(Debug, Clone, Default)]
pub struct Schedule {
    pub windows: Vec<Window>,
}

/// A window as the API and the page list it.
#[derive(Debug, Clone, Serialize)]
pub struct Listed {
    pub name: String,
    pub providers: Vec<String>,
    pub targets: Vec<String>,
    /// `once` or the weekly spec as written (`Sun 01:00-03:00`).
    pub recurrence: String,
    pub timezone: Option<String>,
    pub start: String,
    pub end: String,
    pub active: bool,
}

impl Schedule {
    /// The window covering this target at `now_ms` (the first in file order).
    pub fn covering(&self, target: &str, provider: &str, now_ms: i64) -> Option<&Window> {
        self.windows
            .iter()
            .find(|w| w.applies(target, provider) && w.active_at(now_ms).is_some())
    }

    /// The windows running at `now_ms` (computed once, then matched against many targets).
    pub fn active(&self, now_ms: i64) -> Vec<&Window> {
        self.windows
            .iter()
            .filter(|w| w.active_at(now_ms).is_some())
            .collect()
    }

    /// Every window's current or next occurrence, soonest first.
    pub fn upcoming(&self, now_ms: i64) -> Vec<Listed> {
        let mut v: Vec<(Occurrence, Listed)> = self
            .windows
            .iter()
            .filter_map(|w| {
                let o = w.current_or_next(now_ms)?;
                let (recurrence, timezone) = match &w.when {
                    When::Once { .. } => ("once".to_string(), None),
                    When::Weekly(k) => (k.spec.clone(), Some(k.tz_name.clone())),
                };
                Some((
                    o,
                    Listed {
                        name: w.name.clone(),
                        providers: w.providers.clone(),
                        targets: w.targets.clone(),
                        recurrence,
                        timezone,
                        start: rfc3339(o.start_ms),
                        end: rfc3339(o.end_ms),
                        active: o.contains(now_ms),
                    },
                ))
            })
            .collect();
        v.sort_by(|a, b| (a.0, &a.1.name).cmp(&(b.0, &b.1.name)));
        v.into_iter().map(|(_, l)| l).collect()
    }
}

/// Total over any millisecond count (`crate::timefmt`).
pub fn rfc3339(ms: i64) -> String {
    crate::timefmt::rfc3339_ms_signed(ms)
}

/// Now, as the schedule counts time.
pub fn now_ms() -> i64 {
    i64::try_from(crate::timefmt::unix_ms(std::time::SystemTime::now())).unwrap_or(i64::MAX)
}

/// The schedule of the running plan, swapped whole on a reload.
#[derive(Debug, Default)]
pub struct Live {
    schedule: RwLock<Arc<Schedule>>,
    /// (target, provider) of the plan, for `payprobe_maintenance_active`.
    targets: RwLock<Arc<Vec<(String, String)>>>,
}

impl Live {
    pub fn new(schedule: &Schedule, targets: Vec<(String, String)>) -> Arc<Live> {
        let live = Arc::new(Live::default());
        live.apply(schedule, targets);
        live
    }

    /// Takes the windows and the (target, provider) pairs of a (re)loaded plan.
    pub fn apply(&self, schedule: &Schedule, targets: Vec<(String, String)>) {
        *crate::sync::write(&self.targets, "maintenance") = Arc::new(targets);
        self.set(schedule.clone());
    }

    pub fn get(&self) -> Arc<Schedule> {
        crate::sync::read(&self.schedule, "maintenance").clone()
    }

    pub fn set(&self, s: Schedule) {
        *crate::sync::write(&self.schedule, "maintenance") = Arc::new(s);
    }

    /// (target, provider) of the running plan.
    pub fn targets(&self) -> Arc<Vec<(String, String)>> {
        crate::sync::read(&self.targets, "maintenance").clone()
    }

    /// The name of the window covering this target at `now_ms`.
    pub fn covering(&self, target: &str, provider: &str, now_ms: i64) -> Option<String> {
        let s = self.get();
        s.covering(target, provider, now_ms).map(|w| w.name.clone())
    }
}

#[cfg(test)]
mod tests;
