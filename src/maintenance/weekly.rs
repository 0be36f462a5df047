//! Weekly windows: `"Sun 01:00-03:00"` in a named time zone.
//!
//! An end at or before the start means the window crosses midnight (`"Sat 23:00-01:00"`
//! ends on Sunday). Wall-clock times that a DST change skips or repeats are resolved the
//! way RFC 5545 and Python's `zoneinfo` (fold 0) do: a skipped time moves forward by the
//! gap, a repeated time takes its first occurrence.

use jiff::civil::{Date, Time, Weekday};
use jiff::tz::TimeZone;
use jiff::Timestamp;

use super::Occurrence;

/// A validated weekly spec.
#[derive(Debug, Clone)]
pub struct Weekly {
    pub day: Weekday,
    pub start: Time,
    pub end: Time,
    pub tz: TimeZone,
    /// The zone as written (`Asia/Shanghai`).
    pub tz_name: String,
    /// The spec as written, for the API and the page.
    pub spec: String,
}

const DAYS: [(&str, Weekday); 7] = [
    ("mon", Weekday::Monday),
    ("tue", Weekday::Tuesday),
    ("wed", Weekday::Wednesday),
    ("thu", Weekday::Thursday),
    ("fri", Weekday::Friday),
    ("sat", Weekday::Saturday),
    ("sun", Weekday::Sunday),
];

/// `HH:MM`, 00:00 to 23:59.
fn hhmm(s: &str) -> Option<Time> {
    let (h, m) = s.split_once(':')?;
    if h.len() != 2 || m.len() != 2 {
        return None;
    }
    let (h, m): (i8, i8) = (h.parse().ok()?, m.parse().ok()?);
    Time::new(h, m, 0, 0).ok()
}

/// `Day HH:MM-HH:MM` → (day, start, end); the message says what is expected.
pub fn parse_weekly(spec: &str) -> Result<(Weekday, Time, Time), String> {
    let bad = || {
        format!("`weekly` = {spec:?}: expected `Day HH:MM-HH:MM` (e.g. \"Sun 01:00-03:00\"), Day one of Mon Tue Wed Thu Fri Sat Sun")
    };
    let (day, range) = spec.trim().split_once(' ').ok_or_else(bad)?;
    let day = DAYS
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(day))
        .map(|(_, d)| *d)
        .ok_or_else(bad)?;
    let (a, b) = range.trim().split_once('-').ok_or_else(bad)?;
    let (start, end) = (
        hhmm(a.trim()).ok_or_else(bad)?,
        hhmm(b.trim()).ok_or_else(bad)?,
    );
    if start == end {
        return Err(format!(
            "`weekly` = {spec:?}: the window starts and ends at the same time"
        ));
    }
    Ok((day, start, end))
}

impl Weekly {
    /// The instant of a wall-clock time on `date` in the zone (see the module comment).
    fn instant(&self, date: Date, t: Time) -> Option<i64> {
        let z = self.tz.to_zoned_datetime(date.to_datetime(t)).ok()?;
        Some(z.timestamp().as_millisecond())
    }

    fn local_date(&self, ms: i64) -> Option<Date> {
        let ts = Timestamp::from_millisecond(ms).ok()?;
        Some(ts.to_zoned_datetime(self.tz.clone()).date())
    }

    /// The occurrence starting on local `date` (which is the window's weekday).
    fn on(&self, date: Date) -> Option<Occurrence> {
        let end_date = if self.end <= self.start {
            date.tomorrow().ok()?
        } else {
            date
        };
        let o = Occurrence {
            start_ms: self.instant(date, self.start)?,
            end_ms: self.instant(end_date, self.end)?,
        };
        // A window inside a DST gap can come out empty; it then has no occurrence.
        (o.end_ms > o.start_ms).then_some(o)
    }

    /// Occurrences overlapping `[from_ms, to_ms)`. Walks local days from a day before
    /// `from` (a window that started the day before may still run) to a day after `to`;
    /// the walk is bounded by `limits::MAINTENANCE_SCAN_DAYS`.
    pub fn occurrences(&self, from_ms: i64, to_ms: i64) -> Vec<Occurrence> {
        let (Some(first), Some(last)) = (self.local_date(from_ms), self.local_date(to_ms)) else {
            return Vec::new();
        };
        let mut out = Vec::new();
        let Ok(mut d) = first.yesterday() else {
            return out;
        };
        for _ in 0..crate::limits::MAINTENANCE_SCAN_DAYS {
            if d > last {
                break;
            }
            if d.weekday() == self.day {
                if let Some(o) = self
                    .on(d)
                    .filter(|o| o.end_ms > from_ms && o.start_ms < to_ms)
                {
                    out.push(o);
                }
            }
            match d.tomorrow() {
                Ok(n) => d = n,
                Err(_) => break,
            }
        }
        out
    }
}
