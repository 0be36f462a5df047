//! Each sink's wire format and how its answer is judged, from the providers' documentation:
//!
//! * `alertmanager`: `POST /api/v2/alerts` with a JSON array of PostableAlert (`labels`,
//!   `annotations`, `startsAt`, `endsAt`, `generatorURL`), per Alertmanager's
//!   `api/v2/openapi.yaml` (https://github.com/prometheus/alertmanager/blob/main/api/v2/openapi.yaml).
//!   A firing alert gets `endsAt` ahead of now, so it lapses if payprobe dies; resolving
//!   sends `endsAt` = the resolution time. Any 2xx is delivered.
//! * `webhook`: Alertmanager's webhook payload, version 4
//!   (https://prometheus.io/docs/alerting/latest/configuration/#webhook_config): `version`,
//!   `groupKey`, `truncatedAlerts`, `status`, `receiver`, `groupLabels`, `commonLabels`,
//!   `commonAnnotations`, `externalURL`, `alerts[]` (`status`, `labels`, `annotations`,
//!   `startsAt`, `endsAt`, `generatorURL`, `fingerprint`); plus `idempotencyKey`. Any 2xx.
//! * `slack`: an incoming webhook takes `{"text": …}` (https://api.slack.com/messaging/webhooks)
//!   and answers `200 ok`; errors are 4xx with a word like `invalid_payload`.
//! * `dingtalk`: custom robot, `{"msgtype":"markdown","markdown":{"title","text"}}`; with a
//!   secret the URL gets `&timestamp=<ms>&sign=<urlencode(base64(HMAC-SHA256(key=secret,
//!   msg=timestamp+"\n"+secret)))>` (https://open.dingtalk.com/document/robots/customize-robot-security-settings).
//!   It answers 200 with `{"errcode":0,"errmsg":"ok"}`; another errcode is a failure.
//! * `feishu`: custom bot, `{"msg_type":"text","content":{"text"}}`; with a secret the body
//!   gets `timestamp` (seconds) and `sign` = base64(HMAC-SHA256(key=timestamp+"\n"+secret,
//!   msg=empty)) (https://open.feishu.cn/document/client-docs/bot-v3/add-custom-bot). It
//!   answers 200 with `{"code":0,…}` (older: `StatusCode`); another code is a failure.
//! * `wecom`: group robot, `{"msgtype":"markdown","markdown":{"content"}}`
//!   (https://developer.work.weixin.qq.com/document/path/91770); 200 with `errcode` 0.
//!
//! Every request carries `Idempotency-Key`; a `webhook` with a secret also carries
//! `X-Payprobe-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, t + "." + body)>`.

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime};

use base64::Engine;
use serde_json::{json, Value};

use super::notification::{hex, rfc3339, Event, Notification};
use crate::config::{SinkKind, SinkSpec};
use crate::lang::alerts::{chat_line, chat_word, lasted};
use crate::timefmt::unix_ms;

/// One request, ready to send.
pub struct Rendered {
    pub url: url::Url,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

pub fn hmac_sha256(key: &[u8], msg: &[u8]) -> Vec<u8> {
    let k = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, key);
    ring::hmac::sign(&k, msg).as_ref().to_vec()
}

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// DingTalk's `sign` before URL encoding: base64(HMAC-SHA256(secret, ts + "\n" + secret)).
pub fn dingtalk_sign(timestamp_ms: u64, secret: &[u8]) -> String {
    let mut msg = format!("{timestamp_ms}\n").into_bytes();
    msg.extend_from_slice(secret);
    b64(&hmac_sha256(secret, &msg))
}

/// Feishu's `sign`: base64(HMAC-SHA256 keyed with ts + "\n" + secret, over nothing).
pub fn feishu_sign(timestamp_s: u64, secret: &[u8]) -> String {
    let mut key = format!("{timestamp_s}\n").into_bytes();
    key.extend_from_slice(secret);
    b64(&hmac_sha256(&key, b""))
}

/// The webhook signature header's value.
pub fn webhook_signature(timestamp_s: u64, body: &[u8], secret: &[u8]) -> String {
    let mut msg = format!("{timestamp_s}.").into_bytes();
    msg.extend_from_slice(body);
    format!("t={timestamp_s},v1={}", hex(&hmac_sha256(secret, &msg)))
}

/// Renders `n` for `sink` at `now`. `resend` is the alertmanager resend interval (endsAt
/// of a firing alert is kept several resends ahead, as Prometheus does).
pub fn render(
    sink: &SinkSpec,
    n: &Notification,
    now: SystemTime,
    resend: Duration,
    external: &str,
) -> Rendered {
    let now_ms = unix_ms(now);
    let mut url = sink.url.0.clone();
    let mut headers = vec![("Idempotency-Key".to_string(), n.key.clone())];
    let body = match sink.kind {
        SinkKind::Alertmanager => {
            if !url.path().ends_with("/api/v2/alerts") {
                let base = url.path().trim_end_matches('/').to_string();
                url.set_path(&format!("{base}/api/v2/alerts"));
            }
            alertmanager(n, now_ms, resend)
        }
        SinkKind::Webhook => webhook(n, &sink.name, external),
        SinkKind::Slack => json!({ "text": text(n, Markup::Slack) }),
        SinkKind::DingTalk => {
            if let Some(s) = &sink.secret {
                let sign = dingtalk_sign(now_ms, &s.0);
                url.query_pairs_mut()
                    .append_pair("timestamp", &now_ms.to_string())
                    .append_pair("sign", &sign);
            }
            json!({
                "msgtype": "markdown",
                "markdown": { "title": title(n), "text": text(n, Markup::Markdown) },
            })
        }
        SinkKind::Feishu => {
            let mut v =
                json!({ "msg_type": "text", "content": { "text": text(n, Markup::Plain) } });
            if let Some(s) = &sink.secret {
                let ts = now_ms / 1000;
                v["timestamp"] = json!(ts.to_string());
                v["sign"] = json!(feishu_sign(ts, &s.0));
            }
            v
        }
        SinkKind::WeCom => json!({
            "msgtype": "markdown",
            "markdown": { "content": text(n, Markup::Markdown) },
        }),
    };
    let body = serde_json::to_vec(&body).unwrap_or_default();
    if let (SinkKind::Webhook, Some(s)) = (sink.kind, &sink.secret) {
        headers.push((
            "X-Payprobe-Signature".into(),
            webhook_signature(now_ms / 1000, &body, &s.0),
        ));
    }
    Rendered { url, headers, body }
}

/// Robot error codes that mean "not now" (rate limits, a busy server): anything else a robot
/// answers is about the message or the sink's configuration (keyword, signature, token, IP
/// allowlist: DingTalk 310000, WeCom 93000, Feishu 19021, ...) and will fail the same way
/// however often it is tried. DingTalk: -1 busy, 130101 sent too fast, 90030 webhook over
/// its limit; WeCom: -1 busy, 45009 API frequency over its limit, 45033 too many concurrent
/// calls; Feishu: 11232 sent too frequently.
const TRANSIENT_ROBOT_CODES: &[i64] = &[-1, 130_101, 90_030, 45_009, 45_033, 11_232];

/// Whether a failed answer will fail again however often it is sent, so that retrying it
/// would only hold back the notifications behind it: a 4xx other than 408 (timeout) and 429
/// (rate limit), or a robot's error code other than the rate-limit ones above. 5xx, and
/// anything not understood, is worth retrying.
pub fn permanent(kind: SinkKind, status: u16, body: &str) -> bool {
    if (400..500).contains(&status) {
        return !matches!(status, 408 | 429);
    }
    if !(200..300).contains(&status) {
        return false;
    }
    let keys: &[&str] = match kind {
        SinkKind::DingTalk | SinkKind::WeCom => &["errcode"],
        SinkKind::Feishu => &["code", "StatusCode"],
        _ => return false,
    };
    let Ok(v) = serde_json::from_str::<Value>(body) else {
        return false;
    };
    keys.iter()
        .find_map(|k| v.get(*k).and_then(Value::as_i64))
        .is_some_and(|c| c != 0 && !TRANSIENT_ROBOT_CODES.contains(&c))
}

/// Whether the answer means "delivered"; the error otherwise (for logs and `alerts test`).
pub fn judge(kind: SinkKind, status: u16, body: &str) -> Result<(), String> {
    let excerpt: String = body
        .chars()
        .take(crate::limits::SINK_ANSWER_EXCERPT_CHARS)
        .collect();
    if !(200..300).contains(&status) {
        return Err(format!("HTTP {status}: {excerpt}"));
    }
    let code = |keys: &[&str]| -> Result<(), String> {
        let v: Value = serde_json::from_str(body).map_err(|_| {
            format!("HTTP {status} but the body is not the robot's JSON answer: {excerpt}")
        })?;
        for k in keys {
            if let Some(c) = v.get(*k).and_then(Value::as_i64) {
                return if c == 0 {
                    Ok(())
                } else {
                    Err(format!("HTTP {status} with {k} {c}: {excerpt}"))
                };
            }
        }
        Err(format!(
            "HTTP {status} without {}: {excerpt}",
            keys.join("/")
        ))
    };
    match kind {
        SinkKind::Alertmanager | SinkKind::Webhook => Ok(()),
        SinkKind::Slack if body.trim() == "ok" => Ok(()),
        SinkKind::Slack => Err(format!("HTTP {status} but not `ok`: {excerpt}")),
        SinkKind::DingTalk | SinkKind::WeCom => code(&["errcode"]),
        SinkKind::Feishu => code(&["code", "StatusCode"]),
    }
}

fn postable(labels: &BTreeMap<String, String>, n: &Notification, ends_ms: u64) -> Value {
    json!({
        "labels": labels,
        "annotations": n.annotations,
        "startsAt": rfc3339(n.starts_ms),
        "endsAt": rfc3339(ends_ms),
        "generatorURL": n.generator_url,
    })
}

fn alertmanager(n: &Notification, now_ms: u64, resend: Duration) -> Value {
    let ahead = (resend * 4).max(crate::limits::ALERTMANAGER_ENDS_AT_MIN);
    let ahead = u64::try_from(ahead.as_millis()).unwrap_or(u64::MAX);
    let mut out = Vec::new();
    if let Some(prev) = &n.previous_labels {
        // The old cause is another label set for Alertmanager: end it now.
        out.push(postable(prev, n, now_ms));
    }
    let ends = match n.event {
        Event::Resolved => n.ends_ms.unwrap_or(now_ms),
        _ => now_ms.saturating_add(ahead),
    };
    out.push(postable(&n.labels, n, ends));
    Value::Array(out)
}

fn webhook(n: &Notification, receiver: &str, external: &str) -> Value {
    let ends = match n.event {
        // Alertmanager's zero time for an alert still firing.
        Event::Resolved => n
            .ends_ms
            .map_or_else(|| "0001-01-01T00:00:00Z".into(), rfc3339),
        _ => "0001-01-01T00:00:00Z".into(),
    };
    let group: BTreeMap<&str, &str> = n
        .labels
        .iter()
        .filter(|(k, _)| {
            matches!(
                k.as_str(),
                "alertname" | "vantage" | "provider" | "target" | "scope"
            )
        })
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    json!({
        "version": "4",
        "groupKey": n.group_key,
        "truncatedAlerts": 0,
        "status": n.status(),
        "receiver": receiver,
        "groupLabels": group,
        "commonLabels": n.labels,
        "commonAnnotations": n.annotations,
        "externalURL": external,
        "idempotencyKey": n.key,
        "event": n.event.as_str(),
        "alerts": [{
            "status": n.status(),
            "labels": n.labels,
            "annotations": n.annotations,
            "startsAt": rfc3339(n.starts_ms),
            "endsAt": ends,
            "generatorURL": n.generator_url,
            "fingerprint": n.fingerprint,
        }],
    })
}

/// How the message text is marked up for a sink.
#[derive(Clone, Copy, PartialEq)]
pub enum Markup {
    Plain,
    Slack,
    Markdown,
}

/// `[FIRING] summary`, the tag in the notification's language.
fn title(n: &Notification) -> String {
    let tag = match n.event {
        Event::Resolved => "resolved",
        Event::Changed => "changed",
        Event::Test => "test",
        Event::Firing | Event::Resend => "firing",
    };
    format!("[{}] {}", chat_word(tag, n.lang), n.annotation("summary"))
}

/// The human message: title, reason, evidence, hint, the payment rule, duration, link, key,
/// framed in the notification's language (the catalogue's [`chat_word`]s); the labels line
/// (`provider=… cause=…`) is the alert's labels as receivers match them, never translated.
pub fn text(n: &Notification, m: Markup) -> String {
    let bold = |s: &str| match m {
        Markup::Plain => s.to_string(),
        Markup::Slack => format!("*{s}*"),
        Markup::Markdown => format!("**{s}**"),
    };
    let nl = if m == Markup::Markdown { "\n\n" } else { "\n" };
    let mut parts = vec![bold(&title(n))];
    for k in ["reason", "endpoints", "evidence", "hint", "payment_rule"] {
        let v = n.annotation(k);
        if !v.is_empty() {
            parts.push(chat_line(k, v, n.lang));
        }
    }
    if let Some(d) = n.duration_secs() {
        let secs = d.max(0.0).round() as u64;
        parts.push(chat_line("duration", &lasted(secs, n.lang), n.lang));
    }
    let labels: Vec<String> = [
        "provider", "target", "cause", "scope", "severity", "vantage",
    ]
    .iter()
    .filter_map(|k| n.labels.get(*k).map(|v| format!("{k}={v}")))
    .collect();
    parts.push(labels.join(" "));
    if !n.annotation("api").is_empty() {
        parts.push(n.annotation("api").to_string());
    }
    parts.push(chat_line("key", &n.key, n.lang));
    parts.join(nl)
}

#[cfg(test)]
mod tests;
