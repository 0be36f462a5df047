//! The `dns` check: resolve the target's host name, nothing more.

use std::sync::Arc;

use tokio::time::{timeout_at, Instant};

use super::resolve::Resolvers;
use super::{conn, Evidence, Prober, Recorder};
use crate::config::{Check, Target};

#[derive(Clone)]
pub struct DnsProber {
    resolvers: Arc<Resolvers>,
}

impl DnsProber {
    pub fn new(resolvers: Arc<Resolvers>) -> Self {
        DnsProber { resolvers }
    }
}

impl Prober for DnsProber {
    async fn probe(&self, target: &Target, deadline: Instant) -> Evidence {
        let mut rec = Recorder::new(target, Check::Dns);
        let steps = async {
            conn::resolve(
                &mut rec,
                &self.resolvers,
                &target.host,
                target.ip,
                &target.dns,
            )
            .await?;
            Ok(())
        };
        let outcome = timeout_at(deadline, steps).await;
        rec.finish(outcome)
    }
}
