//! Probers: observation only. One module per check (the three path checks share `path`;
//! `http` serves `api_version` too: the same request, judged differently), all
//! behind the small [`Prober`] trait, registered once in [`Probers::new`] and dispatched
//! through it. Adding a check: a module implementing [`Prober`], a variant of `config::Check`,
//! and one line in [`Probers::new`] (docs/architecture.md, "Adding things").
//!
//! A prober gets where the gateway is ([`Gateway`]), its own part of the validated config
//! ([`Prober::Spec`]) and a deadline, and returns [`Evidence`] of what it saw; it never fails
//! with `Err` for an unreachable gateway, because "unreachable" is exactly the evidence we
//! want. Whether what it saw is *acceptable* (expected status, provider codes, loss threshold,
//! version range, chain lag) is not its business: [`Probers::round`] returns the observed round
//! and the judging stage (`src/judge`, which this module does not know) judges it. The `Recorder` keeps phase boundaries contiguous,
//! so phase durations always add up to the total, and tells which phase was in flight when
//! the deadline hit.

pub mod cert;
mod conn;
mod egress;
mod evidence;
pub mod http;
mod icmp_raw;
pub mod notify;
pub mod path;
pub mod ping;
pub mod resolve;
pub mod rpc;
mod sniff;
mod timed;
mod tls_auth;

use std::future::Future;
use std::net::IpAddr;
use std::sync::Arc;

use futures_util::future::BoxFuture;
use tokio::time::Instant;

pub use evidence::*;

use crate::config::{Check, DnsSpec, Scheme, Target};
use crate::tls::TlsClient;

/// Where a target's gateway is and how to reach it: the part of a target every check shares
/// (the name only labels the evidence).
#[derive(Clone, Copy)]
pub struct Gateway<'t> {
    pub name: &'t str,
    pub url: &'t url::Url,
    pub scheme: Scheme,
    /// Host as written in the URL, without brackets for IPv6.
    pub host: &'t str,
    /// Set when the host is an IP literal: no DNS lookup is made.
    pub ip: Option<IpAddr>,
    pub port: u16,
    pub dns: &'t DnsSpec,
    pub tls: &'t TlsClient,
    /// The way out: proxy and source address (`src/probe/egress.rs`).
    pub egress: &'t crate::config::Egress,
}

impl<'t> Gateway<'t> {
    pub fn of(t: &'t Target) -> Gateway<'t> {
        Gateway {
            name: &t.name,
            url: &t.url,
            scheme: t.scheme,
            host: &t.host,
            ip: t.ip,
            port: t.port,
            dns: &t.dns,
            tls: &t.tls,
            egress: &t.egress,
        }
    }
}

/// One kind of check. Implementations hold only shared, immutable helpers (the resolver),
/// so one instance serves every target.
pub trait Prober: Send + Sync + 'static {
    /// The part of a target's validated config this check reads, and nothing more: a prober
    /// cannot depend on another check's options nor on how its answer will be judged.
    type Spec<'t>: Send + Sync;
    /// The check this prober serves: its key in the registry.
    fn check(&self) -> Check;
    /// This check's spec, taken from the target.
    fn spec(t: &Target) -> Self::Spec<'_>;
    /// Probes the gateway once and returns by `deadline`, whatever the gateway does.
    fn probe<'a>(
        &'a self,
        gw: Gateway<'a>,
        spec: Self::Spec<'a>,
        deadline: Instant,
    ) -> impl Future<Output = Evidence> + Send + 'a;
}

/// The object-safe face of [`Prober`], so the registry can hold every prober in one list.
/// Boxing costs one allocation per probe, next to a fresh connection per probe.
pub trait DynProber: Send + Sync {
    fn check(&self) -> Check;
    fn probe_boxed<'a>(&'a self, target: &'a Target, deadline: Instant) -> BoxFuture<'a, Evidence>;
}

impl<P: Prober> DynProber for P {
    fn check(&self) -> Check {
        Prober::check(self)
    }

    fn probe_boxed<'a>(&'a self, target: &'a Target, deadline: Instant) -> BoxFuture<'a, Evidence> {
        Box::pin(self.probe(Gateway::of(target), P::spec(target), deadline))
    }
}

/// The registry: one prober per check, sharing one resolver.
#[derive(Clone)]
pub struct Probers {
    registry: Arc<[Arc<dyn DynProber>]>,
}

impl Probers {
    pub fn new(resolvers: Arc<resolve::Resolvers>) -> Probers {
        let http = http::HttpProber::new(resolvers.clone());
        let registry: Vec<Arc<dyn DynProber>> = vec![
            Arc::new(path::PathProber::new(Check::Dns, resolvers.clone())),
            Arc::new(path::PathProber::new(Check::Tcp, resolvers.clone())),
            Arc::new(path::PathProber::new(Check::Tls, resolvers.clone())),
            Arc::new(ping::PingProber::new(resolvers)),
            Arc::new(http.serving(Check::ApiVersion)),
            Arc::new(rpc::RpcProber::new(http.clone())),
            Arc::new(notify::NotificationProber),
            Arc::new(http),
        ];
        Probers {
            registry: registry.into(),
        }
    }

    /// Probers with the system resolver (`/etc/resolv.conf`, `/etc/hosts`) for targets that
    /// name no resolvers of their own.
    pub fn system() -> Probers {
        Probers::new(Arc::new(resolve::Resolvers::system()))
    }

    /// The prober registered for `check`.
    pub fn get(&self, check: Check) -> Option<&dyn DynProber> {
        self.registry
            .iter()
            .find(|p| p.check() == check)
            .map(|p| p.as_ref())
    }

    /// What one check saw, not yet judged.
    pub async fn observe(&self, check: Check, target: &Target, deadline: Instant) -> Evidence {
        match self.get(check) {
            Some(p) => p.probe_boxed(target, deadline).await,
            // Unreachable while the registry test holds; said plainly rather than panicking.
            None => {
                let mut e = Evidence::new(&target.name, check);
                e.failure = Some(Failure::new(
                    Phase::Processing,
                    FailureKind::InternalError,
                    format!(
                        "payprobe failed, not the gateway: no prober for {}",
                        check.as_str()
                    ),
                ));
                e
            }
        }
    }

    /// Runs every check of a target at once, all bounded by the same deadline, and returns
    /// what they observed, unjudged: `failure` here only means "could not observe".
    ///
    /// When a target has both `http` and `api_version`, only the `http` check asks the
    /// gateway: payment APIs rate-limit, and a probe should cost the provider as little as it
    /// can. The judge reads the version from that one answer (`judge::Judge::conditions`).
    pub async fn round(&self, target: &Target, deadline: Instant) -> Vec<Evidence> {
        let shared =
            target.checks.contains(&Check::Http) && target.checks.contains(&Check::ApiVersion);
        let runs = target
            .checks
            .iter()
            .filter(|c| !(shared && **c == Check::ApiVersion))
            .map(|c| self.observe(*c, target, deadline));
        futures_util::future::join_all(runs).await
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
    pub fn new(target: &str, check: Check) -> Recorder {
        let now = Instant::now();
        Recorder {
            ev: Evidence::new(target, check),
            t0: now,
            mark: now,
            phase: Phase::Dns,
            timings: PhaseTimings::default(),
        }
    }

    /// Starts the clock again, before anything of the probe itself happened: work done first
    /// on the probe's behalf (a signed probe fetching WeChat Pay platform certificates) is
    /// not the gateway's DNS phase.
    pub fn restart(&mut self) {
        let now = Instant::now();
        (self.t0, self.mark, self.phase) = (now, now, Phase::Dns);
        self.timings = PhaseTimings::default();
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
            Phase::Proxy => (FailureKind::ProxyTimeout, "the proxy's CONNECT"),
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
        self.ev.failure = failure;
        self.ev
    }
}

#[cfg(test)]
mod registry_tests {
    use super::*;

    #[test]
    fn every_check_has_exactly_one_prober() {
        let p = Probers::new(Arc::new(resolve::Resolvers::system()));
        for c in Check::ALL {
            let n = p.registry.iter().filter(|r| r.check() == c).count();
            assert_eq!(n, 1, "{} has {n} probers", c.as_str());
        }
        assert_eq!(p.registry.len(), Check::ALL.len());
    }
}
