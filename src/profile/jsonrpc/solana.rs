//! Solana's table: JSON-RPC 2.0 codes, Solana's server errors and the messages that refine
//! them. docs/profiles.md cites the source of every row.

use super::super::{code, Code};
use super::{msg, Message};
use crate::vocab::Cause::{ApiVersion, Security, Server, UserInput};
use crate::vocab::Symptom::{BalanceAnomaly as BA, PaymentDelay as PD, TransactionFailure as TF};

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
    code(
        "-32001",
        Server,
        &[TF],
        "block cleaned up: the node no longer keeps this slot",
    ),
    code(
        "-32002",
        UserInput,
        &[TF],
        "transaction preflight (simulation) failed",
    ),
    code(
        "-32003",
        UserInput,
        &[TF],
        "transaction signature verification failed",
    ),
    code("-32004", Server, &[TF], "block not available for this slot"),
    code(
        "-32005",
        Server,
        &[TF, BA],
        "node is unhealthy (behind the cluster): balances it shows are stale",
    ),
    code(
        "-32006",
        UserInput,
        &[TF],
        "transaction precompile verification failed",
    ),
    code(
        "-32007",
        Server,
        &[TF],
        "slot was skipped or is missing in long-term storage",
    ),
    code("-32008", Server, &[TF], "no snapshot available on the node"),
    code("-32009", Server, &[TF], "slot missing in long-term storage"),
    code(
        "-32010",
        UserInput,
        &[TF],
        "key excluded from the node's secondary index",
    ),
    code(
        "-32011",
        Server,
        &[TF],
        "transaction history not available on this node",
    ),
    code("-32012", Server, &[TF], "scan error in the node"),
    code(
        "-32013",
        UserInput,
        &[TF],
        "transaction signature length mismatch",
    ),
    code("-32014", Server, &[TF], "block status not yet available"),
    code(
        "-32015",
        ApiVersion,
        &[TF],
        "unsupported transaction version",
    ),
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

/// Messages that refine a code for Solana nodes (providers answer rate limits this way).
pub const SOLANA_MESSAGES: &[Message] = &[
    msg(
        "rate limit",
        Security,
        &[TF, PD],
        "rate limited by the RPC provider",
    ),
    msg(
        "too many requests",
        Security,
        &[TF, PD],
        "rate limited by the RPC provider",
    ),
];
