//! One language end to end: with `[server] lang = "zh-CN"`, what a webhook receives and what
//! the incidents list shows speak Chinese — the reason as well as the hint (issue 21: the
//! reason used to stay English while the hint was translated).

use std::time::Duration;

use payprobe::demo::gateway::Gateway;

use crate::alerts::{broken, daemon, Receiver};
use crate::support::{get, wait_for};

/// Chinese text: at least one CJK character, not a sentence left in English.
fn chinese(s: &str) -> bool {
    s.chars().any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c))
}

fn config(dir: &std::path::Path, lang: &str, gw: u16, rx: std::net::SocketAddr) -> String {
    std::fs::write(dir.join("hook.secret"), "language-test-secret\n").unwrap();
    format!(
        r#"[server]
listen = "127.0.0.1:0"
state_dir = "{state}"
lang = "{lang}"
[alerts]
group_wait = "300ms"
[[alerts.sinks]]
name = "hook"
kind = "webhook"
url = "http://{rx}/hook"
secret_file = "hook.secret"
[[targets]]
name = "pay"
provider = "acme"
url = "http://127.0.0.1:{gw}/v3/pay/transactions/out-trade-no/1"
interval = "300ms"
timeout = "200ms"
failure_threshold = 2
"#,
        state = dir.join("state").display()
    )
}

/// The first firing alert's annotations, and the open incident's reason from the API.
async fn alert_and_incident(lang: &str) -> (serde_json::Value, String) {
    let dir = tempfile::tempdir().unwrap();
    let rx = Receiver::up().await;
    let gw = Gateway::http(broken()).await.unwrap();
    let d = daemon(dir.path(), &config(dir.path(), lang, gw.port(), rx.addr)).await;
    let got = &rx;
    let body = wait_for(20, "the firing notification", || async move {
        got.got().first().map(|g| g.body.clone())
    })
    .await;
    let addr = d.addr;
    let reason = wait_for(10, "the open incident", || async move {
        let (_, text) = get(addr, "/api/v1/incidents").await.ok()?;
        let v: serde_json::Value = serde_json::from_str(&text).ok()?;
        v["incidents"][0]["reason"].as_str().map(str::to_string)
    })
    .await;
    tokio::time::sleep(Duration::from_millis(50)).await;
    d.stop();
    (body["alerts"][0]["annotations"].clone(), reason)
}

#[tokio::test]
async fn a_chinese_config_pages_and_records_in_chinese() {
    let (ann, reason) = alert_and_incident("zh-CN").await;
    let said = ann["reason"].as_str().unwrap_or_default();
    assert!(chinese(said), "the alert's reason is Chinese: {ann}");
    assert!(
        said.contains("503"),
        "the evidence detail stays verbatim: {said}"
    );
    assert!(chinese(ann["hint"].as_str().unwrap_or_default()), "{ann}");
    assert!(
        chinese(ann["summary"].as_str().unwrap_or_default()),
        "{ann}"
    );
    assert!(
        chinese(&reason),
        "the incident's reason is Chinese: {reason}"
    );
}

#[tokio::test]
async fn an_english_config_pages_in_english() {
    let (ann, reason) = alert_and_incident("en").await;
    for text in [
        ann["reason"].as_str().unwrap_or_default(),
        ann["hint"].as_str().unwrap_or_default(),
        &reason,
    ] {
        assert!(!text.is_empty() && !chinese(text), "{ann} / {reason}");
    }
    assert!(reason.contains("http check"), "{reason}");
}
