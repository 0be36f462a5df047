//! The `tcp` check: resolve and connect, telling refused, reset, timeout and unreachable apart.

use std::sync::Arc;

use tokio::time::{timeout_at, Instant};

use super::resolve::Resolver;
use super::{conn, Evidence, Phase, Prober, Recorder};
use crate::config::{Check, Target};

#[derive(Clone)]
pub struct TcpProber {
    resolver: Arc<Resolver>,
}

impl TcpProber {
    pub fn new(resolver: Arc<Resolver>) -> Self {
        TcpProber { resolver }
    }
}

impl Prober for TcpProber {
    async fn probe(&self, target: &Target, deadline: Instant) -> Evidence {
        let mut rec = Recorder::new(target, Check::Tcp);
        let steps = async {
            let addrs = conn::resolve(&mut rec, &self.resolver, &target.host, target.ip).await?;
            conn::connect(&mut rec, &addrs, target.port, Phase::Tls).await?;
            Ok(())
        };
        let outcome = timeout_at(deadline, steps).await;
        rec.finish(outcome)
    }
}
