//! The `rpc` check's conditions: the node serves the configured chain (`chain_id`), and it
//! is not more than `max_block_lag` behind the best of its peers — the other endpoints of the
//! same `chain`, whose heights are filed here as their rounds are judged.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use tokio::time::Instant;

use crate::config::{Check, Target};
use crate::judge::condition::{Judgement, Which};
use crate::probe::rpc::RpcEvidence;
use crate::probe::{Failure, FailureKind, Phase};

/// target → (height, when it was reported).
type Reports = HashMap<String, (u64, Instant)>;

/// Heights reported by every rpc target, per chain. Shared by all rounds.
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
        // elsewhere, so a poisoned lock is taken over (src/sync.rs) rather than every later
        // round silently losing its peers.
        let mut chains = crate::sync::lock(&self.chains, "chain heights");
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

/// Judges what an `rpc` round saw. A node on the wrong chain is not filed as a peer: its
/// height would mislead every node of the chain it was meant to be on.
pub(super) fn judge(heights: &Heights, t: &Target, ev: &RpcEvidence, j: &mut Judgement) {
    let c = Check::Rpc;
    let fail = |kind, detail: String| Err(Failure::new(Phase::Content, kind, detail));
    if let Some(what) = &ev.unanswered {
        j.hold(
            c,
            Which::RpcAnswer,
            fail(FailureKind::ProviderError, what.clone()),
        );
        return;
    }
    if let (Some(want), Some(got)) = (t.rpc.chain_id, ev.chain_id) {
        let same = if want == got {
            Ok(())
        } else {
            fail(
                FailureKind::RpcWrongChain,
                format!("the node serves chain id {got}, the config says {want}"),
            )
        };
        if !j.hold(c, Which::ChainId, same) {
            return;
        }
    }
    let Some(height) = ev.height else {
        return;
    };
    let (best, peers) = heights.report(&t.rpc.chain, &t.name, height, t.interval * 3);
    let lag = best.map(|b| b.saturating_sub(height));
    j.read(c).lag = Some(crate::checked::Lag {
        best_peer_height: best,
        peers,
        blocks: lag,
    });
    j.hold(
        c,
        Which::BlockLag,
        behind(t, height, best, lag.unwrap_or(0)),
    );
}

/// More than `max_block_lag` behind the best fresh peer fails.
fn behind(t: &Target, height: u64, best: Option<u64>, lag: u64) -> Result<(), Failure> {
    let fail = |kind, detail: String| Err(Failure::new(Phase::Content, kind, detail));
    if lag > t.rpc.max_block_lag {
        return fail(
            FailureKind::RpcBehind,
            format!(
                "height {height} is {lag} behind the best peer of {} ({}), more than max_block_lag {}",
                t.rpc.chain,
                best.unwrap_or(height),
                t.rpc.max_block_lag
            ),
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

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
