//! One incident, as kept on disk, and its API view.

use serde::{Deserialize, Serialize};

use crate::classify::{Cause, Diagnosis, Lang, Scope};
use crate::config::Target;
use crate::limits::INCIDENT_TEXT_BYTES;

pub use crate::timefmt::unix_ms;

/// Total over every `ms` read back from the incident journal (see `crate::timefmt`).
fn rfc3339(ms: u64) -> String {
    crate::timefmt::rfc3339_ms(ms)
}

/// At most `max` bytes, cut on a character boundary.
pub(crate) fn clip(s: &str, max: usize) -> String {
    if s.len() <= max {
        return s.to_string();
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &s[..end])
}

/// The way out an incident records: empty for the direct one (left out of the JSON).
pub fn egress_of(t: &Target) -> String {
    if t.egress == crate::config::Egress::default() {
        String::new()
    } else {
        t.egress_label.clone()
    }
}

/// `closed_by` of an incident the target's own passing rounds closed.
pub const RECOVERED: &str = "recovered";

/// A change of cause or scope while the incident was open.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Change {
    pub at_ms: u64,
    pub cause: Cause,
    pub scope: Scope,
    pub reason: String,
}

/// One outage of one target. Times are Unix milliseconds (what the file keeps); the API
/// shows them as RFC 3339 through [`IncidentView`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Incident {
    /// `<target>@<opened_ms>`: stable across restarts, unique per target.
    pub id: String,
    pub target: String,
    pub provider: String,
    #[serde(default)]
    pub control: bool,
    /// The target's way out (`proxy=…`, `source=…`); empty when it goes out directly. Local
    /// incidents are grouped by it, so an alert can say which way out is broken.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub egress: String,
    /// The current cause and scope (the latest entry of `changes`).
    pub cause: Cause,
    pub scope: Scope,
    pub rule: String,
    pub reason: String,
    /// The failing evidence in one line, as last seen when the cause or scope changed.
    #[serde(default)]
    pub evidence: String,
    pub opened_ms: u64,
    /// The first failing round before it opened, when this process saw it.
    #[serde(default)]
    pub first_failure_ms: Option<u64>,
    /// The target's interval and success threshold, so readers can tell how soon a
    /// recovery would show (the alert engine holds back on them).
    #[serde(default)]
    pub interval_ms: u64,
    #[serde(default)]
    pub success_threshold: u32,
    /// Every cause/scope the incident had, the opening one first (bounded).
    pub changes: Vec<Change>,
    #[serde(default)]
    pub closed_ms: Option<u64>,
    /// Why it closed: `recovered` (the target's own passing rounds) or `target removed`.
    #[serde(default)]
    pub closed_by: Option<String>,
    /// The `[[maintenance]]` window it opened in: it pages only if it outlasts the window.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub maintenance: Option<String>,
}

impl Incident {
    pub fn open(
        t: &Target,
        d: &Diagnosis,
        lang: Lang,
        at: u64,
        first: Option<u64>,
        ev: Option<String>,
    ) -> Self {
        Incident {
            id: format!("{}@{at}", t.name),
            target: t.name.clone(),
            provider: t.provider.clone(),
            control: t.control,
            egress: egress_of(t),
            cause: d.cause,
            scope: d.scope,
            rule: d.rule.to_string(),
            reason: clip(&crate::classify::reason(d, lang), INCIDENT_TEXT_BYTES),
            evidence: ev.unwrap_or_default(),
            opened_ms: at,
            first_failure_ms: first.filter(|f| *f <= at),
            interval_ms: u64::try_from(t.interval.as_millis()).unwrap_or(u64::MAX),
            success_threshold: t.success_threshold,
            changes: vec![Change {
                at_ms: at,
                cause: d.cause,
                scope: d.scope,
                reason: clip(&crate::classify::reason(d, lang), INCIDENT_TEXT_BYTES),
            }],
            closed_ms: None,
            closed_by: None,
            maintenance: None,
        }
    }

    /// The cause it opened with.
    pub fn opened_cause(&self) -> Cause {
        self.changes.first().map_or(self.cause, |c| c.cause)
    }

    /// Seconds from opening to `now` (or to closing, once closed).
    pub fn duration_secs(&self, now: u64) -> f64 {
        let end = self.closed_ms.unwrap_or(now);
        end.saturating_sub(self.opened_ms) as f64 / 1000.0
    }

    /// Time to detect: first failing round to opening.
    pub fn detect_secs(&self) -> Option<f64> {
        self.first_failure_ms
            .map(|f| self.opened_ms.saturating_sub(f) as f64 / 1000.0)
    }

    /// Whether the incident ever had `scope` (now or earlier).
    pub fn ever(&self, scope: Scope) -> Option<u64> {
        self.changes
            .iter()
            .rev()
            .find(|c| c.scope == scope)
            .map(|c| c.at_ms)
    }

    pub fn view(&self, now: u64) -> IncidentView {
        IncidentView {
            id: self.id.clone(),
            target: self.target.clone(),
            provider: self.provider.clone(),
            status: if self.closed_ms.is_some() {
                "resolved"
            } else {
                "open"
            },
            cause: self.cause,
            scope: self.scope,
            rule: self.rule.clone(),
            reason: self.reason.clone(),
            evidence: self.evidence.clone(),
            opened_at: rfc3339(self.opened_ms),
            closed_at: self.closed_ms.map(rfc3339),
            duration_seconds: self.duration_secs(now),
            time_to_detect_seconds: self.detect_secs(),
            recovered_by_itself: self.closed_by.as_deref() == Some(RECOVERED),
            maintenance: self.maintenance.clone(),
            changes: self
                .changes
                .iter()
                .map(|c| ChangeView {
                    at: rfc3339(c.at_ms),
                    cause: c.cause,
                    scope: c.scope,
                    reason: c.reason.clone(),
                })
                .collect(),
        }
    }
}

#[derive(Debug, Serialize)]
pub struct ChangeView {
    pub at: String,
    pub cause: Cause,
    pub scope: Scope,
    pub reason: String,
}

/// An incident as `/api/v1/incidents` shows it.
#[derive(Debug, Serialize)]
pub struct IncidentView {
    pub id: String,
    pub target: String,
    pub provider: String,
    /// `open` or `resolved`.
    pub status: &'static str,
    pub cause: Cause,
    pub scope: Scope,
    pub rule: String,
    pub reason: String,
    pub evidence: String,
    pub opened_at: String,
    pub closed_at: Option<String>,
    /// So far while open; the whole outage once resolved (time to recover).
    pub duration_seconds: f64,
    /// First failing round to opening, when payprobe saw both.
    pub time_to_detect_seconds: Option<f64>,
    /// The target became healthy again on its own (nothing in payprobe closes an incident
    /// but the target's own passing rounds, or its removal from the config).
    pub recovered_by_itself: bool,
    /// The maintenance window it opened in, if any (absent otherwise).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub maintenance: Option<String>,
    pub changes: Vec<ChangeView>,
}

/// The failing evidence in one line, for notifications (bounded; bodies are excerpts).
pub(super) fn excerpt(evidence: &[crate::checked::Checked], lang: Lang) -> Option<String> {
    let c = evidence.iter().find(|c| !c.success())?;
    let http = c.observed.http.as_ref();
    let s = crate::lang::evidence_line(
        c.check(),
        c.failure.as_ref().map(|f| (f.phase, f.detail.as_str())),
        http.and_then(|h| h.status),
        http.map_or("", |h| h.body_excerpt.as_str()),
        lang,
    );
    Some(clip(&s, INCIDENT_TEXT_BYTES))
}
