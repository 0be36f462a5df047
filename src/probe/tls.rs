//! The `tls` check: resolve, connect and complete a verified TLS handshake.

use std::sync::Arc;

use tokio::time::{timeout_at, Instant};

use super::resolve::Resolvers;
use super::{conn, Evidence, Phase, Prober, Recorder};
use crate::config::{Check, Target};

#[derive(Clone)]
pub struct TlsProber {
    resolvers: Arc<Resolvers>,
}

impl TlsProber {
    pub fn new(resolvers: Arc<Resolvers>) -> Self {
        TlsProber { resolvers }
    }
}

impl Prober for TlsProber {
    async fn probe(&self, target: &Target, deadline: Instant) -> Evidence {
        let mut rec = Recorder::new(target, Check::Tls);
        let steps = async {
            let addrs = conn::resolve(
                &mut rec,
                &self.resolvers,
                &target.host,
                target.ip,
                &target.dns,
            )
            .await?;
            let tcp = conn::connect(&mut rec, &addrs, target.port, Phase::Tls).await?;
            conn::handshake(
                &mut rec,
                tcp,
                &target.host,
                target.ip,
                &target.tls,
                target.cert_expiry_warning,
            )
            .await?;
            Ok(())
        };
        let outcome = timeout_at(deadline, steps).await;
        rec.finish(outcome)
    }
}
