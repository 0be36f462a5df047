//! The validated `[alerts]` section: when to notify, and where (`[[alerts.sinks]]`).

use std::fmt;
use std::time::Duration;

/// Where notifications go, and how long they may wait.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AlertsPlan {
    /// How long a new alert waits for its scope to settle before the first notification;
    /// `None` means one interval (plus timeout) of the fastest target.
    pub group_wait: Option<Duration>,
    /// How often firing alerts are re-sent to Alertmanager (its `endsAt` stays ahead).
    pub resend_interval: Duration,
    /// A notification older than this is dropped undelivered (logged and counted).
    pub max_age: Duration,
    /// The base of links in notifications; default `http://<listen>`.
    pub external_url: Option<url::Url>,
    /// The `vantage` label: which payprobe saw it; default the host name.
    pub vantage: Option<String>,
    /// Notifications kept in memory per sink while state_dir cannot be written.
    pub queue_limit: usize,
    pub sinks: Vec<SinkSpec>,
}

pub use crate::vocab::SinkKind;

/// A value that must never be shown: `Debug` prints `<secret>`.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret<T>(pub T);

impl<T> fmt::Debug for Secret<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<secret>")
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct SinkSpec {
    /// Unique; the `sink` label and the outbox file name.
    pub name: String,
    pub kind: SinkKind,
    /// Robot URLs carry their token: secret. Show [`redact`] instead.
    pub url: Secret<url::Url>,
    /// The HMAC key: `webhook` signs bodies with it, `dingtalk` and `feishu` sign requests.
    pub secret: Option<Secret<Vec<u8>>>,
    pub timeout: Duration,
    /// Receives "maintenance started/ended" notifications (`maintenance_notifications`).
    pub maintenance_notifications: bool,
}

impl SinkSpec {
    /// The URL as logs and errors may show it.
    pub fn shown_url(&self) -> String {
        redact(&self.url.0)
    }
}

/// A URL with its query and every path segment after the first replaced by `…`: robot
/// tokens live there (Slack's `/services/T…/B…/X…`, DingTalk's `?access_token=`, WeCom's
/// `?key=`, Feishu's `/hook/<token>`), so logs and errors never carry them.
pub fn redact(u: &url::Url) -> String {
    let mut out = format!("{}://{}", u.scheme(), u.host_str().unwrap_or(""));
    if let Some(p) = u.port() {
        out.push_str(&format!(":{p}"));
    }
    // No path segment is shown: a relay's token may be the first one (`/<token>`).
    if u.path_segments()
        .into_iter()
        .flatten()
        .any(|s| !s.is_empty())
    {
        out.push_str("/…");
    }
    if u.query().is_some() {
        out.push_str("?…");
    }
    out
}
