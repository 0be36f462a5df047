//! Pre-resolved series handles per target.
//!
//! `with_label_values` hashes every label value and takes a lock on each call; a round
//! touches about thirty series, so at 10,000 targets that lookup dominated the CPU a probe
//! costs. Each target's handles are resolved once and kept here until the target goes.

use std::sync::OnceLock;

use prometheus::{Gauge, Histogram, IntCounter};

use super::Metrics;
use crate::classify::{Cause, Scope, Symptom};
use crate::config::{Check, Target};
use crate::probe::Phase;

pub(super) struct CheckSeries {
    pub success: Gauge,
    pub duration: Gauge,
    /// Only with `[server] latency_histograms = true`.
    pub latency: Option<Histogram>,
    pub ok: IntCounter,
    pub failed: IntCounter,
}

pub(super) struct DiagSeries {
    pub healthy: Gauge,
    pub cause: [Gauge; 7],
    pub scope: [Gauge; 4],
    pub symptom: [Gauge; 5],
}

pub(super) struct Hot {
    pub last_round: Gauge,
    /// Rounds over the latency SLO, for targets that have one.
    pub over_slo: Option<IntCounter>,
    pub checks: Vec<(Check, CheckSeries)>,
    /// Phase gauges in `Phase::ALL` order and the status gauge, for HTTP-speaking checks.
    pub phases: Option<([Gauge; 5], Gauge)>,
    /// Made on the first diagnosis, so a scrape never sees a cause vector of all zeros.
    pub diag: OnceLock<DiagSeries>,
    /// The failure kind each check's last probe exported (`None`: it passed), so the
    /// `payprobe_probe_failure_kind` series is touched only when it changes.
    pub kinds: std::sync::Mutex<Vec<(Check, Option<crate::probe::FailureKind>)>>,
}

impl Hot {
    pub fn new(m: &Metrics, t: &Target) -> Hot {
        let (name, prov) = (t.name.as_str(), t.provider.as_str());
        let checks = t
            .checks
            .iter()
            .map(|c| {
                let l = [name, prov, c.as_str()];
                let series = CheckSeries {
                    success: m.probe_success.with_label_values(&l),
                    duration: m.probe_duration.with_label_values(&l),
                    latency: m
                        .latency_histograms
                        .then(|| m.probe_latency.with_label_values(&l)),
                    ok: m
                        .probes_total
                        .with_label_values(&[name, prov, c.as_str(), "success"]),
                    failed: m
                        .probes_total
                        .with_label_values(&[name, prov, c.as_str(), "failure"]),
                };
                (*c, series)
            })
            .collect();
        let speaks_http = t
            .checks
            .iter()
            .any(|c| matches!(c, Check::Http | Check::ApiVersion | Check::Rpc));
        let phases = speaks_http.then(|| {
            (
                Phase::ALL.map(|p| m.http_phase.with_label_values(&[name, prov, p.as_str()])),
                m.http_status.with_label_values(&[name, prov]),
            )
        });
        Hot {
            last_round: m.last_round.with_label_values(&[name, prov]),
            over_slo: t
                .latency_slo
                .map(|_| m.over_slo.with_label_values(&[name, prov])),
            checks,
            phases,
            diag: OnceLock::new(),
            kinds: std::sync::Mutex::new(Vec::new()),
        }
    }

    pub fn diag(&self, m: &Metrics, t: &Target) -> &DiagSeries {
        let (name, prov) = (t.name.as_str(), t.provider.as_str());
        self.diag.get_or_init(|| DiagSeries {
            healthy: m.target_healthy.with_label_values(&[name, prov]),
            cause: Cause::ALL.map(|c| m.cause.with_label_values(&[name, prov, c.as_str()])),
            scope: Scope::ALL.map(|s| m.scope.with_label_values(&[name, prov, s.as_str()])),
            symptom: Symptom::ALL.map(|s| m.symptom.with_label_values(&[name, prov, s.as_str()])),
        })
    }

    pub fn check(&self, c: Check) -> Option<&CheckSeries> {
        self.checks.iter().find(|(k, _)| *k == c).map(|(_, s)| s)
    }
}
