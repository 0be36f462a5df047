//! `[[notifications]]` channels (issue 23): the report endpoint pushed with and without its
//! token, late, duplicated, malformed and oversized; silence paging and recovering through
//! a webhook receiver; scope from the provider's own probes. The rules shown end to end:
//! "notification_late", "notification_missing".

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};

use payprobe::app::Daemon;
use payprobe::demo::gateway::{Behavior, Gateway};

use crate::alerts::Receiver;
use crate::support::{get, metric, wait_for};

const TOKEN: &str = "0123456789abcdef0123456789abcdef";

/// One HTTP/1.1 request with a body; returns (status, body).
async fn send(
    addr: SocketAddr,
    method: &str,
    path: &str,
    head: &str,
    body: &[u8],
) -> (u16, String) {
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    let req = format!("{method} {path} HTTP/1.1\r\nHost: t\r\nConnection: close\r\n{head}\r\n");
    s.write_all(req.as_bytes()).await.unwrap();
    let _ = s.write_all(body).await;
    let mut buf = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(10), s.read_to_end(&mut buf)).await;
    let text = String::from_utf8_lossy(&buf).into_owned();
    let status = text
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let body = text
        .split_once("\r\n\r\n")
        .map(|x| x.1.to_string())
        .unwrap_or_default();
    (status, body)
}

async fn report(addr: SocketAddr, channel: &str, token: Option<&str>, json: &str) -> (u16, String) {
    let auth = token
        .map(|t| format!("Authorization: Bearer {t}\r\n"))
        .unwrap_or_default();
    let head = format!(
        "{auth}Content-Type: application/json\r\nContent-Length: {}\r\n",
        json.len()
    );
    send(
        addr,
        "POST",
        &format!("/api/v1/notifications/{channel}"),
        &head,
        json.as_bytes(),
    )
    .await
}

/// RFC 3339 for `ago` seconds before now.
fn ago(secs: i64) -> String {
    let now = payprobe::timefmt::unix_secs(std::time::SystemTime::now());
    payprobe::timefmt::rfc3339_secs(now - secs)
}

async fn daemon(dir: &Path, body: &str) -> Daemon {
    std::fs::write(dir.join("token"), format!("{TOKEN}\n")).unwrap();
    let src = format!(
        "[server]\nlisten = \"127.0.0.1:0\"\nstate_dir = \"state\"\n[defaults]\ninterval = \"1s\"\ntimeout = \"500ms\"\nfailure_threshold = 1\nsuccess_threshold = 1\n{body}"
    );
    crate::alerts::daemon(dir, &src).await
}

async fn diagnosis(d: &Daemon, name: &str) -> serde_json::Value {
    let (_, body) = get(d.addr, &format!("/api/v1/targets/{name}"))
        .await
        .unwrap();
    serde_json::from_str::<serde_json::Value>(&body).unwrap_or_default()["diagnosis"].clone()
}

/// Waits (bounded) until the channel's rule is `rule`.
async fn wait_rule(d: &Daemon, name: &str, rule: &str) -> serde_json::Value {
    for _ in 0..100 {
        let v = diagnosis(d, name).await;
        if v["rule"] == rule {
            return v;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    panic!("{name} never got rule {rule}: {}", diagnosis(d, name).await);
}

#[tokio::test]
async fn reports_are_authenticated_validated_bounded_and_idempotent() {
    let dir = tempfile::tempdir().unwrap();
    let gw = Gateway::http(Behavior::ok("{}")).await.unwrap();
    let d = daemon(
        dir.path(),
        &format!(
            "[[targets]]\nname = \"alipay-api\"\nprovider = \"alipay\"\nurl = \"http://127.0.0.1:{}/\"\n\
[[notifications]]\nname = \"alipay-notify\"\nprovider = \"alipay\"\ntoken_file = \"token\"\nmax_delay = \"1m\"\n",
            gw.port()
        ),
    )
    .await;
    let a = d.addr;
    let ok = format!(r#"{{"id":"T1","paid_at":"{}"}}"#, ago(5));
    // Without the token, with another one, with a shorter one: 401.
    for token in [
        None,
        Some("0123456789abcdef0123456789abcdeX"),
        Some("short"),
    ] {
        let (st, _) = report(a, "alipay-notify", token, &ok).await;
        assert_eq!(st, 401, "{token:?}");
    }
    let (st, _) = report(a, "nope", Some(TOKEN), &ok).await;
    assert_eq!(st, 404);
    let (st, _) = send(a, "GET", "/api/v1/notifications/alipay-notify", "", b"").await;
    assert_eq!(st, 405);
    // On time: accepted with its delay.
    let (st, body) = report(a, "alipay-notify", Some(TOKEN), &ok).await;
    assert_eq!(st, 200, "{body}");
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(
        (v["duplicate"].as_bool(), v["late"].as_bool()),
        (Some(false), Some(false))
    );
    assert!(v["delay_seconds"].as_f64().unwrap() >= 4.0, "{v}");
    // The same id again: a duplicate, not counted.
    let (st, body) = report(a, "alipay-notify", Some(TOKEN), &ok).await;
    assert_eq!(
        (st, body.contains("\"duplicate\":true")),
        (200, true),
        "{body}"
    );
    // Malformed bodies: 400 saying what is wrong.
    for (json, says) in [
        ("not json", "expected"),
        (r#"{"id":"T2"}"#, "missing field `paid_at`"),
        (r#"{"id":"T2","paid_at":"yesterday"}"#, "`paid_at`"),
        (
            r#"{"id":"T2","paid_at":"2026-01-02T03:04:05Z","received_at":"2026-13-01T00:00:00Z"}"#,
            "`received_at`",
        ),
        (r#"{"id":"","paid_at":"2026-01-02T03:04:05Z"}"#, "`id`"),
        (
            r#"{"id":"T2","paid_at":"2026-01-02T03:04:05Z","amount":1}"#,
            "unknown field",
        ),
    ] {
        let (st, body) = report(a, "alipay-notify", Some(TOKEN), json).await;
        assert_eq!(st, 400, "{json}: {body}");
        assert!(body.contains(says), "{json}: {body}");
    }
    // Oversized: announced, and streamed without a length.
    let big = format!(r#"{{"id":"{}","paid_at":"{}"}}"#, "x".repeat(8000), ago(1));
    let (st, _) = report(a, "alipay-notify", Some(TOKEN), &big).await;
    assert_eq!(st, 413);
    let chunk = format!("{:x}\r\n{big}\r\n0\r\n\r\n", big.len());
    let head = format!("Authorization: Bearer {TOKEN}\r\nTransfer-Encoding: chunked\r\n");
    let (st, _) = send(
        a,
        "POST",
        "/api/v1/notifications/alipay-notify",
        &head,
        chunk.as_bytes(),
    )
    .await;
    assert_eq!(st, 413);
    // Late: paid 10 minutes before it was received, max_delay 1m.
    let late = format!(
        r#"{{"id":"T3","paid_at":"{}","received_at":"{}"}}"#,
        ago(600),
        ago(0)
    );
    let (st, body) = report(a, "alipay-notify", Some(TOKEN), &late).await;
    assert_eq!((st, body.contains("\"late\":true")), (200, true), "{body}");
    let v = wait_rule(&d, "alipay-notify", "notification_late").await;
    assert_eq!(
        (v["cause"].as_str(), v["scope"].as_str()),
        (Some("server"), Some("endpoint")),
        "{v}"
    );
    assert!(
        v["symptoms"]
            .as_array()
            .unwrap()
            .iter()
            .any(|s| s == "payment_delay"),
        "{v}"
    );
    let text = get(a, "/metrics").await.unwrap().1;
    let l = r#"{channel="alipay-notify",provider="alipay"}"#;
    assert_eq!(
        metric(
            &text,
            &format!("payprobe_notification_delay_seconds_count{l}")
        ),
        Some(2.0)
    );
    assert_eq!(
        metric(&text, &format!("payprobe_notifications_received_total{l}")),
        Some(2.0)
    );
    assert_eq!(
        metric(&text, &format!("payprobe_notifications_late_total{l}")),
        Some(1.0)
    );
    assert!(
        metric(
            &text,
            &format!("payprobe_notification_last_received_timestamp_seconds{l}")
        )
        .unwrap()
            > 1.7e9
    );
    assert!(!text.contains(TOKEN));
    // An on-time notification after it: healthy again.
    let on_time = format!(r#"{{"id":"T4","paid_at":"{}"}}"#, ago(2));
    assert_eq!(
        report(a, "alipay-notify", Some(TOKEN), &on_time).await.0,
        200
    );
    wait_rule(&d, "alipay-notify", "none").await;
    // The page shows the channel in its provider's section.
    let page = get(a, "/?provider=alipay").await.unwrap().1;
    assert!(
        page.contains("alipay-notify") && page.contains("alipay-api"),
        "{page}"
    );
    d.stop();
}

/// Silence pages through the same incidents and alerts as a target, with its scope from the
/// provider's own probes, and a notification resolves it.
#[tokio::test]
async fn silence_pages_and_a_notification_resolves_it() {
    let dir = tempfile::tempdir().unwrap();
    let rx = Receiver::up().await;
    let fine = Gateway::http(Behavior::ok("{}")).await.unwrap();
    let broken = Gateway::http(Behavior::ok("{}").status(503)).await.unwrap();
    let d = daemon(
        dir.path(),
        &format!(
            "[alerts]\ngroup_wait = \"300ms\"\n[[alerts.sinks]]\nname = \"hook\"\nkind = \"webhook\"\nurl = \"http://{}/hook\"\n\
[[targets]]\nname = \"alipay-api\"\nprovider = \"alipay\"\nurl = \"http://127.0.0.1:{}/\"\n\
[[targets]]\nname = \"wechat-api\"\nprovider = \"wechat\"\nurl = \"http://127.0.0.1:{}/\"\n\
[[notifications]]\nname = \"alipay-notify\"\nprovider = \"alipay\"\ntoken_file = \"token\"\nmax_silence = \"6s\"\n\
[[notifications]]\nname = \"wechat-notify\"\nprovider = \"wechat\"\ntoken_file = \"token\"\nmax_silence = \"6s\"\n",
            rx.addr,
            fine.port(),
            broken.port()
        ),
    )
    .await;
    // The API answers but nothing is notified: the asynchronous path alone.
    let v = wait_rule(&d, "alipay-notify", "notification_missing").await;
    assert_eq!(
        (v["cause"].as_str(), v["scope"].as_str()),
        (Some("server"), Some("endpoint")),
        "{v}"
    );
    // The provider's API fails too: the provider.
    let mut scope = serde_json::Value::Null;
    for _ in 0..100 {
        scope = diagnosis(&d, "wechat-notify").await["scope"].clone();
        if scope == "provider" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(scope, "provider");
    let got = &rx;
    let firing = wait_for(30, "the silence alert", || async move {
        got.got().into_iter().find(|g| {
            g.body["status"] == "firing"
                && g.body["alerts"]
                    .as_array()
                    .is_some_and(|a| a.iter().any(|x| x["labels"]["target"] == "alipay-notify"))
        })
    })
    .await;
    let alert = firing.body["alerts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["labels"]["target"] == "alipay-notify")
        .unwrap()
        .clone();
    assert_eq!(alert["labels"]["cause"], "server", "{alert}");
    let missing = metric(
        &get(d.addr, "/metrics").await.unwrap().1,
        r#"payprobe_notifications_missing_total{channel="alipay-notify",provider="alipay"}"#,
    );
    assert_eq!(missing, Some(1.0));
    // A notification arrives: the channel recovers and the alert resolves.
    let now = format!(r#"{{"id":"N1","paid_at":"{}"}}"#, ago(1));
    assert_eq!(
        report(d.addr, "alipay-notify", Some(TOKEN), &now).await.0,
        200
    );
    wait_for(30, "the resolved alert", || async move {
        got.got().into_iter().find(|g| {
            g.body["status"] == "resolved"
                && g.body["alerts"]
                    .as_array()
                    .is_some_and(|a| a.iter().any(|x| x["labels"]["target"] == "alipay-notify"))
        })
    })
    .await;
    d.stop();
}

/// A reload keeps what a channel received: a late notification stays late, its count stays.
#[tokio::test]
async fn a_reload_keeps_the_channels_state() {
    let dir = tempfile::tempdir().unwrap();
    let gw = Gateway::http(Behavior::ok("{}")).await.unwrap();
    let body = format!(
        "[[targets]]\nname = \"api\"\nprovider = \"stripe\"\nurl = \"http://127.0.0.1:{}/\"\n\
[[notifications]]\nname = \"stripe-webhooks\"\nprovider = \"stripe\"\ntoken_file = \"token\"\nmax_delay = \"30s\"\n",
        gw.port()
    );
    let mut d = daemon(dir.path(), &body).await;
    let late = format!(r#"{{"id":"evt_1","paid_at":"{}"}}"#, ago(120));
    assert_eq!(
        report(d.addr, "stripe-webhooks", Some(TOKEN), &late)
            .await
            .0,
        200
    );
    wait_rule(&d, "stripe-webhooks", "notification_late").await;
    // The same file, written where the daemon reads it, with a longer interval elsewhere.
    std::fs::write(
        dir.path().join("p.toml"),
        format!(
            "[server]\nlisten = \"127.0.0.1:0\"\nstate_dir = \"state\"\n[defaults]\ninterval = \"2s\"\ntimeout = \"500ms\"\nfailure_threshold = 1\nsuccess_threshold = 1\n{body}"
        ),
    )
    .unwrap();
    d.reload().unwrap();
    // A duplicate after the reload is still known, and the channel is still late.
    let (_, again) = report(d.addr, "stripe-webhooks", Some(TOKEN), &late).await;
    assert!(again.contains("\"duplicate\":true"), "{again}");
    tokio::time::sleep(Duration::from_secs(6)).await; // a round of the reloaded plan
    assert_eq!(
        diagnosis(&d, "stripe-webhooks").await["rule"],
        "notification_late"
    );
    d.stop();
}

/// Reports are rate-limited over all channels, before the token is even looked at: a flood
/// of reports gets 429 with a Retry-After, and the listener keeps serving.
#[tokio::test]
async fn a_flood_of_reports_is_rate_limited() {
    let dir = tempfile::tempdir().unwrap();
    let gw = Gateway::http(Behavior::ok("{}")).await.unwrap();
    let d = daemon(
        dir.path(),
        &format!(
            "[[targets]]\nname = \"api\"\nprovider = \"p\"\nurl = \"http://127.0.0.1:{}/\"\n\
[[notifications]]\nname = \"n\"\nprovider = \"p\"\ntoken_file = \"token\"\n",
            gw.port()
        ),
    )
    .await;
    // The burst is 1,000, refilled at 200 a second: 32 clients at once spend it whatever
    // this machine's speed (bounded at 6,000 reports in all).
    let sent = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let found: Arc<std::sync::Mutex<Option<(usize, String)>>> = Arc::default();
    let mut clients = tokio::task::JoinSet::new();
    for _ in 0..32 {
        let (sent, found, addr) = (sent.clone(), found.clone(), d.addr);
        clients.spawn(async move {
            use std::sync::atomic::Ordering::SeqCst;
            while found.lock().unwrap().is_none() && sent.fetch_add(1, SeqCst) < 6000 {
                let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
                s.write_all(b"POST /api/v1/notifications/n HTTP/1.1\r\nHost: t\r\nConnection: close\r\nContent-Length: 0\r\n\r\n")
                    .await
                    .unwrap();
                let mut buf = Vec::new();
                let _ = tokio::time::timeout(Duration::from_secs(5), s.read_to_end(&mut buf)).await;
                let text = String::from_utf8_lossy(&buf).into_owned();
                if text.starts_with("HTTP/1.1 429") {
                    *found.lock().unwrap() = Some((sent.load(SeqCst), text));
                } else {
                    assert!(text.starts_with("HTTP/1.1 401"), "{text}");
                }
            }
        });
    }
    while let Some(r) = clients.join_next().await {
        r.unwrap();
    }
    let (after, text) = found
        .lock()
        .unwrap()
        .clone()
        .expect("a 429 within 6,000 reports");
    assert!(after >= 1000, "not before the burst was spent ({after})");
    assert!(
        text.to_ascii_lowercase().contains("retry-after: "),
        "{text}"
    );
    assert_eq!(get(d.addr, "/healthz").await.unwrap().0, 200);
    d.stop();
}
