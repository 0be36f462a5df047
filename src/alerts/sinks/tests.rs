//! Bodies against the documented shapes, signatures against known answers computed
//! independently with Python's `hmac` module (the commands are in each test).

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::Value;

use super::*;
use crate::config::Secret;
use crate::lang::Lang;

fn note(event: Event) -> Notification {
    let mut labels = BTreeMap::new();
    for (k, v) in [
        ("alertname", "PaymentEndpointFailing"),
        ("target", "alipay-query"),
        ("provider", "alipay"),
        ("cause", "server"),
        ("scope", "endpoint"),
        ("severity", "critical"),
        ("vantage", "sh-1"),
    ] {
        labels.insert(k.to_string(), v.to_string());
    }
    let mut annotations = BTreeMap::new();
    annotations.insert(
        "summary".into(),
        "alipay-query (alipay) is failing: server".into(),
    );
    annotations.insert("payment_rule".into(), "Never resubmit a payment before the first one's status is confirmed: query the order first.".into());
    Notification {
        key: "abcd-firing-1".into(),
        fingerprint: "abcd".into(),
        event,
        labels,
        previous_labels: None,
        annotations,
        starts_ms: 1_700_000_000_000,
        ends_ms: (event == Event::Resolved).then_some(1_700_000_090_000),
        generator_url: "http://127.0.0.1:9464/api/v1/targets/alipay-query".into(),
        created_ms: 1_700_000_000_000,
        group_key: "{}:{alertname=\"PaymentEndpointFailing\"}".into(),
        lang: Lang::En,
    }
}

fn sink(kind: SinkKind, url: &str, secret: Option<&str>) -> SinkSpec {
    SinkSpec {
        name: "s".into(),
        kind,
        url: Secret(url::Url::parse(url).unwrap()),
        secret: secret.map(|s| Secret(s.as_bytes().to_vec())),
        timeout: Duration::from_secs(1),
        maintenance_notifications: false,
    }
}

fn at(ms: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_millis(ms)
}

fn body(r: &Rendered) -> Value {
    serde_json::from_slice(&r.body).unwrap()
}

#[test]
fn dingtalk_sign_matches_the_documented_algorithm() {
    // python3: base64.b64encode(hmac.new(secret, f"{ts}\n{secret}", sha256).digest()),
    // then urllib.parse.quote_plus, as DingTalk's own Python sample does.
    let secret = "SEC000000000000000000000000000000000000000000000000000000000000000";
    assert_eq!(
        dingtalk_sign(1_700_000_000_000, secret.as_bytes()),
        "mphPIqgjGbRzHPELpWQPiram3BEkrp9g5J866J8sMcg="
    );
    let s = sink(
        SinkKind::DingTalk,
        "https://oapi.dingtalk.com/robot/send?access_token=tok",
        Some(secret),
    );
    let r = render(
        &s,
        &note(Event::Firing),
        at(1_700_000_000_000),
        Duration::from_secs(60),
        "",
    );
    assert_eq!(r.url.query(), Some("access_token=tok&timestamp=1700000000000&sign=mphPIqgjGbRzHPELpWQPiram3BEkrp9g5J866J8sMcg%3D"));
    let b = body(&r);
    assert_eq!(b["msgtype"], "markdown");
    assert!(b["markdown"]["title"]
        .as_str()
        .unwrap()
        .starts_with("[FIRING]"));
    assert!(b["markdown"]["text"]
        .as_str()
        .unwrap()
        .contains("Never resubmit a payment"));
}

#[test]
fn feishu_sign_matches_the_documented_algorithm() {
    // python3: base64.b64encode(hmac.new(f"{ts}\n{secret}".encode(), b"", sha256).digest())
    assert_eq!(
        feishu_sign(1_700_000_000, b"demo-feishu-secret"),
        "V3Wp8znUoP+7XezI+6p/Lp2Uyk2BLceZJJbP1KE87hk="
    );
    let s = sink(
        SinkKind::Feishu,
        "https://open.feishu.cn/open-apis/bot/v2/hook/tok",
        Some("demo-feishu-secret"),
    );
    let b = body(&render(
        &s,
        &note(Event::Firing),
        at(1_700_000_000_123),
        Duration::from_secs(60),
        "",
    ));
    assert_eq!(b["timestamp"], "1700000000");
    assert_eq!(b["sign"], "V3Wp8znUoP+7XezI+6p/Lp2Uyk2BLceZJJbP1KE87hk=");
    assert_eq!(b["msg_type"], "text");
    assert!(b["content"]["text"]
        .as_str()
        .unwrap()
        .contains("alipay-query"));
}

#[test]
fn webhook_signature_is_hmac_of_timestamp_dot_body() {
    // python3: hmac.new(b"hook-secret", b'1700000000.{"a":1}', sha256).hexdigest()
    assert_eq!(
        webhook_signature(1_700_000_000, br#"{"a":1}"#, b"hook-secret"),
        "t=1700000000,v1=2ca9484d0c409cd2998fd115eb688d50af3c4591f30a5124d6262b43877ed809"
    );
}

#[test]
fn webhook_body_is_alertmanager_version_4() {
    let s = sink(SinkKind::Webhook, "http://127.0.0.1:1/hook", Some("k"));
    let r = render(
        &s,
        &note(Event::Resolved),
        at(1_700_000_100_000),
        Duration::from_secs(60),
        "http://pp:9464",
    );
    let b = body(&r);
    for k in [
        "version",
        "groupKey",
        "truncatedAlerts",
        "status",
        "receiver",
        "groupLabels",
        "commonLabels",
        "commonAnnotations",
        "externalURL",
        "alerts",
    ] {
        assert!(b.get(k).is_some(), "missing {k}: {b}");
    }
    assert_eq!(b["version"], "4");
    assert_eq!(b["status"], "resolved");
    let a = &b["alerts"][0];
    for k in [
        "status",
        "labels",
        "annotations",
        "startsAt",
        "endsAt",
        "generatorURL",
        "fingerprint",
    ] {
        assert!(a.get(k).is_some(), "alert misses {k}: {a}");
    }
    assert_eq!(a["startsAt"], "2023-11-14T22:13:20.000Z");
    assert_eq!(a["endsAt"], "2023-11-14T22:14:50.000Z");
    assert!(r
        .headers
        .iter()
        .any(|(k, v)| k == "Idempotency-Key" && v == "abcd-firing-1"));
    assert!(r
        .headers
        .iter()
        .any(|(k, v)| k == "X-Payprobe-Signature" && v.starts_with("t=1700000100,v1=")));
    let firing = body(&render(
        &s,
        &note(Event::Firing),
        at(1_700_000_100_000),
        Duration::from_secs(60),
        "",
    ));
    assert_eq!(firing["alerts"][0]["endsAt"], "0001-01-01T00:00:00Z");
}

#[test]
fn alertmanager_gets_postable_alerts_with_ends_at_ahead_while_firing() {
    let s = sink(SinkKind::Alertmanager, "http://127.0.0.1:9093", None);
    let now = 1_700_000_000_000;
    let r = render(
        &s,
        &note(Event::Firing),
        at(now),
        Duration::from_secs(60),
        "",
    );
    assert_eq!(r.url.path(), "/api/v2/alerts");
    let b = body(&r);
    assert_eq!(b[0]["labels"]["alertname"], "PaymentEndpointFailing");
    assert_eq!(
        b[0]["endsAt"], "2023-11-14T22:18:20.000Z",
        "max(4 × resend, 5 min) ahead"
    );
    let mut changed = note(Event::Changed);
    let mut old = changed.labels.clone();
    old.insert("cause".into(), "network".into());
    changed.previous_labels = Some(old);
    let b = body(&render(&s, &changed, at(now), Duration::from_secs(60), ""));
    assert_eq!(b[0]["labels"]["cause"], "network");
    assert_eq!(
        b[0]["endsAt"], "2023-11-14T22:13:20.000Z",
        "the old cause ends now"
    );
    assert_eq!(b[1]["labels"]["cause"], "server");
}

#[test]
fn slack_and_wecom_bodies() {
    let slack = body(&render(
        &sink(
            SinkKind::Slack,
            "https://hooks.slack.com/services/T/B/X",
            None,
        ),
        &note(Event::Firing),
        at(0),
        Duration::from_secs(60),
        "",
    ));
    assert!(slack["text"].as_str().unwrap().starts_with("*[FIRING]"));
    let wecom = body(&render(
        &sink(
            SinkKind::WeCom,
            "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=k",
            None,
        ),
        &note(Event::Resolved),
        at(0),
        Duration::from_secs(60),
        "",
    ));
    assert_eq!(wecom["msgtype"], "markdown");
    let text = wecom["markdown"]["content"].as_str().unwrap();
    assert!(
        text.contains("[RESOLVED]") && text.contains("duration: 1m 30s"),
        "{text}"
    );
}

/// With `[server] lang = "zh-CN"` a chat message is framed in Chinese (its annotations were
/// written in Chinese by the engine); the labels line stays as receivers match it.
#[test]
fn a_chinese_notification_is_framed_in_chinese() {
    let mut n = note(Event::Resolved);
    n.lang = Lang::ZhCn;
    n.annotations.insert("reason".into(), "HTTP 检查……".into());
    n.annotations
        .insert("endpoints".into(), "a, b（另有 3 个）".into());
    // The robot's URL does not change its message.
    for (kind, field) in [
        (SinkKind::DingTalk, "/markdown/text"),
        (SinkKind::DingTalk, "/markdown/title"),
        (SinkKind::Feishu, "/content/text"),
        (SinkKind::Slack, "/text"),
        (SinkKind::WeCom, "/markdown/content"),
    ] {
        let v = body(&render(
            &sink(kind, "https://robot.example/send", None),
            &n,
            at(0),
            Duration::from_secs(60),
            "",
        ));
        let text = v.pointer(field).and_then(Value::as_str).unwrap();
        assert!(
            text.contains("[已恢复]") && !text.contains("RESOLVED"),
            "{text}"
        );
        if field.ends_with("title") {
            continue;
        }
        for line in [
            "原因：HTTP 检查",
            "故障端点：a, b（另有 3 个）",
            "支付规则：",
            "持续时间：1 分 30 秒",
            "幂等键：abcd-firing-1",
            "provider=alipay target=alipay-query cause=server",
        ] {
            assert!(text.contains(line), "{line:?} in {text}");
        }
        for english in ["reason:", "duration:", "key:", "1m 30s"] {
            assert!(!text.contains(english), "{english:?} left in {text}");
        }
    }
}

#[test]
fn robots_answering_200_with_an_error_code_failed() {
    assert!(judge(SinkKind::DingTalk, 200, r#"{"errcode":0,"errmsg":"ok"}"#).is_ok());
    let e = judge(
        SinkKind::DingTalk,
        200,
        r#"{"errcode":310000,"errmsg":"sign not match"}"#,
    )
    .unwrap_err();
    assert!(e.contains("310000"), "{e}");
    assert!(judge(
        SinkKind::WeCom,
        200,
        r#"{"errcode":93000,"errmsg":"invalid webhook url"}"#
    )
    .is_err());
    assert!(judge(
        SinkKind::Feishu,
        200,
        r#"{"code":0,"msg":"success","data":{}}"#
    )
    .is_ok());
    assert!(judge(
        SinkKind::Feishu,
        200,
        r#"{"StatusCode":0,"StatusMessage":"success"}"#
    )
    .is_ok());
    assert!(judge(SinkKind::Feishu, 200, r#"{"code":19021,"msg":"sign match fail or timestamp is not within one hour from current time"}"#).is_err());
    assert!(judge(SinkKind::Feishu, 200, "<html>proxy</html>").is_err());
    assert!(judge(SinkKind::Slack, 200, "ok").is_ok());
    assert!(judge(SinkKind::Slack, 400, "invalid_payload").is_err());
    assert!(judge(SinkKind::Webhook, 503, "").is_err());
    assert!(judge(SinkKind::Alertmanager, 200, "").is_ok());
}

#[test]
fn urls_are_redacted() {
    let r = |u: &str| crate::config::redact(&url::Url::parse(u).unwrap());
    assert_eq!(
        r("https://hooks.slack.com/services/T0/B0/secret"),
        "https://hooks.slack.com/…"
    );
    assert_eq!(
        r("https://oapi.dingtalk.com/robot/send?access_token=secret"),
        "https://oapi.dingtalk.com/…?…"
    );
    assert_eq!(
        r("https://open.feishu.cn/open-apis/bot/v2/hook/secret"),
        "https://open.feishu.cn/…"
    );
    // A relay whose token is the whole path shows nothing of it either.
    assert_eq!(
        r("https://relay.example:8443/tok3n"),
        "https://relay.example:8443/…"
    );
    assert_eq!(r("http://127.0.0.1:9093"), "http://127.0.0.1:9093");
}

#[test]
fn permanent_answers_are_told_from_transient_ones() {
    let cases: &[(&str, SinkKind, u16, &str, bool)] = &[
        ("webhook 400", SinkKind::Webhook, 400, "bad", true),
        ("webhook 404", SinkKind::Webhook, 404, "", true),
        ("webhook 408", SinkKind::Webhook, 408, "", false),
        ("webhook 429", SinkKind::Webhook, 429, "", false),
        ("webhook 503", SinkKind::Webhook, 503, "", false),
        ("webhook 200", SinkKind::Webhook, 200, "", false),
        (
            "dingtalk keyword",
            SinkKind::DingTalk,
            200,
            r#"{"errcode":310000,"errmsg":"keywords not in content"}"#,
            true,
        ),
        (
            "dingtalk too fast",
            SinkKind::DingTalk,
            200,
            r#"{"errcode":130101,"errmsg":"send too fast"}"#,
            false,
        ),
        (
            "dingtalk ok",
            SinkKind::DingTalk,
            200,
            r#"{"errcode":0,"errmsg":"ok"}"#,
            false,
        ),
        (
            "dingtalk not json",
            SinkKind::DingTalk,
            200,
            "<html>",
            false,
        ),
        (
            "wecom bad url",
            SinkKind::WeCom,
            200,
            r#"{"errcode":93000,"errmsg":"invalid webhook url"}"#,
            true,
        ),
        (
            "wecom frequency",
            SinkKind::WeCom,
            200,
            r#"{"errcode":45009,"errmsg":"api freq out of limit"}"#,
            false,
        ),
        (
            "feishu sign",
            SinkKind::Feishu,
            200,
            r#"{"code":19021,"msg":"sign match fail"}"#,
            true,
        ),
        (
            "feishu frequency",
            SinkKind::Feishu,
            200,
            r#"{"code":11232,"msg":"frequency limited"}"#,
            false,
        ),
    ];
    let wrong: Vec<&str> = cases
        .iter()
        .filter(|(_, kind, status, body, want)| permanent(*kind, *status, body) != *want)
        .map(|(name, ..)| *name)
        .collect();
    assert!(wrong.is_empty(), "judged wrongly: {wrong:?}");
}
