//! `POST /api/v1/notifications/{name}`: the merchant's callback handler reports a payment
//! notification it received. The only endpoint that takes a body, so everything about it is
//! bounded: rate (over all channels), body size and the time to send it, id length, and
//! the ids kept for idempotence (`src/limits/`). The channel's bearer token is compared
//! in constant time and never logged.

use http_body_util::BodyExt;
use hyper::header::{HeaderValue, AUTHORIZATION, CONTENT_LENGTH, WWW_AUTHENTICATE};
use hyper::{Method, Request, Response, StatusCode};
use serde::Deserialize;
use std::time::SystemTime;

use super::{text, with_type, Body, Shared};
use crate::config::ChannelSpec;
use crate::limits::{
    MAX_NOTIFICATION_BODY_BYTES, MAX_NOTIFICATION_ID_CHARS, NOTIFICATION_BODY_TIMEOUT,
};
use crate::notify::{parse_rfc3339, Pushed};

/// The path prefix this handler serves.
pub const PREFIX: &str = "/api/v1/notifications/";

/// One report, as the callback handler sends it.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Report {
    id: String,
    paid_at: String,
    received_at: Option<String>,
}

pub async fn post(shared: &Shared, req: Request<hyper::body::Incoming>) -> Response<Body> {
    if req.method() != Method::POST {
        let mut r = text(
            StatusCode::METHOD_NOT_ALLOWED,
            "notifications are reported with POST\n",
        );
        r.headers_mut()
            .insert(hyper::header::ALLOW, HeaderValue::from_static("POST"));
        return r;
    }
    if let Err(wait) = shared.guards.notify_rate.take() {
        return super::too_many(wait, "too many notification reports; retry later\n");
    }
    let name = req.uri().path().trim_start_matches(PREFIX).to_string();
    let Some(plan) = shared.plan() else {
        return text(StatusCode::INTERNAL_SERVER_ERROR, "state lock poisoned\n");
    };
    let Some(target) = plan.target(&name).filter(|t| t.channel.is_some()) else {
        return text(StatusCode::NOT_FOUND, "no such notification channel\n");
    };
    let Some(c) = target.channel.as_ref() else {
        return text(StatusCode::NOT_FOUND, "no such notification channel\n");
    };
    if !authorized(c, req.headers().get(AUTHORIZATION)) {
        let mut r = text(
            StatusCode::UNAUTHORIZED,
            "a valid `Authorization: Bearer <token>` for this channel is required\n",
        );
        r.headers_mut().insert(
            WWW_AUTHENTICATE,
            HeaderValue::from_static("Bearer realm=\"payprobe\""),
        );
        return r;
    }
    let body = match read_body(req).await {
        Ok(b) => b,
        Err(r) => return r,
    };
    record(shared, c, &body, SystemTime::now())
}

/// `Bearer <token>`, the token compared in constant time (its length is not secret).
fn authorized(c: &ChannelSpec, h: Option<&HeaderValue>) -> bool {
    let Some(given) = h.and_then(|v| v.as_bytes().strip_prefix(b"Bearer ")) else {
        return false;
    };
    let want = &c.token.0;
    given.len() == want.len()
        && given
            .iter()
            .zip(want.iter())
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            == 0
}

/// The body, at most [`MAX_NOTIFICATION_BODY_BYTES`], within [`NOTIFICATION_BODY_TIMEOUT`].
async fn read_body(req: Request<hyper::body::Incoming>) -> Result<bytes::Bytes, Response<Body>> {
    let too_large = || {
        let mut r = text(
            StatusCode::PAYLOAD_TOO_LARGE,
            &format!("a report is at most {MAX_NOTIFICATION_BODY_BYTES} bytes\n"),
        );
        r.headers_mut()
            .insert(hyper::header::CONNECTION, HeaderValue::from_static("close"));
        r
    };
    let announced = req
        .headers()
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok()?.trim().parse::<u64>().ok());
    if announced.is_some_and(|n| n > MAX_NOTIFICATION_BODY_BYTES as u64) {
        return Err(too_large());
    }
    let limited = http_body_util::Limited::new(req.into_body(), MAX_NOTIFICATION_BODY_BYTES);
    match tokio::time::timeout(NOTIFICATION_BODY_TIMEOUT, limited.collect()).await {
        Ok(Ok(b)) => Ok(b.to_bytes()),
        Ok(Err(e)) if e.is::<http_body_util::LengthLimitError>() => Err(too_large()),
        Ok(Err(_)) => Err(text(
            StatusCode::BAD_REQUEST,
            "the body could not be read\n",
        )),
        Err(_) => Err(text(
            StatusCode::REQUEST_TIMEOUT,
            "the body did not arrive in time\n",
        )),
    }
}

/// Parses and records one report; 400 says what is wrong with it.
fn record(shared: &Shared, c: &ChannelSpec, body: &[u8], now: SystemTime) -> Response<Body> {
    let bad = |why: String| text(StatusCode::BAD_REQUEST, &format!("bad report: {why}\n"));
    let r: Report = match serde_json::from_slice(body) {
        Ok(r) => r,
        Err(e) => {
            return bad(format!(
                "{e}; expected JSON {{\"id\": \"...\", \"paid_at\": \"RFC 3339\", \"received_at\": \"RFC 3339\" (optional)}}"
            ))
        }
    };
    if r.id.is_empty() || r.id.chars().count() > MAX_NOTIFICATION_ID_CHARS {
        return bad(format!(
            "`id` must be 1-{MAX_NOTIFICATION_ID_CHARS} characters"
        ));
    }
    let paid_at = match parse_rfc3339(&r.paid_at) {
        Ok(t) => t,
        Err(e) => return bad(format!("`paid_at`: {e}")),
    };
    let received_at = match r.received_at.as_deref().map(parse_rfc3339) {
        None => now,
        Some(Ok(t)) => t,
        Some(Err(e)) => return bad(format!("`received_at`: {e}")),
    };
    let pushed = c.state.push(&r.id, paid_at, received_at, c.max_delay);
    let json = match pushed {
        Pushed::Duplicate => serde_json::json!({"id": r.id, "duplicate": true}),
        Pushed::New { delay, late } => {
            let received_unix = received_at
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0.0, |d| d.as_secs_f64());
            shared.metrics.notifications.observe(
                &c.name,
                &c.provider,
                delay.as_secs_f64(),
                received_unix,
            );
            serde_json::json!({"id": r.id, "duplicate": false, "delay_seconds": delay.as_secs_f64(), "late": late})
        }
    };
    with_type(StatusCode::OK, format!("{json}\n"), "application/json")
}
