//! Alerts from incidents, delivered so that nothing is lost.
//!
//! [`Alerts::start`] runs one engine task and one delivery task per sink. The engine wakes
//! whenever an incident opens, changes or closes (and at least every second), turns the open
//! incidents into the alerts that should fire ([`engine`]) and queues the differences in
//! each sink's durable [`outbox`]. Each sink's task delivers its outbox in order, retrying
//! with exponential backoff and jitter until delivered or older than `max_age`; sinks never
//! wait for each other. The scheduler knows nothing of this: incidents are a
//! `pipeline::Output` (see docs/architecture.md, "Data flow").

pub mod client;
mod delivery;
pub mod engine;
pub mod maintenance;
pub mod notification;
pub mod outbox;
pub mod sinks;
mod task;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use tokio::sync::Notify;

use crate::config::{Plan, SinkKind, SinkSpec};
use crate::incidents::Incidents;
use crate::metrics::Metrics;
use crate::supervise::{self, Supervised};
use crate::timefmt::unix_ms;
use engine::{Sent, Settings};
use notification::{Event, Notification};
use outbox::Outbox;

pub use delivery::{deliver, DeliveryError, Rejected, RejectedView};

const ENGINE_STATE: &str = "alerts.json";

/// One sink: its spec, outbox, and the bell its delivery task waits on.
struct Sink {
    spec: SinkSpec,
    outbox: Mutex<Outbox>,
    bell: Notify,
}

/// The running alert tasks (supervised: restarted if one ends, see `src/supervise.rs`);
/// stopped on drop.
pub struct Alerts {
    _tasks: Vec<Supervised>,
}

/// The host name, the default `vantage` label.
fn hostname() -> String {
    let mut buf = [0u8; 256];
    // SAFETY: gethostname writes at most `len` bytes into the buffer we own.
    let rc = unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len()) };
    let end = buf.iter().position(|b| *b == 0).unwrap_or(buf.len());
    match (rc, std::str::from_utf8(&buf[..end])) {
        (0, Ok(s)) if !s.is_empty() => s.to_string(),
        _ => "payprobe".to_string(),
    }
}

fn ms(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

/// The engine's settings for a plan whose API listens on `addr`.
pub fn settings(plan: &Plan, addr: std::net::SocketAddr) -> Settings {
    let a = &plan.alerts;
    let fastest = plan
        .targets
        .iter()
        .map(|t| t.interval)
        .min()
        .unwrap_or(crate::limits::ALERT_GROUP_WAIT_FALLBACK);
    let external = a.external_url.as_ref().map_or_else(
        || format!("http://{addr}"),
        |u| u.as_str().trim_end_matches('/').to_string(),
    );
    let slowest_detect = plan
        .targets
        .iter()
        .filter(|t| !t.control)
        .map(|t| t.interval.saturating_mul(t.failure_threshold.max(1)))
        .max()
        .unwrap_or_default();
    Settings {
        group_wait_ms: ms(a.group_wait.unwrap_or(fastest)),
        control_hold_ms: ms(slowest_detect),
        resend_ms: ms(a.resend_interval),
        external,
        vantage: a.vantage.clone().unwrap_or_else(hostname),
        lang: plan.server.lang,
    }
}

impl Alerts {
    /// Starts the engine and the sinks' delivery tasks; `None` when no sink is configured.
    pub fn start(
        plan: &Plan,
        addr: std::net::SocketAddr,
        incidents: Arc<Incidents>,
        metrics: Arc<Metrics>,
        rejected: Arc<Rejected>,
        maintenance: Arc<crate::maintenance::Live>,
    ) -> Option<Alerts> {
        if plan.alerts.sinks.is_empty() {
            return None;
        }
        let dir = plan.server.state_dir.clone();
        let s = settings(plan, addr);
        let sinks = open_sinks(plan, &metrics);
        let mut tasks = deliveries(plan, &sinks, &s.external, &metrics, &rejected);
        tracing::info!(sinks = sinks.len(), group_wait_ms = s.group_wait_ms, vantage = %s.vantage, "alerts enabled");
        let m = metrics.clone();
        let s = Arc::new(s);
        tasks.push(supervise::spawn("alert_engine", metrics, move || {
            task::run_engine(
                dir.clone(),
                s.clone(),
                incidents.clone(),
                sinks.clone(),
                m.clone(),
                maintenance.clone(),
            )
        }));
        Some(Alerts { _tasks: tasks })
    }
}

/// Each sink with its outbox, opened from `state_dir` (what was queued before a restart is
/// still to deliver), and its delivery series registered.
fn open_sinks(plan: &Plan, metrics: &Arc<Metrics>) -> Vec<Arc<Sink>> {
    plan.alerts
        .sinks
        .iter()
        .map(|spec| {
            metrics.incidents.sink(&spec.name);
            Arc::new(Sink {
                outbox: Mutex::new(Outbox::open(
                    &plan.server.state_dir,
                    &spec.name,
                    plan.alerts.queue_limit,
                    metrics.clone(),
                )),
                spec: spec.clone(),
                bell: Notify::new(),
            })
        })
        .collect()
}

/// One supervised delivery task per sink, so that a slow or failing sink never holds the
/// others back.
fn deliveries(
    plan: &Plan,
    sinks: &[Arc<Sink>],
    external: &str,
    metrics: &Arc<Metrics>,
    rejected: &Arc<Rejected>,
) -> Vec<Supervised> {
    let mut tasks = Vec::new();
    for sink in sinks {
        let d = delivery::Delivery {
            sink: sink.clone(),
            metrics: metrics.clone(),
            max_age: plan.alerts.max_age,
            resend: plan.alerts.resend_interval,
            external: external.to_string(),
            rejected: rejected.clone(),
        };
        tasks.push(supervise::spawn(
            "alert_delivery",
            metrics.clone(),
            move || d.clone().run(),
        ));
    }
    tasks
}

fn load_state(dir: &std::path::Path) -> BTreeMap<String, Sent> {
    let path = dir.join(ENGINE_STATE);
    match std::fs::read(&path) {
        Ok(b) => serde_json::from_slice(&b).unwrap_or_else(|e| {
            tracing::error!(path = %path.display(), error = %e, "alert state is not valid; starting without it (firing alerts are announced again, same idempotency keys)");
            BTreeMap::new()
        }),
        Err(_) => BTreeMap::new(),
    }
}

/// Puts each notification in the outbox of every sink it is for (fsynced: blocking).
fn enqueue(sinks: &[Arc<Sink>], out: Vec<(Notification, bool)>, metrics: &Metrics) {
    for (n, only_am) in out {
        let maintenance = n.labels.contains_key("maintenance");
        for sink in sinks
            .iter()
            .filter(|k| !only_am || k.spec.kind == SinkKind::Alertmanager)
            .filter(|k| !maintenance || k.spec.maintenance_notifications)
        {
            // A poisoned lock is taken over (src/sync.rs): skipping the push would lose
            // the notification while counting it as queued.
            if !crate::sync::lock(&sink.outbox, "outbox").push(n.clone()) {
                continue; // the same transition is queued already
            }
            tracing::info!(sink = %sink.spec.name, key = %n.key, event = n.event.as_str(), alertname = n.labels.get("alertname").map_or("", |v| v.as_str()), summary = n.annotation("summary"), "notification queued");
            metrics.incidents.notification(&sink.spec.name, "queued");
            sink.bell.notify_one();
        }
    }
}

/// A test notification, as `payprobe alerts test` sends it.
pub fn test_notification(plan: &Plan, addr: std::net::SocketAddr) -> Notification {
    let s = settings(plan, addr);
    let now = unix_ms(SystemTime::now());
    let mut labels = BTreeMap::new();
    for (k, v) in [
        ("alertname", "PaymentProbeTest"),
        ("cause", "none"),
        ("scope", "none"),
        ("severity", "info"),
    ] {
        labels.insert(k.to_string(), v.to_string());
    }
    labels.insert("vantage".into(), s.vantage.clone());
    let mut annotations = BTreeMap::new();
    let summary = crate::lang::alerts::TEST_NOTIFICATION.get(s.lang);
    annotations.insert("summary".to_string(), summary.to_string());
    annotations.insert(
        "api".to_string(),
        format!("{}/api/v1/incidents", s.external),
    );
    let fp = notification::fingerprint(&labels);
    Notification {
        key: format!("{fp}-test-{now}"),
        fingerprint: fp,
        event: Event::Test,
        group_key: "{}:{alertname=\"PaymentProbeTest\"}".into(),
        labels,
        previous_labels: None,
        annotations,
        starts_ms: now,
        ends_ms: Some(now),
        generator_url: format!("{}/api/v1/incidents", s.external),
        created_ms: now,
        lang: s.lang,
    }
}
