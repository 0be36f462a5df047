//! The per-target families and how each is written from a target's [`State`].
//!
//! Names, help texts, label names and label values are exactly those the `prometheus` crate
//! families had (dashboards, rules and tests use them); labels are written in the crate's
//! order (sorted by name, `le` last) so the lines read the same too.
//!
//! The cause, scope and symptom families are written as "the series whose value is 1" only:
//! the current cause, the current scope, the active symptoms. Every shipped rule and
//! dashboard compares them with `== 1` (or draws them on a state timeline), which means the
//! same without the zeros, and the zeros were 14 of a target's 30 series (docs/architecture.md).

use std::io;

use super::target::{State, TargetSeries};
use super::text::{le, Family, Kind, Text};
use super::LATENCY_BUCKETS;
use crate::classify::{Cause, Scope, Symptom};
use crate::probe::Phase;

type Emit = fn(&TargetSeries, &State, &mut Text<'_>) -> io::Result<()>;

const fn fam(name: &'static str, kind: Kind, help: &'static str) -> Family {
    Family { name, help, kind }
}

/// Writes `value` (if any) with labels `provider`, `target`.
fn tp(t: &TargetSeries, out: &mut Text<'_>, value: Option<f64>) -> io::Result<()> {
    match value {
        Some(v) => out.sample("", &[("provider", &t.provider), ("target", &t.name)], v),
        None => Ok(()),
    }
}

fn per_check(
    t: &TargetSeries,
    s: &State,
    out: &mut Text<'_>,
    value: fn(&super::target::CheckState) -> f64,
) -> io::Result<()> {
    for c in &s.checks {
        let l = [
            ("check", c.check.as_str()),
            ("provider", &t.provider),
            ("target", &t.name),
        ];
        out.sample("", &l, value(c))?;
    }
    Ok(())
}

fn probes_total(t: &TargetSeries, s: &State, out: &mut Text<'_>) -> io::Result<()> {
    for c in &s.checks {
        for (outcome, n) in [("success", c.ok), ("failure", c.failed)] {
            let l = [
                ("check", c.check.as_str()),
                ("outcome", outcome),
                ("provider", &t.provider),
                ("target", &t.name),
            ];
            out.sample("", &l, n as f64)?;
        }
    }
    Ok(())
}

fn latency(t: &TargetSeries, s: &State, out: &mut Text<'_>) -> io::Result<()> {
    for c in &s.checks {
        let Some(h) = &c.latency else { continue };
        let check = c.check.as_str();
        let mut cumulative = 0;
        for (bound, n) in LATENCY_BUCKETS.iter().zip(h.counts) {
            cumulative += n;
            let l = [
                ("check", check),
                ("provider", &t.provider),
                ("target", &t.name),
                ("le", &le(*bound)),
            ];
            out.sample("_bucket", &l, cumulative as f64)?;
        }
        let base = [
            ("check", check),
            ("provider", &t.provider),
            ("target", &t.name),
        ];
        let inf = [base[0], base[1], base[2], ("le", "+Inf")];
        out.sample("_bucket", &inf, h.count as f64)?;
        out.sample("_sum", &base, h.sum)?;
        out.sample("_count", &base, h.count as f64)?;
    }
    Ok(())
}

fn failure_kind(t: &TargetSeries, s: &State, out: &mut Text<'_>) -> io::Result<()> {
    for c in &s.checks {
        if let Some((_, kind)) = &c.kind {
            let l = [
                ("check", c.check.as_str()),
                ("kind", kind),
                ("provider", &t.provider),
                ("target", &t.name),
            ];
            out.sample("", &l, 1.0)?;
        }
    }
    Ok(())
}

fn phases(t: &TargetSeries, s: &State, out: &mut Text<'_>) -> io::Result<()> {
    let Some((phases, _)) = &s.http else {
        return Ok(());
    };
    // The proxy phase only for targets with a proxy: a direct target does not pay a series.
    for (v, p) in phases
        .iter()
        .zip(Phase::ALL)
        .filter(|(_, p)| *p != Phase::Proxy || t.proxied)
    {
        let l = [
            ("phase", p.as_str()),
            ("provider", &t.provider),
            ("target", &t.name),
        ];
        out.sample("", &l, *v)?;
    }
    Ok(())
}

fn info(t: &TargetSeries, out: &mut Text<'_>, version: Option<&str>) -> io::Result<()> {
    match version {
        Some(v) => out.sample(
            "",
            &[
                ("provider", &t.provider),
                ("target", &t.name),
                ("version", v),
            ],
            1.0,
        ),
        None => Ok(()),
    }
}

fn egress_info(t: &TargetSeries, _: &State, out: &mut Text<'_>) -> io::Result<()> {
    match &t.egress {
        Some(e) => out.sample(
            "",
            &[
                ("egress", e),
                ("provider", &t.provider),
                ("target", &t.name),
            ],
            1.0,
        ),
        None => Ok(()),
    }
}

fn ping_rtt(t: &TargetSeries, s: &State, out: &mut Text<'_>) -> io::Result<()> {
    let Some(p) = &s.ping else { return Ok(()) };
    for (stat, v) in ["min", "avg", "max", "stddev"].iter().zip(p.rtt) {
        out.sample(
            "",
            &[
                ("provider", &t.provider),
                ("stat", stat),
                ("target", &t.name),
            ],
            v,
        )?;
    }
    Ok(())
}

fn cause(t: &TargetSeries, s: &State, out: &mut Text<'_>) -> io::Result<()> {
    let Some(d) = &s.diag else { return Ok(()) };
    let c: Cause = d.cause;
    out.sample(
        "",
        &[
            ("cause", c.as_str()),
            ("provider", &t.provider),
            ("target", &t.name),
        ],
        1.0,
    )
}

fn scope(t: &TargetSeries, s: &State, out: &mut Text<'_>) -> io::Result<()> {
    let Some(d) = &s.diag else { return Ok(()) };
    let sc: Scope = d.scope;
    out.sample(
        "",
        &[
            ("provider", &t.provider),
            ("scope", sc.as_str()),
            ("target", &t.name),
        ],
        1.0,
    )
}

fn symptom(t: &TargetSeries, s: &State, out: &mut Text<'_>) -> io::Result<()> {
    let Some(d) = &s.diag else { return Ok(()) };
    for (on, sy) in d.symptoms.iter().zip(Symptom::ALL) {
        if *on {
            let l = [
                ("provider", &*t.provider),
                ("symptom", sy.as_str()),
                ("target", &t.name),
            ];
            out.sample("", &l, 1.0)?;
        }
    }
    Ok(())
}

/// Every per-target family, in the order written.
pub(super) static FAMILIES: &[(Family, Emit)] = &[
    (fam("payprobe_api_sunset_timestamp_seconds", Kind::Gauge, "The API's Sunset date (RFC 8594) as Unix seconds, when the gateway sends one."), |t, s, o| tp(t, o, s.api_sunset)),
    (fam("payprobe_api_version_compatible", Kind::Gauge, "1 if the reported API version satisfies the target's requirement."), |t, s, o| tp(t, o, s.api_compatible)),
    (fam("payprobe_api_version_info", Kind::Gauge, "The API version the gateway reported last (the version label)."), |t, s, o| info(t, o, s.api_version.as_deref())),
    (fam("payprobe_cause", Kind::Gauge, "1 for the current cause of the target (one of seven; only the current one is exported)."), cause),
    (fam("payprobe_http_phase_duration_seconds", Kind::Gauge, "Duration of each phase of the last HTTP probe."), phases),
    (fam("payprobe_http_retry_after_seconds", Kind::Gauge, "Seconds the gateway's last Retry-After header asks to wait; absent when none was sent."), |t, s, o| tp(t, o, s.retry_after)),
    (fam("payprobe_http_status_code", Kind::Gauge, "Status code of the last HTTP response (0 if none came)."), |t, s, o| tp(t, o, s.http.map(|h| h.1))),
    (fam("payprobe_ping_loss_ratio", Kind::Gauge, "Fraction of the last ping burst that was lost."), |t, s, o| tp(t, o, s.ping.as_ref().map(|p| p.loss))),
    (fam("payprobe_ping_rtt_seconds", Kind::Gauge, "Round-trip times of the last ping burst."), ping_rtt),
    (fam("payprobe_probe_duration_seconds", Kind::Gauge, "Duration of the last probe of this check."), |t, s, o| per_check(t, s, o, |c| c.duration)),
    (fam("payprobe_probe_failure_kind", Kind::Gauge, "1 for the failure kind of each check's last probe (kind=\"none\" when it passed); one series per target and check."), failure_kind),
    (fam("payprobe_probe_latency_seconds", Kind::Histogram, "Duration of probes, by target and check."), latency),
    (fam("payprobe_probe_success", Kind::Gauge, "1 if the last probe of this check succeeded."), |t, s, o| per_check(t, s, o, |c| c.success)),
    (fam("payprobe_probes_over_slo_total", Kind::Counter, "Rounds that passed but took longer than the target's latency_slo (only for targets with one); with payprobe_probes_total{check=\"http\"} it gives the SLO burn rate."), |t, s, o| tp(t, o, s.over_slo.map(|n| n as f64))),
    (fam("payprobe_probes_total", Kind::Counter, "Probes run, by target, check and outcome."), probes_total),
    (fam("payprobe_rpc_block_height", Kind::Gauge, "Block number (EVM) or slot (Solana) the chain node reported last."), |t, s, o| tp(t, o, s.rpc_height)),
    (fam("payprobe_rpc_block_lag", Kind::Gauge, "How far the chain node trails the best peer of its chain."), |t, s, o| tp(t, o, s.rpc_lag)),
    (fam("payprobe_scope", Kind::Gauge, "1 for where the problem is: none, local (this vantage point), provider, endpoint."), scope),
    (fam("payprobe_sign_answer_verified", Kind::Gauge, "1 if the last answer of a signed probe carried a provider signature that verified, 0 if it did not (targets with [targets.sign] whose provider signs answers)."), super::sign::verified),
    (fam("payprobe_sign_clock_skew_seconds", Kind::Gauge, "The provider's clock minus this host's, from the last signed answer (Wechatpay-Timestamp, else Date); WeChat Pay refuses more than 300 s."), super::sign::skew),
    (fam("payprobe_sign_credential_expiry_critical_days", Kind::Gauge, "The target's expiry_critical threshold, in days."), super::sign::critical),
    (fam("payprobe_sign_credential_expiry_days", Kind::Gauge, "Days to expiry (as of the last round) of each certificate a signed probe relies on: Alipay app, Alipay and root certificates, the WeChat Pay merchant certificate (apiclient_cert), WeChat Pay platform certificates."), super::sign::expiry_days),
    (fam("payprobe_sign_credential_expiry_warning_days", Kind::Gauge, "The target's expiry_warning threshold, in days."), super::sign::warning),
    (fam("payprobe_sign_platform_serial_first_seen_timestamp_seconds", Kind::Gauge, "When payprobe first saw each WeChat Pay platform certificate serial (Unix seconds): a recent one is a rotation."), super::sign::first_seen),
    (fam("payprobe_sign_verification_mode", Kind::Gauge, "1 for how signed answers are verified: public_key, certificate, both, none."), super::sign::mode),
    (fam("payprobe_symptom", Kind::Gauge, "1 for each symptom users of this target would see now."), symptom),
    (fam("payprobe_target_egress_info", Kind::Gauge, "1 with the way out (egress: proxy=host:port, source=IP) of each target and control that does not go out directly."), egress_info),
    (fam("payprobe_target_healthy", Kind::Gauge, "1 if the target is healthy after failure/success thresholds."), |t, s, o| tp(t, o, s.diag.as_ref().map(|d| if d.healthy { 1.0 } else { 0.0 }))),
    (fam("payprobe_target_last_round_timestamp_seconds", Kind::Gauge, "When the target's last round finished (Unix seconds): a stale value means its task is stuck."), |t, s, o| tp(t, o, s.last_round)),
    (fam("payprobe_target_state_seconds", Kind::Gauge, "Seconds since the target's health, cause or scope last changed (updated every round)."), |t, s, o| tp(t, o, s.state_since)),
    (fam("payprobe_tls_cert_not_after_timestamp_seconds", Kind::Gauge, "Expiry (Unix seconds) of the leaf certificate the server presented last."), |t, s, o| tp(t, o, s.cert_not_after)),
    (fam("payprobe_tls_version_info", Kind::Gauge, "TLS version negotiated by the last handshake."), |t, s, o| info(t, o, s.tls_version.as_deref())),
];

/// Writes every per-target family, family by family, each target's lock held only while
/// its lines of one family are written (a round waits at most that long).
pub(super) fn write_all(
    targets: &[std::sync::Arc<TargetSeries>],
    out: &mut Text<'_>,
) -> io::Result<()> {
    for (f, emit) in FAMILIES {
        out.family(f);
        for t in targets {
            let s = t.lock();
            emit(t, &s, out)?;
        }
    }
    Ok(())
}
