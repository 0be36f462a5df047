//! The demo's own alert receiver: a webhook endpoint on loopback that the demo's config names
//! as its alert sink, so that the alert path (engine, outbox, delivery, the sink metrics and
//! the dashboards' alert panels) works in the demo without anything else running. It logs one
//! line per notification it receives and answers 200.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use http_body_util::{BodyExt, Full, Limited};
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;

/// The running receiver. Dropping it stops it.
pub struct Receiver {
    pub addr: SocketAddr,
    received: Arc<AtomicU64>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Receiver {
    /// Starts the receiver on 127.0.0.1 with an OS-chosen port.
    pub async fn start() -> std::io::Result<Receiver> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let received = Arc::new(AtomicU64::new(0));
        let count = received.clone();
        let task = tokio::spawn(async move {
            while let Ok((tcp, _)) = listener.accept().await {
                let count = count.clone();
                tokio::spawn(async move {
                    let svc = service_fn(move |req: Request<hyper::body::Incoming>| {
                        let count = count.clone();
                        async move {
                            let body = Limited::new(
                                req.into_body(),
                                crate::limits::DEMO_RECEIVER_BODY_BYTES,
                            )
                            .collect()
                            .await
                            .map(|c| c.to_bytes())
                            .unwrap_or_default();
                            count.fetch_add(1, Ordering::Relaxed);
                            tracing::info!("demo alert receiver: {}", summary(&body));
                            Ok::<_, std::convert::Infallible>(Response::new(Full::new(
                                bytes::Bytes::from_static(b"ok"),
                            )))
                        }
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(tcp), svc)
                        .await;
                });
            }
        });
        Ok(Receiver {
            addr,
            received,
            task,
        })
    }

    /// The URL the demo's webhook sink posts to.
    pub fn url(&self) -> String {
        format!("http://{}/alerts", self.addr)
    }

    /// Notifications received so far.
    pub fn received(&self) -> u64 {
        self.received.load(Ordering::Relaxed)
    }
}

/// One line for a webhook notification (Alertmanager's payload v4): its status and, per
/// alert, its name, what it is about and its cause.
pub fn summary(body: &[u8]) -> String {
    let Ok(v) = serde_json::from_slice::<serde_json::Value>(body) else {
        return format!("{} bytes that are not JSON", body.len());
    };
    let text = |v: &serde_json::Value, k: &str| v[k].as_str().unwrap_or("").to_string();
    let alerts: Vec<String> = v["alerts"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|a| {
            let l = &a["labels"];
            let about = ["target", "provider", "egress", "scope"]
                .iter()
                .map(|k| text(l, k))
                .find(|s| !s.is_empty())
                .unwrap_or_default();
            let cause = text(l, "cause");
            let cause = if cause.is_empty() {
                String::new()
            } else {
                format!(" cause={cause}")
            };
            format!("{} {about}{cause}", text(l, "alertname"))
        })
        .collect();
    format!(
        "{} ({} alert{}): {}",
        text(&v, "status"),
        alerts.len(),
        if alerts.len() == 1 { "" } else { "s" },
        alerts.join("; ")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_notification_is_one_line() {
        let body = br#"{"version":"4","status":"firing","alerts":[{"labels":{"alertname":"PaymentEndpointFailing","target":"alipay-trade-query","cause":"security"}}]}"#;
        assert_eq!(
            summary(body),
            "firing (1 alert): PaymentEndpointFailing alipay-trade-query cause=security"
        );
        assert!(summary(b"<html>").contains("not JSON"));
    }
}
