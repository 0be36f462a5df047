//! The `rpc` check for chain nodes: is this the chain we think, and is the node keeping up?
//!
//! EVM nodes are asked `eth_chainId` (compared with `chain_id`) and `eth_blockNumber`; Solana
//! nodes `getSlot`. Every endpoint of one `chain` reports its height here, and a node behind
//! the best of its peers by more than `max_block_lag` fails with the `balance_anomaly`
//! symptom: balances read from it are stale.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::Serialize;
use tokio::time::{timeout_at, Instant};

use super::http::HttpProber;
use super::{Evidence, Failure, FailureKind, HttpEvidence, Phase, Prober, Recorder};
use crate::config::{Check, Target};
use crate::profile::Profile;

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct RpcEvidence {
    pub chain: String,
    /// `eth_chainId` as the node answered (EVM only).
    pub chain_id: Option<u64>,
    /// Block number (EVM) or slot (Solana).
    pub height: Option<u64>,
    /// The highest height a peer of the same chain reported recently.
    pub best_peer_height: Option<u64>,
    /// How far this node is behind `best_peer_height` (0 when it leads).
    pub lag: Option<u64>,
    /// Peers with a recent height.
    pub peers: usize,
}

/// target → (height, when it was reported).
type Reports = HashMap<String, (u64, Instant)>;

/// Heights reported by every rpc target, per chain. Shared by all probes.
#[derive(Default)]
pub struct Heights {
    chains: Mutex<HashMap<String, Reports>>,
}

impl Heights {
    /// Records `height` for `target` and returns the best fresh peer height and peer count.
    fn report(
        &self,
        chain: &str,
        target: &str,
        height: u64,
        fresh: Duration,
    ) -> (Option<u64>, usize) {
        // One insert and one retain per call: the map is consistent even after a panic
        // elsewhere, so a poisoned lock is taken over (and said) rather than every later
        // round silently losing its peers.
        let mut chains = self.chains.lock().unwrap_or_else(|poisoned| {
            tracing::error!("chain height lock was poisoned by a panic; recovered");
            self.chains.clear_poison();
            poisoned.into_inner()
        });
        let now = Instant::now();
        let nodes = chains.entry(chain.to_string()).or_default();
        nodes.insert(target.to_string(), (height, now));
        nodes.retain(|_, (_, at)| now.duration_since(*at) <= fresh);
        let peers: Vec<u64> = nodes
            .iter()
            .filter(|(name, _)| name.as_str() != target)
            .map(|(_, (h, _))| *h)
            .collect();
        (peers.iter().copied().max(), peers.len())
    }
}

#[derive(Clone)]
pub struct RpcProber {
    http: HttpProber,
    heights: Arc<Heights>,
}

impl RpcProber {
    pub fn new(http: HttpProber) -> Self {
        RpcProber {
            http,
            heights: Arc::new(Heights::default()),
        }
    }

    /// One JSON-RPC call over a fresh connection; returns its `result`.
    async fn call(
        &self,
        t: &Target,
        rec: &mut Recorder,
        method: &str,
    ) -> Result<serde_json::Value, Failure> {
        let mut call = t.clone();
        call.http.method = hyper::Method::POST;
        call.http.body = bytes::Bytes::from(format!(
            r#"{{"jsonrpc":"2.0","id":1,"method":"{method}","params":[]}}"#
        ));
        if !call
            .http
            .headers
            .iter()
            .any(|(k, _)| k == hyper::header::CONTENT_TYPE)
        {
            call.http.headers.push((
                hyper::header::CONTENT_TYPE,
                hyper::header::HeaderValue::from_static("application/json"),
            ));
        }
        rec.ev.http = Some(HttpEvidence::default());
        self.http.exchange(&call, rec).await?;
        let body = rec
            .ev
            .http
            .as_ref()
            .map(|h| h.body.clone())
            .unwrap_or_default();
        serde_json::from_slice::<serde_json::Value>(&body)
            .ok()
            .and_then(|v| v.get("result").cloned())
            .ok_or_else(|| {
                Failure::new(
                    Phase::Content,
                    FailureKind::ProviderError,
                    format!("{method}: no JSON-RPC result in the answer"),
                )
            })
    }
}

/// `"0x1b4"` (EVM quantities) or `436` (Solana) → 436.
fn quantity(v: &serde_json::Value) -> Option<u64> {
    match v {
        serde_json::Value::String(s) => u64::from_str_radix(s.strip_prefix("0x")?, 16).ok(),
        serde_json::Value::Number(n) => n.as_u64(),
        _ => None,
    }
}

impl Prober for RpcProber {
    fn check(&self) -> Check {
        Check::Rpc
    }

    async fn probe(&self, t: &Target, deadline: Instant) -> Evidence {
        let mut rec = Recorder::new(t, Check::Rpc);
        let spec = &t.rpc;
        let steps = async {
            let mut ev = RpcEvidence {
                chain: spec.chain.clone(),
                ..Default::default()
            };
            let height_method = if t.profile == Profile::SolanaJsonrpc {
                "getSlot"
            } else {
                "eth_blockNumber"
            };
            if t.profile == Profile::EvmJsonrpc {
                let id = self.call(t, &mut rec, "eth_chainId").await?;
                ev.chain_id = quantity(&id);
                if let (Some(want), Some(got)) = (spec.chain_id, ev.chain_id) {
                    if want != got {
                        rec.ev.rpc = Some(ev);
                        return Err(Failure::new(
                            Phase::Content,
                            FailureKind::RpcWrongChain,
                            format!("the node serves chain id {got}, the config says {want}: wrong endpoint or wrong chain_id"),
                        ));
                    }
                }
            }
            let h = self.call(t, &mut rec, height_method).await?;
            let height = quantity(&h).ok_or_else(|| {
                Failure::new(
                    Phase::Content,
                    FailureKind::ProviderError,
                    format!("{height_method}: {h} is not a block height"),
                )
            })?;
            ev.height = Some(height);
            let (best, peers) = self
                .heights
                .report(&spec.chain, &t.name, height, t.interval * 3);
            ev.best_peer_height = best;
            ev.peers = peers;
            ev.lag = best.map(|b| b.saturating_sub(height));
            let lag = ev.lag.unwrap_or(0);
            rec.ev.rpc = Some(ev);
            if lag > spec.max_block_lag {
                return Err(Failure::new(
                    Phase::Content,
                    FailureKind::RpcBehind,
                    format!(
                        "height {height} is {lag} behind the best peer of {} ({}), more than max_block_lag {}",
                        spec.chain,
                        best.unwrap_or(height),
                        spec.max_block_lag
                    ),
                ));
            }
            Ok(())
        };
        let outcome = timeout_at(deadline, steps).await;
        rec.finish(outcome)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantities() {
        assert_eq!(quantity(&serde_json::json!("0x1b4")), Some(436));
        assert_eq!(quantity(&serde_json::json!(436)), Some(436));
        assert_eq!(quantity(&serde_json::json!("436")), None);
        assert_eq!(quantity(&serde_json::json!(null)), None);
    }

    #[tokio::test(start_paused = true)]
    async fn peers_are_compared_while_fresh() {
        let h = Heights::default();
        assert_eq!(
            h.report("eth", "a", 100, Duration::from_secs(30)),
            (None, 0)
        );
        assert_eq!(
            h.report("eth", "b", 90, Duration::from_secs(30)),
            (Some(100), 1)
        );
        assert_eq!(
            h.report("sol", "c", 5, Duration::from_secs(30)),
            (None, 0),
            "chains are apart"
        );
        tokio::time::advance(Duration::from_secs(31)).await;
        assert_eq!(
            h.report("eth", "b", 91, Duration::from_secs(30)),
            (None, 0),
            "a stale peer is forgotten"
        );
    }
}
