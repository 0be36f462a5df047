//! What maintenance changes in alerting: incidents held back while their window lasts, and
//! one "started" and one "ended" notification per window occurrence.
//!
//! The alert engine asks [`outside`] for the incidents that may page, and [`transitions`]
//! for the window edges it crossed since its last pass. An incident is held back only if it
//! opened inside a window ([`crate::incidents::Incident::maintenance`]) that still covers
//! its target: one already paging before a window began keeps paging (a window must not
//! silently "resolve" a real outage), and one that outlasts its window pages once the
//! window ends, after the usual `group_wait`.

use std::collections::BTreeMap;

use super::engine::Settings;
use super::notification::{fingerprint, Event, Notification};
use crate::incidents::Incident;
use crate::maintenance::{rfc3339, Live, Schedule};

/// The open incidents that may page at `now_ms`.
pub fn outside<'a>(
    live: &Live,
    open: impl IntoIterator<Item = &'a Incident>,
    now_ms: i64,
) -> Vec<&'a Incident> {
    let s = live.get();
    open.into_iter()
        .filter(|i| i.maintenance.is_none() || s.covering(&i.target, &i.provider, now_ms).is_none())
        .collect()
}

/// "Started" and "ended" notifications for the window edges in `(since_ms, now_ms]`.
pub fn transitions(s: &Schedule, since_ms: i64, now_ms: i64, set: &Settings) -> Vec<Notification> {
    let mut out = Vec::new();
    if now_ms <= since_ms {
        return out;
    }
    for w in &s.windows {
        for o in w.occurrences(since_ms, now_ms.saturating_add(1)) {
            for (edge, at, event) in [
                ("started", o.start_ms, Event::Firing),
                ("ended", o.end_ms, Event::Resolved),
            ] {
                if since_ms < at && at <= now_ms {
                    out.push(note(w, o.start_ms, o.end_ms, edge, event, set, now_ms));
                }
            }
        }
    }
    out
}

fn note(
    w: &crate::maintenance::Window,
    start_ms: i64,
    end_ms: i64,
    edge: &str,
    event: Event,
    set: &Settings,
    now_ms: i64,
) -> Notification {
    let mut labels = BTreeMap::new();
    labels.insert("alertname".to_string(), "PaymentMaintenance".to_string());
    labels.insert("maintenance".to_string(), w.name.clone());
    labels.insert("severity".to_string(), "info".to_string());
    labels.insert("vantage".to_string(), set.vantage.clone());
    let covers = if w.providers.is_empty() && w.targets.is_empty() {
        crate::lang::page::UPTIME_EVERY_TARGET
            .get(set.lang)
            .to_string()
    } else {
        [w.providers.join(", "), w.targets.join(", ")]
            .into_iter()
            .filter(|s| !s.is_empty())
            .collect::<Vec<_>>()
            .join("; ")
    };
    let summary = crate::lang::alerts::maintenance_summary(
        &w.name,
        edge == "started",
        &covers,
        &rfc3339(start_ms),
        &rfc3339(end_ms),
        set.lang,
    );
    let api = format!("{}/api/v1/maintenance", set.external);
    let mut annotations = BTreeMap::new();
    annotations.insert("summary".to_string(), summary);
    annotations.insert("covers".to_string(), covers);
    annotations.insert("api".to_string(), api.clone());
    let fp = fingerprint(&labels);
    let (start, end) = (
        u64::try_from(start_ms).unwrap_or(0),
        u64::try_from(end_ms).unwrap_or(0),
    );
    Notification {
        key: format!("{fp}-maintenance-{edge}-{start}"),
        group_key: format!(
            "{{}}:{{alertname=\"PaymentMaintenance\", maintenance={:?}}}",
            w.name
        ),
        fingerprint: fp,
        event,
        labels,
        previous_labels: None,
        annotations,
        starts_ms: start,
        ends_ms: (event == Event::Resolved).then_some(end),
        generator_url: api,
        created_ms: u64::try_from(now_ms).unwrap_or(0),
        lang: set.lang,
    }
}
