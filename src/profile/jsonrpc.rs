//! JSON-RPC 2.0 chain nodes: `{"result": ...}` or `{"error": {"code", "message"}}`, alone or
//! in a batch array. docs/profiles.md cites the source of every row.
//!
//! Clients reuse catch-all codes: geth answers `-32000` (its default server-error code) for
//! failures as different as a pruned state and a nonce that is too low. For those the
//! documented message decides ([`EVM_MESSAGES`]), and the code is the fallback.

use serde_json::{Map, Value};

mod solana;
pub use solana::{SOLANA, SOLANA_MESSAGES};

use super::{code, text, Code, Found};
use crate::vocab::Cause::{self, ApiVersion, Security, Server, UserInput};
use crate::vocab::Symptom::{
    self, AuthFailure as AF, BalanceAnomaly as BA, PaymentDelay as PD, TransactionFailure as TF,
};

/// JSON-RPC 2.0, EIP-1474, geth and Nethermind codes.
pub const EVM: &[Code] = &[
    code(
        "-32700",
        UserInput,
        &[TF],
        "parse error: the request is not valid JSON",
    ),
    code(
        "-32600",
        UserInput,
        &[TF],
        "invalid request: not a valid JSON-RPC request",
    ),
    code(
        "-32601",
        ApiVersion,
        &[TF],
        "method not found: the node does not serve this method",
    ),
    code("-32602", UserInput, &[TF], "invalid params"),
    code("-32603", Server, &[TF], "internal error in the node"),
    code(
        "-32000",
        UserInput,
        &[TF],
        "invalid input (e.g. missing or invalid parameters)",
    ),
    code(
        "-32001",
        Server,
        &[TF],
        "resource not found (block or state not available)",
    ),
    code(
        "-32002",
        Server,
        &[TF, PD],
        "resource unavailable (node not ready, or geth's request timed out)",
    ),
    code("-32003", UserInput, &[TF], "transaction rejected"),
    code("-32004", ApiVersion, &[TF], "method not supported"),
    code(
        "-32005",
        Security,
        &[TF, PD],
        "limit exceeded: request rate or quota",
    ),
    code(
        "-32006",
        ApiVersion,
        &[TF],
        "JSON-RPC version not supported",
    ),
    code(
        "-32010",
        UserInput,
        &[TF],
        "transaction creation failed (older Nethermind releases)",
    ),
    code(
        "-32015",
        UserInput,
        &[TF],
        "execution error: the call reverted (Nethermind)",
    ),
    code(
        "-32016",
        Server,
        &[TF, PD],
        "the request exceeded the node's timeout (Nethermind)",
    ),
    code(
        "-32017",
        Server,
        &[TF, PD],
        "a module of the node exceeded its timeout (Nethermind)",
    ),
    code(
        "-32020",
        UserInput,
        &[TF],
        "the account is locked (Nethermind)",
    ),
    code(
        "-39001",
        Server,
        &[TF, BA],
        "unknown block: the node does not have it (Nethermind)",
    ),
    code(
        "4444",
        Server,
        &[TF],
        "the block is pruned by the node's history expiry (Nethermind)",
    ),
    code(
        "3",
        UserInput,
        &[TF],
        "execution reverted (geth): the contract refused the call",
    ),
    code(
        "4100",
        Security,
        &[AF, TF],
        "unauthorized: the method or account has not been authorized (EIP-1193)",
    ),
];

/// A documented error message, matched case-insensitively as a substring.
pub struct Message {
    pub pattern: &'static str,
    pub cause: Cause,
    pub symptoms: &'static [Symptom],
    pub means: &'static str,
}

const fn msg(
    pattern: &'static str,
    cause: Cause,
    symptoms: &'static [Symptom],
    means: &'static str,
) -> Message {
    Message {
        pattern,
        cause,
        symptoms,
        means,
    }
}

/// geth / Erigon / Nethermind messages behind the catch-all `-32000` (first match wins).
pub const EVM_MESSAGES: &[Message] = &[
    msg(
        "header not found",
        Server,
        &[TF, BA],
        "the node does not have this block yet: it is behind or still syncing",
    ),
    msg(
        "missing trie node",
        Server,
        &[TF, BA],
        "the node pruned the state asked for (not an archive node)",
    ),
    msg(
        "txpool is full",
        Server,
        &[TF, PD],
        "the node's transaction pool is full",
    ),
    msg(
        "request timed out",
        Server,
        &[TF, PD],
        "the node timed out serving the request",
    ),
    // Hosted nodes refuse a missing or unknown key in a body of their own (Alchemy).
    msg(
        "must be authenticated",
        Security,
        &[AF, TF],
        "the node provider wants an API key: missing or not valid",
    ),
    msg(
        "origin not on whitelist",
        Security,
        &[AF, TF],
        "the node provider's allowlist for this API key refuses this origin",
    ),
    msg(
        "rate limit",
        Security,
        &[TF, PD],
        "rate limited by the node or its provider",
    ),
    msg(
        "too many requests",
        Security,
        &[TF, PD],
        "rate limited by the node or its provider",
    ),
    msg(
        "nonce too low",
        UserInput,
        &[TF],
        "the transaction's nonce is already used",
    ),
    msg(
        "nonce too high",
        UserInput,
        &[TF],
        "the transaction's nonce leaves a gap",
    ),
    msg(
        "insufficient funds",
        UserInput,
        &[TF, BA],
        "the sender cannot pay gas * price + value",
    ),
    msg(
        "intrinsic gas too low",
        UserInput,
        &[TF],
        "the gas limit is below the transaction's intrinsic cost",
    ),
    msg(
        "exceeds block gas limit",
        UserInput,
        &[TF],
        "the gas limit exceeds the block gas limit",
    ),
    msg(
        "replacement transaction underpriced",
        UserInput,
        &[TF],
        "a replacement needs a higher fee",
    ),
    msg(
        "transaction underpriced",
        UserInput,
        &[TF],
        "the fee is below the pool's minimum",
    ),
    msg(
        "max fee per gas less than block base fee",
        UserInput,
        &[TF],
        "the fee cap is below the base fee",
    ),
    msg(
        "already known",
        UserInput,
        &[TF],
        "the transaction is already in the pool",
    ),
    msg(
        "existing tx with same hash",
        UserInput,
        &[TF],
        "the transaction is already in the pool (Erigon)",
    ),
    msg(
        "invalid sender",
        UserInput,
        &[TF],
        "the transaction's signature is invalid",
    ),
    msg(
        "execution reverted",
        UserInput,
        &[TF],
        "the contract reverted the call",
    ),
    msg(
        "filter not found",
        UserInput,
        &[TF],
        "the filter expired or never existed",
    ),
];

/// Codes whose row is only the fallback: the message decides first.
const CATCH_ALL: &[&str] = &["-32000"];

pub(crate) fn read(json: &Value, table: &[Code], messages: &[Message]) -> Option<Found> {
    match json {
        Value::Object(obj) => read_one(obj, table, messages),
        // A batch answer: any error in it is the answer; all must be readable to pass.
        Value::Array(items) if items.is_empty() => Some(Found::mismatch(
            "empty_batch",
            "an empty JSON array, not a JSON-RPC answer".into(),
        )),
        Value::Array(items) => {
            let all: Vec<Option<Found>> = items
                .iter()
                .map(|v| v.as_object().and_then(|o| read_one(o, table, messages)))
                .collect();
            let mut found = all.into_iter().collect::<Option<Vec<Found>>>()?;
            match found.iter().position(|f| !f.success) {
                Some(i) => Some(found.swap_remove(i)),
                None => Some(Found::success("result")),
            }
        }
        _ => None,
    }
}

fn read_one(obj: &Map<String, Value>, table: &[Code], messages: &[Message]) -> Option<Found> {
    // An error member that is there and not null is an error, whatever else the object holds
    // (a `result` beside it, no `jsonrpc` member from an old node or a proxy).
    if let Some(err) = obj.get("error").filter(|e| !e.is_null()) {
        return Some(error(err, table, messages));
    }
    let rpc = obj.get("jsonrpc").and_then(Value::as_str) == Some("2.0") || obj.contains_key("id");
    (rpc && obj.contains_key("result")).then(|| Found::success("result"))
}

fn error(err: &Value, table: &[Code], messages: &[Message]) -> Found {
    let (code, message) = match err {
        Value::Object(o) => (
            o.get("code").and_then(normal_code),
            o.get("message").and_then(text),
        ),
        // `"error": "rate limited"` and `"error": -32005`: seen from proxies and old nodes.
        Value::String(s) => (None, Some(s.clone())),
        other => (normal_code(other), None),
    };
    let code = code.unwrap_or_else(|| "missing".into());
    let by_message = || {
        let m = message.as_deref()?.to_ascii_lowercase();
        messages.iter().find(|p| m.contains(p.pattern))
    };
    let in_table = table.iter().any(|c| c.code == code);
    let pattern = if CATCH_ALL.contains(&code.as_str()) || !in_table {
        by_message()
    } else {
        None
    };
    match pattern {
        Some(p) => Found {
            means: format!("{} (message matches {:?})", p.means, p.pattern),
            code,
            sub_code: None,
            message,
            success: false,
            cause: p.cause,
            symptoms: p.symptoms,
        },
        None => Found::from_table(table, "json-rpc", code, None, message),
    }
}

/// `-32000`, `"-32000"` and `-32000.0` are the same code.
fn normal_code(v: &Value) -> Option<String> {
    match v {
        Value::Number(n) => Some(match (n.as_i64(), n.as_f64()) {
            (Some(i), _) => i.to_string(),
            (None, Some(f)) if f.fract() == 0.0 && f.abs() < 1e15 => (f as i64).to_string(),
            _ => n.to_string(),
        }),
        Value::String(s) => {
            let t = s.trim();
            Some(
                t.parse::<i64>()
                    .map_or_else(|_| t.to_string(), |i| i.to_string()),
            )
        }
        _ => None,
    }
}
