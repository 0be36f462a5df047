//! The table's rows about what answered: provider profiles, API versions, chain nodes and a
//! provider-wide outage.

use payprobe::demo::gateway::{Behavior, Gateway};

use super::{case, http, status, Case, Table};

pub(super) async fn profiles(t: &mut Table) {
    // Provider profiles read the body; their verdict beats the bare status.
    let profiled = [
        (
            "alipay-bad-sig",
            "alipay",
            200,
            r#"{"error_response":{"code":"40002","msg":"Invalid Arguments","sub_code":"isv.invalid-signature","sub_msg":"bad sign"},"sign":"x"}"#,
            "provider_security",
            "security",
            Some("auth_failure"),
            "signing key",
        ),
        (
            "alipay-down",
            "alipay",
            200,
            r#"{"alipay_trade_query_response":{"code":"20000","msg":"Service Currently Unavailable","sub_code":"isp.unknow-error"}}"#,
            "provider_server",
            "server",
            Some("payment_delay"),
            "never resubmit",
        ),
        (
            "alipay-no-trade",
            "alipay",
            200,
            r#"{"alipay_trade_query_response":{"code":"40004","msg":"Business Failed","sub_code":"ACQ.TRADE_NOT_EXIST"}}"#,
            "none",
            "none",
            None,
            "",
        ),
        (
            "wechat-param",
            "wechatpay_v3",
            400,
            r#"{"code":"PARAM_ERROR","message":"out_trade_no too long"}"#,
            "provider_user_input",
            "user_input",
            None,
            "request parameters",
        ),
        (
            "evm-old-method",
            "evm_jsonrpc",
            200,
            r#"{"jsonrpc":"2.0","id":1,"error":{"code":-32601,"message":"method not found"}}"#,
            "provider_api_version",
            "api_version",
            None,
            "Upgrade",
        ),
        (
            "stripe-html",
            "stripe",
            200,
            "<html>Sign in to the hotel Wi-Fi</html>",
            "provider_format",
            "server",
            None,
            "Wait and retry",
        ),
        (
            "solana-behind",
            "solana_jsonrpc",
            200,
            r#"{"jsonrpc":"2.0","error":{"code":-32005,"message":"Node is behind by 120 slots"},"id":1}"#,
            "provider_server",
            "server",
            Some("balance_anomaly"),
            "Wait and retry",
        ),
    ];
    for (name, profile, code, body, rule, cause, symptom, hint) in profiled {
        let g = Gateway::http(Behavior::ok(body).status(code))
            .await
            .unwrap();
        t.cases.push(case(
            name,
            format!("{}\nprofile = \"{profile}\"", http(g.port(), "/gateway.do")),
            rule,
            cause,
            symptom,
            hint,
        ));
        t.keep.push(Box::new(g));
    }
}

pub(super) async fn versions(t: &mut Table) {
    // The API version a gateway speaks (the api_version check).
    let versioned = [
        (
            "api-too-old",
            Behavior::ok("{}").header("x-api-version", "2.1"),
            "header = \"X-Api-Version\"\nrequire = \">=3.0, <4\"",
            "api_version_mismatch",
        ),
        (
            "api-sunset",
            Behavior::ok("{}").header("sunset", "Sat, 01 Nov 2025 00:00:00 GMT"),
            "",
            "api_sunset_passed",
        ),
        (
            "api-drift",
            Behavior::ok(r#"{"order":{"id":7}}"#),
            "required_fields = { \"/order/id\" = \"string\", \"/order/amount\" = \"number\" }",
            "api_schema_drift",
        ),
        (
            "api-silent",
            Behavior::ok("{}"),
            "header = \"X-Api-Version\"\nrequire = \"^3\"",
            "api_version_missing",
        ),
    ];
    for (name, b, keys, rule) in versioned {
        let g = Gateway::http(b).await.unwrap();
        t.cases.push(case(
            name,
            format!(
                "{}\nchecks = [\"api_version\"]\n[targets.api_version]\n{keys}",
                http(g.port(), "/v3/status")
            ),
            rule,
            "api_version",
            Some("transaction_failure"),
            "Upgrade",
        ));
        t.keep.push(Box::new(g));
    }
    let current = Gateway::http(
        Behavior::ok("{}")
            .header("x-api-version", "3.2.0")
            .header("deprecation", "@1735689600")
            .header("sunset", "Fri, 01 Jan 2100 00:00:00 GMT"),
    )
    .await
    .unwrap();
    t.cases.push(case(
        "api-current",
        format!("{}\nchecks = [\"api_version\"]\n[targets.api_version]\nheader = \"X-Api-Version\"\nrequire = \">=3.0, <4\"", http(current.port(), "/v3/status")),
        "none",
        "none",
        None,
        "",
    ));
    t.keep.push(Box::new(current));
}

pub(super) async fn chains(t: &mut Table) {
    // Chain nodes: the one trailing its peers serves stale balances; one is on another chain.
    let node = |height: &str, chain: &str| {
        Behavior::jsonrpc(&[
            ("eth_chainId", serde_json::json!(chain)),
            ("eth_blockNumber", serde_json::json!(height)),
        ])
    };
    for (name, height, chain, rule, cause, symptom, hint) in [
        ("eth-a", "0x3e8", "0x1", "none", "none", None, ""),
        ("eth-b", "0x3e9", "0x1", "none", "none", None, ""),
        (
            "eth-laggard",
            "0x3d4",
            "0x1",
            "rpc_behind",
            "server",
            Some("balance_anomaly"),
            "Wait and retry",
        ),
        (
            "eth-wrong-chain",
            "0x3e9",
            "0x5",
            "rpc_wrong_chain",
            "user_input",
            None,
            "request parameters",
        ),
    ] {
        let g = Gateway::http(node(height, chain)).await.unwrap();
        t.cases.push(case(
            name,
            format!("{}\nprofile = \"evm_jsonrpc\"\nchecks = [\"rpc\"]\n[targets.rpc]\nchain = \"ethereum\"\nchain_id = 1\nmax_block_lag = 5", http(g.port(), "/")),
            rule,
            cause,
            symptom,
            hint,
        ));
        t.keep.push(Box::new(g));
    }
    let sol = Gateway::http(Behavior::jsonrpc(&[(
        "getSlot",
        serde_json::json!(280_000_123u64),
    )]))
    .await
    .unwrap();
    t.cases.push(case(
        "solana",
        format!(
            "{}\nprofile = \"solana_jsonrpc\"\nchecks = [\"rpc\"]",
            http(sol.port(), "/")
        ),
        "none",
        "none",
        None,
        "",
    ));
    t.keep.push(Box::new(sol));
}

pub(super) async fn provider_wide(t: &mut Table) {
    // Two endpoints of one provider both failing: the provider, not the endpoint.
    let down_a = Gateway::http(status(502)).await.unwrap();
    let down_b = Gateway::http(status(502)).await.unwrap();
    for (name, g) in [("acme-eu", &down_a), ("acme-us", &down_b)] {
        t.cases.push(Case {
            name,
            provider: "acme",
            keys: http(g.port(), "/v1/pay"),
            rule: "status_5xx",
            cause: "server",
            scope: "provider",
            symptom: Some("transaction_failure"),
            hint: "status page",
        });
    }
    t.keep.push(Box::new((down_a, down_b)));
}
