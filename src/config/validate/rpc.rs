//! Validation of `[targets.rpc]`: the `rpc` check of a chain node (EVM or Solana JSON-RPC).

use super::super::error::Problems;
use super::super::raw::{RawTarget, S};
use super::super::{Check, RpcSpec};
use super::values::int_in;
use crate::limits;
use crate::profile::Profile;

/// `max_block_lag` when not set, about a minute behind at each chain's usual pace: 5
/// Ethereum blocks of 12 s, 150 Solana slots of 400 ms.
const DEFAULT_EVM_BLOCK_LAG: i64 = 5;
const DEFAULT_SOLANA_SLOT_LAG: i64 = 150;

/// A target naming a profile that is not a chain's cannot list `rpc` (no profile: the
/// chain family is checked below). `endpoint.rs` leaves `rpc` out of the checks it offers by
/// the same rule.
pub(super) fn refuses_rpc(profile: Option<Profile>) -> bool {
    profile.is_some_and(|p| !p.is_chain())
}

/// `provider` is the target's (the default `chain`: endpoints of one provider are compared).
pub(super) fn rpc(
    t: &RawTarget,
    profile: Option<Profile>,
    checks: Option<&[Check]>,
    provider: String,
    p: &mut Problems,
) -> Option<RpcSpec> {
    let wants_rpc = checks.is_some_and(|c| c.contains(&Check::Rpc));
    if wants_rpc && refuses_rpc(profile) {
        let at = t.checks.as_ref().map(|c| c.span()).unwrap_or(0..0);
        let chains: Vec<String> = Profile::ALL
            .into_iter()
            .filter(|p| p.is_chain())
            .map(|p| format!("{:?}", p.as_str()))
            .collect();
        p.at(
            at,
            format!("check `rpc` needs `profile = {}`", chains.join("` or `")),
        );
        return None;
    }
    let r = t.rpc.clone().unwrap_or_default();
    let default_lag = if profile == Some(Profile::SolanaJsonrpc) {
        DEFAULT_SOLANA_SLOT_LAG
    } else {
        DEFAULT_EVM_BLOCK_LAG
    };
    let lag = int_in(&r.max_block_lag, "max_block_lag", limits::BLOCK_LAG, p);
    let chain_id = chain_id(r.chain_id.as_ref(), p);
    Some(RpcSpec {
        chain: r.chain.map(|c| c.into_inner()).unwrap_or(provider),
        chain_id: chain_id?,
        max_block_lag: lag?.unwrap_or(default_lag) as u64,
    })
}

/// `Some(None)`: not set (any chain); `None`: reported.
fn chain_id(c: Option<&S<i64>>, p: &mut Problems) -> Option<Option<u64>> {
    let Some(c) = c else { return Some(None) };
    if *c.get_ref() > 0 {
        return Some(Some(*c.get_ref() as u64));
    }
    p.at(
        c.span(),
        format!(
            "`chain_id` = {}: expected a positive chain id, e.g. 1 for Ethereum mainnet",
            c.get_ref()
        ),
    );
    None
}
