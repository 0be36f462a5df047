//! Each target's series as plain numbers in one struct, label values stored once.
//!
//! The `prometheus` crate keeps every series as its own object with its own copy of the label
//! values (and `gather()` copies them all again per scrape). At 10,000 targets and about
//! thirty series each, that was most of payprobe's memory and all of its scrape time. Here a
//! target's series are fields of one [`State`] behind one uncontended lock: a round writes
//! them in one go, a scrape reads them family by family (see `families.rs`).

use std::sync::Mutex;
use std::time::SystemTime;

use super::text::escape;
use super::{retry_after_secs, LATENCY_BUCKETS};
use crate::checked::Checked;
use crate::classify::{Cause, Diagnosis, Scope, Symptom};
use crate::config::{Check, Target};
use crate::probe::{FailureKind, Phase};

/// A latency histogram: per-bucket counts (not cumulative; the encoder sums them).
#[derive(Debug, Default)]
pub(super) struct Hist {
    pub counts: [u64; LATENCY_BUCKETS.len()],
    pub sum: f64,
    pub count: u64,
}

impl Hist {
    fn observe(&mut self, v: f64) {
        if let Some(i) = LATENCY_BUCKETS.iter().position(|b| v <= *b) {
            self.counts[i] += 1;
        }
        self.sum += v;
        self.count += 1;
    }
}

#[derive(Debug)]
pub(super) struct CheckState {
    pub check: Check,
    pub success: f64,
    pub duration: f64,
    pub ok: u64,
    pub failed: u64,
    /// Only with `[server] latency_histograms = true`.
    pub latency: Option<Box<Hist>>,
    /// The last probe's failure kind label (`none`: it passed); `None` before the first.
    pub kind: Option<(Option<FailureKind>, Box<str>)>,
}

#[derive(Debug, Default)]
pub(super) struct Ping {
    pub loss: f64,
    /// min, avg, max, stddev; NaN when no reply came.
    pub rtt: [f64; 4],
}

#[derive(Debug)]
pub(super) struct Diag {
    pub healthy: bool,
    pub cause: Cause,
    pub scope: Scope,
    pub symptoms: [bool; Symptom::ALL.len()],
}

/// Every series value of one target. `None`: the series is absent.
#[derive(Debug, Default)]
pub(super) struct State {
    pub last_round: Option<f64>,
    pub checks: Vec<CheckState>,
    /// Phase durations in `Phase::ALL` order and the status code, for HTTP-speaking targets.
    pub http: Option<([f64; Phase::ALL.len()], f64)>,
    pub retry_after: Option<f64>,
    pub ping: Option<Ping>,
    pub rpc_height: Option<f64>,
    pub rpc_lag: Option<f64>,
    /// Escaped label values of the `*_info` series.
    pub api_version: Option<Box<str>>,
    pub tls_version: Option<Box<str>>,
    pub api_compatible: Option<f64>,
    pub api_sunset: Option<f64>,
    pub cert_not_after: Option<f64>,
    /// Rounds over the latency SLO, for targets that have one.
    pub over_slo: Option<u64>,
    /// Set by the first diagnosis, so a scrape never sees a target without a cause.
    pub diag: Option<Diag>,
    /// Seconds since health, cause or scope last changed, as of the last judgement.
    pub state_since: Option<f64>,
    /// Targets with `[targets.sign]` only.
    pub sign: Option<Box<super::sign::SignState>>,
}

/// One target's series.
#[derive(Debug)]
pub(super) struct TargetSeries {
    /// Escaped label values, stored once for all the target's series.
    pub name: Box<str>,
    pub provider: Box<str>,
    /// The escaped `egress` label for a target that does not go out directly (proxy or
    /// source address); `None` for the default way out.
    pub egress: Option<Box<str>>,
    /// The target goes through a proxy: its `proxy` phase is exported.
    pub proxied: bool,
    pub state: Mutex<State>,
}

/// A duration in seconds, to the microsecond: probes are timed to well under that, and the
/// shorter number is ~3 bytes less on each of a target's duration lines.
fn secs(d: std::time::Duration) -> f64 {
    d.as_micros() as f64 / 1e6
}

fn one(b: bool) -> f64 {
    if b {
        1.0
    } else {
        0.0
    }
}

/// Replaces an `*_info` label value only when it changed (no allocation per round).
fn set_label(slot: &mut Option<Box<str>>, raw: &str) {
    let v = escape(raw);
    if slot.as_deref() != Some(&*v) {
        *slot = Some(v.into());
    }
}

impl TargetSeries {
    pub fn new(t: &Target, latency_histograms: bool) -> TargetSeries {
        let checks = t
            .checks
            .iter()
            .map(|c| CheckState {
                check: *c,
                success: 0.0,
                duration: 0.0,
                ok: 0,
                failed: 0,
                latency: latency_histograms.then(Box::default),
                kind: None,
            })
            .collect();
        let speaks_http = t.checks.iter().any(|c| c.speaks_http());
        let state = State {
            checks,
            http: speaks_http.then_some(([0.0; Phase::ALL.len()], 0.0)),
            over_slo: t.latency_slo.map(|_| 0),
            sign: t
                .http
                .sign
                .as_ref()
                .map(|s| Box::new(super::sign::SignState::new(s))),
            ..State::default()
        };
        TargetSeries {
            name: escape(&t.name).into(),
            provider: escape(&t.provider).into(),
            egress: (t.egress != crate::config::Egress::default())
                .then(|| escape(&t.egress_label).into()),
            proxied: t.egress.proxy.is_some(),
            state: Mutex::new(state),
        }
    }

    pub fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        crate::sync::lock(&self.state, "target series")
    }
}

impl State {
    /// One finished round's checks, as judged.
    pub fn observe(&mut self, round: &[Checked], now: f64) {
        self.last_round = Some(now);
        for c in round {
            self.observe_check(c);
            let e = &c.observed;
            if let Some(h) = &e.http {
                if let (Some(g), Some(sig)) = (self.sign.as_mut(), &h.signature) {
                    g.observe(sig, now);
                }
                self.retry_after = h
                    .headers
                    .get("retry-after")
                    .and_then(|v| retry_after_secs(v, SystemTime::now()));
                if let Some((phases, status)) = &mut self.http {
                    for (g, p) in phases.iter_mut().zip(Phase::ALL) {
                        *g = secs(h.phases.get(p));
                    }
                    *status = f64::from(h.status.unwrap_or(0));
                }
            }
            if let Some(p) = &e.ping {
                // No reply, no RTT: NaN says "unknown" where 0 would claim a fast link.
                let rtt =
                    [p.rtt_min, p.rtt_avg, p.rtt_max, p.rtt_stddev].map(|v| v.unwrap_or(f64::NAN));
                self.ping = Some(Ping {
                    loss: p.loss_ratio,
                    rtt,
                });
            }
            if let Some(r) = &e.rpc {
                if let Some(h) = r.height {
                    self.rpc_height = Some(h as f64);
                }
                if let Some(l) = c.readings.lag.and_then(|l| l.blocks) {
                    self.rpc_lag = Some(l as f64);
                }
            }
            if let Some(a) = &c.readings.api_version {
                if let Some(v) = &a.seen {
                    set_label(&mut self.api_version, v);
                }
                if let Some(ok) = a.compatible {
                    self.api_compatible = Some(one(ok));
                }
                // Only the Sunset series: a target with both `api_version` and `rpc` keeps
                // its chain series (they used to vanish here, issue 15).
                self.api_sunset = a.sunset_unix.map(|s| s as f64);
            }
            if let Some(tls) = &e.tls {
                if let Some(c) = &tls.certificate {
                    self.cert_not_after = Some(c.not_after_unix as f64);
                }
                if let Some(v) = &tls.version {
                    set_label(&mut self.tls_version, v);
                }
            }
        }
    }

    fn observe_check(&mut self, judged: &Checked) {
        let e = &judged.observed;
        let Some(c) = self.checks.iter_mut().find(|c| c.check == e.check) else {
            return;
        };
        let took = secs(e.duration);
        c.success = one(judged.success());
        c.duration = took;
        if let Some(h) = &mut c.latency {
            h.observe(took);
        }
        if judged.success() {
            c.ok += 1;
        } else {
            c.failed += 1;
        }
        let kind = judged.failure.as_ref().map(|f| f.kind);
        if c.kind.as_ref().is_none_or(|(k, _)| *k != kind) {
            c.kind = Some((kind, super::kind_label(kind).into()));
        }
    }

    pub fn over_slo(&mut self) {
        if let Some(n) = &mut self.over_slo {
            *n += 1;
        }
    }

    /// Seconds (to the millisecond) from `since` to `at`, 0 if the clock went back.
    pub fn state_since(&mut self, since: SystemTime, at: SystemTime) {
        let d = at.duration_since(since).unwrap_or_default();
        self.state_since = Some(d.as_millis() as f64 / 1e3);
    }

    pub fn diagnosis(&mut self, d: &Diagnosis) {
        self.diag = Some(Diag {
            healthy: d.healthy,
            cause: d.cause,
            scope: d.scope,
            symptoms: Symptom::ALL.map(|s| d.symptoms.contains(&s)),
        });
    }
}
