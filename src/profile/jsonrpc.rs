//! JSON-RPC 2.0 chain nodes: `{"result": ...}` or `{"error": {"code", "message"}}`.
//! Sources: EIP-1474 (Ethereum JSON-RPC error codes), <https://eips.ethereum.org/EIPS/eip-1474> ;
//! JSON-RPC 2.0 specification, <https://www.jsonrpc.org/specification> ; Solana RPC server
//! errors (agave `rpc-client-api/src/custom_error.rs`), <https://solana.com/docs/rpc>

use super::{code, text, Code, Found};
use crate::classify::Cause::{ApiVersion, Security, Server, UserInput};
use crate::classify::Symptom::{
    BalanceAnomaly as BA, PaymentDelay as PD, TransactionFailure as TF,
};

/// JSON-RPC 2.0 and EIP-1474 codes.
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
        "resource unavailable (node not ready)",
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
];

/// JSON-RPC 2.0 codes plus Solana's server errors.
pub const SOLANA: &[Code] = &[
    code(
        "-32700",
        UserInput,
        &[TF],
        "parse error: the request is not valid JSON",
    ),
    code("-32600", UserInput, &[TF], "invalid request"),
    code("-32601", ApiVersion, &[TF], "method not found"),
    code("-32602", UserInput, &[TF], "invalid params"),
    code("-32603", Server, &[TF], "internal error in the node"),
    code("-32004", Server, &[TF], "block not available for this slot"),
    code(
        "-32005",
        Server,
        &[TF, BA],
        "node is unhealthy (behind the cluster): balances it shows are stale",
    ),
    code(
        "-32007",
        Server,
        &[TF],
        "slot was skipped or is missing in long-term storage",
    ),
    code("-32009", Server, &[TF], "slot missing in long-term storage"),
    code("-32014", Server, &[TF], "block status not yet available"),
    code(
        "-32016",
        Server,
        &[TF, BA],
        "minimum context slot not reached: the node is behind",
    ),
    code(
        "-32429",
        Security,
        &[TF, PD],
        "rate limited by the RPC provider",
    ),
];

pub(crate) fn read(json: &serde_json::Value, table: &[Code]) -> Option<Found> {
    let obj = json.as_object()?;
    if obj.get("jsonrpc").and_then(|v| v.as_str()) != Some("2.0") {
        return None;
    }
    if let Some(err) = obj.get("error").filter(|e| !e.is_null()) {
        let code = err
            .get("code")
            .and_then(text)
            .unwrap_or_else(|| "missing".into());
        let msg = err.get("message").and_then(text);
        return Some(Found::from_table(table, "json-rpc", code, None, msg));
    }
    obj.contains_key("result").then(|| Found::success("result"))
}
