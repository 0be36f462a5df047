//! A notification as the outbox keeps it: sink-independent, rendered per sink at delivery.

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

use crate::vocab::Lang;

/// Which transition a notification tells of.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Event {
    /// The alert opened.
    Firing,
    /// Its cause changed while open.
    Changed,
    /// It is over.
    Resolved,
    /// Still firing: the periodic re-send Alertmanager needs (alertmanager sinks only).
    Resend,
    /// `payprobe alerts test`.
    Test,
}

impl Event {
    pub fn as_str(self) -> &'static str {
        match self {
            Event::Firing => "firing",
            Event::Changed => "changed",
            Event::Resolved => "resolved",
            Event::Resend => "resend",
            Event::Test => "test",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Notification {
    /// Idempotency key: the alert's fingerprint and the transition's time (and kind), the
    /// same on every retry and after a restart.
    pub key: String,
    /// 16 hex digits of SHA-256 over the alert's identity labels (not cause or severity,
    /// which change while the alert stays the same).
    pub fingerprint: String,
    pub event: Event,
    pub labels: BTreeMap<String, String>,
    /// The labels before a cause change (Alertmanager treats them as another alert, which
    /// is ended when the new one starts).
    #[serde(default)]
    pub previous_labels: Option<BTreeMap<String, String>>,
    pub annotations: BTreeMap<String, String>,
    pub starts_ms: u64,
    /// When it resolved.
    #[serde(default)]
    pub ends_ms: Option<u64>,
    pub generator_url: String,
    /// When the notification was made (its age decides `max_age`).
    pub created_ms: u64,
    /// The group key (`{}:{alertname="…",…}`, as Alertmanager writes them).
    pub group_key: String,
    /// The language its annotations are written in (`[server] lang` when it was made), so
    /// a chat message frames them in the same one. An outbox written before it had none:
    /// English, the language those messages were framed in.
    #[serde(default)]
    pub lang: Lang,
}

impl Notification {
    /// `firing` or `resolved`, as Alertmanager's `status`.
    pub fn status(&self) -> &'static str {
        if self.event == Event::Resolved {
            "resolved"
        } else {
            "firing"
        }
    }

    pub fn duration_secs(&self) -> Option<f64> {
        self.ends_ms
            .map(|e| e.saturating_sub(self.starts_ms) as f64 / 1000.0)
    }

    pub fn age(&self, now: SystemTime) -> Duration {
        let created = UNIX_EPOCH + Duration::from_millis(self.created_ms);
        now.duration_since(created).unwrap_or_default()
    }

    pub fn annotation(&self, k: &str) -> &str {
        self.annotations.get(k).map_or("", |s| s.as_str())
    }
}

/// 16 hex digits of SHA-256 over `k=v\n` of the labels, sorted.
pub fn fingerprint(labels: &BTreeMap<String, String>) -> String {
    let mut ctx = ring::digest::Context::new(&ring::digest::SHA256);
    for (k, v) in labels {
        ctx.update(k.as_bytes());
        ctx.update(b"=");
        ctx.update(v.as_bytes());
        ctx.update(b"\n");
    }
    hex(&ctx.finish().as_ref()[..8])
}

pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

pub use crate::timefmt::rfc3339_ms as rfc3339;

#[cfg(test)]
mod time_tests {
    /// A time read back from `state_dir` can be anything; formatting it never panics (the
    /// formatter used before failed from year 10000 on).
    #[test]
    fn any_stored_time_formats() {
        assert_eq!(super::rfc3339(0), "1970-01-01T00:00:00.000Z");
        for ms in [253_402_300_800_000, u64::MAX / 2, u64::MAX] {
            let s = super::rfc3339(ms);
            assert!(s.ends_with('Z') && s.len() > 20, "{ms}: {s}");
        }
    }
}
