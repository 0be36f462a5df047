//! Raw config → [`Plan`], collecting every problem with its place.
//!
//! This file validates the server and each target's common keys; `http.rs` and `checks.rs`
//! validate the per-check tables.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use super::error::{Problem, Problems};
use super::raw::{RawConfig, RawTarget, S};
use super::{Plan, ServerPlan, Target, DEFAULT_LISTEN};
use crate::classify::Lang;
use crate::config::Check;
use crate::profile::Profile;
use crate::tls::{self, TlsSetupError, TlsVersion};

mod alerts;
mod checks;
mod endpoint;
mod http;

use checks::{api_version, dns, ping, rpc};
use endpoint::{checks, endpoint};
use http::http;

const DEFAULT_INTERVAL: Duration = Duration::from_secs(15);
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(5);
pub(super) const DEFAULT_MAX_BODY: usize = 64 * 1024;
const DEFAULT_CERT_WARNING: Duration = Duration::from_secs(14 * 86_400);
pub(super) const MAX_BODY_LIMIT: i64 = crate::limits::MAX_BODY_BYTES;
const PROFILES: &str = "generic, alipay, wechatpay_v3, stripe, evm_jsonrpc, solana_jsonrpc";
const CHECK_NAMES: &str = "dns, tcp, ping, tls, http, api_version, rpc";

pub fn validate(path: &Path, source: &str, base: &Path) -> Result<Plan, Vec<Problem>> {
    let mut p = Problems::new(source);
    let raw: RawConfig = match toml::from_str(source) {
        Ok(r) => r,
        Err(e) => {
            p.at(e.span().unwrap_or(0..0), e.message().trim().to_string());
            return Err(p.list);
        }
    };
    let server = server(&raw, base, &mut p);
    if let Some(n) = &raw.defaults.name {
        p.at(
            n.span(),
            "`name` cannot be a default: every target needs its own",
        );
    }
    if let Some(u) = &raw.defaults.url {
        p.at(
            u.span(),
            "`url` cannot be a default: every target needs its own",
        );
    }
    let mut targets = Vec::new();
    let mut seen: HashMap<String, usize> = HashMap::new();
    let all = raw
        .targets
        .iter()
        .map(|t| (t, false))
        .chain(raw.controls.iter().map(|t| (t, true)));
    for (spanned, control) in all {
        let mut merged = spanned.get_ref().clone().with_defaults(&raw.defaults);
        if spanned.get_ref().http.is_none() && is_tcp_url(&merged) {
            // `[defaults.http]` is meant for HTTP targets; a tcp:// control just has none.
            merged.http = None;
        }
        // Duplicates are checked on the raw name, so they are found even when the first
        // entry has problems of its own.
        if let Some(n) = &merged.name {
            // The line is computed only for the message: scanning the file once per target
            // would make 10,000 targets quadratic.
            let start = spanned.span().start;
            if let Some(first) = seen
                .get(n.get_ref())
                .map(|at| super::line_col(source, *at).0)
            {
                p.at(
                    n.span(),
                    format!(
                        "duplicate target name `{}` (first defined on line {first}); names must be unique",
                        n.get_ref()
                    ),
                );
                continue;
            }
            seen.insert(n.get_ref().clone(), start);
        }
        let Some(t) = target(&merged, spanned.span(), control, base, &mut p) else {
            continue;
        };
        targets.push(Arc::new(t));
    }
    if raw.targets.is_empty() && p.list.is_empty() {
        p.at(0..0, "no [[targets]]: nothing to probe");
    }
    let alerts = alerts::alerts(raw.alerts.as_ref(), base, &mut p);
    match (server, alerts, p.list.is_empty()) {
        (Some(server), Some(alerts), true) => Ok(Plan {
            source: path.to_path_buf(),
            server,
            targets,
            alerts,
        }),
        _ => Err(p.list),
    }
}

fn server(raw: &RawConfig, base: &Path, p: &mut Problems) -> Option<ServerPlan> {
    let s = &raw.server;
    let listen = match &s.listen {
        None => DEFAULT_LISTEN.parse().ok(),
        Some(l) => match l.get_ref().parse() {
            Ok(a) => Some(a),
            Err(_) => {
                p.at(
                    l.span(),
                    format!(
                        "`listen` = {:?}: expected IP:PORT, e.g. \"127.0.0.1:9464\"",
                        l.get_ref()
                    ),
                );
                None
            }
        },
    };
    let state_dir = s
        .state_dir
        .as_ref()
        // Relative to the config file, like every other path in it (not to the cwd).
        .map(|d| base.join(d.get_ref()))
        .unwrap_or_else(|| PathBuf::from("/var/lib/payprobe"));
    let max_concurrency = int_in(
        &s.max_concurrency,
        "max_concurrency",
        1,
        crate::limits::MAX_CONCURRENCY,
        512,
        p,
    );
    let lang = match &s.lang {
        None => Some(Lang::En),
        Some(l) => Lang::parse(l.get_ref()).or_else(|| {
            p.at(
                l.span(),
                format!("`lang` = {:?}: expected \"en\" or \"zh-CN\"", l.get_ref()),
            );
            None
        }),
    };
    let web = match &s.web_config {
        None => Some(None),
        Some(f) => {
            let path = resolve(base, f.get_ref());
            match crate::http::auth::WebConfig::load(&path, base) {
                Ok(w) => Some(Some(Arc::new(w))),
                Err(e) => {
                    p.at(f.span(), format!("`web_config`: {e}"));
                    None
                }
            }
        }
    };
    Some(ServerPlan {
        web: web?,
        metrics_open: s.metrics_open.as_ref().is_some_and(|b| *b.get_ref()),
        listen: listen?,
        state_dir,
        max_concurrency: max_concurrency? as usize,
        lang: lang?,
        latency_histograms: s.latency_histograms.as_ref().is_some_and(|b| *b.get_ref()),
    })
}

pub(super) fn int_in(
    v: &Option<S<i64>>,
    key: &str,
    lo: i64,
    hi: i64,
    default: i64,
    p: &mut Problems,
) -> Option<i64> {
    match v {
        None => Some(default),
        Some(x) if (lo..=hi).contains(x.get_ref()) => Some(*x.get_ref()),
        Some(x) => {
            p.at(
                x.span(),
                format!(
                    "`{key}` = {}: expected a whole number from {lo} to {hi}",
                    x.get_ref()
                ),
            );
            None
        }
    }
}

pub(super) fn duration(
    v: &Option<S<String>>,
    key: &str,
    p: &mut Problems,
) -> Option<Option<Duration>> {
    let Some(v) = v else { return Some(None) };
    duration_max(v, key, crate::limits::MAX_CONFIG_DURATION, p)
}

/// A duration key with its own upper bound (the bound keeps deadline arithmetic far from
/// overflow; see `src/limits.rs`).
pub(super) fn duration_max(
    v: &S<String>,
    key: &str,
    max: Duration,
    p: &mut Problems,
) -> Option<Option<Duration>> {
    match humantime::parse_duration(v.get_ref()) {
        Ok(d) if d > max => {
            p.at(
                v.span(),
                format!(
                    "`{key}` = {:?} is longer than the largest accepted, {}",
                    v.get_ref(),
                    whole_days(max)
                ),
            );
            None
        }
        Ok(d) if d > Duration::ZERO => Some(Some(d)),
        Ok(_) => {
            p.at(v.span(), format!("`{key}` must be longer than zero"));
            None
        }
        Err(e) => {
            p.at(
                v.span(),
                format!(
                    "`{key}` = {:?}: {e}; expected a duration such as \"15s\", \"1m30s\", \"800ms\"",
                    v.get_ref()
                ),
            );
            None
        }
    }
}

/// `400d` rather than humantime's `1year 1month 4days 13h 30m 54s`.
fn whole_days(d: Duration) -> String {
    match d.as_secs() {
        s if s % 86_400 == 0 => format!("{}d", s / 86_400),
        _ => humantime::format_duration(d).to_string(),
    }
}

fn target(
    t: &RawTarget,
    span: std::ops::Range<usize>,
    control: bool,
    base: &Path,
    p: &mut Problems,
) -> Option<Target> {
    let before = p.count();
    let kind = if control {
        "[[controls]]"
    } else {
        "[[targets]]"
    };
    let name = match &t.name {
        None => {
            p.at(span.clone(), format!("{kind} entry has no `name`"));
            None
        }
        Some(n) if valid_name(n.get_ref()) => Some(n.get_ref().clone()),
        Some(n) => {
            p.at(
                n.span(),
                format!(
                    "`name` = {:?}: expected 1-128 characters of letters, digits, '-', '_' or '.'",
                    n.get_ref()
                ),
            );
            None
        }
    };
    let endpoint = match &t.url {
        None => {
            p.at(span, format!("{kind} entry has no `url`"));
            None
        }
        Some(u) => endpoint(u, p),
    };
    let interval = duration(&t.interval, "interval", p).map(|d| d.unwrap_or(DEFAULT_INTERVAL));
    let timeout = match &t.timeout {
        None => Some(DEFAULT_TIMEOUT),
        Some(v) => duration_max(v, "timeout", crate::limits::MAX_PROBE_TIMEOUT, p)
            .map(|d| d.unwrap_or(DEFAULT_TIMEOUT)),
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
    let failure_threshold = int_in(
        &t.failure_threshold,
        "failure_threshold",
        1,
        crate::limits::MAX_THRESHOLD_ROUNDS,
        3,
        p,
    );
    let success_threshold = int_in(
        &t.success_threshold,
        "success_threshold",
        1,
        crate::limits::MAX_THRESHOLD_ROUNDS,
        2,
        p,
    );
    let profile = match &t.profile {
        None => Some(Profile::Generic),
        Some(pr) => Profile::parse(pr.get_ref()).or_else(|| {
            p.at(
                pr.span(),
                format!(
                    "unknown profile `{}`; expected one of: {PROFILES}",
                    pr.get_ref()
                ),
            );
            None
        }),
    };
    let ok_codes = match (&t.profile_ok_codes, profile) {
        (Some(l), _) => l.get_ref().iter().map(|c| c.get_ref().clone()).collect(),
        (None, Some(pr)) => pr
            .default_ok_codes()
            .iter()
            .map(|c| c.to_string())
            .collect(),
        (None, None) => Vec::new(),
    };
    let min_tls_version = match &t.min_tls_version {
        None => Some(TlsVersion::Tls12),
        Some(v) => TlsVersion::parse(v.get_ref()).or_else(|| {
            p.at(
                v.span(),
                format!(
                    "`min_tls_version` = {:?}: expected \"1.2\" or \"1.3\"",
                    v.get_ref()
                ),
            );
            None
        }),
    };
    let ca = t.ca_file.as_ref().map(|f| read_file("ca_file", f, base, p));
    let crl = t
        .crl_file
        .as_ref()
        .map(|f| read_file("crl_file", f, base, p));
    // A file that could not be read was reported already; build nothing on top of it.
    let unreadable = matches!(ca, Some(None)) || matches!(crl, Some(None));
    let tls = match min_tls_version.filter(|_| !unreadable) {
        Some(min) => tls::client(ca.flatten(), crl.flatten(), min)
            .map_err(|e| {
                let (key, at) = match e {
                    TlsSetupError::BadCrl(_) | TlsSetupError::NoCrls => ("crl_file", &t.crl_file),
                    _ => ("ca_file", &t.ca_file),
                };
                match at {
                    Some(f) => p.at(f.span(), format!("`{key}` {:?}: {e}", f.get_ref())),
                    None => p.at(0..0, format!("TLS setup failed: {e}")),
                }
            })
            .ok(),
        None => None,
    };
    let cert_expiry_warning = duration(&t.cert_expiry_warning, "cert_expiry_warning", p)
        .map(|d| d.unwrap_or(DEFAULT_CERT_WARNING));
    let scheme = endpoint.as_ref().map(|e| e.scheme);
    let checks = checks(t, scheme, endpoint.as_ref().and_then(|e| e.ip), p);
    // A payment profile's safe query when the URL names only the host.
    let endpoint = endpoint.map(|mut e| {
        let bare = e.url.path() == "/" && e.url.query().is_none();
        if let Some(path) = profile.and_then(|pr| pr.safe_path()).filter(|_| bare) {
            if let Ok(u) = e.url.join(path) {
                e.url = u;
            }
        }
        e
    });
    let http = http(
        t.http.as_ref(),
        scheme,
        base,
        profile.unwrap_or(Profile::Generic),
        p,
    );
    let dns = dns(t.dns.as_ref(), p);
    // The burst is held to the timeout only where a ping runs.
    let pings = checks.as_ref().is_some_and(|c| c.contains(&Check::Ping));
    let ping = ping(
        t.ping.as_ref(),
        timeout.filter(|_| pings),
        t.timeout.as_ref().map(|s| s.span()),
        p,
    );
    let api_version = api_version(t.api_version.as_ref(), p);
    let provider_name = t
        .provider
        .as_ref()
        .map(|v| v.get_ref().clone())
        .or_else(|| endpoint.as_ref().map(|e| e.host.clone()));
    let rpc = rpc(
        t,
        profile,
        checks.as_deref(),
        provider_name.unwrap_or_default(),
        p,
    );
    if p.count() > before {
        return None;
    }
    let e = endpoint?;
    Some(Target {
        provider: t
            .provider
            .as_ref()
            .map(|v| v.get_ref().clone())
            .unwrap_or_else(|| e.host.clone()),
        name: name?,
        profile: profile?,
        ok_codes,
        url: e.url,
        scheme: e.scheme,
        host: e.host,
        ip: e.ip,
        port: e.port,
        checks: checks?,
        interval: interval?,
        timeout: timeout?,
        failure_threshold: failure_threshold? as u32,
        success_threshold: success_threshold? as u32,
        latency_slo: latency_slo?,
        min_tls_version: min_tls_version?,
        cert_expiry_warning: cert_expiry_warning?,
        tls: tls?,
        http: http?,
        dns: dns?,
        ping: ping?,
        api_version: api_version?,
        rpc: rpc?,
        control,
    })
}

fn is_tcp_url(t: &RawTarget) -> bool {
    t.url
        .as_ref()
        .is_some_and(|u| u.get_ref().starts_with("tcp://"))
}

fn valid_name(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 128
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
}

pub(super) fn resolve(base: &Path, file: &str) -> PathBuf {
    let f = Path::new(file);
    if f.is_absolute() {
        f.to_path_buf()
    } else {
        base.join(f)
    }
}

pub(super) fn read_file(
    key: &str,
    f: &S<String>,
    base: &Path,
    p: &mut Problems,
) -> Option<Vec<u8>> {
    let path = resolve(base, f.get_ref());
    match std::fs::read(&path) {
        Ok(b) => Some(b),
        Err(e) => {
            p.at(
                f.span(),
                format!("`{key}` {}: cannot read: {e}", path.display()),
            );
            None
        }
    }
}

#[cfg(test)]
mod tests;
