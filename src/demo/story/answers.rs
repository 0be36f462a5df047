//! What each simulated endpoint answers under each fault, in its provider's documented shape
//! (src/profile/), and how its listener and its signing behave.

use std::time::Duration;

use serde_json::json;

use super::{Fault, Kind};
use crate::demo::gateway::{Behavior, Reach};
use crate::demo::signing::{Side, Twist};

/// How the listener of `fault`'s endpoint treats connections.
pub fn reach(fault: Option<Fault>) -> Reach {
    match fault {
        Some(Fault::StallTls) => Reach::Stall,
        Some(Fault::Unreachable) => Reach::Unreachable,
        _ => Reach::Serve,
    }
}

/// The provider whose credentials an endpoint of `kind` checks, if any.
pub fn side(kind: Kind) -> Option<Side> {
    match kind {
        Kind::Alipay | Kind::AlipayRefund => Some(Side::Alipay),
        Kind::Wechatpay => Some(Side::Wechat),
        Kind::Stripe => Some(Side::Stripe),
        _ => None,
    }
}

/// What the signing of `fault`'s endpoint does differently.
pub fn twist(fault: Option<Fault>) -> Twist {
    match fault {
        Some(Fault::MerchantKeyChanged) => Twist::MerchantKeyChanged,
        Some(Fault::StrangerSigns) => Twist::StrangerSigns,
        Some(Fault::ClockAhead) => Twist::ClockOffset(CLOCK_AHEAD_SECS),
        _ => Twist::None,
    }
}

/// Six minutes: past the five WeChat Pay tolerates between a request's timestamp and its clock.
pub const CLOCK_AHEAD_SECS: i64 = 360;

/// The answer of a simulated endpoint, in its provider's documented shape (before any
/// signing: Alipay's `sign` and WeChat Pay's headers are added by `demo::signing`). `height`
/// is the best block of the EVM chain right now (Solana slots advance from it too).
pub fn answer(kind: Kind, fault: Option<Fault>, height: u64) -> Behavior {
    let b = match kind {
        Kind::Control => Behavior::ok("ok"),
        Kind::Alipay => alipay_trade(fault),
        Kind::AlipayRefund => alipay_refund(fault),
        Kind::Wechatpay => wechatpay(fault),
        Kind::Stripe => stripe(fault),
        Kind::Acquirer => acquirer(),
        Kind::Evm => evm(fault, height),
        Kind::Solana => solana(fault, height),
    };
    if fault == Some(Fault::Slow) {
        b.delay(Duration::from_millis(550))
    } else {
        b
    }
}

/// `alipay.trade.query` of an order that does not exist: "no such trade" from behind the
/// authentication (healthy), or Alipay's "system busy".
fn alipay_trade(fault: Option<Fault>) -> Behavior {
    match fault {
        Some(Fault::AlipayUnavailable) => Behavior::ok(
            r#"{"alipay_trade_query_response":{"code":"20000","msg":"Service Currently Unavailable","sub_code":"isp.unknow-error","sub_msg":"系统繁忙"}}"#,
        ),
        _ => Behavior::ok(
            r#"{"alipay_trade_query_response":{"code":"40004","msg":"Business Failed","sub_code":"ACQ.TRADE_NOT_EXIST","sub_msg":"交易不存在"}}"#,
        ),
    }
}

/// `alipay.trade.fastpay.refund.query`: success, or the method gone, a code no document
/// lists, or a system error.
fn alipay_refund(fault: Option<Fault>) -> Behavior {
    match fault {
        Some(Fault::AlipayMethodGone) => Behavior::ok(
            r#"{"error_response":{"code":"40002","msg":"Invalid Arguments","sub_code":"isv.method-not-exist","sub_msg":"不存在的方法名"}}"#,
        ),
        Some(Fault::AlipayUndocumented) => Behavior::ok(
            r#"{"alipay_trade_fastpay_refund_query_response":{"code":"88888","msg":"Unlisted"}}"#,
        ),
        Some(Fault::AlipaySystemError) => Behavior::ok(
            r#"{"alipay_trade_fastpay_refund_query_response":{"code":"40004","msg":"Business Failed","sub_code":"ACQ.SYSTEM_ERROR","sub_msg":"系统错误"}}"#,
        ),
        _ => Behavior::ok(
            r#"{"alipay_trade_fastpay_refund_query_response":{"code":"10000","msg":"Success"}}"#,
        ),
    }
}

/// WeChat Pay's order query of an order that does not exist (`404 ORDER_NOT_EXIST`,
/// healthy), or its `500 SYSTEM_ERROR`.
fn wechatpay(fault: Option<Fault>) -> Behavior {
    match fault {
        Some(Fault::WechatSystemError) => {
            Behavior::ok(r#"{"code":"SYSTEM_ERROR","message":"系统错误"}"#).status(500)
        }
        _ => Behavior::ok(r#"{"code":"ORDER_NOT_EXIST","message":"订单不存在"}"#).status(404),
    }
}

/// Stripe's retrieval of an object that does not exist (`404 resource_missing`, healthy),
/// or a `400` blaming the request's own parameter.
fn stripe(fault: Option<Fault>) -> Behavior {
    match fault {
        Some(Fault::StripeBadParam) => Behavior::ok(
            r#"{"error":{"code":"parameter_invalid_integer","message":"Invalid integer: abc","param":"amount","type":"invalid_request_error"}}"#,
        )
        .status(400),
        _ => Behavior::ok(
            r#"{"error":{"code":"resource_missing","doc_url":"https://stripe.com/docs/error-codes/resource-missing","message":"No such object: 'payprobe_nonexistent'","param":"id","type":"invalid_request_error"}}"#,
        )
        .status(404),
    }
}

/// An EVM JSON-RPC node on chain 1 at the best block `height`, or 20 blocks behind it.
fn evm(fault: Option<Fault>, height: u64) -> Behavior {
    let h = if fault == Some(Fault::Behind) {
        height.saturating_sub(20)
    } else {
        height
    };
    Behavior::jsonrpc(&[
        ("eth_chainId", json!("0x1")),
        ("eth_blockNumber", json!(format!("{h:#x}"))),
    ])
}

/// A Solana-like node whose slot advances with `height`, or a CDN's HTML page in its place.
fn solana(fault: Option<Fault>, height: u64) -> Behavior {
    if fault == Some(Fault::HtmlPage) {
        let mut b = Behavior::ok(
            "<!doctype html><html><head><title>Access denied</title></head><body><h1>Please enable cookies</h1></body></html>",
        );
        b.headers = vec![("content-type".into(), "text/html".into())];
        return b;
    }
    Behavior::jsonrpc(&[("getSlot", json!(height * 2))])
}

/// An acquirer's status API reporting its version, and announcing (RFC 9745 `Deprecation`,
/// RFC 8594 `Sunset`) that this major version retires in a year: a warning, not a failure.
fn acquirer() -> Behavior {
    let now = std::time::SystemTime::now();
    let year = Duration::from_secs(365 * 86_400);
    let since = crate::timefmt::unix_secs(now).saturating_sub(30 * 86_400);
    Behavior::ok(r#"{"status":"ok","api":"v3"}"#)
        .header("x-api-version", "3.4.1")
        .header("deprecation", &format!("@{since}"))
        .header("sunset", &httpdate::fmt_http_date(now + year))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_node_behind_answers_an_older_block() {
        let b = answer(Kind::Evm, Some(Fault::Behind), 0x100);
        let rpc = b.rpc.unwrap_or_default();
        assert_eq!(rpc.get("eth_blockNumber"), Some(&json!("0xec")));
        assert_eq!(reach(Some(Fault::Unreachable)), Reach::Unreachable);
        assert_eq!(reach(Some(Fault::Behind)), Reach::Serve);
    }

    #[test]
    fn signing_faults_twist_only_the_signing_providers() {
        assert_eq!(twist(Some(Fault::ClockAhead)), Twist::ClockOffset(360));
        assert_eq!(twist(Some(Fault::Behind)), Twist::None);
        assert_eq!(side(Kind::AlipayRefund), Some(Side::Alipay));
        assert_eq!(side(Kind::Stripe), Some(Side::Stripe));
        assert_eq!(side(Kind::Evm), None);
    }
}
