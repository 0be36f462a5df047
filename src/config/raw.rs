//! Raw configuration exactly as written in the TOML file.
//!
//! Every field is optional and wrapped in [`Spanned`] so that validation can point at the
//! line and column of a bad value. Unknown keys are rejected by serde itself
//! (`deny_unknown_fields`), which also gives the list of keys that were expected.

use std::collections::BTreeMap;

use serde::Deserialize;
use toml::Spanned;

pub type S<T> = Spanned<T>;

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawConfig {
    #[serde(default)]
    pub server: RawServer,
    #[serde(default)]
    pub defaults: RawTarget,
    #[serde(default)]
    pub targets: Vec<S<RawTarget>>,
    #[serde(default)]
    pub controls: Vec<S<RawTarget>>,
    pub alerts: Option<S<RawAlerts>>,
}

/// `[alerts]` and its `[[alerts.sinks]]`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawAlerts {
    pub group_wait: Option<S<String>>,
    pub resend_interval: Option<S<String>>,
    pub max_age: Option<S<String>>,
    pub external_url: Option<S<String>>,
    pub vantage: Option<S<String>>,
    pub queue_limit: Option<S<i64>>,
    #[serde(default)]
    pub sinks: Vec<S<RawSink>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawSink {
    pub name: Option<S<String>>,
    pub kind: Option<S<String>>,
    pub url: Option<S<String>>,
    pub url_file: Option<S<String>>,
    pub url_env: Option<S<String>>,
    pub secret_file: Option<S<String>>,
    pub secret_env: Option<S<String>>,
    pub timeout: Option<S<String>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawServer {
    pub listen: Option<S<String>>,
    pub state_dir: Option<S<String>>,
    pub max_concurrency: Option<S<i64>>,
    pub lang: Option<S<String>>,
    /// An exporter-toolkit style `web-config.yml`: TLS and credentials for the listener.
    pub web_config: Option<S<String>>,
    /// `/metrics`, `/healthz` and `/readyz` need no credentials even with `web_config`.
    pub metrics_open: Option<S<bool>>,
    pub latency_histograms: Option<S<bool>>,
}

/// One target, or the `[defaults]` every target inherits from.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawTarget {
    pub name: Option<S<String>>,
    pub provider: Option<S<String>>,
    pub profile: Option<S<String>>,
    pub profile_ok_codes: Option<S<Vec<S<String>>>>,
    pub url: Option<S<String>>,
    pub checks: Option<S<Vec<S<String>>>>,
    pub interval: Option<S<String>>,
    pub timeout: Option<S<String>>,
    pub failure_threshold: Option<S<i64>>,
    pub success_threshold: Option<S<i64>>,
    pub latency_slo: Option<S<String>>,
    pub ca_file: Option<S<String>>,
    pub crl_file: Option<S<String>>,
    pub min_tls_version: Option<S<String>>,
    pub cert_expiry_warning: Option<S<String>>,
    pub http: Option<RawHttp>,
    pub dns: Option<RawDns>,
    pub ping: Option<RawPing>,
    pub api_version: Option<RawApiVersion>,
    pub rpc: Option<RawRpc>,
}

#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawRpc {
    pub chain: Option<S<String>>,
    pub chain_id: Option<S<i64>>,
    pub max_block_lag: Option<S<i64>>,
}

#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawApiVersion {
    pub header: Option<S<String>>,
    pub json_pointer: Option<S<String>>,
    pub regex: Option<S<String>>,
    pub require: Option<S<String>>,
    pub required_fields: Option<BTreeMap<S<String>, S<String>>>,
}

#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawPing {
    pub count: Option<S<i64>>,
    pub spacing: Option<S<String>>,
    pub packet_timeout: Option<S<String>>,
    pub loss_threshold: Option<S<f64>>,
    pub method: Option<S<String>>,
    pub port: Option<S<i64>>,
}

#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawDns {
    pub resolvers: Option<S<Vec<S<String>>>>,
    pub expect_addresses: Option<S<Vec<S<String>>>>,
}

#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawHttp {
    pub method: Option<S<String>>,
    pub headers: Option<BTreeMap<S<String>, S<String>>>,
    /// Header name → environment variable holding its value (secrets stay out of the file).
    pub headers_from_env: Option<BTreeMap<S<String>, S<String>>>,
    /// Header name → file holding its value (trailing newline removed).
    pub headers_from_file: Option<BTreeMap<S<String>, S<String>>>,
    pub body: Option<S<String>>,
    pub body_file: Option<S<String>>,
    pub expect_status: Option<S<Vec<S<i64>>>>,
    pub follow_redirects: Option<S<bool>>,
    pub max_redirects: Option<S<i64>>,
    pub max_body_bytes: Option<S<i64>>,
}

impl RawTarget {
    /// Fills every key this target leaves unset from `defaults`.
    ///
    /// `[targets.http]` merges key by key too, and headers merge by name, so a default
    /// `User-Agent` survives a target that only sets `method`.
    pub fn with_defaults(mut self, d: &RawTarget) -> RawTarget {
        macro_rules! inherit {
            ($($f:ident),*) => { $( if self.$f.is_none() { self.$f = d.$f.clone(); } )* };
        }
        inherit!(
            provider,
            profile,
            profile_ok_codes,
            checks,
            interval,
            timeout,
            failure_threshold,
            success_threshold,
            latency_slo,
            ca_file,
            crl_file,
            min_tls_version,
            cert_expiry_warning
        );
        if self.rpc.is_none() {
            self.rpc = d.rpc.clone();
        }
        if self.api_version.is_none() {
            self.api_version = d.api_version.clone();
        }
        if self.ping.is_none() {
            self.ping = d.ping.clone();
        } else if let (Some(mine), Some(dp)) = (self.ping.as_mut(), &d.ping) {
            macro_rules! inherit_ping {
                ($($f:ident),*) => { $( if mine.$f.is_none() { mine.$f = dp.$f.clone(); } )* };
            }
            inherit_ping!(count, spacing, packet_timeout, loss_threshold, method, port);
        }
        if self.dns.is_none() {
            self.dns = d.dns.clone();
        } else if let (Some(mine), Some(dd)) = (self.dns.as_mut(), &d.dns) {
            if mine.resolvers.is_none() {
                mine.resolvers = dd.resolvers.clone();
            }
            if mine.expect_addresses.is_none() {
                mine.expect_addresses = dd.expect_addresses.clone();
            }
        }
        self.http = match (self.http.take(), &d.http) {
            (None, dh) => dh.clone(),
            (Some(h), None) => Some(h),
            (Some(h), Some(dh)) => Some(h.with_defaults(dh)),
        };
        self
    }
}

impl RawHttp {
    fn with_defaults(mut self, d: &RawHttp) -> RawHttp {
        macro_rules! inherit {
            ($($f:ident),*) => { $( if self.$f.is_none() { self.$f = d.$f.clone(); } )* };
        }
        inherit!(
            method,
            headers_from_env,
            headers_from_file,
            body,
            body_file,
            expect_status,
            follow_redirects,
            max_redirects,
            max_body_bytes
        );
        if let Some(dh) = &d.headers {
            let mine = self.headers.get_or_insert_with(BTreeMap::new);
            for (k, v) in dh {
                let taken = mine
                    .keys()
                    .any(|m| m.get_ref().eq_ignore_ascii_case(k.get_ref()));
                if !taken {
                    mine.insert(k.clone(), v.clone());
                }
            }
        }
        self
    }
}
