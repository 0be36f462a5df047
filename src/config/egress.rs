//! The way out of a target: an HTTP CONNECT `proxy` and a `source_address` to bind.
//!
//! Payment traffic often leaves through a proxy (compliance zones, fixed egress IPs the
//! providers allowlist) or through one of several uplinks chosen by source address; a probe
//! that goes out another way does not probe the path payments take. The way out is also
//! what scope groups by: a control with the same egress tells "this uplink is broken" from
//! "the provider is down" (`src/classify/scope.rs`).

use std::fmt;
use std::net::IpAddr;

use super::Secret;

/// How a target's TCP connections leave this host. The default goes out directly from the
/// address the OS picks.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Egress {
    pub proxy: Option<Proxy>,
    /// Bound before connecting (to the proxy, when there is one).
    pub source: Option<IpAddr>,
}

/// An HTTP proxy spoken to with `CONNECT host:port` (RFC 9110 9.3.6), for https and for
/// plain http targets alike, so the request itself is the same as without a proxy.
#[derive(Clone, PartialEq)]
pub struct Proxy {
    pub host: String,
    /// Set when the host is an IP literal: no DNS lookup is made.
    pub ip: Option<IpAddr>,
    pub port: u16,
    /// The whole `Proxy-Authorization` value (`Basic …`), from `proxy_auth_file` or
    /// `proxy_auth_env`: secret, never shown.
    pub authorization: Option<Secret<String>>,
}

impl fmt::Debug for Proxy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Proxy")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("authorization", &self.authorization)
            .finish()
    }
}

impl Proxy {
    /// `host:port` (IPv6 in brackets), as evidence and labels show it.
    pub fn authority(&self) -> String {
        match self.ip {
            Some(IpAddr::V6(ip)) => format!("[{ip}]:{}", self.port),
            _ => format!("{}:{}", self.host, self.port),
        }
    }
}

impl Egress {
    /// The `egress` label and JSON field: `direct`, `proxy=host:port`, `source=IP`, or both
    /// joined by a comma. Made of config values only, so the label stays bounded.
    pub fn label(&self) -> String {
        let mut parts = Vec::new();
        if let Some(p) = &self.proxy {
            parts.push(format!("proxy={}", p.authority()));
        }
        if let Some(s) = self.source {
            parts.push(format!("source={s}"));
        }
        if parts.is_empty() {
            "direct".to_string()
        } else {
            parts.join(",")
        }
    }
}
