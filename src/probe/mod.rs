//! Probers: one module per check, all behind the small [`Prober`] trait.
//!
//! A prober gets a target and a deadline and returns [`Evidence`]; it never fails with `Err`
//! for an unreachable gateway, because "unreachable" is exactly the evidence we want. The
//! `Recorder` keeps phase boundaries contiguous, so phase durations always add up to the
//! total, and tells which phase was in flight when the deadline hit.

pub mod apiver;
pub mod cert;
mod conn;
pub mod dns;
mod evidence;
pub mod http;
mod icmp_raw;
pub mod ping;
pub mod resolve;
pub mod rpc;
pub mod tcp;
pub mod tls;

use std::future::Future;
use std::sync::Arc;

use tokio::time::Instant;

pub use evidence::*;

use crate::config::{Check, Target};

/// One kind of check. Implementations hold only shared, immutable helpers (the resolver),
/// so one instance serves every target.
pub trait Prober: Send + Sync {
    /// Probes `target` once and returns by `deadline`, whatever the gateway does.
    fn probe(&self, target: &Target, deadline: Instant) -> impl Future<Output = Evidence> + Send;
}

/// All probers, sharing one resolver.
#[derive(Clone)]
pub struct Probers {
    pub dns: dns::DnsProber,
    pub tcp: tcp::TcpProber,
    pub ping: ping::PingProber,
    pub tls: tls::TlsProber,
    pub http: http::HttpProber,
    pub api_version: apiver::ApiVersionProber,
    pub rpc: rpc::RpcProber,
}

impl Probers {
    pub fn new(resolvers: Arc<resolve::Resolvers>) -> Probers {
        Probers {
            dns: dns::DnsProber::new(resolvers.clone()),
            tcp: tcp::TcpProber::new(resolvers.clone()),
            ping: ping::PingProber::new(resolvers.clone()),
            tls: tls::TlsProber::new(resolvers.clone()),
            http: http::HttpProber::new(resolvers.clone()),
            api_version: apiver::ApiVersionProber::new(http::HttpProber::new(resolvers.clone())),
            rpc: rpc::RpcProber::new(http::HttpProber::new(resolvers)),
        }
    }

    /// Probers with the system resolver (`/etc/resolv.conf`, `/etc/hosts`) for targets that
    /// name no resolvers of their own.
    pub fn system() -> Probers {
        Probers::new(Arc::new(resolve::Resolvers::system()))
    }

    pub async fn run(&self, check: Check, target: &Target, deadline: Instant) -> Evidence {
        match check {
            Check::Dns => self.dns.probe(target, deadline).await,
            Check::Tcp => self.tcp.probe(target, deadline).await,
            Check::Ping => self.ping.probe(target, deadline).await,
            Check::Tls => self.tls.probe(target, deadline).await,
            Check::Http => self.http.probe(target, deadline).await,
            Check::ApiVersion => self.api_version.probe(target, deadline).await,
            Check::Rpc => self.rpc.probe(target, deadline).await,
        }
    }

    /// Runs every check of a target at once, all bounded by the same deadline.
    ///
    /// When a target has both `http` and `api_version`, the version is read from the `http`
    /// check's response instead of asking the gateway twice: payment APIs rate-limit, and
    /// a probe should cost the provider as little as it can.
    pub async fn round(&self, target: &Target, deadline: Instant) -> Vec<Evidence> {
        let shared =
            target.checks.contains(&Check::Http) && target.checks.contains(&Check::ApiVersion);
        let runs = target
            .checks
            .iter()
            .filter(|c| !(shared && **c == Check::ApiVersion))
            .map(|c| self.run(*c, target, deadline));
        let mut out = futures_util::future::join_all(runs).await;
        if shared {
            if let Some(http) = out.iter().find(|e| e.check == Check::Http) {
                let derived = apiver::from_http(target, http, std::time::SystemTime::now());
                let at = target
                    .checks
                    .iter()
                    .position(|c| *c == Check::ApiVersion)
                    .unwrap_or(out.len());
                out.insert(at.min(out.len()), derived);
            }
        }
        out
    }
}

/// Builds one [`Evidence`] while a probe runs, keeping phase boundaries contiguous.
pub(crate) struct Recorder {
    pub ev: Evidence,
    t0: Instant,
    mark: Instant,
    phase: Phase,
    pub timings: PhaseTimings,
}

impl Recorder {
    pub fn new(target: &Target, check: Check) -> Recorder {
        let now = Instant::now();
        Recorder {
            ev: Evidence::new(&target.name, check),
            t0: now,
            mark: now,
            phase: Phase::Dns,
            timings: PhaseTimings::default(),
        }
    }

    /// Ends the current phase now and starts `next`; returns the ended phase's length.
    pub fn enter(&mut self, next: Phase) -> std::time::Duration {
        self.enter_at(next, Instant::now())
    }

    /// Like [`enter`](Self::enter) at an earlier instant (e.g. when the first byte arrived),
    /// clamped so phases never overlap or run backwards.
    pub fn enter_at(&mut self, next: Phase, at: Instant) -> std::time::Duration {
        let at = at.clamp(self.mark, Instant::now().max(self.mark));
        let took = at - self.mark;
        self.timings.add(self.phase, took);
        self.mark = at;
        self.phase = next;
        took
    }

    /// What a deadline means depends on where it hit: before the request went out it is the
    /// path (network); after, the server did not answer in time.
    fn timeout_failure(&self) -> Failure {
        let (kind, what) = match self.phase {
            Phase::Dns => (FailureKind::DnsTimeout, "DNS lookup"),
            Phase::Connect => (FailureKind::ConnectTimeout, "TCP connect"),
            Phase::Tls => (FailureKind::TlsHandshakeTimeout, "TLS handshake"),
            Phase::Processing => (FailureKind::ResponseTimeout, "waiting for the response"),
            Phase::Transfer | Phase::Content => {
                (FailureKind::BodyTimeout, "reading the response body")
            }
        };
        Failure::new(self.phase, kind, format!("deadline reached during {what}"))
    }

    /// Closes the evidence with the outcome of the bounded steps.
    pub fn finish(
        mut self,
        outcome: Result<Result<(), Failure>, tokio::time::error::Elapsed>,
    ) -> Evidence {
        let failure = match outcome {
            Ok(Ok(())) => None,
            Ok(Err(f)) => Some(f),
            Err(_) => Some(self.timeout_failure()),
        };
        let phase = self.phase;
        self.enter(phase);
        self.ev.duration = self.mark - self.t0;
        if let Some(h) = self.ev.http.as_mut() {
            h.phases = self.timings.clone();
        }
        self.ev.success = failure.is_none();
        self.ev.failure = failure;
        self.ev
    }
}
