//! `/probe?target=NAME&module=CHECK`: a blackbox_exporter-style one-shot probe, for setups
//! where Prometheus drives the schedule. Only configured targets can be probed (an open
//! `/probe` would let anyone make this host connect anywhere).

use std::fmt::Write;
use std::time::Duration;

use hyper::{HeaderMap, Response, StatusCode};

use super::{text, with_type, Body, Shared};
use crate::checked::Checked;
use crate::config::{Check, Target};
use crate::probe::{Evidence, Phase};

/// Prometheus sends its scrape timeout; the probe must answer before it.
const SCRAPE_TIMEOUT_HEADER: &str = "x-prometheus-scrape-timeout-seconds";
use crate::limits::PROBE_ENDPOINT_MARGIN as MARGIN;

pub async fn probe(shared: &Shared, query: &str, headers: &HeaderMap) -> Response<Body> {
    if let Err(wait) = shared.guards.probe_rate.take() {
        let why = format!(
            "more than {} /probe requests a second ([server] probe_rate); retry in {wait:.1} s\n",
            shared.guards.probe_rate.per_second()
        );
        return super::too_many(wait, &why);
    }
    let t = match asked(shared, query) {
        Ok(t) => t,
        Err(refused) => return *refused,
    };
    let budget = headers
        .get(SCRAPE_TIMEOUT_HEADER)
        .and_then(|v| v.to_str().ok()?.parse::<f64>().ok())
        .and_then(|s| Duration::try_from_secs_f64(s).ok())
        .map_or(t.timeout, |s| s.saturating_sub(MARGIN).min(t.timeout));
    let deadline = tokio::time::Instant::now() + budget;
    // Its own share first: /probe may hold at most a part of the probe slots, so a flood of
    // /probe at a slow target can never starve the scheduled rounds of theirs.
    let Ok(_share) = shared.guards.probe_slots.clone().try_acquire_owned() else {
        return super::too_many(
            1.0,
            "too many /probe requests in flight (a quarter of max_concurrency); retry shortly\n",
        );
    };
    // The same cap as scheduled rounds: /probe waits its turn (within its budget) instead
    // of adding load past `max_concurrency`.
    let permit = tokio::time::timeout_at(deadline, shared.limit.clone().acquire_owned()).await;
    let Ok(Ok(_permit)) = permit else {
        return text(
            StatusCode::SERVICE_UNAVAILABLE,
            "every probe slot (max_concurrency) stayed busy for the whole budget\n",
        );
    };
    let t = std::sync::Arc::new(t);
    let observed = shared.runner.round(t.clone(), deadline).await;
    // Judged as a scheduled round is (the same conditions and chain heights), not recorded.
    let round = shared
        .judge
        .conditions(&t, observed, std::time::SystemTime::now());
    with_type(
        StatusCode::OK,
        render(&round),
        "text/plain; version=0.0.4; charset=utf-8",
    )
}

/// The configured target `?target=` names, narrowed to the one check `?module=` names; or
/// the answer refusing the request. Only configured targets: an open `/probe` would let
/// anyone make this host connect anywhere.
fn asked(shared: &Shared, query: &str) -> Result<Target, Box<Response<Body>>> {
    let param = |k: &str| super::param(query, k);
    let Some(plan) = shared.plan() else {
        return Err(Box::new(text(
            StatusCode::INTERNAL_SERVER_ERROR,
            "state lock poisoned\n",
        )));
    };
    let Some(name) = param("target") else {
        return Err(Box::new(text(
            StatusCode::BAD_REQUEST,
            "missing ?target=NAME (a target of the config)\n",
        )));
    };
    let Some(t) = plan.target(&name) else {
        return Err(Box::new(text(
            StatusCode::NOT_FOUND,
            &format!("no target named {name:?} in the config\n"),
        )));
    };
    let mut t = (**t).clone();
    if let Some(m) = param("module") {
        let Some(c) = Check::parse(&m) else {
            return Err(Box::new(text(
                StatusCode::BAD_REQUEST,
                &format!(
                    "unknown module {m:?}; use a check name, one of: {}\n",
                    Check::listable_names()
                ),
            )));
        };
        t.checks = vec![c];
    }
    Ok(t)
}

/// blackbox_exporter's metric names, so dashboards built for it keep working.
fn render(round: &[Checked]) -> String {
    let mut out = String::new();
    let ok = round.iter().all(Checked::success);
    let observed = || round.iter().map(|c| &c.observed);
    let total: f64 = observed()
        .map(|e| e.duration.as_secs_f64())
        .fold(0.0, f64::max);
    let _ = writeln!(out, "# HELP probe_success Whether the probe succeeded (all checks passed).\n# TYPE probe_success gauge\nprobe_success {}", u8::from(ok));
    let _ = writeln!(out, "# HELP probe_duration_seconds How long the probe took.\n# TYPE probe_duration_seconds gauge\nprobe_duration_seconds {total}");
    let _ = writeln!(out, "# HELP payprobe_check_success Whether each check passed.\n# TYPE payprobe_check_success gauge");
    for c in round {
        let _ = writeln!(
            out,
            "payprobe_check_success{{check=\"{}\"}} {}",
            c.check().as_str(),
            u8::from(c.success())
        );
    }
    if let Some(d) = observed().find_map(|e| e.dns.as_ref()) {
        let _ = writeln!(out, "# HELP probe_dns_lookup_time_seconds How long the DNS lookup took.\n# TYPE probe_dns_lookup_time_seconds gauge\nprobe_dns_lookup_time_seconds {}", d.duration.as_secs_f64());
    }
    if let Some(h) = observed().find_map(|e| e.http.as_ref()) {
        let _ = writeln!(out, "# HELP probe_http_status_code Response HTTP status code (0: none).\n# TYPE probe_http_status_code gauge\nprobe_http_status_code {}", h.status.unwrap_or(0));
        let _ = writeln!(out, "# HELP probe_http_duration_seconds Duration of each phase of the HTTP request.\n# TYPE probe_http_duration_seconds gauge");
        // blackbox_exporter has no proxy phase: shown only for a target that has a proxy.
        for p in Phase::ALL
            .into_iter()
            .filter(|p| *p != Phase::Proxy || !h.phases.proxy.is_zero())
        {
            let name = match p {
                Phase::Dns => "resolve",
                Phase::Processing => "processing",
                Phase::Transfer => "transfer",
                Phase::Connect => "connect",
                Phase::Proxy => "proxy",
                Phase::Tls => "tls",
                Phase::Content => "content",
            };
            let _ = writeln!(
                out,
                "probe_http_duration_seconds{{phase=\"{name}\"}} {}",
                h.phases.get(p).as_secs_f64()
            );
        }
    }
    if let Some(c) = observed().find_map(|e: &Evidence| e.tls.as_ref()?.certificate.as_ref()) {
        let _ = writeln!(out, "# HELP probe_ssl_earliest_cert_expiry Expiry of the leaf certificate (Unix seconds).\n# TYPE probe_ssl_earliest_cert_expiry gauge\nprobe_ssl_earliest_cert_expiry {}", c.not_after_unix);
    }
    out
}
