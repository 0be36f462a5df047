//! Raw config → [`Plan`], collecting every problem with its place.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use hyper::header::{HeaderName, HeaderValue};
use hyper::Method;

use super::error::{Problem, Problems};
use super::raw::{RawApiVersion, RawConfig, RawDns, RawHttp, RawPing, RawTarget, S};
use super::{ApiVersionSpec, FieldType, RpcSpec, VersionSource};
use super::{
    Check, DnsSpec, HttpSpec, PingMethod, PingSpec, Plan, Scheme, ServerPlan, Target,
    DEFAULT_LISTEN,
};
use crate::classify::Lang;
use crate::profile::Profile;
use crate::tls::{self, TlsSetupError, TlsVersion};

const DEFAULT_INTERVAL: Duration = Duration::from_secs(15);
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(5);
const DEFAULT_MAX_BODY: usize = 64 * 1024;
const DEFAULT_CERT_WARNING: Duration = Duration::from_secs(14 * 86_400);
const MAX_BODY_LIMIT: i64 = 16 * 1024 * 1024;
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
    let server = server(&raw, &mut p);
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
    match (server, p.list.is_empty()) {
        (Some(server), true) => Ok(Plan {
            source: path.to_path_buf(),
            server,
            targets,
        }),
        _ => Err(p.list),
    }
}

fn server(raw: &RawConfig, p: &mut Problems) -> Option<ServerPlan> {
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
        .map(|d| PathBuf::from(d.get_ref()))
        .unwrap_or_else(|| PathBuf::from("/var/lib/payprobe"));
    let max_concurrency = int_in(&s.max_concurrency, "max_concurrency", 1, 100_000, 512, p);
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
    Some(ServerPlan {
        listen: listen?,
        state_dir,
        max_concurrency: max_concurrency? as usize,
        lang: lang?,
    })
}

fn int_in(
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

fn duration(v: &Option<S<String>>, key: &str, p: &mut Problems) -> Option<Option<Duration>> {
    let Some(v) = v else { return Some(None) };
    match humantime::parse_duration(v.get_ref()) {
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

fn target(
    t: &RawTarget,
    span: std::ops::Range<usize>,
    control: bool,
    base: &Path,
    p: &mut Problems,
) -> Option<Target> {
    let before = p.list.len();
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
    let timeout = duration(&t.timeout, "timeout", p).map(|d| d.unwrap_or(DEFAULT_TIMEOUT));
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
    let failure_threshold = int_in(&t.failure_threshold, "failure_threshold", 1, 1000, 3, p);
    let success_threshold = int_in(&t.success_threshold, "success_threshold", 1, 1000, 2, p);
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
    let http = http(
        t.http.as_ref(),
        scheme,
        base,
        profile.unwrap_or(Profile::Generic),
        p,
    );
    let dns = dns(t.dns.as_ref(), p);
    let ping = ping(t.ping.as_ref(), timeout, p);
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
    if p.list.len() > before {
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

fn dns(d: Option<&RawDns>, p: &mut Problems) -> Option<DnsSpec> {
    let Some(d) = d else {
        return Some(DnsSpec::default());
    };
    let before = p.list.len();
    let mut out = DnsSpec::default();
    for r in d.resolvers.iter().flat_map(|l| l.get_ref()) {
        let v = r.get_ref();
        // A bare IP means port 53.
        let parsed = v.parse::<std::net::SocketAddr>().or_else(|_| {
            v.parse::<std::net::IpAddr>()
                .map(|ip| std::net::SocketAddr::new(ip, 53))
        });
        match parsed {
            Ok(a) => out.resolvers.push(a),
            Err(_) => p.at(r.span(), format!("resolver {v:?}: expected IP or IP:PORT, e.g. \"127.0.0.53\" or \"[2001:db8::53]:53\"")),
        }
    }
    for n in d.expect_addresses.iter().flat_map(|l| l.get_ref()) {
        let v = n.get_ref();
        let parsed = v
            .parse::<ipnet::IpNet>()
            .or_else(|_| v.parse::<std::net::IpAddr>().map(ipnet::IpNet::from));
        match parsed {
            Ok(net) => out.expect_addresses.push(net),
            Err(_) => p.at(
                n.span(),
                format!(
                    "expect_addresses {v:?}: expected a CIDR such as \"203.0.113.0/24\" or an IP"
                ),
            ),
        }
    }
    (p.list.len() == before).then_some(out)
}

fn ping(r: Option<&RawPing>, timeout: Option<Duration>, p: &mut Problems) -> Option<PingSpec> {
    let d = PingSpec::default();
    let Some(r) = r else { return Some(d) };
    let before = p.list.len();
    let count = int_in(&r.count, "count", 1, 100, i64::from(d.count), p);
    let spacing = duration(&r.spacing, "spacing", p).map(|v| v.unwrap_or(d.spacing));
    let packet_timeout =
        duration(&r.packet_timeout, "packet_timeout", p).map(|v| v.unwrap_or(d.packet_timeout));
    let loss_threshold = match &r.loss_threshold {
        None => Some(d.loss_threshold),
        Some(l) if (0.0..=1.0).contains(l.get_ref()) => Some(*l.get_ref()),
        Some(l) => {
            p.at(
                l.span(),
                format!(
                    "`loss_threshold` = {}: expected a fraction from 0.0 to 1.0",
                    l.get_ref()
                ),
            );
            None
        }
    };
    let method = match r.method.as_ref().map(|m| (m, m.get_ref().as_str())) {
        None | Some((_, "auto")) => Some(PingMethod::Auto),
        Some((_, "tcp")) => Some(PingMethod::Tcp),
        Some((m, other)) => {
            p.at(
                m.span(),
                format!("`method` = {other:?}: expected \"auto\" (ICMP, else TCP) or \"tcp\""),
            );
            None
        }
    };
    let port = match &r.port {
        None => Some(None),
        Some(_) => int_in(&r.port, "port", 1, 65535, 0, p).map(|v| Some(v as u16)),
    };
    if let (Some(c), Some(s), Some(pt), Some(to)) = (count, spacing, packet_timeout, timeout) {
        let burst = s * (c as u32 - 1) + pt;
        if burst >= to {
            let at = r
                .count
                .as_ref()
                .map(|c| c.span())
                .or(r.spacing.as_ref().map(|s| s.span()))
                .unwrap_or(0..0);
            p.at(at, format!(
                "a ping burst takes up to {} (count x spacing + packet_timeout), longer than the target's `timeout` ({}); lower count or spacing, or raise timeout",
                humantime::format_duration(burst), humantime::format_duration(to)
            ));
        }
    }
    if p.list.len() > before {
        return None;
    }
    Some(PingSpec {
        count: count? as u32,
        spacing: spacing?,
        packet_timeout: packet_timeout?,
        loss_threshold: loss_threshold?,
        method: method?,
        port: port?,
    })
}

fn rpc(
    t: &RawTarget,
    profile: Option<Profile>,
    checks: Option<&[Check]>,
    provider: String,
    p: &mut Problems,
) -> Option<RpcSpec> {
    let wants_rpc = checks.is_some_and(|c| c.contains(&Check::Rpc));
    let is_chain = matches!(profile, Some(Profile::EvmJsonrpc | Profile::SolanaJsonrpc));
    if wants_rpc && profile.is_some() && !is_chain {
        let at = t.checks.as_ref().map(|c| c.span()).unwrap_or(0..0);
        p.at(
            at,
            "check `rpc` needs `profile = \"evm_jsonrpc\"` or `\"solana_jsonrpc\"`",
        );
        return None;
    }
    let r = t.rpc.clone().unwrap_or_default();
    let default_lag = if profile == Some(Profile::SolanaJsonrpc) {
        150
    } else {
        5
    };
    let lag = int_in(
        &r.max_block_lag,
        "max_block_lag",
        0,
        1_000_000,
        default_lag,
        p,
    );
    let chain_id = match &r.chain_id {
        None => Some(None),
        Some(c) if *c.get_ref() > 0 => Some(Some(*c.get_ref() as u64)),
        Some(c) => {
            p.at(
                c.span(),
                format!(
                    "`chain_id` = {}: expected a positive chain id, e.g. 1 for Ethereum mainnet",
                    c.get_ref()
                ),
            );
            None
        }
    };
    Some(RpcSpec {
        chain: r.chain.map(|c| c.into_inner()).unwrap_or(provider),
        chain_id: chain_id?,
        max_block_lag: lag? as u64,
    })
}

fn api_version(r: Option<&RawApiVersion>, p: &mut Problems) -> Option<ApiVersionSpec> {
    let Some(r) = r else {
        return Some(ApiVersionSpec::default());
    };
    let before = p.list.len();
    let sources: Vec<(&str, &S<String>)> = [
        ("header", &r.header),
        ("json_pointer", &r.json_pointer),
        ("regex", &r.regex),
    ]
    .into_iter()
    .filter_map(|(k, v)| v.as_ref().map(|v| (k, v)))
    .collect();
    if sources.len() > 1 {
        p.at(
            sources[1].1.span(),
            "set one of `header`, `json_pointer` or `regex`, not several",
        );
    }
    let source = match sources.first() {
        None => None,
        Some(("header", v)) => Some(VersionSource::Header(v.get_ref().clone())),
        Some(("json_pointer", v)) if v.get_ref().starts_with('/') => {
            Some(VersionSource::JsonPointer(v.get_ref().clone()))
        }
        Some(("json_pointer", v)) => {
            p.at(
                v.span(),
                format!(
                    "`json_pointer` = {:?}: a JSON pointer starts with '/', e.g. \"/data/version\"",
                    v.get_ref()
                ),
            );
            None
        }
        Some((_, v)) => match regex::Regex::new(v.get_ref()) {
            Ok(re) => Some(VersionSource::Regex(re)),
            Err(e) => {
                p.at(v.span(), format!("`regex`: {e}"));
                None
            }
        },
    };
    let require = match &r.require {
        None => None,
        Some(q) => match semver::VersionReq::parse(q.get_ref()) {
            Ok(req) if sources.is_empty() => {
                p.at(q.span(), "`require` needs a `header`, `json_pointer` or `regex` to read the version from");
                Some(req)
            }
            Ok(req) => Some(req),
            Err(e) => {
                p.at(
                    q.span(),
                    format!(
                        "`require` = {:?}: {e}; expected a semver range such as \">=3.0, <4\"",
                        q.get_ref()
                    ),
                );
                None
            }
        },
    };
    let mut required_fields = std::collections::BTreeMap::new();
    for (k, v) in r.required_fields.iter().flatten() {
        if !k.get_ref().starts_with('/') {
            p.at(
                k.span(),
                format!(
                    "required field {:?}: a JSON pointer starts with '/'",
                    k.get_ref()
                ),
            );
            continue;
        }
        match FieldType::parse(v.get_ref()) {
            Some(t) => {
                required_fields.insert(k.get_ref().clone(), t);
            }
            None => p.at(
                v.span(),
                format!(
                    "type {:?}: expected one of {}",
                    v.get_ref(),
                    FieldType::NAMES
                ),
            ),
        }
    }
    (p.list.len() == before).then_some(ApiVersionSpec {
        source,
        require,
        required_fields,
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

struct Endpoint {
    url: url::Url,
    scheme: Scheme,
    host: String,
    ip: Option<std::net::IpAddr>,
    port: u16,
}

fn endpoint(u: &S<String>, p: &mut Problems) -> Option<Endpoint> {
    let raw = u.get_ref();
    let url = match url::Url::parse(raw) {
        Ok(url) => url,
        Err(e) => {
            p.at(
                u.span(),
                format!(
                    "`url` = {raw:?}: {e}; expected e.g. \"https://api.example.com/v1/status\""
                ),
            );
            return None;
        }
    };
    let scheme = match url.scheme() {
        "http" => Scheme::Http,
        "https" => Scheme::Https,
        "tcp" => Scheme::Tcp,
        other => {
            p.at(
                u.span(),
                format!("`url` scheme `{other}` is not supported; expected http, https or tcp"),
            );
            return None;
        }
    };
    let host = match url.host() {
        Some(url::Host::Domain(d)) => d.to_string(),
        Some(url::Host::Ipv4(a)) => a.to_string(),
        Some(url::Host::Ipv6(a)) => a.to_string(),
        None => {
            p.at(u.span(), format!("`url` = {raw:?} has no host"));
            return None;
        }
    };
    let port = match url.port_or_known_default() {
        Some(port) => port,
        None => {
            p.at(
                u.span(),
                format!("`url` = {raw:?}: tcp:// needs a port, e.g. \"tcp://resolver.example:53\""),
            );
            return None;
        }
    };
    if !url.username().is_empty() || url.password().is_some() {
        p.at(
            u.span(),
            "`url` must not carry credentials: put them in a header read from a file",
        );
        return None;
    }
    let ip = host.parse().ok();
    Some(Endpoint {
        url,
        scheme,
        host,
        ip,
        port,
    })
}

fn checks(
    t: &RawTarget,
    scheme: Option<Scheme>,
    ip: Option<std::net::IpAddr>,
    p: &mut Problems,
) -> Option<Vec<Check>> {
    let Some(list) = &t.checks else {
        return scheme.map(|s| {
            vec![if s == Scheme::Tcp {
                Check::Tcp
            } else {
                Check::Http
            }]
        });
    };
    if list.get_ref().is_empty() {
        p.at(
            list.span(),
            "`checks` is empty; expected at least one of dns, tcp, tls, http",
        );
        return None;
    }
    let mut out = Vec::new();
    let mut ok = true;
    for c in list.get_ref() {
        let v = c.get_ref().as_str();
        let Some(check) = Check::parse(v) else {
            p.at(
                c.span(),
                format!("unknown check `{v}`; expected one of: {CHECK_NAMES}"),
            );
            ok = false;
            continue;
        };
        let allowed = match (scheme, check) {
            (None, _) => true,
            (Some(_), Check::Dns) if ip.is_some() => {
                p.at(
                    c.span(),
                    "check `dns` needs a host name, but the url has an IP address",
                );
                ok = false;
                continue;
            }
            (Some(Scheme::Tcp), Check::Tls | Check::Http | Check::ApiVersion | Check::Rpc) => false,
            (Some(Scheme::Http), Check::Tls) => false,
            _ => true,
        };
        if !allowed {
            p.at(
                c.span(),
                format!(
                    "check `{v}` does not apply to a {} url",
                    scheme_name(scheme)
                ),
            );
            ok = false;
        } else if out.contains(&check) {
            p.at(c.span(), format!("check `{v}` is listed twice"));
            ok = false;
        } else {
            out.push(check);
        }
    }
    ok.then_some(out)
}

fn scheme_name(s: Option<Scheme>) -> &'static str {
    match s {
        Some(Scheme::Http) => "http://",
        Some(Scheme::Https) => "https://",
        Some(Scheme::Tcp) => "tcp://",
        None => "",
    }
}

fn resolve(base: &Path, file: &str) -> PathBuf {
    let f = Path::new(file);
    if f.is_absolute() {
        f.to_path_buf()
    } else {
        base.join(f)
    }
}

fn read_file(key: &str, f: &S<String>, base: &Path, p: &mut Problems) -> Option<Vec<u8>> {
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

fn http(
    h: Option<&RawHttp>,
    scheme: Option<Scheme>,
    base: &Path,
    profile: Profile,
    p: &mut Problems,
) -> Option<HttpSpec> {
    let default = RawHttp::default();
    let h = match h {
        Some(h) if scheme == Some(Scheme::Tcp) => {
            let at = h.method.as_ref().map(|m| m.span()).unwrap_or(0..0);
            p.at(at, "[targets.http] does not apply to a tcp:// url");
            return None;
        }
        Some(h) => h,
        None => &default,
    };
    let before = p.list.len();
    // A profile's safe read-only request, unless the target writes its own.
    let safe = profile
        .safe_request()
        .filter(|_| h.method.is_none() && h.body.is_none() && h.body_file.is_none());
    let method = match &h.method {
        None if safe.is_some() => Some(Method::POST),
        None => Some(Method::GET),
        Some(m) => Method::from_bytes(m.get_ref().to_ascii_uppercase().as_bytes())
            .map_err(|_| {
                p.at(
                    m.span(),
                    format!("`method` = {:?} is not an HTTP method", m.get_ref()),
                )
            })
            .ok(),
    };
    let mut headers = Vec::new();
    for (k, v) in h.headers.iter().flatten() {
        let name = HeaderName::from_bytes(k.get_ref().as_bytes());
        let value = HeaderValue::from_str(v.get_ref());
        match (name, value) {
            (Ok(n), Ok(v)) => headers.push((n, v)),
            (Err(_), _) => p.at(
                k.span(),
                format!("header name {:?} is not valid", k.get_ref()),
            ),
            (_, Err(_)) => p.at(
                v.span(),
                format!(
                    "value of header {:?} is not valid (control characters?)",
                    k.get_ref()
                ),
            ),
        }
    }
    let body = match (&h.body, &h.body_file) {
        (Some(b), Some(_)) => {
            p.at(b.span(), "set `body` or `body_file`, not both");
            None
        }
        (Some(b), None) => Some(bytes::Bytes::from(b.get_ref().clone())),
        (None, Some(f)) => {
            let path = resolve(base, f.get_ref());
            std::fs::read(&path)
                .map(bytes::Bytes::from)
                .map_err(|e| {
                    p.at(
                        f.span(),
                        format!("`body_file` {}: cannot read: {e}", path.display()),
                    )
                })
                .ok()
        }
        (None, None) => Some(safe.map_or_else(bytes::Bytes::new, |body| {
            bytes::Bytes::from_static(body.as_bytes())
        })),
    };
    let has_type = headers
        .iter()
        .any(|(k, _)| k == hyper::header::CONTENT_TYPE);
    if safe.is_some() && !has_type {
        headers.push((
            hyper::header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        ));
    }
    let mut expect_status = Vec::new();
    for s in h.expect_status.iter().flat_map(|l| l.get_ref()) {
        match u16::try_from(*s.get_ref()) {
            Ok(code) if (100..=599).contains(&code) => expect_status.push(code),
            _ => p.at(
                s.span(),
                format!(
                    "status {} is not an HTTP status code (100-599)",
                    s.get_ref()
                ),
            ),
        }
    }
    if let Some(l) = &h.expect_status {
        if l.get_ref().is_empty() {
            p.at(
                l.span(),
                "`expect_status` is empty; leave it out to accept any 2xx",
            );
        }
    }
    let max_redirects = int_in(&h.max_redirects, "max_redirects", 0, 20, 5, p);
    let max_body = int_in(
        &h.max_body_bytes,
        "max_body_bytes",
        1,
        MAX_BODY_LIMIT,
        DEFAULT_MAX_BODY as i64,
        p,
    );
    if p.list.len() > before {
        return None;
    }
    Some(HttpSpec {
        method: method?,
        headers,
        body: body?,
        expect_status,
        follow_redirects: h
            .follow_redirects
            .as_ref()
            .map(|b| *b.get_ref())
            .unwrap_or(false),
        max_redirects: max_redirects? as u32,
        max_body_bytes: max_body? as usize,
    })
}
