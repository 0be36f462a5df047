//! Prometheus series, named as docs/architecture.md lists them (users build dashboards on them).
//!
//! Only bounded label values are used: target and provider names come from the config, the
//! rest from closed enums. Every series of a target is removed when the target is.

mod hot;
mod incidents;

pub use incidents::{IncidentMetrics, OUTCOMES as NOTIFICATION_OUTCOMES};

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use prometheus::{
    Encoder, Gauge, GaugeVec, Histogram, HistogramOpts, HistogramVec, IntCounterVec, Opts,
    Registry, TextEncoder,
};

use crate::classify::{Cause, Diagnosis, Scope, Symptom};
use crate::config::{Check, Target};
use crate::probe::{Evidence, Phase};

/// Latency buckets from 5 ms to 30 s: payment APIs answer in tens to hundreds of ms, and a
/// bucket above the usual 5-10 s timeouts keeps slow-but-successful probes visible.
const LATENCY_BUCKETS: &[f64] = &[
    0.005, 0.01, 0.025, 0.05, 0.1, 0.2, 0.3, 0.5, 0.8, 1.0, 1.5, 2.5, 5.0, 10.0, 30.0,
];
const LAG_BUCKETS: &[f64] = &[0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1.0, 5.0, 15.0];
const OUTCOMES: [&str; 2] = ["success", "failure"];
const PING_STATS: [&str; 4] = ["min", "avg", "max", "stddev"];

#[derive(Debug, thiserror::Error)]
#[error("metrics: {0}")]
pub struct MetricsError(#[from] prometheus::Error);

/// `gather()` copies every series into a transient structure (hundreds of MiB at 10,000
/// targets) that glibc keeps mapped after it is freed; hand it back so the resident size
/// reflects what payprobe holds, not its last scrape's peak.
fn release_freed_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only returns free heap pages to the OS; it has no preconditions.
    unsafe {
        libc::malloc_trim(0);
    }
}

fn unix_now() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

/// The metrics are the first output of every judged round (see `src/pipeline.rs`).
impl crate::pipeline::Output for Metrics {
    fn name(&self) -> &'static str {
        "metrics"
    }

    /// One lookup of the target's series handles serves the whole round.
    fn publish(&self, round: &crate::pipeline::JudgedRound<'_>) {
        let Some(hot) = self.hot(round.target) else {
            return;
        };
        if !round.rejudged() {
            self.observe_with(&hot, round.target, round.evidence);
            if let (true, Some(c)) = (round.diagnosis.slow, &hot.over_slo) {
                c.inc();
            }
        }
        self.diagnosis_with(&hot, round.target, round.diagnosis);
    }

    fn retire(&self, target: &Target) {
        self.remove_target(target);
    }
}

/// Sets an `*_info` series to 1 for `value`, removing the series of the previous value: a
/// version change must not leave two series claiming to be current.
fn swap_label(vec: &GaugeVec, seen: &Mutex<HashMap<String, String>>, t: &Target, value: &str) {
    let mut seen = crate::sync::lock(seen, "metric labels");
    if let Some(old) = seen.get(&t.name) {
        if old == value {
            return;
        }
        let _ = vec.remove_label_values(&[&t.name, &t.provider, old]);
    }
    vec.with_label_values(&[&t.name, &t.provider, value])
        .set(1.0);
    seen.insert(t.name.clone(), value.to_string());
}

/// The label value of a failure kind: its snake_case name (`connect_refused`), `none` when
/// the probe passed. Taken from the serde name so a new kind needs no second list.
fn kind_label(k: Option<crate::probe::FailureKind>) -> String {
    match k.map(serde_json::to_value) {
        None => "none".into(),
        Some(Ok(serde_json::Value::String(s))) => s,
        Some(_) => "unknown".into(),
    }
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

pub struct Metrics {
    registry: Registry,
    probe_success: GaugeVec,
    probe_duration: GaugeVec,
    probe_latency: HistogramVec,
    probes_total: IntCounterVec,
    http_phase: GaugeVec,
    http_status: GaugeVec,
    tls_version: GaugeVec,
    ping_loss: GaugeVec,
    cert_not_after: GaugeVec,
    api_version: GaugeVec,
    api_compatible: GaugeVec,
    api_sunset: GaugeVec,
    rpc_height: GaugeVec,
    rpc_lag: GaugeVec,
    ping_rtt: GaugeVec,
    target_healthy: GaugeVec,
    cause: GaugeVec,
    scope: GaugeVec,
    symptom: GaugeVec,
    last_round: GaugeVec,
    over_slo: IntCounterVec,
    failure_kind: GaugeVec,
    retry_after: GaugeVec,
    internal_errors: IntCounterVec,
    /// Whether per-target latency histograms are exported (`[server] latency_histograms`).
    latency_histograms: bool,
    pub scheduler_lag: Histogram,
    pub config_reload_ok: Gauge,
    /// Incidents and alert delivery (`src/incidents/`, `src/alerts/`).
    pub incidents: IncidentMetrics,
    /// TLS and API version labels currently exported per target, to remove them on change.
    tls_seen: Mutex<HashMap<String, String>>,
    api_seen: Mutex<HashMap<String, String>>,
    /// Resolved handles of each target's hot series.
    hot: Mutex<HashMap<String, Arc<hot::Hot>>>,
}

fn gauge(r: &Registry, name: &str, help: &str, labels: &[&str]) -> Result<GaugeVec, MetricsError> {
    let g = GaugeVec::new(Opts::new(name, help), labels)?;
    r.register(Box::new(g.clone()))?;
    Ok(g)
}

impl Metrics {
    /// Metrics without per-target latency histograms (the default).
    pub fn new() -> Result<Metrics, MetricsError> {
        Metrics::with_histograms(false)
    }

    /// Metrics with or without `payprobe_probe_latency_seconds` per target and check.
    pub fn with_histograms(latency_histograms: bool) -> Result<Metrics, MetricsError> {
        let r = Registry::new();
        let tpc = &["target", "provider", "check"];
        let tp = &["target", "provider"];
        let probe_latency = HistogramVec::new(
            HistogramOpts::new(
                "payprobe_probe_latency_seconds",
                "Duration of probes, by target and check.",
            )
            .buckets(LATENCY_BUCKETS.to_vec()),
            tpc,
        )?;
        r.register(Box::new(probe_latency.clone()))?;
        let probes_total = IntCounterVec::new(
            Opts::new(
                "payprobe_probes_total",
                "Probes run, by target, check and outcome.",
            ),
            &["target", "provider", "check", "outcome"],
        )?;
        r.register(Box::new(probes_total.clone()))?;
        let internal_errors = IntCounterVec::new(
            Opts::new(
                "payprobe_internal_errors_total",
                "Failures of payprobe itself (a caught panic, an overrun, a failed output), by where they happened. Never the gateway's fault.",
            ),
            &["where"],
        )?;
        r.register(Box::new(internal_errors.clone()))?;
        let over_slo = IntCounterVec::new(
            Opts::new(
                "payprobe_probes_over_slo_total",
                "Rounds that passed but took longer than the target's latency_slo (only for targets with one); with payprobe_probes_total{check=\"http\"} it gives the SLO burn rate.",
            ),
            &["target", "provider"],
        )?;
        r.register(Box::new(over_slo.clone()))?;
        for place in ["round", "deadline", "judge", "task"] {
            internal_errors.with_label_values(&[place]);
        }
        let scheduler_lag = Histogram::with_opts(
            HistogramOpts::new(
                "payprobe_scheduler_lag_seconds",
                "How late probes started compared to their schedule.",
            )
            .buckets(LAG_BUCKETS.to_vec()),
        )?;
        r.register(Box::new(scheduler_lag.clone()))?;
        let config_reload_ok = Gauge::new(
            "payprobe_config_last_reload_successful",
            "1 if the last configuration (re)load succeeded, 0 if it failed and the previous one is still running.",
        )?;
        config_reload_ok.set(1.0);
        r.register(Box::new(config_reload_ok.clone()))?;
        let build = gauge(
            &r,
            "payprobe_build_info",
            "Always 1; the version label says which payprobe runs.",
            &["version"],
        )?;
        build.with_label_values(&[crate::VERSION]).set(1.0);
        r.register(Box::new(
            prometheus::process_collector::ProcessCollector::for_self(),
        ))?;
        let incidents = IncidentMetrics::new(&r)?;
        Ok(Metrics {
            incidents,
            probe_success: gauge(
                &r,
                "payprobe_probe_success",
                "1 if the last probe of this check succeeded.",
                tpc,
            )?,
            probe_duration: gauge(
                &r,
                "payprobe_probe_duration_seconds",
                "Duration of the last probe of this check.",
                tpc,
            )?,
            http_phase: gauge(
                &r,
                "payprobe_http_phase_duration_seconds",
                "Duration of each phase of the last HTTP probe.",
                &["target", "provider", "phase"],
            )?,
            http_status: gauge(
                &r,
                "payprobe_http_status_code",
                "Status code of the last HTTP response (0 if none came).",
                tp,
            )?,
            tls_version: gauge(
                &r,
                "payprobe_tls_version_info",
                "TLS version negotiated by the last handshake.",
                &["target", "provider", "version"],
            )?,
            target_healthy: gauge(
                &r,
                "payprobe_target_healthy",
                "1 if the target is healthy after failure/success thresholds.",
                tp,
            )?,
            cause: gauge(
                &r,
                "payprobe_cause",
                "1 for the current cause of the target (one-hot over all seven causes).",
                &["target", "provider", "cause"],
            )?,
            scope: gauge(
                &r,
                "payprobe_scope",
                "1 for where the problem is: none, local (this vantage point), provider, endpoint.",
                &["target", "provider", "scope"],
            )?,
            symptom: gauge(
                &r,
                "payprobe_symptom",
                "1 for each symptom users of this target would see now.",
                &["target", "provider", "symptom"],
            )?,
            api_version: gauge(
                &r,
                "payprobe_api_version_info",
                "The API version the gateway reported last (the version label).",
                &["target", "provider", "version"],
            )?,
            api_compatible: gauge(
                &r,
                "payprobe_api_version_compatible",
                "1 if the reported API version satisfies the target's requirement.",
                tp,
            )?,
            api_sunset: gauge(
                &r,
                "payprobe_api_sunset_timestamp_seconds",
                "The API's Sunset date (RFC 8594) as Unix seconds, when the gateway sends one.",
                tp,
            )?,
            rpc_height: gauge(
                &r,
                "payprobe_rpc_block_height",
                "Block number (EVM) or slot (Solana) the chain node reported last.",
                tp,
            )?,
            rpc_lag: gauge(
                &r,
                "payprobe_rpc_block_lag",
                "How far the chain node trails the best peer of its chain.",
                tp,
            )?,
            cert_not_after: gauge(
                &r,
                "payprobe_tls_cert_not_after_timestamp_seconds",
                "Expiry (Unix seconds) of the leaf certificate the server presented last.",
                tp,
            )?,
            ping_loss: gauge(
                &r,
                "payprobe_ping_loss_ratio",
                "Fraction of the last ping burst that was lost.",
                tp,
            )?,
            ping_rtt: gauge(
                &r,
                "payprobe_ping_rtt_seconds",
                "Round-trip times of the last ping burst.",
                &["target", "provider", "stat"],
            )?,
            last_round: gauge(
                &r,
                "payprobe_target_last_round_timestamp_seconds",
                "When the target's last round finished (Unix seconds): a stale value means its task is stuck.",
                tp,
            )?,
            failure_kind: gauge(
                &r,
                "payprobe_probe_failure_kind",
                "1 for the failure kind of each check's last probe (kind=\"none\" when it passed); one series per target and check.",
                &["target", "provider", "check", "kind"],
            )?,
            retry_after: gauge(
                &r,
                "payprobe_http_retry_after_seconds",
                "Seconds the gateway's last Retry-After header asks to wait; absent when none was sent.",
                tp,
            )?,
            registry: r,
            internal_errors,
            over_slo,
            latency_histograms,
            probe_latency,
            probes_total,
            scheduler_lag,
            config_reload_ok,
            tls_seen: Mutex::new(HashMap::new()),
            api_seen: Mutex::new(HashMap::new()),
            hot: Mutex::new(HashMap::new()),
        })
    }

    /// Exports one finished round of a target.
    fn hot(&self, t: &Target) -> Option<Arc<hot::Hot>> {
        let mut map = crate::sync::lock(&self.hot, "metric handles");
        if let Some(h) = map.get(&t.name) {
            return Some(h.clone());
        }
        let h = Arc::new(hot::Hot::new(self, t));
        map.insert(t.name.clone(), h.clone());
        Some(h)
    }

    /// Exports one finished round of a target.
    pub fn observe(&self, t: &Target, round: &[Evidence]) {
        if let Some(hot) = self.hot(t) {
            self.observe_with(&hot, t, round);
        }
    }

    fn observe_with(&self, hot: &hot::Hot, t: &Target, round: &[Evidence]) {
        let (name, prov) = (t.name.as_str(), t.provider.as_str());
        hot.last_round.set(unix_now());
        for e in round {
            if let Some(s) = hot.check(e.check) {
                let secs = e.duration.as_secs_f64();
                s.success.set(if e.success { 1.0 } else { 0.0 });
                s.duration.set(secs);
                if let Some(h) = &s.latency {
                    h.observe(secs);
                }
                if e.success {
                    s.ok.inc()
                } else {
                    s.failed.inc()
                }
            }
            self.observe_kind(t, hot, e);
            if let Some(h) = &e.http {
                match h
                    .headers
                    .get("retry-after")
                    .and_then(|v| retry_after_secs(v, std::time::SystemTime::now()))
                {
                    Some(s) => self.retry_after.with_label_values(&[name, prov]).set(s),
                    None => {
                        let _ = self.retry_after.remove_label_values(&[name, prov]);
                    }
                }
            }
            if let (Some(h), Some((phases, status))) = (&e.http, &hot.phases) {
                for (g, p) in phases.iter().zip(Phase::ALL) {
                    g.set(h.phases.get(p).as_secs_f64());
                }
                status.set(f64::from(h.status.unwrap_or(0)));
            }
            if let Some(p) = &e.ping {
                self.ping_loss
                    .with_label_values(&[name, prov])
                    .set(p.loss_ratio);
                for (stat, v) in
                    PING_STATS
                        .iter()
                        .zip([p.rtt_min, p.rtt_avg, p.rtt_max, p.rtt_stddev])
                {
                    let g = self.ping_rtt.with_label_values(&[name, prov, stat]);
                    // No reply, no RTT: NaN says "unknown" where 0 would claim a fast link.
                    g.set(v.unwrap_or(f64::NAN));
                }
            }
            if let Some(r) = &e.rpc {
                if let Some(h) = r.height {
                    self.rpc_height
                        .with_label_values(&[name, prov])
                        .set(h as f64);
                }
                if let Some(l) = r.lag {
                    self.rpc_lag.with_label_values(&[name, prov]).set(l as f64);
                }
            }
            if let Some(a) = &e.api_version {
                if let Some(v) = &a.seen {
                    swap_label(&self.api_version, &self.api_seen, t, v);
                }
                if let Some(ok) = a.compatible {
                    self.api_compatible
                        .with_label_values(&[name, prov])
                        .set(if ok { 1.0 } else { 0.0 });
                }
                match a.sunset_unix {
                    Some(s) => self
                        .api_sunset
                        .with_label_values(&[name, prov])
                        .set(s as f64),
                    // Only the Sunset series: a target with both `api_version` and `rpc`
                    // keeps its chain series (they used to vanish here, issue 15).
                    None => {
                        let _ = self.api_sunset.remove_label_values(&[name, prov]);
                    }
                }
            }
            if let Some(c) = e.tls.as_ref().and_then(|t| t.certificate.as_ref()) {
                self.cert_not_after
                    .with_label_values(&[name, prov])
                    .set(c.not_after_unix as f64);
            }
            if let Some(v) = e.tls.as_ref().and_then(|t| t.version.as_deref()) {
                swap_label(&self.tls_version, &self.tls_seen, t, v);
            }
        }
    }

    /// Sets the check's failure-kind series to the last probe's kind, removing the previous
    /// kind's series: one series per target and check, from the closed set of kinds.
    fn observe_kind(&self, t: &Target, hot: &hot::Hot, e: &Evidence) {
        let kind = e.failure.as_ref().map(|f| f.kind);
        let Ok(mut kinds) = hot.kinds.lock() else {
            return;
        };
        let (name, prov, check) = (t.name.as_str(), t.provider.as_str(), e.check.as_str());
        match kinds.iter_mut().find(|(c, _)| *c == e.check) {
            Some((_, old)) if *old == kind => return,
            Some((_, old)) => {
                let _ =
                    self.failure_kind
                        .remove_label_values(&[name, prov, check, &kind_label(*old)]);
                *old = kind;
            }
            None => kinds.push((e.check, kind)),
        }
        self.failure_kind
            .with_label_values(&[name, prov, check, &kind_label(kind)])
            .set(1.0);
    }

    /// Exports a diagnosis: health, and the one-hot cause and scope (every value always
    /// present, so `payprobe_cause{cause="server"} == 1` needs no `absent()` tricks).
    pub fn observe_diagnosis(&self, t: &Target, d: &Diagnosis) {
        if let Some(hot) = self.hot(t) {
            self.diagnosis_with(&hot, t, d);
        }
    }

    fn diagnosis_with(&self, hot: &hot::Hot, t: &Target, d: &Diagnosis) {
        let one = |b: bool| if b { 1.0 } else { 0.0 };
        let ds = hot.diag(self, t);
        ds.healthy.set(one(d.healthy));
        for (g, c) in ds.cause.iter().zip(Cause::ALL) {
            g.set(one(d.cause == c));
        }
        for (g, s) in ds.scope.iter().zip(Scope::ALL) {
            g.set(one(d.scope == s));
        }
        for (g, s) in ds.symptom.iter().zip(Symptom::ALL) {
            g.set(one(d.symptoms.contains(&s)));
        }
    }

    /// Removes every series of a target (it left the config, or its labels changed).
    pub fn remove_target(&self, t: &Target) {
        let (name, prov) = (t.name.as_str(), t.provider.as_str());
        let hot = crate::sync::lock(&self.hot, "metric handles").remove(name);
        if let Some(h) = hot.as_ref() {
            let kinds = crate::sync::lock(&h.kinds, "failure kinds");
            for (c, k) in kinds.iter() {
                let _ = self.failure_kind.remove_label_values(&[
                    name,
                    prov,
                    c.as_str(),
                    &kind_label(*k),
                ]);
            }
        }
        let _ = self.retry_after.remove_label_values(&[name, prov]);
        for c in Check::ALL {
            let l = [name, prov, c.as_str()];
            let _ = self.probe_success.remove_label_values(&l);
            let _ = self.probe_duration.remove_label_values(&l);
            let _ = self.probe_latency.remove_label_values(&l);
            for o in OUTCOMES {
                let _ = self
                    .probes_total
                    .remove_label_values(&[name, prov, c.as_str(), o]);
            }
        }
        for p in Phase::ALL {
            let _ = self
                .http_phase
                .remove_label_values(&[name, prov, p.as_str()]);
        }
        let _ = self.http_status.remove_label_values(&[name, prov]);
        let _ = self.ping_loss.remove_label_values(&[name, prov]);
        let _ = self.cert_not_after.remove_label_values(&[name, prov]);
        for stat in PING_STATS {
            let _ = self.ping_rtt.remove_label_values(&[name, prov, stat]);
        }
        let _ = self.target_healthy.remove_label_values(&[name, prov]);
        let _ = self.last_round.remove_label_values(&[name, prov]);
        let _ = self.over_slo.remove_label_values(&[name, prov]);
        for c in Cause::ALL {
            let _ = self.cause.remove_label_values(&[name, prov, c.as_str()]);
        }
        for sc in Scope::ALL {
            let _ = self.scope.remove_label_values(&[name, prov, sc.as_str()]);
        }
        for sy in Symptom::ALL {
            let _ = self.symptom.remove_label_values(&[name, prov, sy.as_str()]);
        }
        for (vec, seen) in [
            (&self.tls_version, &self.tls_seen),
            (&self.api_version, &self.api_seen),
        ] {
            if let Some(v) = crate::sync::lock(seen, "metric labels").remove(name) {
                let _ = vec.remove_label_values(&[name, prov, &v]);
            }
        }
        let _ = self.api_compatible.remove_label_values(&[name, prov]);
        let _ = self.api_sunset.remove_label_values(&[name, prov]);
        let _ = self.rpc_height.remove_label_values(&[name, prov]);
        let _ = self.rpc_lag.remove_label_values(&[name, prov]);
        self.incidents.remove_target(t);
    }

    /// Counts a failure of payprobe itself; `place` is a bounded label value.
    pub fn internal_error(&self, place: &str) {
        self.internal_errors.with_label_values(&[place]).inc();
    }

    pub fn observe_lag(&self, lag: Duration) {
        self.scheduler_lag.observe(lag.as_secs_f64());
    }

    /// The text exposition format.
    pub fn render(&self) -> Result<String, MetricsError> {
        let mut out = String::new();
        {
            let families = self.registry.gather();
            TextEncoder::new().encode_utf8(&families, &mut out)?;
        }
        release_freed_memory();
        Ok(out)
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
    use crate::probe::rpc::RpcEvidence;
    use crate::probe::ApiVersionEvidence;

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
            lag: Some(2),
            ..Default::default()
        });
        let mut api = Evidence::new("node", Check::ApiVersion);
        api.api_version = Some(ApiVersionEvidence::default());
        m.observe(t, &[rpc, api]);
        let text = m.render().unwrap();
        assert!(text.contains("payprobe_rpc_block_height{"), "{text}");
        assert!(text.contains("payprobe_rpc_block_lag{"), "{text}");
        assert!(!text.contains("payprobe_api_sunset_timestamp_seconds{"));
    }
}
