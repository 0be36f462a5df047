//! The `tcp` check: resolve and connect, telling refused, reset, timeout and unreachable apart.

use std::sync::Arc;

use tokio::time::{timeout_at, Instant};

use super::resolve::Resolvers;
use super::{conn, Evidence, Phase, Prober, Recorder};
use crate::config::{Check, Target};

#[derive(Clone)]
pub struct TcpProber {
    resolvers: Arc<Resolvers>,
}

impl TcpProber {
    pub fn new(resolvers: Arc<Resolvers>) -> Self {
        TcpProber { resolvers }
    }
}

impl Prober for TcpProber {
    async fn probe(&self, target: &Target, deadline: Instant) -> Evidence {
        let mut rec = Recorder::new(target, Check::Tcp);
        let steps = async {
            let addrs = conn::resolve(
                &mut rec,
                &self.resolvers,
                &target.host,
                target.ip,
                &target.dns,
            )
            .await?;
            conn::connect(&mut rec, &addrs, target.port, Phase::Tls).await?;
            Ok(())
        };
        let outcome = timeout_at(deadline, steps).await;
        rec.finish(outcome)
    }
}
