//! A target's way out: `proxy`, `proxy_auth_file`/`proxy_auth_env` and `source_address`
//! (types in `config/egress.rs`).

use std::net::IpAddr;
use std::path::Path;

use base64::Engine;

use super::super::error::Problems;
use super::super::raw::RawTarget;
use super::super::{Egress, Proxy, Secret};
use super::values::{env_var, read_file};
use crate::limits::MAX_PROXY_CREDENTIAL_BYTES;

/// The egress keys; `None` where a problem was reported.
pub(super) fn egress(t: &RawTarget, base: &Path, p: &mut Problems) -> Option<Egress> {
    let before = p.count();
    let source = t.source_address.as_ref().and_then(|s| {
        s.get_ref()
            .parse::<IpAddr>()
            .map_err(|_| {
                p.at(
                    s.span(),
                    format!(
                        "`source_address` = {:?}: expected an IP address of this host, such as \"10.0.2.15\" or \"2001:db8::15\"",
                        s.get_ref()
                    ),
                )
            })
            .ok()
    });
    let (proxy, authorization) = match &t.proxy {
        Some(u) => (proxy_url(u.get_ref(), p, u.span()), auth(t, base, p)),
        None => {
            if let Some(k) = t.proxy_auth_file.as_ref().or(t.proxy_auth_env.as_ref()) {
                p.at(k.span(), "proxy credentials without a `proxy`: set `proxy = \"http://host:port\"` or remove them");
            }
            (None, Some(None))
        }
    };
    if p.count() > before {
        return None;
    }
    Some(Egress {
        proxy: proxy.map(|(host, ip, port)| Proxy {
            host,
            ip,
            port,
            authorization: authorization.flatten(),
        }),
        source,
    })
}

/// `http://host:port` and nothing else: no path, no query, no credentials in the URL (they
/// would be shown wherever the URL is).
fn proxy_url(
    v: &str,
    p: &mut Problems,
    at: std::ops::Range<usize>,
) -> Option<(String, Option<IpAddr>, u16)> {
    let u = match url::Url::parse(v) {
        Ok(u) => u,
        Err(e) => {
            // Not echoed: a malformed URL may still carry a password.
            p.at(at, format!("`proxy`: {e}; expected \"http://host:port\""));
            return None;
        }
    };
    if !u.username().is_empty() || u.password().is_some() {
        // The value is not echoed: it carries the credentials.
        p.at(at, "`proxy`: credentials in the URL would be shown wherever it is; use `proxy_auth_file` or `proxy_auth_env`");
        return None;
    }
    let why = match u.scheme() {
        "http" => None,
        "https" => Some("a TLS connection to the proxy (https://) is not supported; use http:// (the tunnel to an https target is TLS end to end)".to_string()),
        other => Some(format!("scheme `{other}` is not supported; expected http://")),
    }
    .or_else(|| (u.path() != "/" || u.query().is_some() || u.fragment().is_some()).then(|| "a proxy URL has no path or query; expected \"http://host:port\"".to_string()));
    let host = match u.host() {
        Some(url::Host::Domain(d)) => Some((d.to_string(), None)),
        Some(url::Host::Ipv4(ip)) => Some((ip.to_string(), Some(IpAddr::V4(ip)))),
        Some(url::Host::Ipv6(ip)) => Some((ip.to_string(), Some(IpAddr::V6(ip)))),
        None => None,
    };
    match (why, host, u.port_or_known_default()) {
        (None, Some((h, ip)), Some(port)) => Some((h, ip, port)),
        (why, _, _) => {
            let why = why.unwrap_or_else(|| "no host".to_string());
            p.at(at, format!("`proxy` = {v:?}: {why}"));
            None
        }
    }
}

/// `user:password` from exactly one of `proxy_auth_file`, `proxy_auth_env`, as the
/// `Proxy-Authorization: Basic` value (RFC 7617). `Some(None)`: no credentials.
fn auth(t: &RawTarget, base: &Path, p: &mut Problems) -> Option<Option<Secret<String>>> {
    let raw = match (&t.proxy_auth_file, &t.proxy_auth_env) {
        (Some(_), Some(e)) => {
            p.at(
                e.span(),
                "give only one of `proxy_auth_file`, `proxy_auth_env`",
            );
            return None;
        }
        (Some(f), None) => (read_file("proxy_auth_file", f, base, p)?, f.span()),
        (None, Some(e)) => match env_var(e.get_ref()) {
            Ok(v) => (v.into_bytes(), e.span()),
            Err(why) => {
                p.at(e.span(), format!("`proxy_auth_env`: {why}"));
                return None;
            }
        },
        (None, None) => return Some(None),
    };
    let (mut cred, at) = raw;
    while matches!(cred.last(), Some(b'\n' | b'\r')) {
        cred.pop();
    }
    // The message names the key, never the value.
    let bad = if cred.len() > MAX_PROXY_CREDENTIAL_BYTES {
        Some(format!(
            "proxy credentials longer than {MAX_PROXY_CREDENTIAL_BYTES} bytes"
        ))
    } else if !cred.contains(&b':') || cred.iter().any(|b| b.is_ascii_control()) {
        Some("proxy credentials must be one line `user:password`".to_string())
    } else {
        None
    };
    if let Some(why) = bad {
        p.at(at, why);
        return None;
    }
    let b64 = base64::engine::general_purpose::STANDARD.encode(&cred);
    Some(Some(Secret(format!("Basic {b64}"))))
}
