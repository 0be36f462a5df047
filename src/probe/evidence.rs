//! Typed evidence: what one probe saw, phase by phase.
//!
//! Evidence is an observation, never a judgement (gatus keeps the two apart too): it says
//! "connect was refused after 0.4 ms", and the classifier decides what that means.

use std::collections::BTreeMap;
use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, SystemTime};

use serde::{Serialize, Serializer};

use crate::config::Check;

pub use crate::vocab::{FailureKind, Phase};

/// The first failure of a probe. `detail` is for humans; never a metric label.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Failure {
    pub phase: Phase,
    pub kind: FailureKind,
    pub detail: String,
}

impl Failure {
    pub fn new(phase: Phase, kind: FailureKind, detail: impl Into<String>) -> Failure {
        Failure {
            phase,
            kind,
            detail: detail.into(),
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct DnsEvidence {
    pub host: String,
    #[serde(serialize_with = "secs")]
    pub duration: Duration,
    pub addresses: Vec<IpAddr>,
    /// Response code: `NOERROR`, `NXDOMAIN`, `SERVFAIL`, `REFUSED`, ...; absent for an
    /// answer from `/etc/hosts` or when no server answered.
    pub rcode: Option<String>,
    /// The name server that answered (`IP:port`), or `/etc/hosts`.
    pub server: Option<String>,
    /// Answers outside the target's `expect_addresses`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub unexpected: Vec<IpAddr>,
}

/// The CONNECT exchange with the target's proxy (its credentials never appear here).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ProxyEvidence {
    /// The proxy as configured, `host:port`.
    pub proxy: String,
    /// What was asked for: `CONNECT host:port`'s authority.
    pub authority: String,
    /// The proxy's answer to CONNECT, when one came.
    pub status: Option<u16>,
    #[serde(serialize_with = "secs")]
    pub duration: Duration,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TcpEvidence {
    pub address: SocketAddr,
    #[serde(serialize_with = "secs")]
    pub duration: Duration,
}

/// One connection attempt to one address of the target (RFC 8305 style, see
/// `src/probe/conn.rs`): each address tried and what happened to it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ConnectAttempt {
    pub address: SocketAddr,
    /// `connected`, `abandoned` (another address won first), `pending` (the deadline hit
    /// while it was still trying), or the failure kind (`connect_refused`, ...).
    pub outcome: String,
    /// Time from this attempt's start to its outcome; zero while pending or when abandoned.
    #[serde(serialize_with = "secs")]
    pub duration: Duration,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct TlsEvidence {
    #[serde(serialize_with = "secs")]
    pub duration: Duration,
    /// `TLSv1.3` / `TLSv1.2`; absent when the handshake failed.
    pub version: Option<String>,
    pub cipher: Option<String>,
    pub alpn: Option<String>,
    /// The leaf certificate, also when verification failed (then it says why: expired...).
    pub certificate: Option<super::cert::CertSummary>,
    /// Valid, but expiring within the target's `cert_expiry_warning`: the judge's reading,
    /// filled in the judged view only (`src/judge/condition.rs`).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub expiring_soon: bool,
    /// The server asked for a client certificate (mutual TLS), which payprobe does not have.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub client_cert_requested: bool,
}

/// Durations of each phase of an HTTP exchange. They are contiguous, so they add up to the
/// probe's total: `processing` runs from the connection being ready to the first response
/// byte (request write included, like blackbox_exporter and curl's `starttransfer`).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct PhaseTimings {
    #[serde(serialize_with = "secs")]
    pub dns: Duration,
    #[serde(serialize_with = "secs")]
    pub connect: Duration,
    /// The proxy's CONNECT exchange; absent for a target without a `proxy`.
    #[serde(serialize_with = "secs", skip_serializing_if = "Duration::is_zero")]
    pub proxy: Duration,
    #[serde(serialize_with = "secs")]
    pub tls: Duration,
    #[serde(serialize_with = "secs")]
    pub processing: Duration,
    #[serde(serialize_with = "secs")]
    pub transfer: Duration,
}

impl PhaseTimings {
    pub fn get(&self, p: Phase) -> Duration {
        match p {
            Phase::Dns => self.dns,
            Phase::Connect => self.connect,
            Phase::Proxy => self.proxy,
            Phase::Tls => self.tls,
            Phase::Processing => self.processing,
            Phase::Transfer | Phase::Content => self.transfer,
        }
    }

    pub fn add(&mut self, p: Phase, d: Duration) {
        let slot = match p {
            Phase::Dns => &mut self.dns,
            Phase::Connect => &mut self.connect,
            Phase::Proxy => &mut self.proxy,
            Phase::Tls => &mut self.tls,
            Phase::Processing => &mut self.processing,
            Phase::Transfer | Phase::Content => &mut self.transfer,
        };
        *slot += d;
    }

    pub fn total(&self) -> Duration {
        Phase::ALL.iter().map(|p| self.get(*p)).sum()
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct HttpEvidence {
    /// Status of the last response (after redirects), if any came.
    pub status: Option<u16>,
    /// `HTTP/1.1` or `HTTP/2`.
    pub version: Option<String>,
    pub phases: PhaseTimings,
    /// Response headers payprobe reads (Retry-After, Deprecation, Sunset, ...), lower-case names.
    pub headers: BTreeMap<String, String>,
    pub body_bytes: u64,
    /// The body was longer than `max_body_bytes`; only that much was read.
    pub body_truncated: bool,
    /// The first bytes of the body, lossily decoded, for humans.
    pub body_excerpt: String,
    pub redirects: u32,
    pub final_url: String,
    /// What the target's provider profile read in the body: the judge's reading, filled in
    /// the judged view only (`src/judge/condition.rs`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub profile: Option<crate::profile::Verdict>,
    /// A signed exchange (`[targets.sign]`): request signed, answer verified, key serial,
    /// clock skew.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub signature: Option<crate::sign::SignEvidence>,
    /// The body as read (up to `max_body_bytes`), for profile and version checks.
    #[serde(skip)]
    pub body: bytes::Bytes,
}

/// Everything one check of one target observed.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Evidence {
    pub target: String,
    pub check: Check,
    #[serde(serialize_with = "rfc3339")]
    pub started_at: SystemTime,
    #[serde(serialize_with = "secs")]
    pub duration: Duration,
    /// `failure` is none.
    pub success: bool,
    /// From a prober: what kept it from observing (no answer, a timeout, a protocol
    /// violation). In the judged view (`src/judge/condition.rs`) that failure stays, else the
    /// check's first failed condition is put here.
    pub failure: Option<Failure>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dns: Option<DnsEvidence>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tcp: Option<TcpEvidence>,
    /// The tunnel through the target's `proxy`, when it has one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub proxy: Option<ProxyEvidence>,
    /// Every address tried by the last connect, in the order tried.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub connect_attempts: Vec<ConnectAttempt>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ping: Option<super::ping::PingEvidence>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tls: Option<TlsEvidence>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub http: Option<HttpEvidence>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub api_version: Option<ApiVersionEvidence>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rpc: Option<super::rpc::RpcEvidence>,
    /// What a `[[notifications]]` channel's round read.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub notification: Option<NotificationEvidence>,
}

/// A notification channel as its round read it (`src/probe/notify.rs`).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct NotificationEvidence {
    /// The last notification reported: its id, when it was received, its delay.
    pub last_id: Option<String>,
    pub last_received_at: Option<String>,
    #[serde(serialize_with = "opt_secs")]
    pub last_delay: Option<Duration>,
    pub last_late: bool,
    /// Silence so far, when over `max_silence`.
    #[serde(serialize_with = "opt_secs")]
    pub silent_for: Option<Duration>,
    pub received: u64,
    pub late: u64,
    pub missing: u64,
}

fn opt_secs<S: Serializer>(d: &Option<Duration>, s: S) -> Result<S::Ok, S::Error> {
    match d {
        Some(d) => s.serialize_f64(d.as_secs_f64()),
        None => s.serialize_none(),
    }
}

impl Evidence {
    pub fn new(target: &str, check: Check) -> Evidence {
        Evidence {
            target: target.to_string(),
            check,
            started_at: SystemTime::now(),
            duration: Duration::ZERO,
            success: false,
            failure: None,
            dns: None,
            tcp: None,
            proxy: None,
            connect_attempts: Vec::new(),
            ping: None,
            tls: None,
            http: None,
            api_version: None,
            rpc: None,
            notification: None,
        }
    }
}

fn secs<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_f64(d.as_secs_f64())
}

fn rfc3339<S: Serializer>(t: &SystemTime, s: S) -> Result<S::Ok, S::Error> {
    s.collect_str(&crate::timefmt::rfc3339_millis(*t))
}

/// What the `api_version` check read of an answer (read by `src/judge/verdict/api_version.rs`,
/// set in the judged view only).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ApiVersionEvidence {
    /// Where the version was read (`header X-Api-Version`, `json /version`, `regex`).
    pub source: Option<String>,
    /// The version as the gateway wrote it.
    pub seen: Option<String>,
    pub required: Option<String>,
    /// `seen` satisfies `required` (absent when either is unknown).
    pub compatible: Option<bool>,
    /// The `Deprecation` header is present; its date as Unix seconds when it carries one.
    pub deprecated: bool,
    pub deprecation_unix: Option<i64>,
    pub sunset_unix: Option<i64>,
    /// `required_fields` that are missing or of the wrong type: pointer → what was found.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub schema_drift: BTreeMap<String, String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
}
