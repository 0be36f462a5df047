//! From open incidents to notifications: grouping by scope, `group_wait`, cause changes,
//! resolution, and the re-sends Alertmanager needs.
//!
//! The engine computes the alerts that *should* be firing from the open incidents
//! ([`desired`]) and compares them with what it has announced ([`Engine::evaluate`]):
//!
//! * `local` scope: one vantage-point alert per way out (`egress`: direct, a proxy, a source
//!   address), for all the targets that leave that way; the per-target alerts it
//!   explains are held back, also for a while after the vantage point recovers (a target's
//!   own recovery needs `success_threshold` rounds, during which it shows as `endpoint`).
//! * `provider` scope: one alert per provider, listing its failing endpoints.
//! * `endpoint` scope: one alert per target.
//!
//! A new alert is announced only once it has been wanted for `group_wait`, so a local
//! outage, whose scope settles within a round, never pages per target first.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use serde::{Deserialize, Serialize};

use super::notification::{fingerprint, Event, Notification};
use crate::classify::{Cause, Lang, Scope};
use crate::incidents::Incident;

/// The engine's settings, fixed at start.
#[derive(Debug, Clone)]
pub struct Settings {
    pub group_wait_ms: u64,
    /// How long a failing control's own alert waits beyond `group_wait`: the slowest target's
    /// `interval × failure_threshold`, the time the other paths need to show whether the
    /// whole vantage point is cut off (then it is a local outage, not a broken control).
    pub control_hold_ms: u64,
    pub resend_ms: u64,
    pub external: String,
    pub vantage: String,
    pub lang: Lang,
}

/// An alert that should be firing now.
#[derive(Debug, Clone, PartialEq)]
pub struct Want {
    pub labels: BTreeMap<String, String>,
    pub annotations: BTreeMap<String, String>,
    pub starts_ms: u64,
    pub cause: Cause,
    pub generator_url: String,
}

/// What was announced for one alert (persisted, so a restart neither repeats a firing
/// notification nor forgets to resolve).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Sent {
    pub labels: BTreeMap<String, String>,
    pub annotations: BTreeMap<String, String>,
    pub starts_ms: u64,
    pub generator_url: String,
    pub last_resend_ms: u64,
    /// The language `annotations` are in: the resolved notice is framed in it too, even
    /// when `[server] lang` changed since (state from before it was recorded: English).
    #[serde(default)]
    pub lang: Lang,
}

/// A notification and whether it goes to Alertmanager sinks only (a re-send).
pub type Out = (Notification, bool);

#[derive(Default)]
pub struct Engine {
    pub sent: BTreeMap<String, Sent>,
    pending_since: HashMap<String, u64>,
}

fn identity(labels: &BTreeMap<String, String>) -> BTreeMap<String, String> {
    labels
        .iter()
        .filter(|(k, _)| !matches!(k.as_str(), "cause" | "severity"))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

fn group_key(labels: &BTreeMap<String, String>) -> String {
    let inner: Vec<String> = identity(labels)
        .iter()
        .map(|(k, v)| format!("{k}={v:?}"))
        .collect();
    format!("{{}}:{{{}}}", inner.join(", "))
}

impl Engine {
    pub fn restore(sent: BTreeMap<String, Sent>) -> Engine {
        Engine {
            sent,
            pending_since: HashMap::new(),
        }
    }

    /// Compares what should fire with what was announced; returns the notifications to
    /// queue and whether the announced set changed (to persist it).
    pub fn evaluate(
        &mut self,
        want: BTreeMap<String, Want>,
        now: u64,
        s: &Settings,
    ) -> (Vec<Out>, bool) {
        let mut out = Vec::new();
        let mut changed = false;
        self.pending_since.retain(|k, _| want.contains_key(k));
        for (key, w) in &want {
            let note = |event: Event, tkey: String, prev: Option<BTreeMap<String, String>>| {
                notification(w, event, tkey, prev, now, s.lang)
            };
            match self.sent.get_mut(key) {
                None => {
                    let since = *self.pending_since.entry(key.clone()).or_insert(now);
                    if now.saturating_sub(since) < s.group_wait_ms {
                        continue;
                    }
                    self.pending_since.remove(key);
                    if key.starts_with("local") {
                        tracing::warn!(vantage = %s.vantage, summary = w.annotations.get("summary").map_or("", |v| v.as_str()), "this vantage point lost its network");
                    }
                    out.push((note(Event::Firing, w.starts_ms.to_string(), None), false));
                    self.sent.insert(
                        key.clone(),
                        Sent {
                            labels: w.labels.clone(),
                            annotations: w.annotations.clone(),
                            starts_ms: w.starts_ms,
                            generator_url: w.generator_url.clone(),
                            last_resend_ms: now,
                            lang: s.lang,
                        },
                    );
                    changed = true;
                }
                Some(sent) if sent.labels.get("cause") != w.labels.get("cause") => {
                    let prev = std::mem::replace(&mut sent.labels, w.labels.clone());
                    sent.annotations = w.annotations.clone();
                    sent.last_resend_ms = now;
                    sent.lang = s.lang;
                    out.push((note(Event::Changed, now.to_string(), Some(prev)), false));
                    changed = true;
                }
                Some(sent) => {
                    sent.annotations = w.annotations.clone();
                    sent.lang = s.lang;
                    if now.saturating_sub(sent.last_resend_ms) >= s.resend_ms {
                        sent.last_resend_ms = now;
                        out.push((note(Event::Resend, now.to_string(), None), true));
                        // Persisted, so a restart does not re-send every firing alert at once.
                        changed = true;
                    }
                }
            }
        }
        changed |= self.resolve_gone(&want, now, s, &mut out);
        (out, changed)
    }

    /// Resolves what was announced and should no longer fire; whether anything was.
    fn resolve_gone(
        &mut self,
        want: &BTreeMap<String, Want>,
        now: u64,
        s: &Settings,
        out: &mut Vec<Out>,
    ) -> bool {
        let mut changed = false;
        let gone: Vec<String> = self
            .sent
            .keys()
            .filter(|k| !want.contains_key(*k))
            .cloned()
            .collect();
        for key in gone {
            let Some(sent) = self.sent.remove(&key) else {
                continue;
            };
            if key.starts_with("local") {
                tracing::warn!(vantage = %s.vantage, alert = %key, "this vantage point has its network back");
            }
            let fp = fingerprint(&identity(&sent.labels));
            out.push((
                Notification {
                    key: format!("{fp}-resolved-{}", sent.starts_ms),
                    fingerprint: fp,
                    event: Event::Resolved,
                    group_key: group_key(&sent.labels),
                    labels: sent.labels,
                    previous_labels: None,
                    annotations: sent.annotations,
                    starts_ms: sent.starts_ms,
                    ends_ms: Some(now),
                    generator_url: sent.generator_url,
                    created_ms: now,
                    lang: sent.lang,
                },
                false,
            ));
            changed = true;
        }
        changed
    }
}

/// One notification of `w`; `tkey` makes its idempotency key unique per event.
fn notification(
    w: &Want,
    event: Event,
    tkey: String,
    prev: Option<BTreeMap<String, String>>,
    now: u64,
    lang: Lang,
) -> Notification {
    Notification {
        key: format!(
            "{}-{}-{tkey}",
            fingerprint(&identity(&w.labels)),
            event.as_str()
        ),
        fingerprint: fingerprint(&identity(&w.labels)),
        event,
        labels: w.labels.clone(),
        previous_labels: prev,
        annotations: w.annotations.clone(),
        starts_ms: w.starts_ms,
        ends_ms: None,
        generator_url: w.generator_url.clone(),
        created_ms: now,
        group_key: group_key(&w.labels),
        lang,
    }
}

/// When an incident stopped being `local`, if it was and is no longer.
fn left_local(i: &Incident) -> Option<u64> {
    let last_local = i.changes.iter().rposition(|c| c.scope == Scope::Local)?;
    i.changes.get(last_local + 1).map(|c| c.at_ms)
}

fn severity(c: Cause) -> &'static str {
    match c {
        Cause::ApiVersion | Cause::UserInput => "warning",
        _ => "critical",
    }
}

pub use crate::lang::alerts::payment_rule;

/// The most frequent cause of a group (ties: the first in `Cause::ALL` order).
fn main_cause(members: &[&Incident]) -> Cause {
    let mut counts: BTreeMap<Cause, usize> = BTreeMap::new();
    for m in members {
        *counts.entry(m.cause).or_default() += 1;
    }
    counts
        .into_iter()
        .max_by(|a, b| a.1.cmp(&b.1).then(b.0.cmp(&a.0)))
        .map_or(Cause::Unknown, |(c, _)| c)
}

/// The ways out whose control has failed (not yet as a local outage) for less than
/// `control_hold_ms`: until the other targets leaving that way have had time to fail too,
/// it is not known whether the control is broken or the way out is cut off, and paging
/// either way would be early (with targets of slower intervals, agreement takes longer than
/// `group_wait`).
fn held_ways_out<'a>(open: &[&'a Incident], now: u64, s: &Settings) -> BTreeSet<&'a str> {
    open.iter()
        .filter(|i| i.control && i.scope != Scope::Local)
        .filter(|i| {
            let since = i.changes.last().map_or(i.opened_ms, |c| c.at_ms);
            now.saturating_sub(since) < s.control_hold_ms
        })
        .map(|i| i.egress.as_str())
        .collect()
}

/// The alerts that should fire for these open incidents, by group.
pub fn desired<'a>(
    open: impl IntoIterator<Item = &'a Incident>,
    now: u64,
    s: &Settings,
) -> BTreeMap<String, Want> {
    let mut local: BTreeMap<&str, Vec<&Incident>> = BTreeMap::new();
    let open: Vec<&Incident> = open.into_iter().collect();
    let held = held_ways_out(&open, now, s);
    let mut providers: BTreeMap<&str, Vec<&Incident>> = BTreeMap::new();
    let mut out = BTreeMap::new();
    for i in open {
        match i.scope {
            Scope::Local => local.entry(&i.egress).or_default().push(i),
            _ if left_local(i).is_some_and(|at| {
                let settle = i
                    .interval_ms
                    .saturating_mul(u64::from(i.success_threshold.max(1)));
                now.saturating_sub(at) < settle.saturating_add(s.group_wait_ms)
            }) => {} // explained by the vantage point's outage until it had time to recover
            // A control of this way out fails and the other paths have not had time to agree
            // yet: its own page and the pages it may soon explain wait.
            _ if held.contains(i.egress.as_str()) => {}
            Scope::Provider => providers.entry(&i.provider).or_default().push(i),
            _ => {
                out.insert(format!("target/{}", i.target), endpoint(i, s));
            }
        }
    }
    for (egress, members) in local {
        if let Some(w) = vantage(&members, egress, s) {
            // The direct way out keeps the key it always had.
            let key = match egress {
                "" => "local".to_string(),
                e => format!("local/{e}"),
            };
            out.insert(key, w);
        }
    }
    for (p, members) in providers {
        if let Some(w) = provider(p, &members, s) {
            out.insert(format!("provider/{p}"), w);
        }
    }
    out
}

mod wants;
use wants::{endpoint, provider, vantage};

#[cfg(test)]
mod tests;
