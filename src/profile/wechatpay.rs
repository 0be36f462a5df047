//! WeChat Pay API v3: errors are an HTTP status plus `{"code": "...", "message": "..."}`.
//! Source: WeChat Pay API v3 interface rules, HTTP status codes and error codes,
//! <https://pay.weixin.qq.com/wiki/doc/apiv3/wechatpay/wechatpay2_0.shtml> (and each API's
//! "error codes" section, e.g. the JSAPI order query).

use super::{code, text, Code, Found};
use crate::vocab::Cause::{ApiVersion, Security, Server, UserInput};
use crate::vocab::Symptom::{
    AuthFailure as AF, BalanceAnomaly as BA, PaymentDelay as PD, TransactionFailure as TF,
};

pub const TABLE: &[Code] = &[
    code(
        "PARAM_ERROR",
        UserInput,
        &[TF],
        "a parameter is wrong (400)",
    ),
    code(
        "INVALID_REQUEST",
        UserInput,
        &[TF],
        "the request is not valid for this resource's state (400)",
    ),
    code(
        "APPID_MCHID_NOT_MATCH",
        UserInput,
        &[TF],
        "appid and mchid do not belong together (400)",
    ),
    code(
        "MCH_NOT_EXISTS",
        UserInput,
        &[TF],
        "the merchant id does not exist (400)",
    ),
    code(
        "OUT_TRADE_NO_USED",
        UserInput,
        &[TF],
        "the merchant order number was already used (400)",
    ),
    code(
        "ORDER_CLOSED",
        UserInput,
        &[TF],
        "the order is closed (400)",
    ),
    code(
        "NOT_ENOUGH",
        UserInput,
        &[TF, BA],
        "insufficient balance (403)",
    ),
    code(
        "ACCOUNT_ERROR",
        UserInput,
        &[TF, AF],
        "the payer's account is abnormal (403)",
    ),
    code(
        "SIGN_ERROR",
        Security,
        &[AF, TF],
        "the signature does not verify: certificate serial, key or clock (401)",
    ),
    code(
        "NO_AUTH",
        Security,
        &[AF, TF],
        "no permission for this API (403)",
    ),
    code(
        "RULE_LIMIT",
        Security,
        &[TF],
        "held by business rules or risk control (403)",
    ),
    code(
        "TRADE_ERROR",
        Security,
        &[TF],
        "transaction refused by risk control (403)",
    ),
    code(
        "FREQUENCY_LIMITED",
        Security,
        &[TF, PD],
        "rate limited (429)",
    ),
    code(
        "RATE_LIMITED",
        Security,
        &[TF, PD],
        "the request rate limit is exceeded (429)",
    ),
    code(
        "FREQUENCY_LIMIT_EXCEED",
        Security,
        &[TF, PD],
        "frequency limit: try later (429)",
    ),
    code(
        "ORDER_NOT_EXIST",
        UserInput,
        &[TF],
        "the order does not exist (404)",
    ),
    code(
        "RESOURCE_NOT_EXISTS",
        UserInput,
        &[TF],
        "the resource does not exist (404)",
    ),
    code(
        "SYSTEM_ERROR",
        Server,
        &[TF, PD],
        "WeChat Pay system error: retry, query before resubmitting (500)",
    ),
    code(
        "BANK_ERROR",
        Server,
        &[TF, PD],
        "the bank's system failed (500)",
    ),
    code(
        "SERVICE_UNAVAILABLE",
        Server,
        &[TF, PD],
        "service unavailable (503)",
    ),
    code(
        "NOT_SUPPORT_VERSION",
        ApiVersion,
        &[TF],
        "this API version is not supported",
    ),
];

pub(crate) fn read(status: u16, json: &serde_json::Value) -> Option<Found> {
    let obj = json.as_object()?;
    match obj.get("code").and_then(text) {
        Some(code) => {
            let msg = obj.get("message").and_then(text);
            Some(Found::from_table(TABLE, "wechatpay_v3", code, None, msg))
        }
        // Successful v3 answers carry the resource itself, no "code".
        None if (200..300).contains(&status) => Some(Found::success(status.to_string())),
        None => None,
    }
}
