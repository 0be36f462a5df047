//! What the daemon says about each case, checked by name: every wrong case is reported
//! together, never only the first.

use std::time::Duration;

use payprobe::app::Daemon;

use super::Case;
use crate::support::{get, metric, wait_for};

/// What is wrong in each case's diagnosis (API, one-hot series, symptoms, hint), by name.
pub(super) async fn judged(d: &Daemon, cases: &[Case]) -> Vec<String> {
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
        let (_, body) = get(addr, &format!("/api/v1/targets/{}", c.name))
            .await
            .unwrap();
        let api: serde_json::Value = serde_json::from_str(&body).unwrap();
        wrong.extend(case_wrong(c, &api, &text));
    }
    wrong
}

/// What is wrong in one case: its API diagnosis, its one-hot series in `text`, its symptom
/// and its hint.
fn case_wrong(c: &Case, api: &serde_json::Value, text: &str) -> Vec<String> {
    let mut wrong = Vec::new();
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
        return wrong;
    }
    if metric(text, &series("payprobe_cause", "cause", c.cause)) != Some(1.0) {
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
        .filter_map(|k| metric(text, &series("payprobe_cause", "cause", k)))
        .sum();
    if ones != 1.0 {
        wrong.push(format!(
            "{}: payprobe_cause is not one-hot over seven series ({ones})",
            c.name
        ));
    }
    if metric(text, &series("payprobe_scope", "scope", c.scope)) != Some(1.0) {
        wrong.push(format!(
            "{}: payprobe_scope{{scope=\"{}\"}} is not 1",
            c.name, c.scope
        ));
    }
    if let Some(s) = c.symptom {
        if metric(text, &series("payprobe_symptom", "symptom", s)) != Some(1.0) {
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
    wrong
}

/// Every case judged as it says, all wrong ones reported together.
pub(super) async fn verify(d: &Daemon, cases: &[Case]) {
    let wrong = judged(d, cases).await;
    assert!(
        wrong.is_empty(),
        "{} wrong:\n{}",
        wrong.len(),
        wrong.join("\n")
    );
}

/// The version, chain and language figures of the table's daemon, each by name; returns
/// what is wrong.
pub(super) async fn figures(d: &Daemon) -> Vec<String> {
    let mut wrong = Vec::new();
    let mut expect = |name: &str, got: String, want: String| {
        if got != want {
            wrong.push(format!("{name}: got {got}, want {want}"));
        }
    };
    // The version a gateway speaks, its deprecation, and the chain heights, in /metrics.
    let text = get(d.addr, "/metrics").await.unwrap().1;
    let series = |family: &str, target: &str, extra: &str| {
        format!("{family}{{provider=\"{target}\",target=\"{target}\"{extra}}}")
    };
    for (name, family, target, extra, want) in [
        (
            "version info",
            "payprobe_api_version_info",
            "api-current",
            ",version=\"3.2.0\"",
            1.0,
        ),
        (
            "compatible",
            "payprobe_api_version_compatible",
            "api-current",
            "",
            1.0,
        ),
        (
            "incompatible",
            "payprobe_api_version_compatible",
            "api-too-old",
            "",
            0.0,
        ),
        (
            "sunset",
            "payprobe_api_sunset_timestamp_seconds",
            "api-current",
            "",
            4_102_444_800.0,
        ),
        (
            "laggard height",
            "payprobe_rpc_block_height",
            "eth-laggard",
            "",
            980.0,
        ),
        (
            "laggard lag",
            "payprobe_rpc_block_lag",
            "eth-laggard",
            "",
            21.0,
        ),
        ("leader lag", "payprobe_rpc_block_lag", "eth-b", "", 0.0),
        (
            "solana slot",
            "payprobe_rpc_block_height",
            "solana",
            "",
            280_000_123.0,
        ),
    ] {
        let m = series(family, target, extra);
        expect(
            name,
            format!("{:?}", metric(&text, &m)),
            format!("{:?}", Some(want)),
        );
    }
    let (_, body) = get(d.addr, "/api/v1/targets/api-current").await.unwrap();
    let v: serde_json::Value = serde_json::from_str(&body).unwrap_or_default();
    let warnings = v["diagnosis"]["warnings"].as_array().map_or(0, Vec::len);
    expect(
        "deprecated and sunsetting warnings",
        warnings.to_string(),
        "2".into(),
    );
    // The hint in Chinese on request, and an unknown language refused.
    let (status, body) = get(d.addr, "/api/v1/targets/s503-maint?lang=zh-CN")
        .await
        .unwrap();
    expect("zh-CN status", status.to_string(), "200".into());
    let zh = body.contains("切勿重复提交");
    expect("zh-CN hint", zh.to_string(), "true".into());
    let unknown = get(d.addr, "/api/v1/targets?lang=xx").await.unwrap().0;
    expect("unknown lang", unknown.to_string(), "400".into());
    wrong
}
