//! Series of incidents and alert delivery: "does it recover by itself, and how fast?" and
//! "did the page reach anyone?". The incident series follow the incident events
//! (`incident_events.rs`); the delivery series are fed by `src/alerts/`.

use prometheus::{GaugeVec, HistogramOpts, HistogramVec, IntCounterVec, Opts, Registry};

use super::global::gauge;
use super::MetricsError;
use crate::classify::Cause;

/// From a lost probe (seconds) to a long outage (a day).
const INCIDENT_BUCKETS: &[f64] = &[
    5.0, 15.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1800.0, 3600.0, 7200.0, 21600.0, 86400.0,
];

/// Outcomes of one delivery attempt (`payprobe_alert_notifications_total{outcome}`).
pub const OUTCOMES: [&str; 5] = ["delivered", "failed", "dropped", "queued", "rejected"];

pub struct IncidentMetrics {
    incidents_total: IntCounterVec,
    incident_open: GaugeVec,
    duration: HistogramVec,
    detect: HistogramVec,
    notifications: IntCounterVec,
    pending: GaugeVec,
    oldest: GaugeVec,
    state_errors: IntCounterVec,
    queue_overflow: IntCounterVec,
    written: IntCounterVec,
}

fn counter(
    r: &Registry,
    name: &str,
    help: &str,
    l: &[&str],
) -> Result<IntCounterVec, MetricsError> {
    let c = IntCounterVec::new(Opts::new(name, help), l)?;
    r.register(Box::new(c.clone()))?;
    Ok(c)
}

fn histogram(
    r: &Registry,
    name: &str,
    help: &str,
    l: &[&str],
) -> Result<HistogramVec, MetricsError> {
    let h = HistogramVec::new(
        HistogramOpts::new(name, help).buckets(INCIDENT_BUCKETS.to_vec()),
        l,
    )?;
    r.register(Box::new(h.clone()))?;
    Ok(h)
}

impl IncidentMetrics {
    pub(super) fn new(r: &Registry) -> Result<IncidentMetrics, MetricsError> {
        let incidents_total = counter(
            r,
            "payprobe_incidents_total",
            "Incidents opened, by the cause they opened with.",
            &["cause"],
        )?;
        for c in Cause::ALL.iter().filter(|c| **c != Cause::None) {
            incidents_total.with_label_values(&[c.as_str()]);
        }
        Ok(IncidentMetrics {
            incidents_total,
            incident_open: gauge(
                r,
                "payprobe_incident_open",
                "1 while the target has an open incident; the cause label is its current cause.",
                &["target", "provider", "cause"],
            )?,
            duration: histogram(
                r,
                "payprobe_incident_duration_seconds",
                "Time to recover: how long closed incidents lasted, by provider and opening cause.",
                &["provider", "cause"],
            )?,
            detect: histogram(
                r,
                "payprobe_incident_detect_seconds",
                "Time to detect: from the first failing round to the incident opening, by provider.",
                &["provider"],
            )?,
            notifications: counter(
                r,
                "payprobe_alert_notifications_total",
                "Notifications by sink and outcome: queued, delivered, failed (an attempt, retried), rejected (the sink answered that it never will: set aside), dropped (older than max_age or queue full).",
                &["sink", "outcome"],
            )?,
            pending: gauge(
                r,
                "payprobe_outbox_pending",
                "Notifications waiting for delivery, by sink.",
                &["sink"],
            )?,
            oldest: gauge(
                r,
                "payprobe_outbox_oldest_seconds",
                "Age of the oldest notification waiting for delivery (0 when none), by sink.",
                &["sink"],
            )?,
            state_errors: counter(
                r,
                "payprobe_state_dir_errors_total",
                "Writes to [server] state_dir that failed (unwritable or full), by what was written.",
                &["what"],
            )?,
            written: counter(
                r,
                "payprobe_state_dir_written_bytes_total",
                "Bytes written to [server] state_dir, by what was written (incidents: the journal; availability: the rollup file; history: the status page's recent rounds; appends and compactions).",
                &["what"],
            )?,
            queue_overflow: counter(
                r,
                "payprobe_queue_overflow_total",
                "Times a bounded queue between payprobe's stages was full, by queue: an incident event reader rebuilt from a snapshot (nothing lost, but it fell behind); an output (metrics, incidents, history, availability) skipped that round.",
                &["queue"],
            )?,
        })
    }

    pub fn opened(&self, target: &str, provider: &str, cause: Cause, detect_secs: Option<f64>) {
        self.incidents_total
            .with_label_values(&[cause.as_str()])
            .inc();
        self.set_open(target, provider, cause);
        if let Some(s) = detect_secs {
            self.detect.with_label_values(&[provider]).observe(s);
        }
    }

    /// The open incident's cause is now `cause` (one series per target: the old one goes).
    pub fn set_open(&self, target: &str, provider: &str, cause: Cause) {
        for c in Cause::ALL {
            if c != cause {
                let _ = self
                    .incident_open
                    .remove_label_values(&[target, provider, c.as_str()]);
            }
        }
        self.incident_open
            .with_label_values(&[target, provider, cause.as_str()])
            .set(1.0);
    }

    pub fn closed(&self, target: &str, provider: &str, opened_cause: Cause, secs: f64) {
        self.clear_open(target, provider);
        self.duration
            .with_label_values(&[provider, opened_cause.as_str()])
            .observe(secs);
    }

    fn clear_open(&self, target: &str, provider: &str) {
        for c in Cause::ALL {
            let _ = self
                .incident_open
                .remove_label_values(&[target, provider, c.as_str()]);
        }
    }

    pub fn notification(&self, sink: &str, outcome: &str) {
        self.notifications.with_label_values(&[sink, outcome]).inc();
    }

    /// Declares a sink's series (zeros), so dashboards see it before its first alert.
    pub fn sink(&self, sink: &str) {
        for o in OUTCOMES {
            self.notifications.with_label_values(&[sink, o]);
        }
        self.outbox(sink, 0, 0.0);
    }

    pub fn outbox(&self, sink: &str, pending: usize, oldest_secs: f64) {
        self.pending.with_label_values(&[sink]).set(pending as f64);
        self.oldest.with_label_values(&[sink]).set(oldest_secs);
    }

    pub fn written(&self, what: &str, bytes: usize) {
        self.written
            .with_label_values(&[what])
            .inc_by(u64::try_from(bytes).unwrap_or(u64::MAX));
    }

    pub fn queue_overflow(&self, queue: &str) {
        self.queue_overflow.with_label_values(&[queue]).inc();
    }

    pub fn state_error(&self, what: &str) {
        self.state_errors.with_label_values(&[what]).inc();
    }
}
