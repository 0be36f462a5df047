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

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use tokio::sync::Notify;

use crate::config::{Plan, SinkKind, SinkSpec};
use crate::incidents::Incidents;
use crate::metrics::Metrics;
use crate::supervise::{self, Supervised};
use crate::timefmt::unix_ms;
use engine::{Engine, Sent, Settings};
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
        .unwrap_or(Duration::from_secs(15));
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
        let sinks: Vec<Arc<Sink>> = plan
            .alerts
            .sinks
            .iter()
            .map(|spec| {
                metrics.incidents.sink(&spec.name);
                Arc::new(Sink {
                    outbox: Mutex::new(Outbox::open(
                        &dir,
                        &spec.name,
                        plan.alerts.queue_limit,
                        metrics.clone(),
                    )),
                    spec: spec.clone(),
                    bell: Notify::new(),
                })
            })
            .collect();
        let mut tasks = Vec::new();
        for sink in &sinks {
            let d = delivery::Delivery {
                sink: sink.clone(),
                metrics: metrics.clone(),
                max_age: plan.alerts.max_age,
                resend: plan.alerts.resend_interval,
                external: s.external.clone(),
                rejected: rejected.clone(),
            };
            tasks.push(supervise::spawn(
                "alert_delivery",
                metrics.clone(),
                move || d.clone().run(),
            ));
        }
        tracing::info!(sinks = sinks.len(), group_wait_ms = s.group_wait_ms, vantage = %s.vantage, "alerts enabled");
        let m = metrics.clone();
        let s = Arc::new(s);
        tasks.push(supervise::spawn("alert_engine", metrics, move || {
            run_engine(
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

/// Follows the incident events (its own copy, no lock of the book per tick) and turns the
/// open incidents into notifications: at once when an incident changes, and every `tick`
/// for what time alone decides (`group_wait`, re-sends, the settling after a local outage).
async fn run_engine(
    dir: PathBuf,
    s: Arc<Settings>,
    incidents: Arc<Incidents>,
    sinks: Vec<Arc<Sink>>,
    metrics: Arc<Metrics>,
    maintenance: Arc<crate::maintenance::Live>,
) {
    let mut engine = Engine::restore(load_state(&dir));
    let mut follow = incidents.follow("alert_engine");
    // Window edges are announced as they are crossed: a window already running when the
    // engine (re)starts was announced by the process that saw it start.
    let mut edges_seen = crate::maintenance::now_ms();
    let tick = Duration::from_millis((s.group_wait_ms / 4).clamp(100, 1000));
    let mut failing = false;
    let mut journal_slow = false;
    loop {
        follow.catch_up(&incidents);
        // Page only on what the journal holds: a notification on disk before its incident
        // would be resolved and sent again after a crash (the restarted engine would find no
        // incident behind it).
        let written = incidents.journaled(follow.seq()).await;
        if written == journal_slow {
            journal_slow = !written;
            if journal_slow {
                tracing::warn!(waited = ?crate::limits::JOURNAL_WAIT, "the incident journal is behind (a slow or hung disk?); alerts go out after waiting this long for it");
            } else {
                tracing::info!("the incident journal caught up");
            }
        }
        // Judging is O(open incidents): at 100,000 it is tens of milliseconds, done off the
        // runtime's workers so the probes on them never wait for it.
        let judged = {
            let (m, s) = (maintenance.clone(), s.clone());
            tokio::task::spawn_blocking(move || {
                let now = unix_ms(SystemTime::now());
                let now_i = i64::try_from(now).unwrap_or(i64::MAX);
                let open = maintenance::outside(
                    &m,
                    follow.ledger().open.values().map(|i| i.as_ref()),
                    now_i,
                );
                let want = engine::desired(open, now, &s);
                let result = engine.evaluate(want, now, &s);
                (follow, engine, result, now_i)
            })
            .await
        };
        let (mut out, changed, now_i);
        match judged {
            Ok((f, e, r, n)) => {
                (follow, engine) = (f, e);
                ((out, changed), now_i) = (r, n);
            }
            Err(e) => {
                // The engine's state went with the panic: end, and the supervisor starts a
                // fresh engine from the saved state and the book.
                metrics.internal_error("alert_engine");
                tracing::error!(error = %e, "judging the alerts failed");
                return;
            }
        }
        let edges = maintenance::transitions(&maintenance.get(), edges_seen, now_i, &s);
        edges_seen = now_i;
        out.extend(edges.into_iter().map(|n| (n, false)));
        // Queueing fsyncs each outbox and the state is written through fsync and rename:
        // disk work, kept off the runtime's workers, which the probes need.
        let state = changed.then(|| serde_json::to_vec(&engine.sent).unwrap_or_default());
        let written = if out.is_empty() && state.is_none() {
            Ok(None) // nothing to write: no thread for it
        } else {
            let (q, m, d) = (sinks.clone(), metrics.clone(), dir.clone());
            tokio::task::spawn_blocking(move || {
                enqueue(&q, out, &m);
                state.map(|bytes| crate::durable::write_atomic(&d, ENGINE_STATE, &bytes))
            })
            .await
        };
        match written {
            Ok(None) => {}
            Ok(Some(Ok(()))) => failing = false,
            Ok(Some(Err(e))) => {
                metrics.incidents.state_error("alerts");
                if !failing {
                    tracing::error!(dir = %dir.display(), error = %e, "cannot write the alert state to state_dir; alerting goes on");
                }
                failing = true;
            }
            Err(e) => {
                metrics.internal_error("alert_engine");
                tracing::error!(error = %e, "queueing notifications failed");
            }
        }
        tokio::select! {
            alive = follow.next() => {
                if !alive {
                    return;
                }
                // A burst of events (a mass change) is judged once, not once per event.
                tokio::time::sleep(crate::limits::ALERT_ENGINE_COALESCE).await;
            }
            () = tokio::time::sleep(tick) => {}
        }
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
    }
}
