//! Unit tests, compiled only with #[cfg(test)] (declared at the bottom of mod.rs).

use proptest::prelude::*;

use super::*;
use crate::vocab::Cause;

fn judge_str(p: Profile, status: u16, body: &str) -> Option<Verdict> {
    judge(
        p,
        status,
        body.as_bytes(),
        false,
        &p.default_ok_codes()
            .iter()
            .map(|s| s.to_string())
            .collect::<Vec<_>>(),
    )
}

/// A body in each provider's documented shape carrying `code` (and a sub-code).
fn body_for(p: Profile, code: &str) -> (u16, String) {
    match p {
        Profile::Alipay => {
            let (c, sub) = code.split_once(':').unwrap_or((code, "isp.unknow-error"));
            (
                200,
                format!(
                    r#"{{"alipay_trade_query_response":{{"code":"{c}","msg":"m","sub_code":"{sub}","sub_msg":"s"}},"sign":"abc"}}"#
                ),
            )
        }
        Profile::WechatpayV3 => (400, format!(r#"{{"code":"{code}","message":"m"}}"#)),
        Profile::Stripe => (
            400,
            format!(r#"{{"error":{{"type":"{code}","message":"m"}}}}"#),
        ),
        Profile::EvmJsonrpc | Profile::SolanaJsonrpc => (
            200,
            format!(r#"{{"jsonrpc":"2.0","id":1,"error":{{"code":{code},"message":"m"}}}}"#),
        ),
        Profile::Generic => (200, String::new()),
    }
}

#[test]
fn every_documented_code_of_every_profile_maps_to_its_cause() {
    let tables: [(Profile, &[Code]); 5] = [
        (Profile::Alipay, alipay::TABLE),
        (Profile::WechatpayV3, wechatpay::TABLE),
        (Profile::Stripe, stripe::TABLE),
        (Profile::EvmJsonrpc, jsonrpc::EVM),
        (Profile::SolanaJsonrpc, jsonrpc::SOLANA),
    ];
    let (mut n, mut wrong) = (0, Vec::new());
    for (p, table) in tables {
        for row in table {
            n += 1;
            let name = format!("{p:?} {}", row.code);
            let (status, body) = body_for(p, row.code);
            let Some(v) = judge(p, status, body.as_bytes(), false, &[]) else {
                wrong.push(format!("{name}: not read"));
                continue;
            };
            if v.ok || v.cause != row.cause || v.means != row.means {
                wrong.push(format!(
                    "{name}: got ok {} {:?} {:?}, want {:?} {:?}",
                    v.ok, v.cause, v.means, row.cause, row.means
                ));
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "{} wrong:\n{}",
        wrong.len(),
        wrong.join("\n")
    );
    assert!(n >= 60, "{n} codes");
}

#[test]
fn realistic_alipay_answers() {
    // The probe's own query for a trade that does not exist: the gateway works.
    let v = judge_str(
        Profile::Alipay,
        200,
        r#"{"alipay_trade_query_response":{"code":"40004","msg":"Business Failed","sub_code":"ACQ.TRADE_NOT_EXIST","sub_msg":"交易不存在","buyer_pay_amount":"0.00"},"sign":"ERITJKEIJKJHKKKKKKKHJEREEEEEEEEEEE"}"#,
    )
    .unwrap();
    assert!(v.ok && v.cause == Cause::None, "{v:?}");
    assert_eq!(v.code, "40004/ACQ.TRADE_NOT_EXIST");
    let v = judge_str(
        Profile::Alipay,
        200,
        r#"{"error_response":{"code":"40002","msg":"Invalid Arguments","sub_code":"isv.invalid-signature","sub_msg":"验签出错"},"sign":"x"}"#,
    )
    .unwrap();
    assert_eq!(
        (v.ok, v.cause),
        (false, Cause::Security),
        "a bad signature is security, not user input"
    );
    let v = judge_str(Profile::Alipay, 200, r#"{"error_response":{"code":"40002","msg":"Invalid Arguments","sub_code":"isv.invalid-charset"}}"#).unwrap();
    assert_eq!(
        v.cause,
        Cause::UserInput,
        "other 40002 sub-codes are parameters"
    );
    let v = judge_str(Profile::Alipay, 200, r#"{"alipay_trade_query_response":{"code":"20000","msg":"Service Currently Unavailable","sub_code":"isp.unknow-error"}}"#).unwrap();
    assert_eq!(v.cause, Cause::Server);
    let v = judge_str(Profile::Alipay, 200, r#"{"alipay_trade_query_response":{"code":"10000","msg":"Success","trade_status":"TRADE_SUCCESS"}}"#).unwrap();
    assert!(v.ok);
    let v = judge_str(
        Profile::Alipay,
        200,
        r#"{"alipay_trade_query_response":{"code":"99999","msg":"?"}}"#,
    )
    .unwrap();
    assert_eq!(
        v.cause,
        Cause::Unknown,
        "undocumented codes are said to be unknown"
    );
    assert!(v.means.contains("99999"));
}

#[test]
fn realistic_wechatpay_answers() {
    let v = judge_str(
        Profile::WechatpayV3,
        404,
        r#"{"code":"ORDER_NOT_EXIST","message":"订单不存在"}"#,
    )
    .unwrap();
    assert!(
        v.ok,
        "the probe's nonexistent order is the healthy answer: {v:?}"
    );
    let v = judge_str(
        Profile::WechatpayV3,
        401,
        r#"{"code":"SIGN_ERROR","message":"签名错误","detail":{"field":"signature"}}"#,
    )
    .unwrap();
    assert_eq!(v.cause, Cause::Security);
    let v = judge_str(
        Profile::WechatpayV3,
        429,
        r#"{"code":"FREQUENCY_LIMITED","message":"频率超限"}"#,
    )
    .unwrap();
    assert_eq!(v.cause, Cause::Security);
    assert!(v.symptoms.contains(&Symptom::PaymentDelay));
    let v = judge_str(
        Profile::WechatpayV3,
        200,
        r#"{"appid":"wxd678efh567hg6787","trade_state":"NOTPAY"}"#,
    )
    .unwrap();
    assert!(v.ok);
    assert!(
        judge_str(Profile::WechatpayV3, 502, "<html>bad gateway</html>").is_none(),
        "non-JSON error pages go to the status rules"
    );
}

#[test]
fn realistic_stripe_answers() {
    let v = judge_str(
        Profile::Stripe,
        404,
        r#"{"error":{"code":"resource_missing","doc_url":"https://stripe.com/docs/error-codes/resource-missing","message":"No such charge: 'ch_payprobe'","param":"id","type":"invalid_request_error"}}"#,
    )
    .unwrap();
    assert!(v.ok, "{v:?}");
    let v = judge_str(
        Profile::Stripe,
        401,
        r#"{"error":{"message":"You did not provide an API key.","type":"invalid_request_error"}}"#,
    )
    .unwrap();
    assert_eq!(
        v.cause,
        Cause::Security,
        "Stripe reports a missing key as 401 invalid_request_error"
    );
    let v = judge_str(Profile::Stripe, 402, r#"{"error":{"code":"card_declined","decline_code":"insufficient_funds","type":"card_error"}}"#).unwrap();
    assert_eq!(v.cause, Cause::UserInput);
    let v = judge_str(
        Profile::Stripe,
        500,
        r#"{"error":{"type":"api_error","message":"An unknown error occurred"}}"#,
    )
    .unwrap();
    assert_eq!(v.cause, Cause::Server);
}

#[test]
fn realistic_jsonrpc_answers() {
    let v = judge_str(
        Profile::EvmJsonrpc,
        200,
        r#"{"jsonrpc":"2.0","id":1,"result":"0x13a52b1"}"#,
    )
    .unwrap();
    assert!(v.ok);
    let v = judge_str(Profile::EvmJsonrpc, 200, r#"{"jsonrpc":"2.0","id":1,"error":{"code":-32601,"message":"the method eth_foo does not exist/is not available"}}"#).unwrap();
    assert_eq!(v.cause, Cause::ApiVersion);
    let v = judge_str(Profile::EvmJsonrpc, 429, r#"{"jsonrpc":"2.0","id":1,"error":{"code":-32005,"message":"daily request count exceeded"}}"#).unwrap();
    assert_eq!(v.cause, Cause::Security);
    let v = judge_str(Profile::SolanaJsonrpc, 200, r#"{"jsonrpc":"2.0","error":{"code":-32005,"message":"Node is behind by 42 slots","data":{"numSlotsBehind":42}},"id":1}"#).unwrap();
    assert_eq!(v.cause, Cause::Server);
    assert!(
        v.symptoms.contains(&Symptom::BalanceAnomaly),
        "stale balances: {v:?}"
    );
    // An old node without the `jsonrpc` member still answers with an id and a result.
    assert!(
        judge_str(Profile::EvmJsonrpc, 200, r#"{"id":1,"result":"0x1"}"#)
            .unwrap()
            .ok
    );
}

#[test]
fn bad_bodies_give_a_clear_verdict_and_never_panic() {
    // 2xx but not JSON: the answer itself is wrong (an HTML page where JSON was due).
    let v = judge_str(
        Profile::Stripe,
        200,
        "<html><body>Please log in to the Wi-Fi</body></html>",
    )
    .unwrap();
    assert_eq!((v.cause, v.code.as_str()), (Cause::Server, "not_json"));
    assert!(
        v.means.starts_with("an HTML page, not a Stripe"),
        "{}",
        v.means
    );
    let v = judge(Profile::Alipay, 200, b"{\"alipay_trade", true, &[]).unwrap();
    assert!(v.means.contains("max_body_bytes"), "{}", v.means);
    let v = judge(Profile::WechatpayV3, 200, b"", false, &[]).unwrap();
    assert!(v.means.contains("empty"));
    // Wrong types: a code that is a number or an object is read as text, not a crash.
    let v = judge_str(
        Profile::Alipay,
        200,
        r#"{"x_response":{"code":40004,"sub_code":["a"]}}"#,
    )
    .unwrap();
    assert_eq!(v.cause, Cause::UserInput);
    assert!(judge_str(Profile::Stripe, 400, r#"{"error":"nope"}"#).is_none());
    let v = judge_str(Profile::Alipay, 200, r#"[1,2,3]"#).unwrap();
    assert_eq!(
        (v.cause, v.code.as_str()),
        (Cause::Server, "not_provider_format")
    );
    assert!(
        judge_str(Profile::Alipay, 400, r#"[1,2,3]"#).is_none(),
        "the status decides"
    );
    assert!(
        judge_str(
            Profile::EvmJsonrpc,
            200,
            r#"{"jsonrpc":"2.0","id":1,"error":{"message":"no code"}}"#
        )
        .unwrap()
        .cause
            == Cause::Unknown
    );
    assert!(judge_str(Profile::Generic, 200, "anything").is_none());
}

#[test]
fn ok_codes_match_code_or_sub_code() {
    let ok = vec!["40001:isv.missing-app-id".to_string()];
    let body = br#"{"error_response":{"code":"40001","msg":"Missing Required Arguments","sub_code":"isv.missing-app-id"}}"#;
    assert!(judge(Profile::Alipay, 200, body, false, &ok).unwrap().ok);
    let other = br#"{"error_response":{"code":"40001","sub_code":"isv.missing-signature"}}"#;
    assert!(!judge(Profile::Alipay, 200, other, false, &ok).unwrap().ok);
}

proptest! {
    #[test]
    fn arbitrary_bytes_never_panic(body in proptest::collection::vec(any::<u8>(), 0..512), status in 100u16..600, t in any::<bool>()) {
        for p in Profile::ALL {
            let _ = judge(p, status, &body, t, &[]);
        }
    }

    #[test]
    fn arbitrary_json_never_panics(code in ".{0,20}", n in any::<i64>()) {
        let bodies = [
            format!(r#"{{"a_response":{{"code":{}}}}}"#, serde_json::json!(code)),
            format!(r#"{{"code":{n}}}"#),
            format!(r#"{{"jsonrpc":"2.0","error":{{"code":{n}}}}}"#),
            format!(r#"{{"error":{{"type":{}}}}}"#, serde_json::json!(code)),
        ];
        for b in bodies {
            for p in Profile::ALL {
                let _ = judge(p, 200, b.as_bytes(), false, &[]);
            }
        }
    }
}

#[test]
fn every_jsonrpc_answer_shape_is_read_and_an_error_is_never_healthy() {
    let evm = |body: &str| judge_str(Profile::EvmJsonrpc, 200, body).unwrap();
    // Batch arrays: one error among results is the answer.
    let v = evm(
        r#"[{"jsonrpc":"2.0","id":1,"result":"0x1"},{"jsonrpc":"2.0","id":2,"error":{"code":-32601,"message":"nope"}}]"#,
    );
    assert_eq!(
        (v.ok, v.cause, v.code.as_str()),
        (false, Cause::ApiVersion, "-32601")
    );
    assert!(evm(r#"[{"jsonrpc":"2.0","id":1,"result":"0x1"}]"#).ok);
    let v = evm("[]");
    assert_eq!((v.cause, v.code.as_str()), (Cause::Server, "empty_batch"));
    let v = evm(r#"[{"jsonrpc":"2.0","id":1,"result":"0x1"}, 7]"#);
    assert_eq!(
        (v.cause, v.code.as_str()),
        (Cause::Server, "not_provider_format")
    );
    // A null id (the node could not read the request's id) and a string code.
    let v = evm(r#"{"jsonrpc":"2.0","id":null,"error":{"code":"-32700","message":"parse error"}}"#);
    assert_eq!((v.cause, v.code.as_str()), (Cause::UserInput, "-32700"));
    let v = evm(r#"{"jsonrpc":"2.0","id":1,"error":{"code":-32005.0,"message":"x"}}"#);
    assert_eq!((v.cause, v.code.as_str()), (Cause::Security, "-32005"));
    // An error beside a result, or without the jsonrpc member, is still an error.
    let v =
        evm(r#"{"jsonrpc":"2.0","id":1,"result":"0x1","error":{"code":-32603,"message":"boom"}}"#);
    assert_eq!((v.ok, v.cause), (false, Cause::Server));
    let v = evm(r#"{"error":"rate limit exceeded"}"#);
    assert_eq!((v.ok, v.cause), (false, Cause::Security));
    let v = evm(r#"{"jsonrpc":"2.0","id":1,"error":-32002}"#);
    assert_eq!(
        (v.ok, v.cause, v.code.as_str()),
        (false, Cause::Server, "-32002")
    );
    // `error: null` beside a result is a success.
    assert!(evm(r#"{"jsonrpc":"2.0","id":1,"result":"0x1","error":null}"#).ok);
    // JSON that is not JSON-RPC at all, at 200, is the server answering in another shape.
    let v = evm(r#"{"status":"ok"}"#);
    assert_eq!(
        (v.cause, v.code.as_str()),
        (Cause::Server, "not_provider_format")
    );
    assert!(v.means.contains("not a JSON-RPC 2.0 answer"), "{}", v.means);
}

#[test]
fn the_catch_all_code_is_judged_by_its_documented_message_first() {
    let evm = |code: &str, m: &str| {
        judge_str(
            Profile::EvmJsonrpc,
            200,
            &format!(r#"{{"jsonrpc":"2.0","id":1,"error":{{"code":{code},"message":"{m}"}}}}"#),
        )
        .unwrap()
    };
    for (m, cause) in [
        ("header not found", Cause::Server),
        (
            "missing trie node 5e3f (path ) state 0x1 is not available",
            Cause::Server,
        ),
        ("txpool is full", Cause::Server),
        ("nonce too low: next nonce 5, tx nonce 3", Cause::UserInput),
        (
            "insufficient funds for gas * price + value",
            Cause::UserInput,
        ),
        ("Too Many Requests", Cause::Security),
        ("execution reverted", Cause::UserInput),
        ("something new", Cause::UserInput),
    ] {
        let v = evm("-32000", m);
        assert_eq!(v.cause, cause, "{m}: {v:?}");
    }
    assert!(evm("-32000", "header not found")
        .symptoms
        .contains(&Symptom::BalanceAnomaly));
    // A code with its own row keeps it: the message refines only catch-alls and unknowns.
    assert_eq!(evm("-32601", "rate limit").cause, Cause::ApiVersion);
    assert_eq!(evm("-32099", "rate limit reached").cause, Cause::Security);
    assert_eq!(evm("-32099", "what").cause, Cause::Unknown);
    for (m, _, _) in jsonrpc::EVM_MESSAGES
        .iter()
        .map(|p| (p.pattern, p.cause, p.means))
    {
        assert_eq!(
            evm("-32000", m).cause,
            jsonrpc::EVM_MESSAGES
                .iter()
                .find(|p| p.pattern == m)
                .unwrap()
                .cause
        );
    }
}

#[test]
fn a_body_that_is_not_the_providers_format_names_what_it_is() {
    let v = judge_str(
        Profile::EvmJsonrpc,
        200,
        "<!DOCTYPE html><html><head><title>Site Maintenance</title></head></html>",
    )
    .unwrap();
    assert_eq!(v.cause, Cause::Server);
    assert!(
        v.means
            .starts_with("an HTML page titled \"Site Maintenance\", not a JSON-RPC 2.0 answer"),
        "{}",
        v.means
    );
    let v = judge_str(Profile::Alipay, 200, r#"{"ok":true}"#).unwrap();
    assert!(
        v.means.contains("keys [ok]") && v.means.contains("Alipay"),
        "{}",
        v.means
    );
    let v = judge_str(Profile::WechatpayV3, 200, "just text").unwrap();
    assert!(v.means.starts_with("plain text"), "{}", v.means);
    let v = judge(Profile::Stripe, 200, b"{\"obj", true, &[]).unwrap();
    assert_eq!(v.cause, Cause::UserInput, "our own max_body_bytes cut it");
}
