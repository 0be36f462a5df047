//! Alert delivery end to end, on loopback: a webhook receiver in the test that verifies the
//! HMAC and counts deliveries by idempotency key, a receiver that is down while payprobe is
//! killed with SIGKILL and restarted, an unwritable state_dir, and a real Alertmanager.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;

use payprobe::app::Daemon;
use payprobe::demo::gateway::{Behavior, Gateway};
use payprobe::probe::Probers;

use crate::support::{get, metric, wait_for, Proc};

mod durable;
mod routing;

const SECRET: &str = "test-hook-secret";

/// One request the receiver got.
#[derive(Debug, Clone)]
pub struct Got {
    pub path: String,
    pub headers: BTreeMap<String, String>,
    pub body: serde_json::Value,
    /// The signature header verified against the body with the test's own HMAC.
    pub signed: bool,
}

/// A webhook receiver on loopback. "Down" is a bound socket that does not listen (the
/// kernel refuses connections), so it can come back on the same port.
pub struct Receiver {
    pub addr: SocketAddr,
    pub got: Arc<Mutex<Vec<Got>>>,
    sock: Option<socket2::Socket>,
    task: Option<tokio::task::JoinHandle<()>>,
}

fn verify(headers: &BTreeMap<String, String>, body: &[u8]) -> bool {
    let Some(h) = headers.get("x-payprobe-signature") else {
        return false;
    };
    let Some((t, v1)) = h.strip_prefix("t=").and_then(|r| r.split_once(",v1=")) else {
        return false;
    };
    let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, SECRET.as_bytes());
    let mut msg = format!("{t}.").into_bytes();
    msg.extend_from_slice(body);
    let want: String = ring::hmac::sign(&key, &msg)
        .as_ref()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    want == v1
}

impl Receiver {
    pub fn down() -> Receiver {
        Receiver::down_on("127.0.0.1".parse().unwrap())
    }

    pub fn down_on(ip: std::net::IpAddr) -> Receiver {
        let sock =
            socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
        sock.set_reuse_address(true).unwrap();
        sock.bind(&SocketAddr::new(ip, 0).into()).unwrap();
        let addr = sock.local_addr().unwrap().as_socket().unwrap();
        Receiver {
            addr,
            got: Arc::new(Mutex::new(Vec::new())),
            sock: Some(sock),
            task: None,
        }
    }

    pub async fn up() -> Receiver {
        let mut r = Receiver::down();
        r.start();
        r
    }

    /// Starts listening (on the port it held) and answering 200.
    pub fn start(&mut self) {
        let sock = self.sock.take().expect("receiver already up");
        sock.listen(128).unwrap();
        sock.set_nonblocking(true).unwrap();
        let l = tokio::net::TcpListener::from_std(sock.into()).unwrap();
        let got = self.got.clone();
        self.task = Some(tokio::spawn(async move {
            while let Ok((s, _)) = l.accept().await {
                let got = got.clone();
                tokio::spawn(async move {
                    let svc = service_fn(move |req: Request<hyper::body::Incoming>| {
                        let got = got.clone();
                        async move {
                            let path = req.uri().to_string();
                            let headers: BTreeMap<String, String> = req
                                .headers()
                                .iter()
                                .map(|(k, v)| {
                                    (k.as_str().to_string(), v.to_str().unwrap_or("").to_string())
                                })
                                .collect();
                            let body = req
                                .into_body()
                                .collect()
                                .await
                                .map(|b| b.to_bytes())
                                .unwrap_or_default();
                            let signed = verify(&headers, &body);
                            got.lock().unwrap().push(Got {
                                path,
                                headers,
                                body: serde_json::from_slice(&body).unwrap_or_default(),
                                signed,
                            });
                            Ok::<_, std::convert::Infallible>(Response::new(Full::new(
                                Bytes::from_static(b"ok"),
                            )))
                        }
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(s), svc)
                        .await;
                });
            }
        }));
    }

    pub fn got(&self) -> Vec<Got> {
        self.got.lock().unwrap().clone()
    }

    /// Deliveries by idempotency key.
    pub fn by_key(&self) -> BTreeMap<String, usize> {
        let mut m = BTreeMap::new();
        for g in self.got() {
            *m.entry(
                g.headers
                    .get("idempotency-key")
                    .cloned()
                    .unwrap_or_default(),
            )
            .or_default() += 1;
        }
        m
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        if let Some(t) = &self.task {
            t.abort();
        }
    }
}

fn config(dir: &Path, state: &Path, gw: u16, sinks: &str) -> String {
    std::fs::write(dir.join("hook.secret"), format!("{SECRET}\n")).unwrap();
    format!(
        r#"[server]
listen = "127.0.0.1:0"
state_dir = "{state}"
[alerts]
group_wait = "300ms"
{sinks}
[[targets]]
name = "pay"
provider = "acme"
url = "http://127.0.0.1:{gw}/v3/pay/transactions/out-trade-no/1"
interval = "300ms"
timeout = "200ms"
failure_threshold = 2
success_threshold = 2
"#,
        state = state.display()
    )
}

fn hook(addr: SocketAddr) -> String {
    format!("[[alerts.sinks]]\nname = \"hook\"\nkind = \"webhook\"\nurl = \"http://{addr}/hook\"\nsecret_file = \"hook.secret\"\n")
}

pub async fn daemon(dir: &Path, src: &str) -> Daemon {
    let plan = payprobe::config::parse(&dir.join("p.toml"), src, dir)
        .unwrap_or_else(|e| panic!("{e}\n{src}"));
    Daemon::start(plan, None, Arc::new(Probers::system()))
        .await
        .unwrap()
}

pub fn broken() -> Behavior {
    Behavior::ok(r#"{"code":"SYSTEMERROR","message":"system busy"}"#).status(503)
}

#[tokio::test]
async fn a_webhook_gets_one_signed_firing_and_one_resolved_with_its_duration() {
    let dir = tempfile::tempdir().unwrap();
    let rx = Receiver::up().await;
    let gw = Gateway::http(broken()).await.unwrap();
    // A second sink that accepts and never answers: it must not delay the first.
    let (silent, _silent) = crate::support::silent_server().await;
    let sinks = format!(
        "{}[[alerts.sinks]]\nname = \"stuck\"\nkind = \"webhook\"\nurl = \"http://127.0.0.1:{silent}/\"\ntimeout = \"60s\"\n",
        hook(rx.addr)
    );
    let d = daemon(
        dir.path(),
        &config(dir.path(), &dir.path().join("state"), gw.port(), &sinks),
    )
    .await;
    let got = &rx;
    // Bounded well below the stuck sink's 60 s timeout: a hang detector, not a speed claim.
    wait_for(20, "the firing notification", || async move {
        (!got.got().is_empty()).then_some(())
    })
    .await;
    gw.set(Behavior::ok("{}"));
    wait_for(20, "the resolved notification", || async move {
        (got.got().len() >= 2).then_some(())
    })
    .await;
    tokio::time::sleep(Duration::from_millis(800)).await; // room for a duplicate to show
    let all = rx.got();
    assert_eq!(all.len(), 2, "one firing, one resolved: {all:#?}");
    assert!(
        all.iter().all(|g| g.signed),
        "every body carries a valid HMAC: {all:#?}"
    );
    assert_eq!(rx.by_key().len(), 2, "two distinct idempotency keys");
    let (f, r) = (&all[0].body, &all[1].body);
    assert_eq!(all[0].path, "/hook");
    assert_eq!(
        (f["version"].as_str(), f["status"].as_str()),
        (Some("4"), Some("firing"))
    );
    let labels = &f["alerts"][0]["labels"];
    assert_eq!(labels["alertname"], "PaymentEndpointFailing");
    assert_eq!(
        (labels["target"].as_str(), labels["provider"].as_str()),
        (Some("pay"), Some("acme"))
    );
    assert_eq!(
        (labels["cause"].as_str(), labels["scope"].as_str()),
        (Some("server"), Some("endpoint"))
    );
    let ann = &f["alerts"][0]["annotations"];
    assert!(
        ann["payment_rule"]
            .as_str()
            .unwrap()
            .contains("Never resubmit a payment"),
        "{ann}"
    );
    assert!(ann["evidence"].as_str().unwrap().contains("503"), "{ann}");
    assert!(ann["api"]
        .as_str()
        .unwrap()
        .ends_with("/api/v1/targets/pay"));
    assert_eq!(
        f["idempotencyKey"],
        all[0].headers["idempotency-key"].as_str()
    );
    assert_eq!(r["status"], "resolved");
    assert_eq!(r["alerts"][0]["fingerprint"], f["alerts"][0]["fingerprint"]);
    assert_ne!(r["alerts"][0]["endsAt"], "0001-01-01T00:00:00Z");
    let text = get(d.addr, "/metrics").await.unwrap().1;
    assert_eq!(
        metric(
            &text,
            r#"payprobe_alert_notifications_total{outcome="delivered",sink="hook"}"#
        ),
        Some(2.0)
    );
    assert_eq!(
        metric(&text, r#"payprobe_outbox_pending{sink="hook"}"#),
        Some(0.0)
    );
    assert!(
        metric(&text, r#"payprobe_outbox_pending{sink="stuck"}"#).unwrap_or(0.0) >= 1.0,
        "the stuck sink still holds its notification: {text}"
    );
    d.stop();
}

#[tokio::test]
async fn an_unwritable_state_dir_still_delivers_from_memory() {
    let dir = tempfile::tempdir().unwrap();
    // Tests run as root, which ignores file modes: a state_dir below a regular file can be
    // created by no one.
    let file = dir.path().join("a-file");
    std::fs::write(&file, b"x").unwrap();
    let rx = Receiver::up().await;
    let gw = Gateway::http(broken()).await.unwrap();
    let d = daemon(
        dir.path(),
        &config(dir.path(), &file.join("state"), gw.port(), &hook(rx.addr)),
    )
    .await;
    let got = &rx;
    wait_for(20, "the firing notification", || async move {
        (!got.got().is_empty()).then_some(())
    })
    .await;
    let addr = d.addr;
    let text = wait_for(10, "the failed writes counted", || async move {
        let t = get(addr, "/metrics").await.ok()?.1;
        (metric(&t, r#"payprobe_state_dir_errors_total{what="outbox"}"#)? >= 1.0).then_some(t)
    })
    .await;
    assert!(
        metric(
            &text,
            r#"payprobe_state_dir_errors_total{what="incidents"}"#
        )
        .unwrap_or(0.0)
            >= 1.0,
        "{text}"
    );
    let (_, page) = get(addr, "/api/v1/targets/pay").await.unwrap();
    assert!(page.contains("\"rounds\""), "probing goes on: {page}");
    d.stop();
}
