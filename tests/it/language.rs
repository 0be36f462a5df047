//! One language end to end: with `[server] lang = "zh-CN"`, what a webhook receives, what a
//! chat robot shows and what the incidents list shows speak Chinese — the reason as well as
//! the hint (issue 21: the reason used to stay English while the hint was translated), and
//! the chat message's frame (`[FIRING]`, `reason:`, `key:` were English in every language).

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
[[alerts.sinks]]
name = "chat"
kind = "slack"
url = "http://{rx}/chat"
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

/// The first firing alert's annotations, the open incident's reason from the API, and the
/// chat sink's message.
async fn alert_and_incident(lang: &str) -> (serde_json::Value, String, String) {
    let dir = tempfile::tempdir().unwrap();
    let rx = Receiver::up().await;
    let gw = Gateway::http(broken()).await.unwrap();
    let d = daemon(dir.path(), &config(dir.path(), lang, gw.port(), rx.addr)).await;
    let got = &rx;
    let at = |path: &'static str| {
        wait_for(20, path, move || async move {
            let g = got.got().into_iter().find(|g| g.path.starts_with(path));
            g.map(|g| g.body)
        })
    };
    let body = at("/hook").await;
    let chat = at("/chat").await["text"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let addr = d.addr;
    let reason = wait_for(10, "the open incident", || async move {
        let (_, text) = get(addr, "/api/v1/incidents").await.ok()?;
        let v: serde_json::Value = serde_json::from_str(&text).ok()?;
        v["incidents"][0]["reason"].as_str().map(str::to_string)
    })
    .await;
    tokio::time::sleep(Duration::from_millis(50)).await;
    d.stop();
    (body["alerts"][0]["annotations"].clone(), reason, chat)
}

#[tokio::test]
async fn a_chinese_config_pages_and_records_in_chinese() {
    let (ann, reason, chat) = alert_and_incident("zh-CN").await;
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
    // The chat message's frame too; the labels line stays as receivers match it.
    for line in [
        "*[告警]",
        "原因：",
        "处理建议：",
        "幂等键：",
        "cause=server",
    ] {
        assert!(chat.contains(line), "{line:?} in {chat}");
    }
    assert!(
        !chat.contains("reason:") && !chat.contains("key:"),
        "{chat}"
    );
}

#[tokio::test]
async fn an_english_config_pages_in_english() {
    let (ann, reason, chat) = alert_and_incident("en").await;
    for text in [
        ann["reason"].as_str().unwrap_or_default(),
        ann["hint"].as_str().unwrap_or_default(),
        &reason,
    ] {
        assert!(!text.is_empty() && !chinese(text), "{ann} / {reason}");
    }
    assert!(reason.contains("http check"), "{reason}");
    for line in ["*[FIRING]", "\nreason: http check", "\nhint: ", "\nkey: "] {
        assert!(chat.contains(line), "{line:?} in {chat}");
    }
    assert!(!chinese(&chat), "{chat}");
}
