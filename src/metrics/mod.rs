//! Prometheus series, named as docs/architecture.md lists them (users build dashboards on them).
//!
//! Only bounded label values are used: target and provider names come from the config, the
//! rest from closed enums. Every series of a target is removed when the target is.
//!
//! Two stores: each target's series live in payprobe's own compact state (`target.rs`,
//! written by `families.rs` through the text encoder of `text.rs`); process-wide series
//! (scheduler lag, internal errors, build info, reload, incidents and alert delivery) stay in
//! a `prometheus` crate registry (`global.rs`, `incidents.rs`) whose text is appended. No
//! family is in both.

mod families;
mod global;
mod incident_events;
mod incidents;
mod maintenance;
mod notifications;
mod sign;
mod target;
#[cfg(test)]
mod tests_encoder;
mod text;

pub use incident_events::IncidentSeries;
pub use incidents::{IncidentMetrics, OUTCOMES as NOTIFICATION_OUTCOMES};
pub use notifications::NotificationMetrics;

use std::collections::BTreeMap;
use std::io::Write;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use prometheus::{Encoder, Gauge, Histogram, IntCounterVec, Registry, TextEncoder};

use crate::checked::Checked;
use crate::config::Target;
use target::TargetSeries;

/// Latency buckets from 5 ms to 30 s: payment APIs answer in tens to hundreds of ms, and a
/// bucket above the usual 5-10 s timeouts keeps slow-but-successful probes visible.
const LATENCY_BUCKETS: [f64; 15] = [
    0.005, 0.01, 0.025, 0.05, 0.1, 0.2, 0.3, 0.5, 0.8, 1.0, 1.5, 2.5, 5.0, 10.0, 30.0,
];

#[derive(Debug, thiserror::Error)]
pub enum MetricsError {
    #[error("metrics: {0}")]
    Registry(#[from] prometheus::Error),
    #[error("metrics: writing the exposition: {0}")]
    Write(#[from] std::io::Error),
}

/// The process-wide series' `gather()` still allocates (a few hundred series); hand freed
/// pages back so the resident size reflects what payprobe holds.
fn release_freed_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only returns free heap pages to the OS; it has no preconditions.
    unsafe {
        libc::malloc_trim(0);
    }
}

/// Now as Unix seconds, to the millisecond (a round's end needs no finer; 4 bytes a line less).
fn unix_now() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0.0, |d| d.as_millis() as f64 / 1e3)
}

/// The metrics are one output of every judged round (see `src/pipeline.rs`).
impl crate::output::Output for Metrics {
    fn name(&self) -> &'static str {
        "metrics"
    }

    /// One lookup and one lock of the target's series serve the whole round.
    fn publish(&self, round: &crate::output::JudgedRound) {
        let t = self.target(&round.target);
        let mut s = t.lock();
        if !round.rejudged() {
            s.observe(&round.evidence, unix_now());
            if round.diagnosis.slow {
                s.over_slo();
            }
        }
        s.diagnosis(&round.diagnosis);
        s.state_since(round.since, round.at);
        drop(s);
        if let Some(n) = round
            .evidence
            .iter()
            .find_map(|c| c.observed.notification.as_ref())
        {
            self.notifications.sync(&round.target, n);
        }
    }

    fn retire(&self, target: &Target) {
        self.remove_target(target);
    }
}

/// The stages count payprobe's own failures, queue overflows and lag here, without
/// depending on the metrics (`src/output.rs`).
impl crate::output::SelfReport for Metrics {
    fn internal_error(&self, place: &'static str) {
        Metrics::internal_error(self, place);
    }

    fn queue_overflow(&self, queue: &'static str) {
        self.incidents.queue_overflow(queue);
    }

    fn round_lag(&self, lag: Duration) {
        self.observe_lag(lag);
    }

    fn state_error(&self, what: &'static str) {
        self.incidents.state_error(what);
    }

    fn state_written(&self, what: &'static str, bytes: usize) {
        self.incidents.written(what, bytes);
    }
}

/// The label value of a failure kind: its name (`connect_refused`), `none` when the probe
/// passed. The vocabulary's name, so a new kind needs no second list.
fn kind_label(k: Option<crate::probe::FailureKind>) -> String {
    k.map_or("none", |k| k.as_str()).to_string()
}

/// `Retry-After` (RFC 9110 §10.2.3) as seconds from `now`: delta-seconds or an HTTP-date (a
/// date in the past is 0). `None` when the value is neither.
pub fn retry_after_secs(v: &str, now: std::time::SystemTime) -> Option<f64> {
    let v = v.trim();
    if let Ok(n) = v.parse::<u64>() {
        return Some(n as f64);
    }
    let at = httpdate::parse_http_date(v).ok()?;
    Some(at.duration_since(now).map_or(0.0, |d| d.as_secs_f64()))
}

/// Families another module keeps (maintenance, availability: `src/maintenance/`,
/// `src/availability/`), appended to the exposition after the registry's. Each writes whole
/// families in the text format, `# HELP` and `# TYPE` included.
pub trait Exposition: Send + Sync {
    /// Writes the families. `out` is buffered and goes on into the scrape's (compressing)
    /// stream, so a family of every target never exists whole in memory (the availability
    /// families of 10,000 targets were a 15 MB buffer per scrape).
    fn write(&self, out: &mut dyn Write);
}

/// Writes one family's `# HELP`/`# TYPE` header for an [`Exposition`].
pub fn write_header(out: &mut dyn Write, name: &str, kind: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
}

/// Writes one sample for an [`Exposition`]: label values escaped, numbers as Rust prints
/// them (`1`, `0.999`).
pub fn write_sample(out: &mut dyn Write, name: &str, labels: &[(&str, &str)], value: f64) {
    let inner: Vec<String> = labels
        .iter()
        .map(|(k, v)| format!("{k}=\"{}\"", text::escape(v)))
        .collect();
    if inner.is_empty() {
        let _ = writeln!(out, "{name} {value}");
    } else {
        let _ = writeln!(out, "{name}{{{}}} {value}", inner.join(","));
    }
}

pub struct Metrics {
    /// Families written by other modules, in the order they were added.
    extra: Mutex<Vec<Arc<dyn Exposition>>>,
    /// Process-wide series only; per-target series are in `targets`.
    registry: Registry,
    internal_errors: IntCounterVec,
    /// Whether per-target latency histograms are exported (`[server] latency_histograms`).
    latency_histograms: bool,
    pub scheduler_lag: Histogram,
    pub config_reload_ok: Gauge,
    /// Incidents and alert delivery (`src/incidents/`, `src/alerts/`).
    pub incidents: IncidentMetrics,
    /// `[[notifications]]` channels (`notifications.rs`).
    pub notifications: NotificationMetrics,
    /// Each target's series, by name (sorted, so the exposition's order is stable).
    targets: Mutex<BTreeMap<String, Arc<TargetSeries>>>,
    /// Size of the last whole-text render: the next one reserves it at once instead of
    /// doubling its buffer (which briefly held 1.5 times the text).
    last_len: AtomicUsize,
    /// Lock take-overs already added to `payprobe_internal_errors_total`, by lock name
    /// (`crate::sync` counts them; a scrape adds what is new).
    locks_counted: Mutex<BTreeMap<&'static str, u64>>,
}

impl Metrics {
    /// Metrics without per-target latency histograms (the default).
    pub fn new() -> Result<Metrics, MetricsError> {
        Metrics::with_histograms(false)
    }

    /// Metrics with or without `payprobe_probe_latency_seconds` per target and check.
    pub fn with_histograms(latency_histograms: bool) -> Result<Metrics, MetricsError> {
        let registry = Registry::new();
        let g = global::Global::register(&registry)?;
        Ok(Metrics {
            incidents: IncidentMetrics::new(&registry)?,
            notifications: NotificationMetrics::new(&registry)?,
            registry,
            internal_errors: g.internal_errors,
            latency_histograms,
            scheduler_lag: g.scheduler_lag,
            config_reload_ok: g.config_reload_ok,
            targets: Mutex::new(BTreeMap::new()),
            last_len: AtomicUsize::new(0),
            extra: Mutex::new(Vec::new()),
            locks_counted: Mutex::new(BTreeMap::new()),
        })
    }

    /// A target's series, made on its first round.
    fn target(&self, t: &Target) -> Arc<TargetSeries> {
        let mut map = crate::sync::lock(&self.targets, "target series");
        if let Some(s) = map.get(&t.name) {
            return s.clone();
        }
        let s = Arc::new(TargetSeries::new(t, self.latency_histograms));
        map.insert(t.name.clone(), s.clone());
        s
    }

    /// Exports one finished round of a target.
    pub fn observe(&self, t: &Target, round: &[Checked]) {
        self.target(t).lock().observe(round, unix_now());
    }

    /// Exports a diagnosis: health, the current cause and scope, the active symptoms.
    pub fn observe_diagnosis(&self, t: &Target, d: &crate::classify::Diagnosis) {
        self.target(t).lock().diagnosis(d);
    }

    /// Removes every series of a target (it left the config, or its labels changed).
    pub fn remove_target(&self, t: &Target) {
        // `payprobe_incident_open` is not the target's: it follows its incident, which
        // outlives a removal by a grace period (`incident_events.rs`).
        crate::sync::lock(&self.targets, "target series").remove(&t.name);
        if t.channel.is_some() {
            self.notifications.remove(t);
        }
    }

    /// Adds families written by another module to every scrape.
    pub fn expose(&self, e: Arc<dyn Exposition>) {
        crate::sync::lock(&self.extra, "extra families").push(e);
    }

    /// Counts a failure of payprobe itself; `place` is a bounded label value.
    pub fn internal_error(&self, place: &str) {
        self.internal_errors.with_label_values(&[place]).inc();
    }

    /// Adds the poisoned locks `crate::sync` took over since the last scrape to
    /// `payprobe_internal_errors_total{where="<lock name>"}`.
    fn count_lock_takeovers(&self) {
        let mut counted = crate::sync::lock(&self.locks_counted, "lock counts");
        for (name, n) in crate::sync::taken_over() {
            let seen = counted.entry(name).or_default();
            if n > *seen {
                self.internal_errors
                    .with_label_values(&[name])
                    .inc_by(n - *seen);
                *seen = n;
            }
        }
    }

    pub fn observe_lag(&self, lag: Duration) {
        self.scheduler_lag.observe(lag.as_secs_f64());
    }

    /// Writes the exposition to `sink` in chunks (see `text.rs`): per-target families first,
    /// then the registry's. The only copy made is the list of target handles.
    pub fn render_to(&self, sink: &mut dyn Write) -> Result<(), MetricsError> {
        self.count_lock_takeovers();
        let targets: Vec<Arc<TargetSeries>> = crate::sync::lock(&self.targets, "target series")
            .values()
            .cloned()
            .collect();
        let mut out = text::Text::new(sink);
        families::write_all(&targets, &mut out)?;
        drop(targets);
        let mut global = Vec::new();
        TextEncoder::new().encode(&self.registry.gather(), &mut global)?;
        out.raw(&global)?;
        drop(global);
        let extra = crate::sync::lock(&self.extra, "extra families").clone();
        for e in extra {
            let mut w = std::io::BufWriter::with_capacity(text::CHUNK, text::Raw(&mut out));
            e.write(&mut w);
            w.flush()?;
        }
        out.finish()?;
        release_freed_memory();
        Ok(())
    }

    /// The text exposition format, whole (tests, benches; `/metrics` streams via `render_to`).
    pub fn render(&self) -> Result<String, MetricsError> {
        let last = self.last_len.load(Ordering::Relaxed);
        let mut out = Vec::with_capacity(last + last / 16);
        self.render_to(&mut out)?;
        self.last_len.store(out.len(), Ordering::Relaxed);
        String::from_utf8(out).map_err(|e| {
            MetricsError::Write(std::io::Error::new(std::io::ErrorKind::InvalidData, e))
        })
    }

    pub fn content_type() -> String {
        TextEncoder::new().format_type().to_string()
    }
}

#[cfg(test)]
mod retry_after_tests {
    use std::time::{Duration, SystemTime};

    use super::retry_after_secs;

    #[test]
    fn retry_after_reads_seconds_and_http_dates() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000_000);
        assert_eq!(retry_after_secs(" 120 ", now), Some(120.0));
        let later = httpdate::fmt_http_date(now + Duration::from_secs(90));
        assert_eq!(retry_after_secs(&later, now), Some(90.0));
        let past = httpdate::fmt_http_date(now - Duration::from_secs(90));
        assert_eq!(
            retry_after_secs(&past, now),
            Some(0.0),
            "a past date: retry now"
        );
        assert_eq!(retry_after_secs("soon", now), None);
        assert_eq!(retry_after_secs("-5", now), None);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Check;

    /// A poisoned lock taken over anywhere shows on /metrics under its name, once.
    #[test]
    fn a_taken_over_lock_is_counted_by_name_once() {
        let m = Arc::new(std::sync::RwLock::new(0u32));
        let m2 = m.clone();
        let _ = std::thread::spawn(move || {
            let _g = m2.write().unwrap();
            panic!("a bug while holding the lock");
        })
        .join();
        assert_eq!(
            *crate::sync::read(&m, "metrics_test_lock"),
            0,
            "its data, not none"
        );
        let metrics = Metrics::new().unwrap();
        let line = r#"payprobe_internal_errors_total{where="metrics_test_lock"} 1"#;
        for _ in 0..2 {
            let text = metrics.render().unwrap();
            assert!(text.contains(line), "{text}");
        }
    }
    use crate::checked::{ApiVersionReading, Lag};
    use crate::probe::rpc::RpcEvidence;
    use crate::probe::Evidence;

    /// A round with chain heights and an API version without `Sunset` keeps the chain
    /// series (removing the absent Sunset series used to remove them too).
    #[test]
    fn no_sunset_keeps_the_chain_series() {
        let src = "[[targets]]\nname = \"node\"\nurl = \"http://127.0.0.1:1/\"\nprofile = \"evm_jsonrpc\"\nchecks = [\"rpc\", \"api_version\"]\n[targets.rpc]\nchain = \"ethereum\"\n";
        let plan = crate::config::parse(
            std::path::Path::new("t.toml"),
            src,
            std::path::Path::new("."),
        )
        .unwrap_or_else(|e| panic!("{e}"));
        let t = &plan.targets[0];
        let m = Metrics::new().unwrap();
        let mut rpc = Evidence::new("node", Check::Rpc);
        rpc.rpc = Some(RpcEvidence {
            height: Some(1000),
            ..Default::default()
        });
        let mut rpc = Checked::unconditioned(rpc);
        rpc.readings.lag = Some(Lag {
            blocks: Some(2),
            ..Default::default()
        });
        let mut api = Checked::unconditioned(Evidence::new("node", Check::ApiVersion));
        api.readings.api_version = Some(ApiVersionReading::default());
        m.observe(t, &[rpc, api]);
        let text = m.render().unwrap();
        assert!(text.contains("payprobe_rpc_block_height{"), "{text}");
        assert!(text.contains("payprobe_rpc_block_lag{"), "{text}");
        assert!(!text.contains("payprobe_api_sunset_timestamp_seconds{"));
    }
}
