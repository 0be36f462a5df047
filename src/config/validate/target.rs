//! `[[targets]]` and `[[controls]]`: the list (unique names, `[defaults]` merged in) and
//! each entry's own keys — name, timing and thresholds, profile — and the `Target` built
//! from them and from every table's spec. The URL and the checks are in `endpoint.rs`.

use std::collections::HashMap;
use std::ops::Range;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use super::super::error::Problems;
use super::super::raw::{RawConfig, RawTarget, S};
use super::super::{line_col, ApiVersionSpec, Check, DnsSpec, HttpSpec, PingSpec, RpcSpec, Target};
use super::endpoint::{checks, endpoint, Endpoint};
use super::tls::{tls, TlsParts};
use super::values::{duration, duration_max, entry_name, int_in, keyword};
use super::{api_version::api_version, defaults, dns::dns, http::http, ping::ping, rpc::rpc};
use crate::limits::{MAX_PROBE_TIMEOUT, THRESHOLD_ROUNDS};
use crate::profile::Profile;

const DEFAULT_INTERVAL: Duration = Duration::from_secs(15);
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(5);
/// Failed rounds before a target turns unhealthy: one lost probe pages no one.
const DEFAULT_FAILURE_THRESHOLD: i64 = 3;
/// Good rounds before an unhealthy target turns healthy again.
const DEFAULT_SUCCESS_THRESHOLD: i64 = 2;

/// Every target, then every control, in file order.
pub(super) fn targets(
    raw: &RawConfig,
    source: &str,
    base: &Path,
    p: &mut Problems,
) -> Vec<Arc<Target>> {
    let mut targets = Vec::new();
    let mut seen: HashMap<String, usize> = HashMap::new();
    let all = raw
        .targets
        .iter()
        .map(|t| (t, false))
        .chain(raw.controls.iter().map(|t| (t, true)));
    for (spanned, control) in all {
        let merged = defaults::merged(spanned.get_ref(), &raw.defaults);
        // Duplicates are checked on the raw name, so they are found even when the first
        // entry has problems of its own.
        if let Some(n) = &merged.name {
            if duplicate(n, spanned.span().start, &mut seen, source, p) {
                continue;
            }
        }
        if let Some(t) = target(&merged, spanned.span(), control, base, p) {
            targets.push(Arc::new(t));
        }
    }
    targets
}

/// Reports `n` if an earlier entry has its name; else remembers where this entry starts.
fn duplicate(
    n: &S<String>,
    start: usize,
    seen: &mut HashMap<String, usize>,
    source: &str,
    p: &mut Problems,
) -> bool {
    // The line is computed only for the message: scanning the file once per target would
    // make 10,000 targets quadratic.
    let Some(first) = seen.get(n.get_ref()).map(|at| line_col(source, *at).0) else {
        seen.insert(n.get_ref().clone(), start);
        return false;
    };
    p.at(
        n.span(),
        format!(
            "duplicate target name `{}` (first defined on line {first}); names must be unique",
            n.get_ref()
        ),
    );
    true
}

/// The keys of one entry, each validated: `None` where a problem was reported.
struct Parts {
    name: Option<String>,
    endpoint: Option<Endpoint>,
    timing: Timing,
    profile: Option<Profile>,
    ok_codes: Vec<String>,
    tls: TlsParts,
    checks: Option<Vec<Check>>,
    egress: Option<super::super::Egress>,
}

fn target(
    t: &RawTarget,
    span: Range<usize>,
    control: bool,
    base: &Path,
    p: &mut Problems,
) -> Option<Target> {
    let before = p.count();
    let entry = if control {
        "[[controls]]"
    } else {
        "[[targets]]"
    };
    let name = entry_name(t.name.as_ref(), span.clone(), entry, "`name`", p);
    let endpoint = match &t.url {
        None => {
            p.at(span, format!("{entry} entry has no `url`"));
            None
        }
        Some(u) => endpoint(u, p),
    };
    let timing = timing(t, p);
    let (profile, ok_codes) = profile(t, p);
    let tls = tls(t, base, p);
    let scheme = endpoint.as_ref().map(|e| e.scheme);
    let checks = checks(t, scheme, endpoint.as_ref().and_then(|e| e.ip), p);
    let endpoint = endpoint.map(|e| safe_query(e, profile));
    let egress = super::egress::egress(t, base, p);
    let parts = Parts {
        name,
        endpoint,
        timing,
        profile,
        ok_codes,
        tls,
        checks,
        egress,
    };
    let specs = specs(t, &parts, base, p);
    if p.count() > before {
        return None;
    }
    build(parts, specs, control)
}

/// The per-check tables, each `None` where a problem was reported.
struct Specs {
    provider: Option<String>,
    http: Option<HttpSpec>,
    dns: Option<DnsSpec>,
    ping: Option<PingSpec>,
    api_version: Option<ApiVersionSpec>,
    rpc: Option<RpcSpec>,
    sign: Option<Option<crate::sign::SignSpec>>,
}

fn specs(t: &RawTarget, k: &Parts, base: &Path, p: &mut Problems) -> Specs {
    let scheme = k.endpoint.as_ref().map(|e| e.scheme);
    let http = http(
        t.http.as_ref(),
        scheme,
        base,
        k.profile.unwrap_or(Profile::Generic),
        p,
    );
    let dns = dns(t.dns.as_ref(), p);
    // The burst is held to the timeout only where a ping runs.
    let pings = k.checks.as_ref().is_some_and(|c| c.contains(&Check::Ping));
    let timeout_at = t.timeout.as_ref().map(|s| s.span());
    let ping = ping(
        t.ping.as_ref(),
        k.timing.timeout.filter(|_| pings),
        timeout_at,
        p,
    );
    let api_version = api_version(t.api_version.as_ref(), p);
    let provider = (t.provider.as_ref().map(|v| v.get_ref().clone()))
        .or_else(|| k.endpoint.as_ref().map(|e| e.host.clone()));
    let rpc = rpc(
        t,
        k.profile,
        k.checks.as_deref(),
        provider.clone().unwrap_or_default(),
        p,
    );
    let ctx = super::sign::Context {
        t,
        endpoint: k.endpoint.as_ref(),
        base,
    };
    let sign = super::sign::sign(&ctx, p);
    Specs {
        provider,
        http,
        dns,
        ping,
        api_version,
        rpc,
        sign,
    }
}

/// The `Target`, once every key is known to be good.
fn build(k: Parts, s: Specs, control: bool) -> Option<Target> {
    let (e, timing, tls) = (k.endpoint?, k.timing, k.tls);
    let mut http = s.http?;
    http.sign = s.sign?;
    Some(Target {
        provider: s.provider?,
        name: k.name?,
        profile: k.profile?,
        ok_codes: k.ok_codes,
        url: e.url,
        scheme: e.scheme,
        host: e.host,
        ip: e.ip,
        port: e.port,
        checks: k.checks?,
        interval: timing.interval?,
        timeout: timing.timeout?,
        failure_threshold: timing.failure_threshold? as u32,
        success_threshold: timing.success_threshold? as u32,
        latency_slo: timing.latency_slo?,
        slo: timing.slo?,
        min_tls_version: tls.min_version?,
        cert_expiry_warning: tls.cert_expiry_warning?,
        tls: tls.client?,
        http,
        dns: s.dns?,
        ping: s.ping?,
        api_version: s.api_version?,
        rpc: s.rpc?,
        control,
        egress_label: k.egress.as_ref()?.label(),
        egress: k.egress?,
        channel: None,
    })
}

/// When rounds run, how long they may take, and how many decide a change of health.
struct Timing {
    interval: Option<Duration>,
    timeout: Option<Duration>,
    latency_slo: Option<Option<Duration>>,
    slo: Option<Option<f64>>,
    failure_threshold: Option<i64>,
    success_threshold: Option<i64>,
}

fn timing(t: &RawTarget, p: &mut Problems) -> Timing {
    let interval = duration(&t.interval, "interval", p).map(|d| d.unwrap_or(DEFAULT_INTERVAL));
    let timeout = match &t.timeout {
        None => Some(DEFAULT_TIMEOUT),
        Some(v) => {
            duration_max(v, "timeout", MAX_PROBE_TIMEOUT, p).map(|d| d.unwrap_or(DEFAULT_TIMEOUT))
        }
    };
    if let (Some(i), Some(to)) = (interval, timeout) {
        if to >= i {
            let at = t.timeout.as_ref().or(t.interval.as_ref()).map(|s| s.span());
            p.at(
                at.unwrap_or(0..0),
                format!(
                    "`timeout` ({}) must be shorter than `interval` ({}): a probe must end before the next starts",
                    humantime::format_duration(to),
                    humantime::format_duration(i)
                ),
            );
        }
    }
    let latency_slo = duration(&t.latency_slo, "latency_slo", p);
    let slo = objective(t.slo.as_ref(), p);
    let failure = int_in(
        &t.failure_threshold,
        "failure_threshold",
        THRESHOLD_ROUNDS,
        p,
    );
    let success = int_in(
        &t.success_threshold,
        "success_threshold",
        THRESHOLD_ROUNDS,
        p,
    );
    Timing {
        interval,
        timeout,
        latency_slo,
        slo,
        failure_threshold: failure.map(|v| v.unwrap_or(DEFAULT_FAILURE_THRESHOLD)),
        success_threshold: success.map(|v| v.unwrap_or(DEFAULT_SUCCESS_THRESHOLD)),
    }
}

/// `slo`: a fraction within `limits::SLO_OBJECTIVE` (`0.999`); 1 would leave no error budget.
fn objective(v: Option<&S<f64>>, p: &mut Problems) -> Option<Option<f64>> {
    let Some(v) = v else { return Some(None) };
    let x = *v.get_ref();
    if crate::limits::SLO_OBJECTIVE.contains(&x) {
        return Some(Some(x));
    }
    let (lo, hi) = crate::limits::SLO_OBJECTIVE.into_inner();
    p.at(
        v.span(),
        format!("`slo` = {x}: expected an objective between {lo} and {hi} (e.g. 0.999)"),
    );
    None
}

/// The profile, and the provider codes that mean "healthy" (the profile's unless listed).
fn profile(t: &RawTarget, p: &mut Problems) -> (Option<Profile>, Vec<String>) {
    let profile = keyword(
        t.profile.as_ref(),
        Profile::Generic,
        Profile::parse,
        |pr| {
            format!(
                "unknown profile `{pr}`; expected one of: {}",
                Profile::names()
            )
        },
        p,
    );
    let ok_codes = match (&t.profile_ok_codes, profile) {
        (Some(l), _) => l.get_ref().iter().map(|c| c.get_ref().clone()).collect(),
        (None, Some(pr)) => pr
            .default_ok_codes()
            .iter()
            .map(|c| c.to_string())
            .collect(),
        (None, None) => Vec::new(),
    };
    (profile, ok_codes)
}

/// A payment profile's safe query when the URL names only the host.
fn safe_query(mut e: Endpoint, profile: Option<Profile>) -> Endpoint {
    let bare = e.url.path() == "/" && e.url.query().is_none();
    if let Some(path) = profile.and_then(|pr| pr.safe_path()).filter(|_| bare) {
        if let Ok(u) = e.url.join(path) {
            e.url = u;
        }
    }
    e
}
