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
use super::{conn, Evidence, Failure, Phase, Prober, Recorder};
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

    async fn steps(&self, rec: &mut Recorder, t: &Target) -> Result<(), Failure> {
        let addrs = conn::resolve(rec, &self.resolvers, &t.host, t.ip, &t.dns).await?;
        if self.check == Check::Dns {
            return Ok(());
        }
        let tcp = conn::connect(rec, &addrs, t.port, Phase::Tls).await?;
        if self.check == Check::Tcp {
            return Ok(());
        }
        conn::handshake(rec, tcp, &t.host, t.ip, &t.tls, t.cert_expiry_warning).await?;
        Ok(())
    }
}

impl Prober for PathProber {
    fn check(&self) -> Check {
        self.check
    }

    async fn probe(&self, target: &Target, deadline: Instant) -> Evidence {
        let mut rec = Recorder::new(target, self.check);
        let outcome = timeout_at(deadline, self.steps(&mut rec, target)).await;
        rec.finish(outcome)
    }
}
