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
pub mod engine;
pub mod notification;
pub mod outbox;
pub mod sinks;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use tokio::sync::Notify;

use crate::config::{Plan, SinkKind, SinkSpec};
use crate::incidents::{unix_ms, Incidents};
use crate::metrics::Metrics;
use crate::supervise::{self, Supervised};
use engine::{Engine, Sent, Settings};
use notification::{Event, Notification};
use outbox::Outbox;

const ENGINE_STATE: &str = "alerts.json";
const BACKOFF_FIRST: Duration = Duration::from_secs(1);
const BACKOFF_MAX: Duration = Duration::from_secs(300);

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
    Settings {
        group_wait_ms: ms(a.group_wait.unwrap_or(fastest)),
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
            let d = Delivery {
                sink: sink.clone(),
                metrics: metrics.clone(),
                max_age: plan.alerts.max_age,
                resend: plan.alerts.resend_interval,
                external: s.external.clone(),
            };
            tasks.push(supervise::spawn(
                "alert_delivery",
                metrics.clone(),
                move || d.clone().run(),
            ));
        }
        tracing::info!(sinks = sinks.len(), group_wait_ms = s.group_wait_ms, vantage = %s.vantage, "alerts enabled");
        let m = metrics.clone();
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

async fn run_engine(
    dir: PathBuf,
    s: Settings,
    incidents: Arc<Incidents>,
    sinks: Vec<Arc<Sink>>,
    metrics: Arc<Metrics>,
    maintenance: Arc<crate::maintenance::Live>,
) {
    let mut engine = Engine::restore(load_state(&dir));
    // Window edges are announced as they are crossed: a window already running when the
    // engine (re)starts was announced by the process that saw it start.
    let mut edges_seen = crate::maintenance::now_ms();
    let bell = incidents.notifier();
    let tick = Duration::from_millis((s.group_wait_ms / 4).clamp(100, 1000));
    let mut failing = false;
    loop {
        let now = unix_ms(SystemTime::now());
        let now_i = i64::try_from(now).unwrap_or(i64::MAX);
        let open = crate::maintenance::notify::outside(&maintenance, incidents.open(), now_i);
        let want = engine::desired(&open, now, &s);
        let (mut out, changed) = engine.evaluate(want, now, &s);
        let edges =
            crate::maintenance::notify::transitions(&maintenance.get(), edges_seen, now_i, &s);
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
                state.map(|bytes| crate::incidents::write_atomic(&d, ENGINE_STATE, &bytes))
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
            () = bell.notified() => {}
            () = tokio::time::sleep(tick) => {}
        }
    }
}

/// Puts each notification in the outbox of every sink it is for (fsynced: blocking).
fn enqueue(sinks: &[Arc<Sink>], out: Vec<(Notification, bool)>, metrics: &Metrics) {
    for (n, only_am) in out {
        tracing::info!(key = %n.key, event = n.event.as_str(), alertname = n.labels.get("alertname").map_or("", |v| v.as_str()), summary = n.annotation("summary"), "notification queued");
        let maintenance = n.labels.contains_key("maintenance");
        for sink in sinks
            .iter()
            .filter(|k| !only_am || k.spec.kind == SinkKind::Alertmanager)
            .filter(|k| !maintenance || k.spec.maintenance_notifications)
        {
            // A poisoned lock is taken over (src/sync.rs): skipping the push would lose
            // the notification while counting it as queued.
            crate::sync::lock(&sink.outbox, "outbox").push(n.clone());
            metrics.incidents.notification(&sink.spec.name, "queued");
            sink.bell.notify_one();
        }
    }
}

/// A random factor in [0.5, 1.0): jitter, so many payprobes do not retry in step.
fn jitter() -> f64 {
    let mut b = [0u8; 4];
    let _ = ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut b);
    0.5 + f64::from(u32::from_le_bytes(b)) / f64::from(u32::MAX) / 2.0
}

fn backoff(attempts: u32) -> Duration {
    let exp = BACKOFF_FIRST.saturating_mul(1u32 << attempts.min(16));
    exp.min(BACKOFF_MAX).mul_f64(jitter())
}

#[derive(Clone)]
struct Delivery {
    sink: Arc<Sink>,
    metrics: Arc<Metrics>,
    max_age: Duration,
    resend: Duration,
    external: String,
}

impl Delivery {
    fn gauges(&self) {
        let ob = crate::sync::lock(&self.sink.outbox, "outbox");
        let now = unix_ms(SystemTime::now());
        let oldest = ob
            .oldest_created_ms()
            .map_or(0.0, |c| now.saturating_sub(c) as f64 / 1000.0);
        self.metrics
            .incidents
            .outbox(&self.sink.spec.name, ob.len(), oldest);
    }

    async fn run(self) {
        let name = self.sink.spec.name.clone();
        let mut attempts = 0u32;
        loop {
            self.gauges();
            let head = crate::sync::lock(&self.sink.outbox, "outbox")
                .front()
                .cloned();
            let Some(n) = head else {
                tokio::select! {
                    () = self.sink.bell.notified() => {}
                    () = tokio::time::sleep(Duration::from_secs(1)) => {}
                }
                continue;
            };
            let now = SystemTime::now();
            if n.age(now) > self.max_age {
                tracing::error!(sink = %name, key = %n.key, age_s = n.age(now).as_secs(), "notification older than max_age dropped undelivered");
                self.metrics.incidents.notification(&name, "dropped");
                self.done(&n.key).await;
                attempts = 0;
                continue;
            }
            match deliver(&self.sink.spec, &n, self.resend, &self.external).await {
                Ok(_) => {
                    tracing::info!(sink = %name, key = %n.key, event = n.event.as_str(), "notification delivered");
                    self.metrics.incidents.notification(&name, "delivered");
                    self.done(&n.key).await;
                    attempts = 0;
                }
                Err(e) => {
                    self.metrics.incidents.notification(&name, "failed");
                    let wait = backoff(attempts);
                    attempts = attempts.saturating_add(1);
                    tracing::warn!(sink = %name, key = %n.key, error = %e, retry_in_ms = wait.as_millis() as u64, "delivery failed; retrying");
                    self.gauges();
                    tokio::time::sleep(wait).await;
                }
            }
        }
    }

    /// Marks `key` done in the outbox (an fsynced append: off the runtime's workers).
    async fn done(&self, key: &str) {
        let (sink, key) = (self.sink.clone(), key.to_string());
        let marked = tokio::task::spawn_blocking(move || {
            crate::sync::lock(&sink.outbox, "outbox").done(&key)
        });
        if marked.await.is_err() {
            self.metrics.internal_error("alert_delivery");
        }
    }
}

/// One delivery attempt: render, POST, judge the answer.
pub async fn deliver(
    spec: &SinkSpec,
    n: &Notification,
    resend: Duration,
    external: &str,
) -> Result<client::Answer, String> {
    let r = sinks::render(spec, n, SystemTime::now(), resend, external);
    let answer = client::post(&r.url, &r.headers, r.body, spec.timeout)
        .await
        .map_err(|e| e.to_string())?;
    sinks::judge(spec.kind, answer.status, &answer.body)
        .map_err(|e| format!("{}: {e}", spec.shown_url()))?;
    Ok(answer)
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
    let summary = match s.lang {
        crate::classify::Lang::En => "payprobe test notification: this sink works",
        crate::classify::Lang::ZhCn => "payprobe 测试通知：此通道可用",
    };
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
