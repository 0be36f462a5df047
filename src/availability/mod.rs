//! Availability and error budget per target and per provider, kept across restarts.
//!
//! An [`Output`] of the pipeline: each finished round (not a re-judgement) is one tally —
//! healthy when every check of it passed its conditions (the verdict stage's judgement;
//! `failure_threshold`, which decides paging, plays no part), or not — inside a `[[maintenance]]` window or not — handed to a bounded
//! channel without waiting (a full channel drops the tally and counts it). The writer task
//! (`writer.rs`, supervised) adds the tallies to each target's [`rollup::Rollup`] and,
//! every `AVAILABILITY_FLUSH`, appends the buckets that changed to the rollup file
//! (`store.rs`), compacting it when it has grown. `expose.rs` writes the Prometheus
//! families; the API, the page and the badges read [`Availability::view`].
//! See docs/architecture.md, "Availability".

mod expose;
pub mod points;
pub mod rollup;
pub mod store;
mod writer;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};

use serde::Serialize;
use tokio::sync::mpsc;

pub use rollup::{budget_remaining, Counts, Rollup, Span};

use crate::config::Target;
use crate::maintenance::Live;
use crate::output::{JudgedRound, Output};

/// One round, as the writer counts it.
#[derive(Debug)]
pub struct Tally {
    pub target: String,
    pub at_ms: i64,
    pub healthy: bool,
    pub maintenance: bool,
    /// The round as the status page draws it, persisted for its history.
    pub point: crate::history::Point,
}

/// What the writer task and the readers share.
pub struct Availability {
    tx: mpsc::Sender<Tally>,
    rx: tokio::sync::Mutex<mpsc::Receiver<Tally>>,
    book: Mutex<HashMap<String, Rollup>>,
    /// Rounds and failed rounds outside maintenance since start, per target: the counters
    /// the burn-rate rules take `rate()` of.
    totals: Mutex<HashMap<String, [u64; 2]>>,
    dir: PathBuf,
    /// The plan's targets (what is exported; rollups of removed targets age out).
    targets: RwLock<Arc<Vec<Arc<Target>>>>,
    maintenance: Arc<Live>,
    pub(crate) dropped: AtomicU64,
    pub(crate) write_errors: AtomicU64,
    /// The rollup file (`None` until opened, or when it cannot be).
    log: Mutex<Option<store::Log>>,
    /// Buckets changed since the last flush.
    dirty: Mutex<writer::Dirty>,
    /// The page's recent rounds: their log, and the rounds not yet in it.
    points: Mutex<Option<points::PointLog>>,
    pending_points: Mutex<Vec<(String, crate::history::Point)>>,
    history: std::sync::OnceLock<Arc<crate::history::History>>,
}

/// One target's or provider's figures, as the API, the page and the badge show them.
#[derive(Debug, Clone, Serialize)]
pub struct Figures {
    pub name: String,
    /// `target` or `provider`.
    pub kind: &'static str,
    pub provider: String,
    /// Healthy over rounds per window (`1d`, `7d`, `30d`); absent without a round.
    pub availability: std::collections::BTreeMap<&'static str, f64>,
    pub rounds: std::collections::BTreeMap<&'static str, Counts>,
    pub slo: Option<f64>,
    /// Over `30d`, when an objective is set: failed rounds against the failures the
    /// objective allows in the window's rounds at the targets' intervals (see
    /// [`budget_remaining`]).
    pub error_budget_remaining: Option<f64>,
    /// The last 30 UTC days, oldest first.
    pub days: Vec<Day>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Day {
    /// `YYYY-MM-DD` (UTC).
    pub date: String,
    pub availability: Option<f64>,
    #[serde(flatten)]
    pub counts: Counts,
}

impl Availability {
    /// Availability kept under `state_dir`; [`start_writer`] replays the file (a failure is
    /// logged: availability then starts empty, probing goes on) and starts the writer.
    pub fn open(state_dir: &Path, targets: &[Arc<Target>], maintenance: Arc<Live>) -> Arc<Self> {
        let (tx, rx) = mpsc::channel(crate::limits::AVAILABILITY_QUEUE);
        let a = Availability {
            tx,
            rx: tokio::sync::Mutex::new(rx),
            book: Mutex::new(HashMap::new()),
            totals: Mutex::new(HashMap::new()),
            dir: state_dir.to_path_buf(),
            targets: RwLock::new(Arc::new(targets.to_vec())),
            maintenance,
            dropped: AtomicU64::new(0),
            write_errors: AtomicU64::new(0),
            log: Mutex::new(None),
            dirty: Mutex::new(writer::Dirty::new()),
            points: Mutex::new(None),
            pending_points: Mutex::new(Vec::new()),
            history: std::sync::OnceLock::new(),
        };
        Arc::new(a)
    }

    /// Writes what is counted and not yet on disk (at a clean stop: nothing counted is lost).
    pub fn flush(&self, metrics: &crate::metrics::Metrics) {
        writer::flush(self, metrics);
    }

    /// The targets of the plan in force (called on every reload).
    pub fn set_targets(&self, targets: &[Arc<Target>]) {
        *crate::sync::write(&self.targets, "availability targets") = Arc::new(targets.to_vec());
    }

    fn targets(&self) -> Arc<Vec<Arc<Target>>> {
        crate::sync::read(&self.targets, "availability targets").clone()
    }

    /// Counts one round (tests, and the writer).
    pub fn apply(&self, t: &Tally) {
        if !t.maintenance {
            let mut totals = crate::sync::lock(&self.totals, "availability totals");
            let n = totals.entry(t.target.clone()).or_default();
            n[0] += 1;
            n[1] += u64::from(!t.healthy);
        }
        let mut b = crate::sync::lock(&self.book, "availability");
        match b.get_mut(&t.target) {
            Some(r) => r.record(t.at_ms, t.healthy, t.maintenance),
            None => {
                let mut r = Rollup::default();
                r.record(t.at_ms, t.healthy, t.maintenance);
                b.insert(t.target.clone(), r);
            }
        }
    }

    /// One target's or provider's figures at `now_ms`; `None` for an unknown name.
    /// A target wins over a provider of the same name.
    pub fn view(&self, name: &str, now_ms: i64) -> Option<Figures> {
        let targets = self.targets();
        let b = crate::sync::lock(&self.book, "availability");
        let empty = Rollup::default();
        if let Some(t) = targets.iter().find(|t| t.name == name) {
            let r = b.get(name).unwrap_or(&empty);
            return Some(figures(
                name,
                "target",
                &t.provider,
                &[r],
                objective(&[t], t.slo, now_ms),
                now_ms,
                true,
            ));
        }
        let members: Vec<&Arc<Target>> = targets
            .iter()
            .filter(|t| t.provider == name && !t.control)
            .collect();
        if members.is_empty() {
            return None;
        }
        let rs: Vec<&Rollup> = members.iter().filter_map(|t| b.get(&t.name)).collect();
        let o = objective(&members, common_slo(&members), now_ms);
        Some(figures(name, "provider", name, &rs, o, now_ms, true))
    }

    /// Every target's and then every provider's figures, in one pass under one lock (a
    /// scrape of 10,000 targets must not search the list per target). `days`: with the
    /// 30-day strip (the page, the API), or without (the metrics).
    pub fn all(&self, now_ms: i64, days: bool) -> Vec<Figures> {
        let targets = self.targets();
        let b = crate::sync::lock(&self.book, "availability");
        let empty = Rollup::default();
        let names: std::collections::HashSet<&str> =
            targets.iter().map(|t| t.name.as_str()).collect();
        let mut providers: std::collections::BTreeMap<&str, (Vec<&Arc<Target>>, Vec<&Rollup>)> =
            std::collections::BTreeMap::new();
        let mut out = Vec::with_capacity(targets.len());
        for t in targets.iter() {
            let r = b.get(&t.name).unwrap_or(&empty);
            out.push(figures(
                &t.name,
                "target",
                &t.provider,
                &[r],
                objective(&[t], t.slo, now_ms),
                now_ms,
                days,
            ));
            if !t.control && !names.contains(t.provider.as_str()) {
                let e = providers.entry(&t.provider).or_default();
                e.0.push(t);
                e.1.push(r);
            }
        }
        for (p, (members, rs)) in providers {
            let o = objective(&members, common_slo(&members), now_ms);
            out.push(figures(p, "provider", p, &rs, o, now_ms, days));
        }
        out
    }
}

/// A provider's objective: its targets' when they all agree.
fn common_slo(members: &[&Arc<Target>]) -> Option<f64> {
    let first = members.first()?.slo?;
    members
        .iter()
        .all(|t| t.slo == Some(first))
        .then_some(first)
}

/// An objective, and the rounds the `30d` window holds at its targets' intervals: the base
/// of the error budget ([`budget_remaining`]).
#[derive(Debug, Clone, Copy)]
struct Objective {
    slo: f64,
    slices: f64,
}

fn objective(members: &[&Arc<Target>], slo: Option<f64>, now_ms: i64) -> Option<Objective> {
    Some(Objective {
        slo: slo?,
        slices: Span::D30.slices(now_ms, members.iter().map(|t| t.interval)),
    })
}

fn figures(
    name: &str,
    kind: &'static str,
    provider: &str,
    rs: &[&Rollup],
    objective: Option<Objective>,
    now_ms: i64,
    with_days: bool,
) -> Figures {
    let mut availability = std::collections::BTreeMap::new();
    let mut rounds = std::collections::BTreeMap::new();
    for span in Span::ALL {
        let mut c = Counts::default();
        for r in rs {
            c.add(r.over(span, now_ms));
        }
        if let Some(a) = c.ratio() {
            availability.insert(span.as_str(), a);
        }
        rounds.insert(span.as_str(), c);
    }
    let budget =
        objective.and_then(|o| budget_remaining(rounds.get("30d").copied()?, o.slo, o.slices));
    let mut days: Vec<Day> = Vec::new();
    for r in rs.iter().filter(|_| with_days) {
        for (i, (d, c)) in r.strip(now_ms, 30).into_iter().enumerate() {
            match days.get_mut(i) {
                Some(day) => day.counts.add(c),
                None => days.push(Day {
                    date: date(d),
                    availability: None,
                    counts: c,
                }),
            }
        }
    }
    if days.is_empty() && with_days {
        days = Rollup::default()
            .strip(now_ms, 30)
            .into_iter()
            .map(|(d, c)| Day {
                date: date(d),
                availability: None,
                counts: c,
            })
            .collect();
    }
    for d in &mut days {
        d.availability = d.counts.ratio();
    }
    Figures {
        name: name.to_string(),
        kind,
        provider: provider.to_string(),
        availability,
        rounds,
        slo: objective.map(|o| o.slo),
        error_budget_remaining: budget,
        days,
    }
}

/// `YYYY-MM-DD` of a UTC day index.
fn date(day: u32) -> String {
    let s = crate::maintenance::rfc3339(i64::from(day) * rollup::DAY_MS);
    s.get(..10).unwrap_or(&s).to_string()
}

impl Output for Availability {
    fn name(&self) -> &'static str {
        "availability"
    }

    fn publish(&self, round: &JudgedRound) {
        if round.rejudged() {
            return;
        }
        let t = &round.target;
        let at_ms = i64::try_from(crate::timefmt::unix_ms(round.at)).unwrap_or(i64::MAX);
        let tally = Tally {
            target: t.name.clone(),
            at_ms,
            healthy: round.evidence.iter().all(crate::checked::Checked::success),
            maintenance: self
                .maintenance
                .covering(&t.name, &t.provider, at_ms)
                .is_some(),
            point: crate::history::History::point(round),
        };
        if self.tx.try_send(tally).is_err() {
            self.dropped.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Kept: a target changed by a reload keeps its history; a removed one ages out of
    /// every window and is left out of the next compaction.
    fn retire(&self, _target: &Target) {}
}

pub use writer::start as start_writer;

#[cfg(test)]
mod tests;
