//! Validation of the per-check tables: `[targets.dns]`, `[targets.ping]`, `[targets.rpc]`,
//! `[targets.api_version]`.

use std::time::Duration;

use super::super::error::Problems;
use super::super::raw::{RawApiVersion, RawDns, RawPing, RawTarget, S};
use super::super::{
    ApiVersionSpec, Check, DnsSpec, FieldType, PingMethod, PingSpec, RpcSpec, VersionSource,
};
use super::{duration, int_in};
use crate::profile::Profile;

pub(super) fn dns(d: Option<&RawDns>, p: &mut Problems) -> Option<DnsSpec> {
    let Some(d) = d else {
        return Some(DnsSpec::default());
    };
    let before = p.count();
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
    (p.count() == before).then_some(out)
}

pub(super) fn ping(
    r: Option<&RawPing>,
    timeout: Option<Duration>,
    timeout_span: Option<std::ops::Range<usize>>,
    p: &mut Problems,
) -> Option<PingSpec> {
    let d = PingSpec::default();
    let none = RawPing::default();
    // An absent table still gets the burst-vs-timeout check: the default burst can overrun
    // a short `timeout`, and then every ping would be "lost" to the deadline (issue 15).
    let r = r.unwrap_or(&none);
    let before = p.count();
    let count = int_in(
        &r.count,
        "count",
        1,
        crate::limits::MAX_PING_COUNT,
        i64::from(d.count),
        p,
    );
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
        // Bounded by MAX_PING_COUNT and MAX_CONFIG_DURATION: cannot overflow.
        let burst = s
            .saturating_mul(c.saturating_sub(1) as u32)
            .saturating_add(pt);
        if burst >= to {
            let at = r
                .count
                .as_ref()
                .map(|c| c.span())
                .or(r.spacing.as_ref().map(|s| s.span()))
                .or(timeout_span)
                .unwrap_or(0..0);
            p.at(at, format!(
                "a ping burst takes up to {} (count x spacing + packet_timeout), longer than the target's `timeout` ({}); lower count or spacing, or raise timeout",
                humantime::format_duration(burst), humantime::format_duration(to)
            ));
        }
    }
    if p.count() > before {
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

pub(super) fn rpc(
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

pub(super) fn api_version(r: Option<&RawApiVersion>, p: &mut Problems) -> Option<ApiVersionSpec> {
    let Some(r) = r else {
        return Some(ApiVersionSpec::default());
    };
    let before = p.count();
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
    (p.count() == before).then_some(ApiVersionSpec {
        source,
        require,
        required_fields,
    })
}
