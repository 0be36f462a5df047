//! The `rpc` check for chain nodes: which chain a node serves and how high it is.
//!
//! EVM nodes are asked `eth_chainId` and `eth_blockNumber`; Solana nodes `getSlot`, each a
//! JSON-RPC call over a fresh connection. Comparing the chain id with `chain_id` and the
//! height with the other endpoints of the same `chain` (a node too far behind gives the
//! `balance_anomaly` symptom: balances read from it are stale) is judgement, made in
//! `src/judge/verdict/rpc.rs`.

use serde::Serialize;
use tokio::time::{timeout_at, Instant};

use super::http::{Exchange, HttpProber};
use super::{Evidence, Failure, Gateway, HttpEvidence, Prober, Recorder};
use crate::config::{Check, HttpSpec, Target};
use crate::profile::Profile;

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct RpcEvidence {
    pub chain: String,
    /// `eth_chainId` as the node answered (EVM only).
    pub chain_id: Option<u64>,
    /// Block number (EVM) or slot (Solana).
    pub height: Option<u64>,
    /// A call answered without a usable result: which, and what came instead.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unanswered: Option<String>,
}

/// What the `rpc` check reads of a target: its HTTP options (headers, auth, body cap), the
/// chain family (which calls to make) and the chain its height is filed under.
#[derive(Clone, Copy)]
pub struct RpcCall<'t> {
    pub http: &'t HttpSpec,
    pub profile: Profile,
    pub chain: &'t str,
}

#[derive(Clone)]
pub struct RpcProber {
    http: HttpProber,
}

impl RpcProber {
    pub fn new(http: HttpProber) -> Self {
        RpcProber { http }
    }

    /// One JSON-RPC call over a fresh connection; returns its `result`, or `None` (with the
    /// answer in the evidence) when the answer carries none.
    async fn call(
        &self,
        gw: Gateway<'_>,
        spec: RpcCall<'_>,
        rec: &mut Recorder,
        method: &str,
    ) -> Result<Option<serde_json::Value>, Failure> {
        let mut call = spec.http.clone();
        call.method = hyper::Method::POST;
        call.body = bytes::Bytes::from(format!(
            r#"{{"jsonrpc":"2.0","id":1,"method":"{method}","params":[]}}"#
        ));
        if !call
            .headers
            .iter()
            .any(|(k, _)| k == hyper::header::CONTENT_TYPE)
        {
            call.headers.push((
                hyper::header::CONTENT_TYPE,
                hyper::header::HeaderValue::from_static("application/json"),
            ));
        }
        rec.ev.http = Some(HttpEvidence::default());
        let x = Exchange {
            http: &call,
            version_header: None,
        };
        self.http.exchange(gw, x, rec).await?;
        let body = rec
            .ev
            .http
            .as_ref()
            .map(|h| h.body.clone())
            .unwrap_or_default();
        Ok(serde_json::from_slice::<serde_json::Value>(&body)
            .ok()
            .and_then(|v| v.get("result").cloned()))
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
    type Spec<'t> = RpcCall<'t>;

    fn check(&self) -> Check {
        Check::Rpc
    }

    fn spec(t: &Target) -> RpcCall<'_> {
        RpcCall {
            http: &t.http,
            profile: t.profile,
            chain: &t.rpc.chain,
        }
    }

    async fn probe<'a>(
        &'a self,
        gw: Gateway<'a>,
        spec: RpcCall<'a>,
        deadline: Instant,
    ) -> Evidence {
        let mut rec = Recorder::new(gw.name, Check::Rpc);
        let steps = async {
            let mut ev = RpcEvidence {
                chain: spec.chain.to_string(),
                ..Default::default()
            };
            let observed = self.observe(gw, spec, &mut rec, &mut ev).await;
            rec.ev.rpc = Some(ev);
            observed
        };
        let outcome = timeout_at(deadline, steps).await;
        rec.finish(outcome)
    }
}

impl RpcProber {
    /// The calls of one round; stops at the first answer without a usable result (the
    /// verdict says what that answer means).
    async fn observe(
        &self,
        gw: Gateway<'_>,
        spec: RpcCall<'_>,
        rec: &mut Recorder,
        ev: &mut RpcEvidence,
    ) -> Result<(), Failure> {
        if spec.profile == Profile::EvmJsonrpc {
            let Some(id) = self.call(gw, spec, rec, "eth_chainId").await? else {
                ev.unanswered = Some("eth_chainId: no JSON-RPC result in the answer".into());
                return Ok(());
            };
            ev.chain_id = quantity(&id);
        }
        let method = if spec.profile == Profile::SolanaJsonrpc {
            "getSlot"
        } else {
            "eth_blockNumber"
        };
        match self.call(gw, spec, rec, method).await? {
            None => ev.unanswered = Some(format!("{method}: no JSON-RPC result in the answer")),
            Some(h) => match quantity(&h) {
                Some(height) => ev.height = Some(height),
                None => ev.unanswered = Some(format!("{method}: {h} is not a block height")),
            },
        }
        Ok(())
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
}
