//! Typed evidence: what one probe saw, phase by phase.
//!
//! Evidence is an observation, never a judgement (gatus keeps the two apart too): it says
//! "connect was refused after 0.4 ms", and the classifier decides what that means.

use std::collections::BTreeMap;
use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, SystemTime};

use serde::Serialize;

use crate::timefmt::ser;

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
    #[serde(serialize_with = "ser::secs")]
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
    #[serde(serialize_with = "ser::secs")]
    pub duration: Duration,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TcpEvidence {
    pub address: SocketAddr,
    #[serde(serialize_with = "ser::secs")]
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
    #[serde(serialize_with = "ser::secs")]
    pub duration: Duration,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct TlsEvidence {
    #[serde(serialize_with = "ser::secs")]
    pub duration: Duration,
    /// `TLSv1.3` / `TLSv1.2`; absent when the handshake failed.
    pub version: Option<String>,
    pub cipher: Option<String>,
    pub alpn: Option<String>,
    /// The leaf certificate, also when verification failed (then it says why: expired...).
    pub certificate: Option<super::cert::CertSummary>,
    /// The server asked for a client certificate (mutual TLS), which payprobe does not have.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub client_cert_requested: bool,
}

/// Durations of each phase of an HTTP exchange. They are contiguous, so they add up to the
/// probe's total: `processing` runs from the connection being ready to the first response
/// byte (request write included, like blackbox_exporter and curl's `starttransfer`).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct PhaseTimings {
    #[serde(serialize_with = "ser::secs")]
    pub dns: Duration,
    #[serde(serialize_with = "ser::secs")]
    pub connect: Duration,
    /// The proxy's CONNECT exchange; absent for a target without a `proxy`.
    #[serde(
        serialize_with = "ser::secs",
        skip_serializing_if = "Duration::is_zero"
    )]
    pub proxy: Duration,
    #[serde(serialize_with = "ser::secs")]
    pub tls: Duration,
    #[serde(serialize_with = "ser::secs")]
    pub processing: Duration,
    #[serde(serialize_with = "ser::secs")]
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

/// Serialized only as part of a judged check (`src/checked/json.rs`), which puts the
/// profile's reading and the credentials' expiry beside it.
#[derive(Debug, Clone, Default, PartialEq)]
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
    /// A signed exchange (`[targets.sign]`): request signed, answer verified, key serial,
    /// clock skew.
    pub signature: Option<crate::sign::SignEvidence>,
    /// The body as read (up to `max_body_bytes`), for profile and version checks.
    pub body: bytes::Bytes,
}

/// Everything one check of one target observed. It has no JSON of its own: readers get it
/// judged ([`crate::checked::Checked`]).
#[derive(Debug, Clone, PartialEq)]
pub struct Evidence {
    pub target: String,
    pub check: Check,
    pub started_at: SystemTime,
    pub duration: Duration,
    /// What kept the prober from observing (no answer, a timeout, a protocol violation).
    /// Whether what it observed is acceptable is the judge's ([`crate::checked::Checked`]).
    pub failure: Option<Failure>,
    pub dns: Option<DnsEvidence>,
    pub tcp: Option<TcpEvidence>,
    /// The tunnel through the target's `proxy`, when it has one.
    pub proxy: Option<ProxyEvidence>,
    /// Every address tried by the last connect, in the order tried.
    pub connect_attempts: Vec<ConnectAttempt>,
    pub ping: Option<super::ping::PingEvidence>,
    pub tls: Option<TlsEvidence>,
    pub http: Option<HttpEvidence>,
    pub rpc: Option<super::rpc::RpcEvidence>,
    /// What a `[[notifications]]` channel's round read.
    pub notification: Option<NotificationEvidence>,
}

/// A notification channel as its round read it (`src/probe/notify.rs`).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct NotificationEvidence {
    /// The last notification reported: its id, when it was received, its delay.
    pub last_id: Option<String>,
    pub last_received_at: Option<String>,
    #[serde(serialize_with = "ser::opt_secs")]
    pub last_delay: Option<Duration>,
    pub last_late: bool,
    /// Silence so far, when over `max_silence`.
    #[serde(serialize_with = "ser::opt_secs")]
    pub silent_for: Option<Duration>,
    pub received: u64,
    pub late: u64,
    pub missing: u64,
}

impl Evidence {
    pub fn new(target: &str, check: Check) -> Evidence {
        Evidence {
            target: target.to_string(),
            check,
            started_at: SystemTime::now(),
            duration: Duration::ZERO,
            failure: None,
            dns: None,
            tcp: None,
            proxy: None,
            connect_attempts: Vec::new(),
            ping: None,
            tls: None,
            http: None,
            rpc: None,
            notification: None,
        }
    }
}
