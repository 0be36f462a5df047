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
    /// `[[notifications]]` channels (`config/notify.rs`).
    #[serde(default)]
    pub notifications: Vec<S<RawNotification>>,
    #[serde(default)]
    pub maintenance: Vec<S<RawMaintenance>>,
}

/// One `[[notifications]]` channel.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawNotification {
    pub name: Option<S<String>>,
    pub provider: Option<S<String>>,
    pub token_file: Option<S<String>>,
    pub max_delay: Option<S<String>>,
    pub max_silence: Option<S<String>>,
    pub active_hours: Option<S<String>>,
}

/// `[[maintenance]]`: a window whose failures page nobody (`src/maintenance/`).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawMaintenance {
    pub name: Option<S<String>>,
    pub providers: Option<S<Vec<S<String>>>>,
    pub targets: Option<S<Vec<S<String>>>>,
    pub start: Option<S<String>>,
    pub end: Option<S<String>>,
    pub weekly: Option<S<String>>,
    pub timezone: Option<S<String>>,
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
    /// Send "maintenance started/ended" notifications to this sink (off by default).
    pub maintenance_notifications: Option<S<bool>>,
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
    /// `/probe` requests started per second, and their burst.
    pub probe_rate: Option<S<i64>>,
    pub probe_burst: Option<S<i64>>,
}

/// One target, or the `[defaults]` every target inherits from (merged in
/// `validate/defaults.rs`).
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
    /// Availability objective (`0.999`): error budget and burn-rate alerts (`src/availability/`).
    pub slo: Option<S<f64>>,
    pub ca_file: Option<S<String>>,
    pub crl_file: Option<S<String>>,
    pub min_tls_version: Option<S<String>>,
    pub cert_expiry_warning: Option<S<String>>,
    /// The way out (`config/egress.rs`): an HTTP CONNECT proxy and its credentials, and
    /// the source address to bind.
    pub proxy: Option<S<String>>,
    pub proxy_auth_file: Option<S<String>>,
    pub proxy_auth_env: Option<S<String>>,
    pub source_address: Option<S<String>>,
    pub http: Option<RawHttp>,
    pub dns: Option<RawDns>,
    pub ping: Option<RawPing>,
    pub api_version: Option<RawApiVersion>,
    pub rpc: Option<RawRpc>,
    /// `[targets.sign]`: merchant credentials (issue 19); see `validate/sign.rs`.
    pub sign: Option<S<RawSign>>,
}

/// `[targets.sign]`, every kind's keys (which apply to which kind is checked in
/// `validate/sign.rs`). The names are the contract of issue 19.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawSign {
    pub kind: Option<S<String>>,
    pub private_key_file: Option<S<String>>,
    pub app_id: Option<S<String>>,
    pub method: Option<S<String>>,
    pub biz_content: Option<S<String>>,
    pub alipay_public_key_file: Option<S<String>>,
    pub app_cert_file: Option<S<String>>,
    pub alipay_cert_file: Option<S<String>>,
    pub alipay_root_cert_file: Option<S<String>>,
    pub mchid: Option<S<String>>,
    pub serial_no: Option<S<String>>,
    pub wechatpay_public_key_file: Option<S<String>>,
    pub wechatpay_public_key_id: Option<S<String>>,
    pub apiv3_key_file: Option<S<String>>,
    pub apiclient_cert_file: Option<S<String>>,
    pub api_key_file: Option<S<String>>,
    pub api_key_env: Option<S<String>>,
    pub stripe_version: Option<S<String>>,
    pub expiry_warning: Option<S<String>>,
    pub expiry_critical: Option<S<String>>,
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
