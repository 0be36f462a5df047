//! Provider profiles: read a gateway's error body the way its own documentation defines it.
//!
//! A payment API often answers HTTP 200 with a business error inside, or 400 for both "your
//! signature is wrong" and "your parameter is wrong": the status alone cannot say why. Each
//! profile is a small table from the provider's documented codes to a cause (docs/profiles.md
//! lists every row with its source). A profile's verdict beats the bare HTTP status; a body it
//! does not recognise falls back to the status rules.

mod alipay;
mod jsonrpc;
mod stripe;
mod wechatpay;

use serde::Serialize;

use crate::vocab::{Cause, Symptom};

pub use crate::vocab::Profile;

impl Profile {
    /// The profile's table of documented codes (empty for `generic`).
    pub fn table(self) -> &'static [Code] {
        match self {
            Profile::Generic => &[],
            Profile::Alipay => alipay::TABLE,
            Profile::WechatpayV3 => wechatpay::TABLE,
            Profile::Stripe => stripe::TABLE,
            Profile::EvmJsonrpc => jsonrpc::EVM,
            Profile::SolanaJsonrpc => jsonrpc::SOLANA,
        }
    }

    /// Codes that mean "the gateway works" for this profile's own safe request: the probe
    /// asks for an order that does not exist, so "not found" is the healthy answer.
    pub fn default_ok_codes(self) -> &'static [&'static str] {
        match self {
            Profile::Generic | Profile::EvmJsonrpc | Profile::SolanaJsonrpc => &[],
            Profile::Alipay => &["10000", "40004:ACQ.TRADE_NOT_EXIST"],
            Profile::WechatpayV3 => &["ORDER_NOT_EXIST", "RESOURCE_NOT_EXISTS"],
            Profile::Stripe => &["resource_missing"],
        }
    }

    /// The read-only query a payment-API target makes when its URL names only the host
    /// (`https://api.stripe.com`): it asks for an order or charge that does not exist, so it
    /// can never create or change a payment.
    pub fn safe_path(self) -> Option<&'static str> {
        match self {
            Profile::Alipay => Some(
                "/gateway.do?method=alipay.trade.query&charset=utf-8&version=1.0\
                 &biz_content=%7B%22out_trade_no%22%3A%22payprobe-nonexistent-order%22%7D",
            ),
            Profile::WechatpayV3 => Some(
                "/v3/pay/transactions/out-trade-no/payprobe-nonexistent-order?mchid=1230000109",
            ),
            Profile::Stripe => Some("/v1/charges/ch_payprobe_nonexistent"),
            _ => None,
        }
    }

    /// The read-only JSON-RPC call (POSTed as `application/json`) a chain-node target sends
    /// unless `[targets.http]` says otherwise. No profile's request can move money; payment
    /// profiles use the request the target configures.
    pub fn safe_request(self) -> Option<&'static str> {
        match self {
            Profile::EvmJsonrpc => {
                Some(r#"{"jsonrpc":"2.0","id":1,"method":"eth_blockNumber","params":[]}"#)
            }
            Profile::SolanaJsonrpc => Some(
                r#"{"jsonrpc":"2.0","id":1,"method":"getSlot","params":[{"commitment":"confirmed"}]}"#,
            ),
            _ => None,
        }
    }
}

/// What a profile read in a response body.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Verdict {
    pub profile: Profile,
    /// The provider's code as written (`40004/ACQ.TRADE_NOT_EXIST`, `SIGN_ERROR`, `-32601`).
    pub code: String,
    pub message: Option<String>,
    /// The code is in the target's ok list (or the call succeeded).
    pub ok: bool,
    /// `none` when ok.
    pub cause: Cause,
    pub symptoms: Vec<Symptom>,
    /// What the code means, from the provider's documentation.
    pub means: String,
}

/// One documented code.
pub struct Code {
    pub code: &'static str,
    pub cause: Cause,
    pub symptoms: &'static [Symptom],
    pub means: &'static str,
}

pub(crate) const fn code(
    code: &'static str,
    cause: Cause,
    symptoms: &'static [Symptom],
    means: &'static str,
) -> Code {
    Code {
        code,
        cause,
        symptoms,
        means,
    }
}

/// Reads `body` with the target's profile. `None`: the body is not in this provider's format
/// (the status rules decide). `ok_codes` are matched against `code` or `code:sub_code`.
pub fn judge(
    profile: Profile,
    status: u16,
    body: &[u8],
    truncated: bool,
    ok_codes: &[String],
) -> Option<Verdict> {
    if profile == Profile::Generic {
        return None;
    }
    let json: serde_json::Value = match serde_json::from_slice(body) {
        Ok(v) => v,
        Err(e) => return not_json(profile, status, body, truncated, &e),
    };
    let found = match profile {
        Profile::Generic => None,
        Profile::Alipay => alipay::read(&json),
        Profile::WechatpayV3 => wechatpay::read(status, &json),
        Profile::Stripe => stripe::read(status, &json),
        Profile::EvmJsonrpc => jsonrpc::read(&json, jsonrpc::EVM, jsonrpc::EVM_MESSAGES),
        Profile::SolanaJsonrpc => jsonrpc::read(&json, jsonrpc::SOLANA, jsonrpc::SOLANA_MESSAGES),
    };
    let Some(found) = found else {
        return not_format(profile, status, &json);
    };
    let ok = found.success || ok_codes.iter().any(|c| found.matches(c));
    Some(Verdict {
        profile,
        code: found.display_code(),
        message: found.message.clone(),
        ok,
        cause: if ok { Cause::None } else { found.cause },
        symptoms: if ok {
            Vec::new()
        } else {
            found.symptoms.to_vec()
        },
        means: found.means,
    })
}

/// Verdict codes that say the body is not in the provider's format at all: the peer answered
/// (so the path works) in another shape, which is the server's doing (the `provider_format`
/// rule).
pub const MISMATCH_CODES: &[&str] = &["not_json", "not_provider_format", "empty_batch"];

/// What a profile expects, for reasons ("an HTML page, not a JSON-RPC 2.0 answer").
fn format_name(profile: Profile) -> &'static str {
    match profile {
        Profile::Generic => "the expected format",
        Profile::Alipay => "an Alipay `*_response` object",
        Profile::WechatpayV3 => "a WeChat Pay v3 resource or error",
        Profile::Stripe => "a Stripe object or error",
        Profile::EvmJsonrpc | Profile::SolanaJsonrpc => "a JSON-RPC 2.0 answer",
    }
}

/// A 2xx answer that should be JSON but is not is itself the finding (an HTML error page, a
/// captive portal, a truncated body); a non-2xx one is left to the status rules.
fn not_json(
    profile: Profile,
    status: u16,
    body: &[u8],
    truncated: bool,
    e: &serde_json::Error,
) -> Option<Verdict> {
    if !(200..300).contains(&status) {
        return None;
    }
    if truncated {
        // Our own limit cut the body: the operator's setting, not the gateway.
        return Some(Verdict {
            profile,
            code: "body_truncated".into(),
            message: None,
            ok: false,
            cause: Cause::UserInput,
            symptoms: vec![Symptom::TransactionFailure],
            means: "the body is longer than max_body_bytes, so it could not be read as JSON: raise max_body_bytes".into(),
        });
    }
    let seen = sniff(body);
    if login_form(body) {
        // A password form where an API answer was due: the credentials (issue 19).
        return Some(Verdict {
            code: "login_page".into(),
            cause: Cause::Security,
            symptoms: vec![Symptom::AuthFailure, Symptom::TransactionFailure],
            ..mismatch(
                profile,
                "login_page",
                format!(
                    "{seen} with a password field, a login page, not {}",
                    format_name(profile)
                ),
            )
        });
    }
    Some(mismatch(
        profile,
        "not_json",
        format!("{seen}, not {} (JSON: {e})", format_name(profile)),
    ))
}

/// JSON that none of the profile's shapes fits: at 2xx it would otherwise pass as healthy.
fn not_format(profile: Profile, status: u16, json: &serde_json::Value) -> Option<Verdict> {
    if !(200..300).contains(&status) {
        return None;
    }
    let seen = match json {
        serde_json::Value::Object(o) => {
            let shown = crate::limits::JSON_KEYS_SHOWN;
            let keys: Vec<&str> = o.keys().take(shown).map(String::as_str).collect();
            format!("a JSON object with keys [{}]", keys.join(", "))
        }
        serde_json::Value::Array(a) => format!("a JSON array of {} items", a.len()),
        serde_json::Value::String(_) => "a JSON string".into(),
        serde_json::Value::Number(_) => "a JSON number".into(),
        serde_json::Value::Bool(_) => "a JSON boolean".into(),
        serde_json::Value::Null => "JSON null".into(),
    };
    Some(mismatch(
        profile,
        "not_provider_format",
        format!("{seen}, not {}", format_name(profile)),
    ))
}

fn mismatch(profile: Profile, code: &str, means: String) -> Verdict {
    Verdict {
        profile,
        code: code.into(),
        message: None,
        ok: false,
        cause: Cause::Server,
        symptoms: vec![Symptom::TransactionFailure],
        means,
    }
}

/// An HTML form asking for a password (`<input type="password">`, quoted or not) in the
/// part of the body that was read.
fn login_form(body: &[u8]) -> bool {
    let t = String::from_utf8_lossy(body).to_ascii_lowercase();
    let html = t.contains("<html") || t.contains("<form") || t.contains("<!doctype html");
    let compact: String = t.chars().filter(|c| !c.is_whitespace()).collect();
    html && ["type=\"password\"", "type='password'", "type=password"]
        .iter()
        .any(|p| compact.contains(p))
}

/// Names what a non-JSON body is, from its first bytes: the reason says what was seen.
fn sniff(body: &[u8]) -> String {
    let head = String::from_utf8_lossy(&body[..body.len().min(crate::limits::BODY_SNIFF_BYTES)]);
    let orig = head.trim_start();
    // ASCII lower-casing keeps byte offsets, so positions found in `t` index `orig`.
    let t = orig.to_ascii_lowercase();
    if t.is_empty() {
        return "an empty body".into();
    }
    if t.starts_with("<!doctype html") || t.starts_with("<html") || t.contains("<html") {
        let title = t
            .find("<title>")
            .map(|i| i + "<title>".len())
            .and_then(|i| t[i..].find("</title>").map(|j| &orig[i..i + j]))
            .map(|tt| {
                let shown = crate::limits::BODY_TITLE_CHARS;
                tt.trim().chars().take(shown).collect::<String>()
            })
            .filter(|tt| !tt.is_empty());
        return match title {
            Some(tt) => format!("an HTML page titled {tt:?}"),
            None => "an HTML page".into(),
        };
    }
    if t.starts_with('<') {
        return "an XML document".into();
    }
    if std::str::from_utf8(body).is_err() || body.iter().take(64).any(|b| *b == 0) {
        return "binary data".into();
    }
    "plain text".into()
}

/// A code found in a body, before the target's ok list is applied.
pub(crate) struct Found {
    pub code: String,
    pub sub_code: Option<String>,
    pub message: Option<String>,
    pub success: bool,
    pub cause: Cause,
    pub symptoms: &'static [Symptom],
    pub means: String,
}

impl Found {
    /// A shape that is not the provider's answer: the server's doing.
    pub fn mismatch(code: &str, means: String) -> Found {
        Found {
            code: code.into(),
            sub_code: None,
            message: None,
            success: false,
            cause: Cause::Server,
            symptoms: &[Symptom::TransactionFailure],
            means,
        }
    }

    pub fn success(code: impl Into<String>) -> Found {
        Found {
            code: code.into(),
            sub_code: None,
            message: None,
            success: true,
            cause: Cause::None,
            symptoms: &[],
            means: "success".into(),
        }
    }

    /// Looks `code` up in `table`; a code the table lacks is `unknown`, said plainly.
    pub fn from_table(
        table: &[Code],
        profile: &str,
        code: String,
        sub_code: Option<String>,
        message: Option<String>,
    ) -> Found {
        let key = |c: &Code| match &sub_code {
            Some(s) => c.code == format!("{code}:{s}") || c.code == code,
            None => c.code == code,
        };
        // A row for code:sub_code wins over the row for the bare code.
        let row = table.iter().filter(|c| key(c)).max_by_key(|c| c.code.len());
        match row {
            Some(r) => Found {
                code,
                sub_code,
                message,
                success: false,
                cause: r.cause,
                symptoms: r.symptoms,
                means: r.means.to_string(),
            },
            None => Found {
                means: format!(
                    "{profile} code {code} is not in payprobe's table for this provider"
                ),
                code,
                sub_code,
                message,
                success: false,
                cause: Cause::Unknown,
                symptoms: &[Symptom::TransactionFailure],
            },
        }
    }

    /// `code:sub_code` matches both; a bare name matches the code or the sub-code (Stripe's
    /// `resource_missing` is a sub-code of `invalid_request_error`).
    fn matches(&self, ok: &str) -> bool {
        match (ok.split_once(':'), &self.sub_code) {
            (Some((c, s)), Some(sub)) => c == self.code && s == sub,
            (Some(_), None) => false,
            (None, sub) => ok == self.code || sub.as_deref() == Some(ok),
        }
    }

    fn display_code(&self) -> String {
        match &self.sub_code {
            Some(s) => format!("{}/{s}", self.code),
            None => self.code.clone(),
        }
    }
}

/// A JSON value as text: strings as they are, numbers and others as JSON.
pub fn text_value(v: &serde_json::Value) -> Option<String> {
    text(v)
}

pub(crate) fn text(v: &serde_json::Value) -> Option<String> {
    match v {
        serde_json::Value::Null => None,
        serde_json::Value::String(s) => Some(s.clone()),
        other => Some(other.to_string()),
    }
}

#[cfg(test)]
mod tests;
