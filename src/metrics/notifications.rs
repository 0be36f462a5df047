//! Series of the `[[notifications]]` channels: how late the provider's payment notifications
//! arrive and when the last one came. Labels `channel` and `provider` come from the config.
//! Fed by the report handler (`src/http/notify.rs`: delay, last received) and by each
//! channel's judged round (the received, late and missing counts, read from its evidence).

use prometheus::{GaugeVec, HistogramOpts, HistogramVec, IntCounterVec, Opts, Registry};

use super::global::gauge;
use super::MetricsError;
use crate::config::Target;
use crate::probe::NotificationEvidence;

/// From "at once" to an hour: Alipay retries after 4 minutes, then 10, 10, 1 h...
const DELAY_BUCKETS: &[f64] = &[
    0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1800.0, 3600.0,
];

pub struct NotificationMetrics {
    delay: HistogramVec,
    last_received: GaugeVec,
    received: IntCounterVec,
    late: IntCounterVec,
    missing: IntCounterVec,
}

fn counter(r: &Registry, name: &str, help: &str) -> Result<IntCounterVec, MetricsError> {
    let c = IntCounterVec::new(Opts::new(name, help), &["channel", "provider"])?;
    r.register(Box::new(c.clone()))?;
    Ok(c)
}

impl NotificationMetrics {
    pub(super) fn new(r: &Registry) -> Result<NotificationMetrics, MetricsError> {
        let delay = HistogramVec::new(
            HistogramOpts::new(
                "payprobe_notification_delay_seconds",
                "Seconds from a payment to its notification reaching the merchant, as reported to /api/v1/notifications/{channel}.",
            )
            .buckets(DELAY_BUCKETS.to_vec()),
            &["channel", "provider"],
        )?;
        r.register(Box::new(delay.clone()))?;
        Ok(NotificationMetrics {
            delay,
            last_received: gauge(
                r,
                "payprobe_notification_last_received_timestamp_seconds",
                "When the channel's last notification was received (Unix seconds).",
                &["channel", "provider"],
            )?,
            received: counter(
                r,
                "payprobe_notifications_received_total",
                "Notifications reported on the channel (a repeated id counts once).",
            )?,
            late: counter(
                r,
                "payprobe_notifications_late_total",
                "Notifications that arrived later than the channel's max_delay after their payment.",
            )?,
            missing: counter(
                r,
                "payprobe_notifications_missing_total",
                "Times the channel went silent for longer than max_silence (within active_hours).",
            )?,
        })
    }

    /// One notification reported: its delay and when it was received.
    pub fn observe(&self, channel: &str, provider: &str, delay_secs: f64, received_unix: f64) {
        let l = [channel, provider];
        self.delay.with_label_values(&l).observe(delay_secs);
        let g = self.last_received.with_label_values(&l);
        if received_unix > g.get() {
            g.set(received_unix);
        }
    }

    /// The counts a channel's round read (they only grow while the channel exists).
    pub fn sync(&self, t: &Target, n: &NotificationEvidence) {
        let l = [t.name.as_str(), t.provider.as_str()];
        for (c, v) in [
            (&self.received, n.received),
            (&self.late, n.late),
            (&self.missing, n.missing),
        ] {
            let c = c.with_label_values(&l);
            c.inc_by(v.saturating_sub(c.get()));
        }
    }

    /// The channel left the config.
    pub fn remove(&self, t: &Target) {
        let l = [t.name.as_str(), t.provider.as_str()];
        let _ = self.delay.remove_label_values(&l);
        let _ = self.last_received.remove_label_values(&l);
        for c in [&self.received, &self.late, &self.missing] {
            let _ = c.remove_label_values(&l);
        }
    }
}
