//! The incident series (`payprobe_incidents_total`, `payprobe_incident_open`,
//! `payprobe_incident_duration_seconds`, `payprobe_incident_detect_seconds`), kept by
//! following the incident events instead of being written by the incident book: the book
//! knows nothing of metrics, and the series change exactly when the book does (the events
//! are applied in the book's order, under its lock: `Incidents::watch`).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use super::Metrics;
use crate::classify::Cause;
use crate::incidents::{Event, Incidents, Ledger};

/// What the series need to remember of an open incident to close it.
struct Open {
    provider: String,
    opened_cause: Cause,
    opened_ms: u64,
}

/// The consumer of the incident events that writes the incident series.
pub struct IncidentSeries {
    metrics: Arc<Metrics>,
    open: Mutex<HashMap<String, Open>>,
}

impl IncidentSeries {
    /// Follows `incidents` from now on, starting from its open incidents (restored from
    /// `state_dir` or not).
    pub fn follow(incidents: &Incidents, metrics: Arc<Metrics>) {
        let series = Arc::new(IncidentSeries {
            metrics,
            open: Mutex::new(HashMap::new()),
        });
        let s = series.clone();
        incidents.watch(
            "incident_metrics",
            move |l| s.start(l),
            move |e| series.apply(e),
        );
    }

    fn start(&self, ledger: &Ledger) {
        let mut open = crate::sync::lock(&self.open, "incident series");
        for i in ledger.open.values() {
            let m = &self.metrics.incidents;
            m.set_open(&i.target, &i.provider, i.cause);
            open.insert(i.target.clone(), remembered(i));
        }
    }

    fn apply(&self, e: &Event) {
        let m = &self.metrics.incidents;
        let mut open = crate::sync::lock(&self.open, "incident series");
        match e {
            Event::Opened { incident: i } => {
                m.opened(&i.target, &i.provider, i.cause, i.detect_secs());
                open.insert(i.target.clone(), remembered(i));
            }
            Event::Changed { target, change, .. } => {
                if let Some(o) = open.get(target) {
                    m.set_open(target, &o.provider, change.cause);
                }
            }
            Event::Closed { target, at_ms, .. } => {
                if let Some(o) = open.remove(target) {
                    let secs = at_ms.saturating_sub(o.opened_ms) as f64 / 1000.0;
                    m.closed(target, &o.provider, o.opened_cause, secs);
                }
            }
            Event::Kept { .. } => {}
        }
    }
}

fn remembered(i: &crate::incidents::Incident) -> Open {
    Open {
        provider: i.provider.clone(),
        opened_cause: i.opened_cause(),
        opened_ms: i.opened_ms,
    }
}
