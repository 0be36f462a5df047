//! What one judged round does to the book: a healthy round may close the target's incident,
//! an unhealthy one opens it or records a change of its cause or scope.

use std::sync::Arc;

use super::{model, unix_ms, Book, Change, Event, Incident, Incidents};
use super::{LOG_CHANGED, LOG_OPENED};
use crate::classify::Diagnosis;
use crate::output::JudgedRound;

impl Incidents {
    /// What one judged round does to the book.
    pub(super) fn apply(&self, b: &mut Book, r: &JudgedRound) {
        let t = &r.target;
        let d: &Diagnosis = &r.diagnosis;
        let at = unix_ms(r.at);
        if b.retiring.contains_key(&t.name) {
            self.come_back(b, t);
        }
        if d.healthy {
            self.healthy(b, r, at);
            return;
        }
        let first = b.first_failure.remove(&t.name);
        b.restored_passes.remove(&t.name);
        let e = match b.ledger.open.get(&t.name) {
            Some(inc) if (inc.cause, inc.scope) == (d.cause, d.scope) => return,
            Some(_) => self.changed(r, at),
            None => self.opened(r, at, first),
        };
        self.emit(b, e);
    }

    /// A round judged healthy: remembers when the target first failed a check (the
    /// incident's start, should it open), and closes its open incident as recovered — one
    /// restored from disk only once this process saw `success_threshold` passes of its own.
    fn healthy(&self, b: &mut Book, r: &JudgedRound, at: u64) {
        let t = &r.target;
        let passed = !r.rejudged() && r.evidence.iter().all(crate::checked::Checked::success);
        if !r.rejudged() && !passed {
            b.first_failure.entry(t.name.clone()).or_insert(at);
        } else if passed {
            b.first_failure.remove(&t.name);
        }
        if !b.ledger.open.contains_key(&t.name) {
            return;
        }
        if let Some(n) = b.restored_passes.get_mut(&t.name) {
            // Restored from disk: close only once this process saw it recover.
            *n = if passed { *n + 1 } else { 0 };
            if *n < t.success_threshold.max(1) {
                return;
            }
        }
        self.close(b, &t.name, &t.provider, at, model::RECOVERED);
    }

    /// The open incident's cause or scope moved: one change, with the rule and evidence
    /// that moved it.
    fn changed(&self, r: &JudgedRound, at: u64) -> Event {
        let (t, d) = (&r.target, &r.diagnosis);
        if LOG_CHANGED.allow() {
            tracing::warn!(target_name = %t.name, cause = d.cause.as_str(), scope = d.scope.as_str(), "incident changed");
        }
        let reason = model::clip(
            &crate::classify::reason(d, self.lang()),
            crate::limits::INCIDENT_TEXT_BYTES,
        );
        Event::Changed {
            target: t.name.clone(),
            change: Change {
                at_ms: at,
                cause: d.cause,
                scope: d.scope,
                reason,
            },
            rule: d.rule.to_string(),
            evidence: model::excerpt(&r.evidence, self.lang()),
            after: None,
        }
    }

    /// A new incident, starting at the target's first failure (`first`) when known, and
    /// marked with the maintenance window that covers it, if any.
    fn opened(&self, r: &JudgedRound, at: u64, first: Option<u64>) -> Event {
        let (t, d) = (&r.target, &r.diagnosis);
        let mut inc = Incident::open(
            t,
            d,
            self.lang(),
            at,
            first,
            model::excerpt(&r.evidence, self.lang()),
        );
        inc.maintenance = self
            .maintenance
            .get()
            .and_then(|m| m.covering(&t.name, &t.provider, i64::try_from(at).unwrap_or(i64::MAX)));
        if LOG_OPENED.allow() {
            tracing::warn!(target_name = %t.name, provider = %t.provider, cause = d.cause.as_str(), scope = d.scope.as_str(), reason = %d.reason, "incident opened");
        }
        Event::Opened {
            incident: Arc::new(inc),
        }
    }
}
