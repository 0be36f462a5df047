//! The `dns`, `tcp` and `tls` checks: the network path, cut at three depths.
//!
//! They are the same steps — resolve, then connect, then handshake — stopped after the
//! layer the check names, so one prober serves all three (registered once per check in
//! [`super::Probers::new`]) instead of three copies of one shape. The steps themselves live
//! in `conn.rs`, shared with the `http` check, so the `dns` check and the `dns` phase
//! of an HTTP probe always agree.

use std::sync::Arc;

use tokio::time::{timeout_at, Instant};

use super::resolve::Resolvers;
use super::{conn, egress, Evidence, Failure, Gateway, Phase, Prober, Recorder};
use crate::config::{Check, Target};

#[derive(Clone)]
pub struct PathProber {
    /// `Dns`, `Tcp` or `Tls`: how far down the path to go.
    check: Check,
    resolvers: Arc<Resolvers>,
}

impl PathProber {
    /// A prober for one of the path checks. Any other check would not be a path check and
    /// is served as `tls` (the deepest), which the registry test rules out.
    pub fn new(check: Check, resolvers: Arc<Resolvers>) -> Self {
        PathProber { check, resolvers }
    }

    async fn steps(&self, rec: &mut Recorder, gw: Gateway<'_>) -> Result<(), Failure> {
        if self.check == Check::Dns {
            // The name as this host resolves it, whatever the way out.
            conn::resolve(rec, &self.resolvers, gw.host, gw.ip, gw.dns).await?;
            return Ok(());
        }
        let to = egress::Dest {
            host: gw.host,
            ip: gw.ip,
            port: gw.port,
            dns: gw.dns,
        };
        let tcp = egress::open(rec, &self.resolvers, to, gw.egress, Phase::Tls).await?;
        if self.check == Check::Tcp {
            return Ok(());
        }
        conn::handshake(rec, tcp, gw.host, gw.ip, gw.tls).await?;
        Ok(())
    }
}

impl Prober for PathProber {
    /// The path checks read nothing but the gateway (its TLS client config included).
    type Spec<'t> = ();

    fn check(&self) -> Check {
        self.check
    }

    fn spec(_: &Target) {}

    async fn probe<'a>(&'a self, gw: Gateway<'a>, _: (), deadline: Instant) -> Evidence {
        let mut rec = Recorder::new(gw.name, self.check);
        let outcome = timeout_at(deadline, self.steps(&mut rec, gw)).await;
        rec.finish(outcome)
    }
}
