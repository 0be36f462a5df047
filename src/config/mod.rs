//! Configuration: TOML in, validated immutable [`Plan`] out.
//!
//! Parsing and validation are separate steps (as in ripgrep): `raw` mirrors the file with
//! every value optional and spanned, `validate` checks everything at once and reports *all*
//! problems with their line and column, and the resulting [`Plan`] holds only values the
//! probers can use without checking again.

mod alerts;
mod egress;
mod error;
mod notify;
mod raw;
mod validate;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use hyper::header::{HeaderName, HeaderValue};
use hyper::Method;

pub use alerts::{redact, AlertsPlan, Secret, SinkKind, SinkSpec};
pub use egress::{Egress, Proxy};
pub use error::{line_col, ConfigError, Problem};
pub use notify::{carry_over, ActiveHours, ChannelSpec};

use crate::tls::{TlsClient, TlsVersion};

/// Default bind address of the HTTP listener.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:9464";

/// Everything payprobe does, validated. Shared behind an `Arc` and never mutated: a reload
/// builds a new plan and swaps it in.
#[derive(Debug, Clone)]
pub struct Plan {
    /// The file the plan came from (used in reload messages).
    pub source: PathBuf,
    pub server: ServerPlan,
    /// Targets and controls; controls have `control == true`.
    pub targets: Vec<Arc<Target>>,
    /// `[alerts]`: sinks and timing (no sinks: no notifications, incidents still kept).
    pub alerts: AlertsPlan,
    /// `[[maintenance]]` windows.
    pub maintenance: crate::maintenance::Schedule,
    /// Config warnings (`file:line:column`-placed, not refusals): `check-config` prints
    /// them, the daemon logs them at each load.
    pub warnings: Vec<Problem>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ServerPlan {
    pub listen: std::net::SocketAddr,
    pub state_dir: PathBuf,
    /// Global cap on probes in flight across all targets.
    pub max_concurrency: usize,
    /// Language of remediation hints (`lang = "en" | "zh-CN"`).
    pub lang: crate::vocab::Lang,
    /// TLS and credentials for the listener (`web_config`), if any.
    pub web: Option<Arc<crate::webauth::WebConfig>>,
    /// `/metrics` stays open to scrapers without credentials (`metrics_open`).
    pub metrics_open: bool,
    /// Export `payprobe_probe_latency_seconds` per target and check. Off by default: at 18
    /// series per check it was most of the scrape; `payprobe_probes_over_slo_total` answers
    /// the SLO question with one series.
    pub latency_histograms: bool,
    /// `/probe` requests started per second (`probe_rate`) and their burst (`probe_burst`).
    pub probe_rate: u32,
    pub probe_burst: u32,
}

pub use crate::vocab::Check;

closed! {
    /// The URL schemes a target may have.
    pub enum Scheme / ALL {
        Http = "http",
        Https = "https",
        Tcp = "tcp",
    }
}

/// A target (or control) ready to probe.
#[derive(Debug, Clone, PartialEq)]
pub struct Target {
    pub name: String,
    pub provider: String,
    pub profile: crate::profile::Profile,
    /// Provider codes that mean "healthy" for this probe (`code` or `code:sub_code`).
    pub ok_codes: Vec<String>,
    pub url: url::Url,
    pub scheme: Scheme,
    /// Host as written in the URL, without brackets for IPv6.
    pub host: String,
    /// Set when the host is an IP literal: no DNS lookup is made.
    pub ip: Option<std::net::IpAddr>,
    pub port: u16,
    pub checks: Vec<Check>,
    pub interval: Duration,
    pub timeout: Duration,
    pub failure_threshold: u32,
    pub success_threshold: u32,
    pub latency_slo: Option<Duration>,
    /// Availability objective in (0, 1) (`slo`): error budget and burn-rate rules.
    pub slo: Option<f64>,
    pub min_tls_version: TlsVersion,
    /// A valid certificate expiring within this window gives a warning.
    pub cert_expiry_warning: Duration,
    pub tls: TlsClient,
    pub http: HttpSpec,
    pub dns: DnsSpec,
    pub ping: PingSpec,
    pub api_version: ApiVersionSpec,
    pub rpc: RpcSpec,
    /// A reference target on the way out (`[[controls]]`), used to tell "me" from "them".
    pub control: bool,
    /// How its connections leave this host (`proxy`, `source_address`).
    pub egress: Egress,
    /// [`Egress::label`], computed once: the `egress` JSON field, and what scope groups
    /// controls by.
    pub egress_label: String,
    /// Set for a `[[notifications]]` channel, judged as a target of its provider.
    pub channel: Option<ChannelSpec>,
}

/// How names are resolved (`[targets.dns]`).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DnsSpec {
    /// Name servers asked in order; empty means the system resolver.
    pub resolvers: Vec<std::net::SocketAddr>,
    /// Networks the answers must fall in; an answer outside them is evidence of hijacking
    /// or misrouting. Empty means any answer is accepted.
    pub expect_addresses: Vec<ipnet::IpNet>,
}

/// What the `api_version` check reads and requires (`[targets.api_version]`).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ApiVersionSpec {
    pub source: Option<VersionSource>,
    pub require: Option<semver::VersionReq>,
    /// JSON pointer → expected type: a missing or retyped field is schema drift.
    pub required_fields: std::collections::BTreeMap<String, FieldType>,
}

/// The `rpc` check of a chain node (`[targets.rpc]`).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RpcSpec {
    /// Endpoints with the same `chain` are compared; default: the provider.
    pub chain: String,
    /// Expected `eth_chainId` (EVM); a node on another chain fails.
    pub chain_id: Option<u64>,
    /// Blocks (EVM) or slots (Solana) a node may trail its best peer by.
    pub max_block_lag: u64,
}

/// Where the gateway's version is read.
#[derive(Debug, Clone)]
pub enum VersionSource {
    Header(String),
    JsonPointer(String),
    /// The first capture group (or the whole match) over the body.
    Regex(regex::Regex),
}

impl PartialEq for VersionSource {
    fn eq(&self, other: &Self) -> bool {
        match (self, other) {
            (VersionSource::Header(a), VersionSource::Header(b)) => a.eq_ignore_ascii_case(b),
            (VersionSource::JsonPointer(a), VersionSource::JsonPointer(b)) => a == b,
            (VersionSource::Regex(a), VersionSource::Regex(b)) => a.as_str() == b.as_str(),
            _ => false,
        }
    }
}

pub use crate::vocab::FieldType;

/// How the `ping` check pings (`[targets.ping]`).
#[derive(Debug, Clone, PartialEq)]
pub struct PingSpec {
    pub count: u32,
    pub spacing: Duration,
    /// How long to wait for each reply.
    pub packet_timeout: Duration,
    /// Loss above this fraction fails the check.
    pub loss_threshold: f64,
    pub method: PingMethod,
    /// Port for TCP pings; default the target's port.
    pub port: Option<u16>,
}

impl Default for PingSpec {
    fn default() -> Self {
        PingSpec {
            count: 5,
            spacing: Duration::from_millis(200),
            packet_timeout: Duration::from_secs(1),
            loss_threshold: 0.05,
            method: PingMethod::Auto,
            port: None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PingMethod {
    /// ICMP (datagram socket, else raw socket), else TCP.
    Auto,
    /// TCP connect pings only.
    Tcp,
}

/// What the HTTP check sends and accepts.
#[derive(Debug, Clone, PartialEq)]
pub struct HttpSpec {
    pub method: Method,
    pub headers: Vec<(HeaderName, HeaderValue)>,
    pub body: bytes::Bytes,
    /// Accepted status codes; empty means any 2xx.
    pub expect_status: Vec<u16>,
    pub follow_redirects: bool,
    pub max_redirects: u32,
    pub max_body_bytes: usize,
    /// `[targets.sign]`: the request is signed with the merchant's credentials and the
    /// answer's signature verified (`src/sign`).
    pub sign: Option<crate::sign::SignSpec>,
}

impl HttpSpec {
    pub fn status_ok(&self, status: u16) -> bool {
        if self.expect_status.is_empty() {
            (200..300).contains(&status)
        } else {
            self.expect_status.contains(&status)
        }
    }
}

/// Selects the targets of one replica out of `count` (`--shard K/N`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    pub index: u32,
    pub count: u32,
}

impl std::str::FromStr for Shard {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let (k, n) = s
            .split_once('/')
            .ok_or_else(|| format!("shard `{s}`: expected K/N, e.g. 0/3"))?;
        let index: u32 = k
            .trim()
            .parse()
            .map_err(|_| format!("shard `{s}`: K is not a number"))?;
        let count: u32 = n
            .trim()
            .parse()
            .map_err(|_| format!("shard `{s}`: N is not a number"))?;
        if count == 0 || index >= count {
            return Err(format!("shard `{s}`: need 0 <= K < N"));
        }
        Ok(Shard { index, count })
    }
}

impl Shard {
    /// Stable across processes and versions: jump consistent hashing of the FNV-1a hash of
    /// the target name. Going from N to N+1 replicas moves only about 1/(N+1) of the targets,
    /// all of them to the new replica (a modulo would reshuffle nearly all): scaling a
    /// StatefulSet out does not restart every target's history elsewhere.
    pub fn owns(&self, name: &str) -> bool {
        jump_hash(stable_hash(name), self.count) == self.index
    }
}

/// Jump consistent hash (Lamping and Veach, "A Fast, Minimal Memory, Consistent Hash
/// Algorithm", 2014): the bucket in `0..buckets` of `key`. Each step jumps forward to the
/// next bucket at which the key would move when buckets are added; the last jump inside
/// the range is the answer. `buckets` is at least 1 (a `Shard` never has 0).
pub fn jump_hash(mut key: u64, buckets: u32) -> u32 {
    let (mut b, mut j): (i64, i64) = (-1, 0);
    while j < i64::from(buckets) {
        b = j;
        key = key.wrapping_mul(2_862_933_555_777_941_757).wrapping_add(1);
        let r = (1u64 << 31) as f64 / ((key >> 33) + 1) as f64;
        j = ((b + 1) as f64 * r) as i64;
    }
    u32::try_from(b.max(0)).unwrap_or(0)
}

/// A URL's host as a resolver or TLS server name wants it: no brackets around IPv6.
pub fn url_host(u: &url::Url) -> Option<String> {
    match u.host()? {
        url::Host::Domain(d) => Some(d.to_string()),
        url::Host::Ipv4(a) => Some(a.to_string()),
        url::Host::Ipv6(a) => Some(a.to_string()),
    }
}

/// FNV-1a 64: a fixed, documented hash so shards and start offsets never move between
/// releases (std's `DefaultHasher` makes no such promise).
pub fn stable_hash(s: &str) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in s.as_bytes() {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

/// Reads and validates a config file.
pub fn load(path: &Path) -> Result<Plan, ConfigError> {
    let source = std::fs::read_to_string(path).map_err(|e| ConfigError::Read {
        path: path.to_path_buf(),
        source: e,
    })?;
    let base = path.parent().unwrap_or(Path::new("."));
    parse(path, &source, base)
}

/// Validates config text. `path` is used in messages, `base_dir` resolves relative file names.
pub fn parse(path: &Path, source: &str, base_dir: &Path) -> Result<Plan, ConfigError> {
    validate::validate(path, source, base_dir).map_err(|problems| ConfigError::Invalid {
        path: path.to_path_buf(),
        problems,
    })
}

impl Plan {
    /// Keeps only the targets this shard owns. Controls are kept on every shard: each
    /// replica needs its own view of its own way out.
    pub fn shard(mut self, shard: Option<Shard>) -> Plan {
        if let Some(s) = shard {
            self.targets.retain(|t| t.control || s.owns(&t.name));
        }
        self
    }

    pub fn target(&self, name: &str) -> Option<&Arc<Target>> {
        self.targets.iter().find(|t| t.name == name)
    }

    /// (target, provider) of every target: what the maintenance schedule's gauge covers.
    pub fn target_providers(&self) -> Vec<(String, String)> {
        self.targets
            .iter()
            .map(|t| (t.name.clone(), t.provider.clone()))
            .collect()
    }
}

#[cfg(test)]
mod tests;
