//! From real faults on loopback servers to cause, scope, symptom and hint, in /metrics and
//! in the JSON API: one row per rule of the rules table that a loopback server can produce.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use payprobe::app::Daemon;
use payprobe::demo::gateway::{Behavior, Gateway};
use payprobe::demo::pki::{self, Ca, Validity};
use payprobe::probe::Probers;

use crate::support::{closed_port, full_backlog, get, metric, raw_server, silent_server, wait_for};

/// One broken (or healthy) endpoint and what payprobe must say about it.
struct Case {
    name: &'static str,
    provider: &'static str,
    /// `[[targets]]` keys after name/provider.
    keys: String,
    rule: &'static str,
    cause: &'static str,
    scope: &'static str,
    symptom: Option<&'static str>,
    hint: &'static str,
}

fn case(
    name: &'static str,
    keys: String,
    rule: &'static str,
    cause: &'static str,
    symptom: Option<&'static str>,
    hint: &'static str,
) -> Case {
    let scope = if cause == "none" { "none" } else { "endpoint" };
    Case {
        name,
        provider: name,
        keys,
        rule,
        cause,
        scope,
        symptom,
        hint,
    }
}

fn http(port: u16, path: &str) -> String {
    format!("url = \"http://127.0.0.1:{port}{path}\"")
}

async fn start(dir: &Path, targets: &str) -> Daemon {
    start_with(dir, targets, "1s").await
}

async fn start_with(dir: &Path, targets: &str, timeout: &str) -> Daemon {
    let src = format!(
        "[server]\nlisten = \"127.0.0.1:0\"\nstate_dir = \"state\"\n[defaults]\ninterval = \"3s\"\ntimeout = \"{timeout}\"\nfailure_threshold = 1\nsuccess_threshold = 1\nlatency_slo = \"300ms\"\n\n{targets}"
    );
    let plan = payprobe::config::parse(&dir.join("p.toml"), &src, dir)
        .unwrap_or_else(|e| panic!("{e}\n{src}"));
    Daemon::start(plan, None, Arc::new(Probers::system()))
        .await
        .unwrap()
}

async fn verify(d: &Daemon, cases: &[Case]) {
    let addr = d.addr;
    wait_for(30, "every target's first round", || async move {
        matches!(get(addr, "/readyz").await, Ok((200, _))).then_some(())
    })
    .await;
    // Some verdicts need a second round (a chain node is compared with peers that reported
    // after it): wait until every rule is as expected, then check everything once.
    let _ = tokio::time::timeout(Duration::from_secs(15), async {
        loop {
            let mut all = true;
            for c in cases {
                let body = get(addr, &format!("/api/v1/targets/{}", c.name))
                    .await
                    .map(|r| r.1)
                    .unwrap_or_default();
                let v: serde_json::Value = serde_json::from_str(&body).unwrap_or_default();
                all &= v["diagnosis"]["rule"] == c.rule && v["diagnosis"]["scope"] == c.scope;
            }
            if all {
                break;
            }
            tokio::time::sleep(Duration::from_millis(300)).await;
        }
    })
    .await;
    let text = get(addr, "/metrics").await.unwrap().1;
    let mut wrong = Vec::new();
    for c in cases {
        // Prometheus text output sorts labels by name.
        let series = |m: &str, label: &str, v: &str| {
            let mut l = [
                (label, v.to_string()),
                ("provider", c.provider.to_string()),
                ("target", c.name.to_string()),
            ];
            l.sort();
            let inner: Vec<String> = l.iter().map(|(k, v)| format!("{k}=\"{v}\"")).collect();
            format!("{m}{{{}}}", inner.join(","))
        };
        let (_, body) = get(addr, &format!("/api/v1/targets/{}", c.name))
            .await
            .unwrap();
        let api: serde_json::Value = serde_json::from_str(&body).unwrap();
        let dg = &api["diagnosis"];
        let got = (
            dg["rule"].as_str().unwrap_or("?"),
            dg["cause"].as_str().unwrap_or("?"),
            dg["scope"].as_str().unwrap_or("?"),
        );
        if got != (c.rule, c.cause, c.scope) {
            wrong.push(format!(
                "{}: API says {got:?}, want {:?}; evidence: {}",
                c.name,
                (c.rule, c.cause, c.scope),
                api["evidence"]
            ));
            continue;
        }
        if metric(&text, &series("payprobe_cause", "cause", c.cause)) != Some(1.0) {
            wrong.push(format!(
                "{}: payprobe_cause{{cause=\"{}\"}} is not 1",
                c.name, c.cause
            ));
        }
        let others = [
            "none",
            "network",
            "server",
            "api_version",
            "security",
            "user_input",
            "unknown",
        ];
        let ones: f64 = others
            .iter()
            .filter_map(|k| metric(&text, &series("payprobe_cause", "cause", k)))
            .sum();
        if ones != 1.0 {
            wrong.push(format!(
                "{}: payprobe_cause is not one-hot over seven series ({ones})",
                c.name
            ));
        }
        if metric(&text, &series("payprobe_scope", "scope", c.scope)) != Some(1.0) {
            wrong.push(format!(
                "{}: payprobe_scope{{scope=\"{}\"}} is not 1",
                c.name, c.scope
            ));
        }
        if let Some(s) = c.symptom {
            if metric(&text, &series("payprobe_symptom", "symptom", s)) != Some(1.0) {
                wrong.push(format!(
                    "{}: payprobe_symptom{{symptom=\"{s}\"}} is not 1",
                    c.name
                ));
            }
            if !dg["symptoms"].as_array().unwrap().iter().any(|v| v == s) {
                wrong.push(format!(
                    "{}: API symptoms {} lack {s}",
                    c.name, dg["symptoms"]
                ));
            }
        }
        let hint = dg["hint"].as_str().unwrap_or("");
        if !hint.contains(c.hint) {
            wrong.push(format!(
                "{}: hint {hint:?} does not contain {:?}",
                c.name, c.hint
            ));
        }
    }
    assert!(
        wrong.is_empty(),
        "{} wrong:\n{}",
        wrong.len(),
        wrong.join("\n")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_loopback_fault_gets_its_cause_scope_symptom_and_hint() {
    let dir = tempfile::tempdir().unwrap();
    let ca = Ca::new("diagnosis CA").unwrap();
    std::fs::write(dir.path().join("ca.pem"), ca.pem()).unwrap();
    let trusted = |v: Validity| ca.leaf(&["127.0.0.1"], v).unwrap();
    let mut keep = Vec::new();
    let mut cases = Vec::new();
    let status = |code: u16| Behavior::ok("{}").status(code);
    let statuses = [
        (
            "s503-maint",
            "/v1/pay",
            "status_503_retry_after",
            "server",
            Some("payment_delay"),
            "never resubmit",
            status(503).header("retry-after", "60"),
        ),
        (
            "s500",
            "/v1/pay",
            "status_5xx",
            "server",
            Some("transaction_failure"),
            "Wait and retry",
            status(500),
        ),
        (
            "s401",
            "/v1/pay",
            "status_401",
            "security",
            Some("auth_failure"),
            "re-login",
            status(401),
        ),
        (
            "s403",
            "/v1/pay",
            "status_403",
            "security",
            Some("auth_failure"),
            "signing key",
            status(403),
        ),
        (
            "s429",
            "/v1/pay",
            "status_429",
            "security",
            Some("payment_delay"),
            "rate limiting",
            status(429),
        ),
        (
            "s404-v",
            "/v2/pay",
            "status_404_versioned",
            "api_version",
            None,
            "Upgrade",
            status(404),
        ),
        (
            "s410-v",
            "/api/v1/pay",
            "status_410_versioned",
            "api_version",
            None,
            "Upgrade",
            status(410),
        ),
        (
            "s426",
            "/pay",
            "status_426",
            "api_version",
            None,
            "Upgrade",
            status(426),
        ),
        (
            "s406",
            "/pay",
            "status_406",
            "api_version",
            None,
            "Upgrade",
            status(406),
        ),
        (
            "s415",
            "/pay",
            "status_415",
            "api_version",
            None,
            "Upgrade",
            status(415),
        ),
        (
            "s400",
            "/v1/pay",
            "status_400",
            "user_input",
            Some("transaction_failure"),
            "request parameters",
            status(400),
        ),
        (
            "s422",
            "/v1/pay",
            "status_422",
            "user_input",
            None,
            "request parameters",
            status(422),
        ),
        (
            "s423",
            "/v1/pay",
            "status_423",
            "user_input",
            Some("auth_failure"),
            "account state",
            status(423),
        ),
        (
            "s404-plain",
            "/pay",
            "status_404",
            "user_input",
            None,
            "request parameters",
            status(404),
        ),
    ];
    for (name, path, rule, cause, symptom, hint, b) in statuses {
        let g = Gateway::http(b).await.unwrap();
        cases.push(case(name, http(g.port(), path), rule, cause, symptom, hint));
        keep.push(g);
    }

    let ok = Gateway::http(Behavior::ok("{}")).await.unwrap();
    cases.push(case(
        "healthy",
        http(ok.port(), "/v1/ping"),
        "none",
        "none",
        None,
        "",
    ));
    let slow = Gateway::http(Behavior::ok("{}").delay(Duration::from_millis(500)))
        .await
        .unwrap();
    cases.push(case(
        "slow-but-ok",
        http(slow.port(), "/v1/ping"),
        "none",
        "none",
        Some("payment_delay"),
        "",
    ));
    cases.push(case(
        "refused",
        http(closed_port(), "/v1/pay"),
        "connect_refused",
        "server",
        Some("transaction_failure"),
        "Wait and retry",
    ));
    let hang = Gateway::http(Behavior::ok("{}").delay(Duration::from_secs(30)))
        .await
        .unwrap();
    cases.push(case(
        "no-response",
        http(hang.port(), "/v1/pay"),
        "response_timeout",
        "server",
        Some("payment_delay"),
        "Wait and retry",
    ));
    let trickle = Gateway::http(Behavior::ok("{}").body_delay(Duration::from_secs(30)))
        .await
        .unwrap();
    cases.push(case(
        "stalled-body",
        http(trickle.port(), "/v1/pay"),
        "body_timeout",
        "server",
        Some("payment_delay"),
        "Wait and retry",
    ));
    let half = raw_server(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nhalf").await;
    cases.push(case(
        "hung-up",
        http(half, "/v1/pay"),
        "connection_closed",
        "server",
        None,
        "Wait and retry",
    ));
    let looping = Gateway::http(Behavior::ok("").status(302).header("location", "/again"))
        .await
        .unwrap();
    cases.push(case(
        "redirect-loop",
        format!(
            "{}\n[targets.http]\nfollow_redirects = true",
            http(looping.port(), "/")
        ),
        "too_many_redirects",
        "server",
        None,
        "Wait and retry",
    ));
    let bad_loc = Gateway::http(
        Behavior::ok("")
            .status(301)
            .header("location", "ftp://files.example/x"),
    )
    .await
    .unwrap();
    cases.push(case(
        "redirect-ftp",
        format!(
            "{}\n[targets.http]\nfollow_redirects = true",
            http(bad_loc.port(), "/")
        ),
        "bad_redirect",
        "server",
        None,
        "Wait and retry",
    ));
    let (_l, _fill, backlog) = full_backlog().await;
    cases.push(case(
        "blackhole",
        format!("url = \"http://{backlog}/v1/pay\""),
        "connect_timeout",
        "network",
        Some("network_interruption"),
        "network path",
    ));
    let (silent, _silent_task) = silent_server().await;
    cases.push(case(
        "tls-stall",
        format!("url = \"https://127.0.0.1:{silent}/\""),
        "tls_handshake_timeout",
        "network",
        Some("network_interruption"),
        "network path",
    ));

    let https =
        |port: u16| format!("url = \"https://127.0.0.1:{port}/v1/pay\"\nca_file = \"ca.pem\"");
    for (name, leaf, rule) in [
        (
            "cert-expired",
            trusted(Validity::Expired),
            "tls_cert_expired",
        ),
        (
            "cert-future",
            trusted(Validity::NotYetValid),
            "tls_cert_not_yet_valid",
        ),
        (
            "cert-self-signed",
            pki::self_signed(&["127.0.0.1"]).unwrap(),
            "tls_cert_self_signed",
        ),
        (
            "cert-unknown-ca",
            Ca::new("someone else's CA")
                .unwrap()
                .leaf(&["127.0.0.1"], Validity::Current)
                .unwrap(),
            "tls_cert_unknown_issuer",
        ),
        (
            "cert-wrong-name",
            ca.leaf(&["other.example"], Validity::Current).unwrap(),
            "tls_cert_name_mismatch",
        ),
        (
            "cert-client-only",
            ca.client_only_leaf(&["127.0.0.1"]).unwrap(),
            "tls_cert_invalid",
        ),
    ] {
        let g = Gateway::https(Behavior::ok("{}"), leaf).await.unwrap();
        cases.push(case(
            name,
            https(g.port()),
            rule,
            "security",
            Some("auth_failure"),
            "certificate",
        ));
        keep.push(g);
    }
    // Revoked by the operator's CRL file.
    std::fs::write(
        dir.path().join("revoked.crl.pem"),
        ca.crl_revoking(&[4242]).unwrap(),
    )
    .unwrap();
    let revoked = Gateway::https(
        Behavior::ok("{}"),
        ca.leaf_with_serial(&["127.0.0.1"], 4242).unwrap(),
    )
    .await
    .unwrap();
    cases.push(case(
        "cert-revoked",
        format!("{}\ncrl_file = \"revoked.crl.pem\"", https(revoked.port())),
        "tls_cert_revoked",
        "security",
        Some("auth_failure"),
        "certificate",
    ));
    keep.push(revoked);
    let old_tls = Gateway::https_with(
        Behavior::ok("{}"),
        trusted(Validity::Current),
        &[&rustls::version::TLS12],
    )
    .await
    .unwrap();
    cases.push(case(
        "tls12-only",
        format!("{}\nmin_tls_version = \"1.3\"", https(old_tls.port())),
        "tls_protocol_version",
        "api_version",
        None,
        "TLS settings",
    ));

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
        cases.push(case(
            name,
            format!("{}\nprofile = \"{profile}\"", http(g.port(), "/gateway.do")),
            rule,
            cause,
            symptom,
            hint,
        ));
        keep.push(g);
    }

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
        cases.push(case(
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
        keep.push(g);
    }
    let current = Gateway::http(
        Behavior::ok("{}")
            .header("x-api-version", "3.2.0")
            .header("deprecation", "@1735689600")
            .header("sunset", "Fri, 01 Jan 2100 00:00:00 GMT"),
    )
    .await
    .unwrap();
    cases.push(case(
        "api-current",
        format!("{}\nchecks = [\"api_version\"]\n[targets.api_version]\nheader = \"X-Api-Version\"\nrequire = \">=3.0, <4\"", http(current.port(), "/v3/status")),
        "none",
        "none",
        None,
        "",
    ));

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
        cases.push(case(
            name,
            format!("{}\nprofile = \"evm_jsonrpc\"\nchecks = [\"rpc\"]\n[targets.rpc]\nchain = \"ethereum\"\nchain_id = 1\nmax_block_lag = 5", http(g.port(), "/")),
            rule,
            cause,
            symptom,
            hint,
        ));
        keep.push(g);
    }
    let sol = Gateway::http(Behavior::jsonrpc(&[(
        "getSlot",
        serde_json::json!(280_000_123u64),
    )]))
    .await
    .unwrap();
    cases.push(case(
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

    // Two endpoints of one provider both failing: the provider, not the endpoint.
    let down_a = Gateway::http(status(502)).await.unwrap();
    let down_b = Gateway::http(status(502)).await.unwrap();
    for (name, g) in [("acme-eu", &down_a), ("acme-us", &down_b)] {
        cases.push(Case {
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

    let mut targets = String::new();
    for c in &cases {
        targets.push_str(&format!(
            "[[targets]]\nname = \"{}\"\nprovider = \"{}\"\n{}\n\n",
            c.name, c.provider, c.keys
        ));
    }
    targets.push_str(&format!(
        "[[controls]]\nname = \"ctl\"\nurl = \"tcp://127.0.0.1:{}\"\n",
        ok.port()
    ));
    let d = start(dir.path(), &targets).await;
    verify(&d, &cases).await;

    // The version a gateway speaks, and its deprecation, in metrics and the API.
    let text = get(d.addr, "/metrics").await.unwrap().1;
    let api = |m: &str| metric(&text, m);
    assert_eq!(api("payprobe_api_version_info{provider=\"api-current\",target=\"api-current\",version=\"3.2.0\"}"), Some(1.0));
    assert_eq!(
        api("payprobe_api_version_compatible{provider=\"api-current\",target=\"api-current\"}"),
        Some(1.0)
    );
    assert_eq!(
        api("payprobe_api_version_compatible{provider=\"api-too-old\",target=\"api-too-old\"}"),
        Some(0.0)
    );
    assert_eq!(api("payprobe_api_sunset_timestamp_seconds{provider=\"api-current\",target=\"api-current\"}"), Some(4_102_444_800.0));
    let (_, body) = get(d.addr, "/api/v1/targets/api-current").await.unwrap();
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    let warnings = v["diagnosis"]["warnings"].as_array().unwrap();
    assert_eq!(warnings.len(), 2, "deprecated and sunsetting: {v}");
    assert_eq!(
        api("payprobe_rpc_block_height{provider=\"eth-laggard\",target=\"eth-laggard\"}"),
        Some(980.0)
    );
    assert_eq!(
        api("payprobe_rpc_block_lag{provider=\"eth-laggard\",target=\"eth-laggard\"}"),
        Some(21.0)
    );
    assert_eq!(
        api("payprobe_rpc_block_lag{provider=\"eth-b\",target=\"eth-b\"}"),
        Some(0.0)
    );
    assert_eq!(
        api("payprobe_rpc_block_height{provider=\"solana\",target=\"solana\"}"),
        Some(280_000_123.0)
    );
    let (status, body) = get(d.addr, "/api/v1/targets/s503-maint?lang=zh-CN")
        .await
        .unwrap();
    assert_eq!(status, 200);
    assert!(body.contains("切勿重复提交"), "{body}");
    assert_eq!(get(d.addr, "/api/v1/targets?lang=xx").await.unwrap().0, 400);
    d.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_control_means_the_problem_is_here() {
    let dir = tempfile::tempdir().unwrap();
    let down = Gateway::http(Behavior::ok("{}").status(503)).await.unwrap();
    let targets = format!(
        "[[targets]]\nname = \"gw\"\nprovider = \"gw\"\n{}\n\n[[controls]]\nname = \"egress\"\nurl = \"tcp://127.0.0.1:{}\"\n",
        http(down.port(), "/v1/pay"),
        closed_port()
    );
    let d = start(dir.path(), &targets).await;
    // The target may be judged before the control's first round: wait for its next round.
    let addr = d.addr;
    wait_for(15, "local scope", || async move {
        let t = get(addr, "/metrics").await.ok()?.1;
        (metric(
            &t,
            "payprobe_scope{provider=\"gw\",scope=\"local\",target=\"gw\"}",
        ) == Some(1.0))
        .then_some(())
    })
    .await;
    let (_, body) = get(addr, "/api/v1/targets/egress").await.unwrap();
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["diagnosis"]["scope"], "local");
    d.stop();
}

/// The DNS rows, against Debian's dnsmasq (and a SERVFAIL server and a silent one).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dns_faults_get_their_cause_scope_symptom_and_hint() {
    use crate::support::{rcode_server, servfail_server, silent_dns, Dnsmasq};
    let dir = tempfile::tempdir().unwrap();
    let dm = Dnsmasq::start(&[
        "--address=/good.test/127.0.0.1",
        "--address=/nx.test/",
        "--local=/nodata.test/",
        "--txt-record=nodata.test,none",
    ])
    .await;
    let (sf, _sf_task) = servfail_server().await;
    let (silent, _silent_sock) = silent_dns().await;
    let (notimp, _notimp_task) = rcode_server(4).await;
    let gw = Gateway::http(Behavior::ok("{}")).await.unwrap();
    let via = |host: &str, server: std::net::SocketAddr, extra: &str| {
        format!("url = \"http://{host}:{}/v1/pay\"\nchecks = [\"dns\", \"http\"]\n[targets.dns]\nresolvers = [\"{server}\"]\n{extra}", gw.port())
    };
    let d = dm.addr;
    let cases = vec![
        case(
            "resolves",
            via("good.test", d, ""),
            "none",
            "none",
            None,
            "",
        ),
        case(
            "nxdomain",
            via("nx.test", d, ""),
            "dns_nxdomain",
            "network",
            Some("network_interruption"),
            "network path",
        ),
        case(
            "refused",
            via("elsewhere.example", d, ""),
            "dns_refused",
            "network",
            Some("network_interruption"),
            "network path",
        ),
        case(
            "nodata",
            via("nodata.test", d, ""),
            "dns_no_addresses",
            "network",
            Some("transaction_failure"),
            "network path",
        ),
        case(
            "servfail",
            via("pay.example", sf, ""),
            "dns_servfail",
            "network",
            Some("network_interruption"),
            "network path",
        ),
        case(
            "notimp",
            via("pay.example", notimp, ""),
            "dns_error",
            "network",
            Some("network_interruption"),
            "network path",
        ),
        case(
            "no-answer",
            via("pay.example", silent, ""),
            "dns_timeout",
            "network",
            Some("network_interruption"),
            "network path",
        ),
        case(
            "hijacked",
            via("good.test", d, "expect_addresses = [\"203.0.113.0/24\"]"),
            "dns_unexpected_address",
            "security",
            Some("auth_failure"),
            "interception",
        ),
    ];
    let mut targets = String::new();
    for c in &cases {
        targets.push_str(&format!(
            "[[targets]]\nname = \"{}\"\nprovider = \"{}\"\n{}\n\n",
            c.name, c.provider, c.keys
        ));
    }
    // A silent server costs the resolver its 2 s per-server budget: give the round room.
    let d = start_with(dir.path(), &targets, "2500ms").await;
    verify(&d, &cases).await;
    d.stop();
}
