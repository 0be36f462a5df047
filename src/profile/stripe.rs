//! Stripe: `{"error": {"type", "code", "message", ...}}`; the HTTP status tells
//! authentication (401), permission (403) and rate limiting (429) apart within
//! `invalid_request_error`.
//! Source: Stripe API reference, "Errors", <https://docs.stripe.com/api/errors>

use super::{code, text, Code, Found};
use crate::vocab::Cause::{Security, Server, UserInput};
use crate::vocab::Symptom::{AuthFailure as AF, PaymentDelay as PD, TransactionFailure as TF};

pub const TABLE: &[Code] = &[
    code("api_error", Server, &[TF, PD], "a problem on Stripe's side"),
    code(
        "authentication_error",
        Security,
        &[AF, TF],
        "authentication failed: the API key is missing, wrong, revoked (401) or lacks the permission (403)",
    ),
    code(
        "rate_limit_error",
        Security,
        &[TF, PD],
        "too many requests too quickly",
    ),
    code(
        "invalid_request_error",
        UserInput,
        &[TF],
        "the request has invalid parameters",
    ),
    code(
        "card_error",
        UserInput,
        &[TF],
        "the card cannot be charged (declined, expired, wrong CVC)",
    ),
    code(
        "idempotency_error",
        UserInput,
        &[TF],
        "an idempotency key was reused with different parameters",
    ),
];

pub(crate) fn read(status: u16, json: &serde_json::Value) -> Option<Found> {
    let Some(err) = json.get("error") else {
        // Success bodies are the resource (`"object": "charge"` ...).
        return ((200..300).contains(&status) && json.get("object").is_some())
            .then(|| Found::success(status.to_string()));
    };
    let kind = err.get("type").and_then(text)?;
    // Stripe reports a bad key, a key without the permission and rate limiting with their
    // HTTP status (docs.stripe.com/api/errors, "HTTP status code summary").
    let kind = match (status, kind.as_str()) {
        (401 | 403, _) => "authentication_error".to_string(),
        (429, _) => "rate_limit_error".to_string(),
        _ => kind,
    };
    let sub = err.get("code").and_then(text);
    let msg = err.get("message").and_then(text);
    Some(Found::from_table(TABLE, "stripe", kind, sub, msg))
}
