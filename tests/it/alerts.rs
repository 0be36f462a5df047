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

/// The keys payprobe logged as queued (JSON log lines of "notification queued").
fn queued_keys(log: &str) -> Vec<String> {
    log.lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|v| v["fields"]["message"] == "notification queued")
        .filter_map(|v| v["fields"]["key"].as_str().map(String::from))
        .collect()
}

#[tokio::test]
async fn nothing_is_lost_across_sigkill_while_the_receiver_is_down() {
    let dir = tempfile::tempdir().unwrap();
    let mut rx = Receiver::down();
    let gw = Gateway::http(broken()).await.unwrap();
    let cfg = dir.path().join("p.toml");
    std::fs::write(
        &cfg,
        config(
            dir.path(),
            &dir.path().join("state"),
            gw.port(),
            &hook(rx.addr),
        ),
    )
    .unwrap();
    let cfg_s = cfg.to_str().unwrap();

    let run1 = dir.path().join("run1");
    std::fs::create_dir_all(&run1).unwrap();
    let mut p = Proc::spawn(&["run", "--config", cfg_s], &run1);
    let log1 = run1.join("payprobe.log");
    wait_for(30, "a failed delivery to the dead receiver", || {
        let text = std::fs::read_to_string(&log1).unwrap_or_default();
        async move { text.contains("delivery failed; retrying").then_some(()) }
    })
    .await;
    p.signal("KILL");
    p.wait_exit(10).await;
    let first = queued_keys(&std::fs::read_to_string(&log1).unwrap());
    assert_eq!(
        first.len(),
        1,
        "the firing notification was queued: {first:?}"
    );

    let run2 = dir.path().join("run2");
    std::fs::create_dir_all(&run2).unwrap();
    let p2 = Proc::spawn(&["run", "--config", cfg_s], &run2);
    let log2 = run2.join("payprobe.log");
    gw.set(Behavior::ok("{}"));
    wait_for(
        30,
        "the resolved notification queued after the restart",
        || {
            let text = std::fs::read_to_string(&log2).unwrap_or_default();
            async move { (!queued_keys(&text).is_empty()).then_some(()) }
        },
    )
    .await;
    rx.start();
    let mut want = first.clone();
    want.extend(queued_keys(&std::fs::read_to_string(&log2).unwrap()));
    let got = &rx;
    let want_ref = &want;
    wait_for(60, "every queued notification delivered", || async move {
        let keys = got.by_key();
        want_ref.iter().all(|k| keys.contains_key(k)).then_some(())
    })
    .await;
    let keys = rx.by_key();
    assert_eq!(
        want.len(),
        2,
        "one firing before the kill, one resolved after: {want:?}"
    );
    assert!(rx.got().iter().all(|g| g.signed));
    assert_eq!(
        keys.len(),
        2,
        "no other notification (the restart did not fire again): {keys:?}"
    );
    let statuses: Vec<String> = rx
        .got()
        .iter()
        .map(|g| g.body["status"].as_str().unwrap_or("").to_string())
        .collect();
    assert_eq!(
        statuses.first().map(String::as_str),
        Some("firing"),
        "in order: {statuses:?}"
    );
    assert_eq!(statuses.last().map(String::as_str), Some("resolved"));
    drop(p2);
}

/// Debian's Alertmanager on a free loopback port, routing everything to `hook` by webhook.
struct Alertmanager {
    child: std::process::Child,
    addr: SocketAddr,
    _dir: tempfile::TempDir,
}

impl Drop for Alertmanager {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Alertmanager {
    async fn start(hook: SocketAddr) -> Alertmanager {
        for _ in 0..5 {
            if let Some(am) = Alertmanager::try_start(hook).await {
                return am;
            }
        }
        panic!("Alertmanager did not start on a free loopback port in 5 tries");
    }

    async fn try_start(hook: SocketAddr) -> Option<Alertmanager> {
        let dir = tempfile::tempdir().unwrap();
        let cfg = dir.path().join("am.yml");
        std::fs::write(
            &cfg,
            format!(
                "route:\n  receiver: hook\n  group_by: ['alertname', 'target']\n  group_wait: 100ms\n  group_interval: 1s\n  repeat_interval: 1h\nreceivers:\n- name: hook\n  webhook_configs:\n  - url: http://{hook}/from-alertmanager\n    send_resolved: true\n"
            ),
        )
        .unwrap();
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let addr: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
        let child = std::process::Command::new("prometheus-alertmanager")
            .arg(format!("--config.file={}", cfg.display()))
            .arg(format!(
                "--storage.path={}",
                dir.path().join("data").display()
            ))
            .arg(format!("--web.listen-address={addr}"))
            .arg("--cluster.listen-address=")
            .stdout(std::process::Stdio::null())
            .stderr(std::fs::File::create(dir.path().join("am.log")).unwrap())
            .spawn()
            .unwrap_or_else(|e| {
                panic!("cannot start prometheus-alertmanager ({e}); tests/run.sh installs it")
            });
        let mut am = Alertmanager {
            child,
            addr,
            _dir: dir,
        };
        let end = std::time::Instant::now() + Duration::from_secs(20);
        while std::time::Instant::now() < end {
            if am.child.try_wait().ok().flatten().is_some() {
                return None; // most likely the port was taken meanwhile
            }
            if matches!(get(addr, "/-/ready").await, Ok((200, _))) {
                return Some(am);
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        None
    }

    async fn alerts(&self) -> Vec<serde_json::Value> {
        let body = get(self.addr, "/api/v2/alerts")
            .await
            .map(|r| r.1)
            .unwrap_or_default();
        serde_json::from_str(&body).unwrap_or_default()
    }
}

#[tokio::test]
async fn a_real_alertmanager_shows_the_alert_and_routes_firing_and_resolved() {
    let dir = tempfile::tempdir().unwrap();
    let rx = Receiver::up().await;
    let am = Alertmanager::start(rx.addr).await;
    let gw = Gateway::http(broken()).await.unwrap();
    let sink = format!(
        "[[alerts.sinks]]\nname = \"am\"\nkind = \"alertmanager\"\nurl = \"http://{}\"\n",
        am.addr
    );
    let d = daemon(
        dir.path(),
        &config(dir.path(), &dir.path().join("state"), gw.port(), &sink),
    )
    .await;
    let amr = &am;
    let alert = wait_for(
        30,
        "the alert in Alertmanager's /api/v2/alerts",
        || async move {
            amr.alerts()
                .await
                .into_iter()
                .find(|a| a["labels"]["target"] == "pay")
        },
    )
    .await;
    assert_eq!(alert["labels"]["alertname"], "PaymentEndpointFailing");
    assert_eq!(alert["labels"]["provider"], "acme");
    assert_eq!(alert["labels"]["cause"], "server");
    assert_eq!(alert["labels"]["scope"], "endpoint");
    assert_eq!(alert["labels"]["severity"], "critical");
    assert_eq!(alert["status"]["state"], "active");
    assert!(
        alert["generatorURL"]
            .as_str()
            .unwrap()
            .ends_with("/api/v1/targets/pay"),
        "{alert}"
    );
    assert!(
        alert["annotations"]["hint"]
            .as_str()
            .unwrap()
            .contains("never resubmit"),
        "{alert}"
    );

    // Alertmanager's own webhook receiver routes it on to the test.
    let got = &rx;
    let routed = wait_for(30, "Alertmanager's firing webhook", || async move {
        got.got()
            .into_iter()
            .find(|g| g.path == "/from-alertmanager" && g.body["status"] == "firing")
    })
    .await;
    assert_eq!(routed.body["version"], "4");
    assert_eq!(routed.body["alerts"][0]["labels"]["target"], "pay");

    gw.set(Behavior::ok("{}"));
    let resolved = wait_for(30, "Alertmanager's resolved webhook", || async move {
        got.got()
            .into_iter()
            .find(|g| g.path == "/from-alertmanager" && g.body["status"] == "resolved")
    })
    .await;
    assert_eq!(resolved.body["alerts"][0]["labels"]["target"], "pay");
    let still = am.alerts().await;
    assert!(
        still
            .iter()
            .all(|a| a["labels"]["target"] != "pay" || a["status"]["state"] != "active"),
        "no longer active after the resolution: {still:?}"
    );
    d.stop();
}

/// TCP listeners on `ip` that accept and hang up: endpoints for `tcp` checks.
async fn tcp_endpoint(ip: std::net::IpAddr) -> (u16, tokio::task::JoinHandle<()>) {
    let l = tokio::net::TcpListener::bind((ip, 0)).await.unwrap();
    let port = l.local_addr().unwrap().port();
    (
        port,
        tokio::spawn(async move { while l.accept().await.is_ok() {} }),
    )
}

/// A local outage inside a network namespace: the daemon runs in it, its control and its
/// targets (two providers) are outside, and nftables in the namespace drops every packet to
/// them while the webhook receiver stays reachable. Exactly one firing and one resolved
/// notification, both for the vantage point, and no per-target page.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_local_outage_pages_once_for_the_vantage_point() {
    let Some(ns) = crate::netns::Netns::new() else {
        return;
    };
    let mut rx = Receiver::down_on(ns.host_ip);
    rx.start();
    let (c, _c) = tcp_endpoint(ns.host_ip).await;
    let (a, _a) = tcp_endpoint(ns.host_ip).await;
    let (b, _b) = tcp_endpoint(ns.host_ip).await;
    let dir = tempfile::tempdir().unwrap();
    let listen = format!("{}:19{:03}", ns.ns_ip, (std::process::id() + 500) % 1000);
    let h = ns.host_ip;
    let cfg = dir.path().join("p.toml");
    std::fs::write(
        &cfg,
        format!(
            "[server]\nlisten = \"{listen}\"\nstate_dir = \"{state}\"\n[alerts]\nvantage = \"test-vp\"\n\
             [[alerts.sinks]]\nname = \"hook\"\nkind = \"webhook\"\nurl = \"http://{rx}/hook\"\n\
             [defaults]\ninterval = \"1s\"\ntimeout = \"500ms\"\nfailure_threshold = 2\nsuccess_threshold = 2\nchecks = [\"tcp\"]\n\
             [[targets]]\nname = \"wallet\"\nprovider = \"wallet-co\"\nurl = \"tcp://{h}:{a}\"\n\
             [[targets]]\nname = \"bank\"\nprovider = \"bank-co\"\nurl = \"tcp://{h}:{b}\"\n\
             [[controls]]\nname = \"control\"\nurl = \"tcp://{h}:{c}\"\n",
            state = dir.path().join("state").display(),
            rx = rx.addr,
        ),
    )
    .unwrap();
    let log = std::fs::File::create(dir.path().join("log")).unwrap();
    let mut child = ns.run_payprobe(&cfg, log);
    let addr: SocketAddr = listen.parse().unwrap();
    let got = &rx;
    let result = tokio::time::timeout(Duration::from_secs(90), async {
        wait_for(20, "every target healthy", || async move {
            let t = get(addr, "/metrics").await.ok()?.1;
            let healthy = t
                .lines()
                .filter(|l| l.starts_with("payprobe_target_healthy{") && l.ends_with(" 1"))
                .count();
            (healthy == 3).then_some(())
        })
        .await;
        ns.nft(&format!("table inet pp {{\n chain out {{\n  type filter hook output priority 0;\n  ip daddr {h} tcp dport {{ {a}, {b}, {c} }} drop\n }}\n}}\n"));
        wait_for(30, "the vantage-point alert", || async move { (!got.got().is_empty()).then_some(()) }).await;
        tokio::time::sleep(Duration::from_secs(3)).await; // a per-target page would show now
        ns.exec(&["nft", "delete", "table", "inet", "pp"]).unwrap();
        wait_for(30, "the resolution", || async move { (got.got().len() >= 2).then_some(()) }).await;
        tokio::time::sleep(Duration::from_secs(6)).await; // room for late per-target pages
    })
    .await;
    let _ = child.kill();
    let _ = child.wait();
    let daemon_log = std::fs::read_to_string(dir.path().join("log")).unwrap_or_default();
    assert!(
        result.is_ok(),
        "timed out; got {:#?}\ndaemon log:\n{daemon_log}",
        rx.got()
    );
    let all = rx.got();
    let seen: Vec<(String, String)> = all
        .iter()
        .map(|g| {
            (
                g.body["status"].as_str().unwrap_or("").to_string(),
                g.body["alerts"][0]["labels"]["alertname"]
                    .as_str()
                    .unwrap_or("")
                    .to_string(),
            )
        })
        .collect();
    assert_eq!(
        seen,
        [
            (
                "firing".to_string(),
                "PaymentProbeVantagePointDown".to_string()
            ),
            (
                "resolved".to_string(),
                "PaymentProbeVantagePointDown".to_string()
            )
        ],
        "exactly one firing and one resolved, for the vantage point:\n{all:#?}\n{daemon_log}"
    );
    let f = &all[0].body["alerts"][0];
    assert_eq!(f["labels"]["scope"], "local");
    assert_eq!(f["labels"]["vantage"], "test-vp");
    assert_eq!(f["annotations"]["endpoints"], "bank, control, wallet");
}

// The CLI runs as a blocking child process: the receiver needs threads of its own.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn alerts_test_reports_each_sinks_answer_and_a_robot_error_code_fails() {
    let dir = tempfile::tempdir().unwrap();
    let rx = Receiver::up().await;
    // A DingTalk robot that answers as DingTalk does when the signature is wrong.
    let robot = crate::support::raw_server(
        b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 46\r\nconnection: close\r\n\r\n{\"errcode\":310000,\"errmsg\":\"sign not match\"}\r\n",
    )
    .await;
    std::fs::write(dir.path().join("ding.secret"), "SECtest\n").unwrap();
    let sinks = format!(
        "{}[[alerts.sinks]]\nname = \"ding\"\nkind = \"dingtalk\"\nurl = \"http://127.0.0.1:{robot}/robot/send?access_token=TOPSECRET\"\nsecret_file = \"ding.secret\"\n",
        hook(rx.addr)
    );
    let cfg = dir.path().join("p.toml");
    std::fs::write(
        &cfg,
        config(dir.path(), &dir.path().join("state"), 9, &sinks),
    )
    .unwrap();
    let run = |extra: &[&str]| {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_payprobe"))
            .args(["alerts", "test", "--config"])
            .arg(&cfg)
            .args(extra)
            .output()
            .unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).into_owned()
                + &String::from_utf8_lossy(&out.stderr),
        )
    };
    let (code, text) = run(&["--sink", "hook"]);
    assert_eq!(code, Some(0), "{text}");
    assert!(
        text.contains("hook (webhook)") && text.contains("delivered, HTTP 200"),
        "{text}"
    );
    let (code, text) = run(&[]);
    assert_eq!(code, Some(2), "{text}");
    assert!(
        text.contains("ding (dingtalk): FAILED") && text.contains("310000"),
        "{text}"
    );
    assert!(
        !text.contains("TOPSECRET"),
        "the robot token never shows: {text}"
    );
    let got = rx.got();
    assert!(
        got.iter()
            .all(|g| g.signed && g.body["alerts"][0]["labels"]["alertname"] == "PaymentProbeTest"),
        "{got:#?}"
    );
    let (code, text) = run(&["--sink", "nope"]);
    assert_eq!(code, Some(1), "{text}");
    assert!(text.contains("sinks: hook, ding"), "{text}");
}

#[tokio::test]
async fn the_demo_sends_its_alerts_to_a_webhook() {
    let dir = tempfile::tempdir().unwrap();
    let rx = Receiver::up().await;
    let url = format!("http://{}/demo", rx.addr);
    let _p = Proc::spawn(&["demo", "--webhook", &url], dir.path());
    let got = &rx;
    let alerts = wait_for(60, "the demo's first alerts", || async move {
        let g = got.got();
        (!g.is_empty()).then_some(g)
    })
    .await;
    assert!(
        alerts
            .iter()
            .all(|g| g.path == "/demo" && g.body["version"] == "4" && g.body["status"] == "firing"),
        "{alerts:#?}"
    );
}

/// One outbox record as documented in `src/alerts/outbox.rs`, built here by hand:
/// `len u32 LE | crc32 u32 LE | {"op":"put","n":{…}}`.
fn framed_put(key: &str) -> Vec<u8> {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64;
    let payload = serde_json::to_vec(&serde_json::json!({
        "op": "put",
        "n": {
            "key": key, "fingerprint": "0011223344556677", "event": "firing",
            "labels": {"alertname": "PaymentEndpointFailing", "target": "before-the-crash"},
            "annotations": {"summary": "queued before a crash"},
            "starts_ms": now, "generator_url": "http://x/", "created_ms": now, "group_key": "{}:{}"
        }
    }))
    .unwrap();
    let mut out = (payload.len() as u32).to_le_bytes().to_vec();
    out.extend_from_slice(&crc32fast::hash(&payload).to_le_bytes());
    out.extend_from_slice(&payload);
    out
}

#[tokio::test]
async fn a_torn_outbox_is_skipped_and_what_came_before_is_delivered() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    std::fs::create_dir_all(state.join("outbox")).unwrap();
    let mut bytes = framed_put("kept-before-the-tear");
    let torn = framed_put("torn-mid-write");
    bytes.extend_from_slice(&torn[..torn.len() / 2]);
    std::fs::write(state.join("outbox/hook.log"), bytes).unwrap();
    let rx = Receiver::up().await;
    let gw = Gateway::http(Behavior::ok("{}")).await.unwrap();
    let d = daemon(
        dir.path(),
        &config(dir.path(), &state, gw.port(), &hook(rx.addr)),
    )
    .await;
    let got = &rx;
    wait_for(20, "the record before the tear delivered", || async move {
        got.by_key()
            .contains_key("kept-before-the-tear")
            .then_some(())
    })
    .await;
    let addr = d.addr;
    let text = get(addr, "/metrics").await.unwrap().1;
    assert_eq!(
        metric(
            &text,
            r#"payprobe_state_dir_errors_total{what="outbox_torn"}"#
        ),
        Some(1.0),
        "{text}"
    );
    assert!(!rx.by_key().contains_key("torn-mid-write"));
    wait_for(10, "probing goes on", || async move {
        let t = get(addr, "/metrics").await.ok()?.1;
        (metric(
            &t,
            r#"payprobe_target_healthy{provider="acme",target="pay"}"#,
        )? == 1.0)
            .then_some(())
    })
    .await;
    d.stop();
}
