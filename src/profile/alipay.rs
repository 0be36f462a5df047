//! Alipay Open Platform gateway (`gateway.do`): `{"<method>_response": {"code", "msg",
//! "sub_code", "sub_msg"}}`, or `error_response` for gateway-level errors.
//! Source: Alipay Open Platform, public error codes (公共错误码),
//! <https://opendocs.alipay.com/common/02km9f>

use super::{code, text, Code, Found};
use crate::vocab::Cause::{Security, Server, UserInput};
use crate::vocab::Symptom::{AuthFailure as AF, PaymentDelay as PD, TransactionFailure as TF};

/// `code` or `code:sub_code` → cause. The most specific row wins.
pub const TABLE: &[Code] = &[
    code(
        "20000",
        Server,
        &[TF, PD],
        "service unavailable (isp.unknow-error / aop.unknow-error): retry later",
    ),
    code(
        "20001",
        Security,
        &[AF, TF],
        "insufficient authorization: invalid or expired auth token",
    ),
    code("40001", UserInput, &[TF], "a required parameter is missing"),
    // The credentials themselves are missing: authentication, not a malformed request.
    code(
        "40001:isv.missing-signature",
        Security,
        &[AF, TF],
        "the request is not signed (no `sign`)",
    ),
    code(
        "40001:isv.missing-signature-type",
        Security,
        &[AF, TF],
        "the request names no signature type (no `sign_type`)",
    ),
    code(
        "40001:isv.missing-signature-key",
        Security,
        &[AF, TF],
        "no public key is configured for the app on Alipay's side",
    ),
    code(
        "40001:isv.missing-app-id",
        Security,
        &[AF, TF],
        "the request names no app (no `app_id`)",
    ),
    code("40002", UserInput, &[TF], "a parameter is invalid"),
    code(
        "40002:isv.invalid-signature",
        Security,
        &[AF, TF],
        "the signature does not verify: wrong key or signing content",
    ),
    code(
        "40002:isv.invalid-signature-type",
        Security,
        &[AF, TF],
        "unsupported signature type",
    ),
    code(
        "40002:isv.invalid-app-id",
        Security,
        &[AF, TF],
        "the app_id is not valid",
    ),
    code(
        "40002:isv.invalid-timestamp",
        Security,
        &[AF, TF],
        "the timestamp is outside the allowed window: check the clock",
    ),
    code(
        "40002:isv.method-not-exist",
        crate::vocab::Cause::ApiVersion,
        &[TF],
        "the method does not exist (renamed or retired API)",
    ),
    code("40004", UserInput, &[TF], "business failure: see sub_code"),
    code(
        "40004:ACQ.SYSTEM_ERROR",
        Server,
        &[TF, PD],
        "acquirer system error: retry, then query the trade before resubmitting",
    ),
    code(
        "40004:ACQ.TRADE_NOT_EXIST",
        UserInput,
        &[TF],
        "the trade does not exist",
    ),
    code(
        "40004:ACQ.INVALID_PARAMETER",
        UserInput,
        &[TF],
        "invalid parameter",
    ),
    code(
        "40004:ACQ.ACCESS_FORBIDDEN",
        Security,
        &[AF, TF],
        "access forbidden for this merchant",
    ),
    code(
        "40006",
        Security,
        &[AF, TF],
        "insufficient permissions: the app lacks this API's permission",
    ),
];

pub(crate) fn read(json: &serde_json::Value) -> Option<Found> {
    let obj = json.as_object()?;
    // The payload sits under "<api>_response" (or "error_response"); "sign" beside it.
    let inner = obj
        .iter()
        .find(|(k, v)| k.ends_with("_response") && v.is_object())
        .map(|(_, v)| v)?;
    let code = inner.get("code").and_then(text)?;
    if code == "10000" {
        return Some(Found::success(code));
    }
    let sub = inner.get("sub_code").and_then(text);
    let msg = [inner.get("msg"), inner.get("sub_msg")]
        .into_iter()
        .flatten()
        .filter_map(text)
        .collect::<Vec<_>>()
        .join(": ");
    Some(Found::from_table(
        TABLE,
        "alipay",
        code,
        sub,
        (!msg.is_empty()).then_some(msg),
    ))
}
