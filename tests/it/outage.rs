//! The bad day (issue 20): a sink that rejects one notification for good or keeps failing
//! it, a kill -9 in the middle of an outage, pagination while incidents change.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;

use payprobe::demo::gateway::{Behavior, Gateway};

use crate::alerts::{broken, daemon};
use crate::support::{get, metric, wait_for};

/// A webhook receiver that answers by the alert's target: `rejected` gets 400 (for good),
/// `flaky` gets 503 (try again), every other target 200. It records (target, status).
struct Picky {
    addr: SocketAddr,
    seen: Arc<Mutex<Vec<(String, String, u16)>>>,
    _task: tokio::task::JoinHandle<()>,
}

impl Picky {
    async fn up() -> Picky {
        let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = l.local_addr().unwrap();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let s2 = seen.clone();
        let task = tokio::spawn(async move {
            while let Ok((s, _)) = l.accept().await {
                let seen = s2.clone();
                tokio::spawn(async move {
                    let svc = service_fn(move |req: Request<hyper::body::Incoming>| {
                        let seen = seen.clone();
                        async move {
                            let body = req.into_body().collect().await.unwrap().to_bytes();
                            let v: serde_json::Value =
                                serde_json::from_slice(&body).unwrap_or_default();
                            let target = v["alerts"][0]["labels"]["target"]
                                .as_str()
                                .unwrap_or("")
                                .to_string();
                            let status = v["status"].as_str().unwrap_or("").to_string();
                            let code = match target.as_str() {
                                "rejected" => 400,
                                "flaky" => 503,
                                _ => 200,
                            };
                            seen.lock().unwrap().push((target, status, code));
                            let mut r = Response::new(Full::new(Bytes::from_static(b"{}")));
                            *r.status_mut() = hyper::StatusCode::from_u16(code).unwrap();
                            Ok::<_, std::convert::Infallible>(r)
                        }
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(s), svc)
                        .await;
                });
            }
        });
        Picky {
            addr,
            seen,
            _task: task,
        }
    }

    fn seen(&self) -> Vec<(String, String, u16)> {
        self.seen.lock().unwrap().clone()
    }

    fn requests_for(&self, target: &str) -> usize {
        self.seen().iter().filter(|s| s.0 == target).count()
    }
}

fn target(name: &str, provider: &str, port: u16) -> String {
    format!(
        "[[targets]]\nname = \"{name}\"\nprovider = \"{provider}\"\nurl = \"http://127.0.0.1:{port}/v3/pay/transactions/out-trade-no/1\"\ninterval = \"300ms\"\ntimeout = \"200ms\"\nfailure_threshold = 2\nsuccess_threshold = 2\n"
    )
}

/// Before, the rejected notification was retried at the head of the queue until max_age (a
/// day by default) and the healthy target's page waited behind it.
#[tokio::test]
async fn a_rejected_or_retrying_notification_never_delays_the_next_one() {
    let dir = tempfile::tempdir().unwrap();
    let rx = Picky::up().await;
    let bad = Gateway::http(broken()).await.unwrap();
    let later = Gateway::http(Behavior::ok("{}")).await.unwrap();
    let src = format!(
        "[server]\nlisten = \"127.0.0.1:0\"\nstate_dir = \"{}\"\n[alerts]\ngroup_wait = \"300ms\"\n[[alerts.sinks]]\nname = \"hook\"\nkind = \"webhook\"\nurl = \"http://{}/hook\"\n{}{}{}",
        dir.path().join("state").display(),
        rx.addr,
        target("rejected", "p1", bad.port()),
        target("flaky", "p2", bad.port()),
        target("next", "p3", later.port()),
    );
    let d = daemon(dir.path(), &src).await;
    let r = &rx;
    wait_for(20, "both failing targets' firings tried", || async move {
        (r.requests_for("rejected") >= 1 && r.requests_for("flaky") >= 1).then_some(())
    })
    .await;
    later.set(broken());
    wait_for(20, "the next target's firing, delivered", || async move {
        r.seen()
            .iter()
            .any(|s| s.0 == "next" && s.1 == "firing" && s.2 == 200)
            .then_some(())
    })
    .await;
    assert_eq!(
        rx.requests_for("rejected"),
        1,
        "a 400 is set aside at once, never retried: {:?}",
        rx.seen()
    );
    let addr = d.addr;
    let (status, body) = get(addr, "/api/v1/alerts/rejected").await.unwrap();
    assert_eq!(status, 200);
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["rejected"].as_array().map(Vec::len), Some(1), "{v}");
    assert_eq!(v["rejected"][0]["sink"], "hook");
    assert!(
        v["rejected"][0]["answer"]
            .as_str()
            .unwrap()
            .contains("HTTP 400"),
        "{v}"
    );
    let text = get(addr, "/metrics").await.unwrap().1;
    let series = r#"payprobe_alert_notifications_total{outcome="rejected",sink="hook"}"#;
    assert_eq!(metric(&text, series), Some(1.0), "{text}");
    // The flaky one stays queued and its age shows while it backs off.
    let oldest = wait_for(10, "the outbox age to grow", || async move {
        let t = get(addr, "/metrics").await.ok()?.1;
        metric(&t, r#"payprobe_outbox_oldest_seconds{sink="hook"}"#).filter(|s| *s >= 1.0)
    })
    .await;
    assert!(oldest >= 1.0);
    d.stop();
}

/// A control that fails beside working paths is a broken control: its own endpoint alert
/// says so, the failing target stays `endpoint`, and no vantage-point alert fires.
#[tokio::test]
async fn a_broken_control_beside_healthy_targets_is_never_local() {
    let dir = tempfile::tempdir().unwrap();
    let rx = Picky::up().await;
    let ok = Gateway::http(Behavior::ok("{}")).await.unwrap();
    let bad = Gateway::http(broken()).await.unwrap();
    let dead = crate::support::closed_port();
    let src = format!(
        "[server]\nlisten = \"127.0.0.1:0\"\nstate_dir = \"{}\"\n[alerts]\ngroup_wait = \"300ms\"\n[[alerts.sinks]]\nname = \"hook\"\nkind = \"webhook\"\nurl = \"http://{}/hook\"\n{}{}{}[[controls]]\nname = \"ctl\"\nurl = \"tcp://127.0.0.1:{dead}\"\ninterval = \"300ms\"\ntimeout = \"200ms\"\nfailure_threshold = 2\n",
        dir.path().join("state").display(),
        rx.addr,
        target("wallet", "p1", ok.port()),
        target("bank", "p2", ok.port()),
        target("acquirer", "p3", bad.port()),
    );
    let d = daemon(dir.path(), &src).await;
    let r = &rx;
    wait_for(
        20,
        "the control's and the acquirer's firings",
        || async move {
            let seen = r.seen();
            let has = |t: &str| seen.iter().any(|s| s.0 == t && s.1 == "firing");
            (has("ctl") && has("acquirer")).then_some(())
        },
    )
    .await;
    tokio::time::sleep(std::time::Duration::from_millis(900)).await; // room for a wrong page
    let addr = d.addr;
    let (_, body) = get(addr, "/api/v1/incidents").await.unwrap();
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    for i in v["incidents"].as_array().unwrap() {
        assert_eq!(i["scope"], "endpoint", "{i}");
    }
    let (_, ctl) = get(addr, "/api/v1/targets/ctl").await.unwrap();
    assert!(ctl.contains("check the control itself"), "{ctl}");
    // The same warning in Chinese, said by the catalogue.
    let (_, zh) = get(addr, "/api/v1/targets/ctl?lang=zh-CN").await.unwrap();
    let zh: serde_json::Value = serde_json::from_str(&zh).unwrap();
    let warned = zh["diagnosis"]["warnings"].to_string();
    assert!(
        warned.contains("请检查对照本身") && !warned.contains("check the control"),
        "{warned}"
    );
    let (_, page) = get(addr, "/api/v1/targets?provider=p3").await.unwrap();
    let page: serde_json::Value = serde_json::from_str(&page).unwrap();
    assert_eq!(
        page.as_array().map(Vec::len),
        Some(1),
        "the provider filter: {page}"
    );
    assert_eq!(page[0]["diagnosis"]["scope"], "endpoint");
    // The receiver only saw per-target pages; the webhook body names no vantage alert.
    let names: Vec<String> = rx.seen().iter().map(|s| s.0.clone()).collect();
    assert!(
        names.iter().all(|n| n == "ctl" || n == "acquirer"),
        "{names:?}"
    );
    d.stop();
}

fn sink_config(dir: &Path, rx: SocketAddr, targets: &[&str], port: u16) -> String {
    let mut s = format!(
        "[server]\nstate_dir = \"{}\"\n[alerts]\ngroup_wait = \"300ms\"\n[[alerts.sinks]]\nname = \"hook\"\nkind = \"webhook\"\nurl = \"http://{rx}/hook\"\n",
        dir.join("state").display()
    );
    for t in targets {
        s.push_str(&target(t, &format!("p-{t}"), port));
    }
    s
}

async fn open_ids(addr: SocketAddr) -> Vec<String> {
    let (_, body) = get(addr, "/api/v1/incidents?status=open").await.unwrap();
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    let mut ids: Vec<String> = v["incidents"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["id"].as_str().unwrap().to_string())
        .collect();
    ids.sort();
    ids
}

async fn wait_log(dir: &Path, what: &str, times: usize) {
    let path = dir.join("payprobe.log");
    wait_for(20, what, || {
        let n = std::fs::read_to_string(&path)
            .unwrap_or_default()
            .matches(what)
            .count();
        async move { (n >= times).then_some(()) }
    })
    .await;
}

/// A config written in two steps (valid TOML when cut short) is applied only once it is
/// whole; a target removed by one reload and back at the next continues its incident. No
/// resolved-then-firing pair reaches the receiver either way.
#[tokio::test]
async fn reloads_apply_what_the_operator_meant() {
    let dir = tempfile::tempdir().unwrap();
    let rx = Picky::up().await;
    let bad = Gateway::http(broken()).await.unwrap();
    let all = ["a1", "a2", "a3"];
    let cfg = dir.path().join("p.toml");
    let whole = sink_config(dir.path(), rx.addr, &all, bad.port());
    let cut = sink_config(dir.path(), rx.addr, &all[..1], bad.port());
    std::fs::write(&cfg, &whole).unwrap();
    let d = crate::support::Proc::spawn(&["run", "--config", cfg.to_str().unwrap()], dir.path());
    let r = &rx;
    wait_for(20, "three firings", || async move {
        (r.seen().iter().filter(|s| s.1 == "firing").count() >= 3).then_some(())
    })
    .await;
    let before = open_ids(d.addr).await;
    assert_eq!(before.len(), 3);

    // An editor writing the file: cut short, then whole 100 ms later.
    std::fs::write(&cfg, &cut).unwrap();
    d.signal("HUP");
    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    std::fs::write(&cfg, &whole).unwrap();
    wait_log(dir.path(), "configuration reloaded", 1).await;
    let log = std::fs::read_to_string(dir.path().join("payprobe.log")).unwrap();
    assert!(log.contains("reload waits until it is stable"), "{log}");
    assert!(
        log.contains(r#""removed":0"#),
        "the cut file was never applied: {log}"
    );

    // A real removal, brought back by the next reload within the grace period.
    std::fs::write(&cfg, &cut).unwrap();
    d.signal("HUP");
    wait_log(dir.path(), "configuration reloaded", 2).await;
    std::fs::write(&cfg, &whole).unwrap();
    d.signal("HUP");
    wait_log(dir.path(), "configuration reloaded", 3).await;
    tokio::time::sleep(std::time::Duration::from_secs(2)).await; // rounds of the re-added
    assert_eq!(open_ids(d.addr).await, before, "the same incidents go on");
    let resolved: Vec<_> = rx
        .seen()
        .into_iter()
        .filter(|s| s.1 == "resolved")
        .collect();
    assert!(resolved.is_empty(), "nothing resolved: {resolved:?}");
    assert_eq!(
        rx.seen().iter().filter(|s| s.1 == "firing").count(),
        3,
        "{:?}",
        rx.seen()
    );
}

/// kill -9 in the middle of an outage: the restarted daemon has the same open incidents
/// (none lost, none opened twice) and pages nothing again.
#[tokio::test]
async fn a_kill_9_mid_outage_loses_no_incident_and_pages_nothing_twice() {
    let dir = tempfile::tempdir().unwrap();
    let rx = Picky::up().await;
    let bad = Gateway::http(broken()).await.unwrap();
    let cfg = dir.path().join("p.toml");
    std::fs::write(
        &cfg,
        sink_config(dir.path(), rx.addr, &["k1", "k2", "k3"], bad.port()),
    )
    .unwrap();
    let mut d =
        crate::support::Proc::spawn(&["run", "--config", cfg.to_str().unwrap()], dir.path());
    let r = &rx;
    wait_for(20, "three firings", || async move {
        (r.seen().iter().filter(|s| s.1 == "firing").count() >= 3).then_some(())
    })
    .await;
    let before = open_ids(d.addr).await;
    d.signal("KILL");
    d.wait_exit(10).await;
    let d = crate::support::Proc::spawn(&["run", "--config", cfg.to_str().unwrap()], dir.path());
    assert_eq!(open_ids(d.addr).await, before, "restored from the journal");
    tokio::time::sleep(std::time::Duration::from_secs(3)).await; // rounds and group_wait
    assert_eq!(open_ids(d.addr).await, before, "continued, not reopened");
    let firings = rx.seen().iter().filter(|s| s.1 == "firing").count();
    assert_eq!(firings, 3, "no page twice: {:?}", rx.seen());
}

/// One line for one event: 60 targets and their control lose their gateway together. The
/// log says once that this vantage point lost its network; "incident opened" goes through
/// one window's budget and the rest is one summary line with the count left out.
#[tokio::test]
async fn a_mass_change_is_logged_as_one_event() {
    const TARGETS: usize = 60;
    let dir = tempfile::tempdir().unwrap();
    // A port that refuses: nothing listens there once the probe listener is dropped.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut cfg = format!(
        "[server]\nstate_dir = \"{}\"\n[[controls]]\nname = \"egress\"\nurl = \"tcp://127.0.0.1:{port}\"\ninterval = \"300ms\"\ntimeout = \"200ms\"\n",
        dir.path().join("state").display()
    );
    for i in 0..TARGETS {
        cfg.push_str(&target(&format!("m{i}"), "pm", port));
    }
    let file = dir.path().join("p.toml");
    std::fs::write(&file, cfg).unwrap();
    let d = crate::support::Proc::spawn(&["run", "--config", file.to_str().unwrap()], dir.path());
    wait_log(dir.path(), "lost its network", 1).await;
    let log = dir.path().join("payprobe.log");
    // (lines logged, openings summed up as left out)
    let count = |text: &str| {
        let summary = "more \\\"incident opened\\\" lines";
        let opened = text
            .lines()
            .filter(|l| l.contains("\"incident opened\""))
            .count();
        let summed: u64 = text
            .lines()
            .filter(|l| l.contains(summary))
            .filter_map(|l| {
                let v: serde_json::Value = serde_json::from_str(l).ok()?;
                v["fields"]["left_out"].as_u64()
            })
            .sum();
        (opened, summed)
    };
    // The summary is written once its window is over.
    wait_for(40, "every opening logged or counted", || {
        let (opened, summed) = count(&std::fs::read_to_string(&log).unwrap_or_default());
        async move { (opened as u64 + summed == TARGETS as u64 + 1).then_some(()) }
    })
    .await;
    let text = std::fs::read_to_string(&log).unwrap();
    let (opened, _) = count(&text);
    assert_eq!(text.matches("lost its network").count(), 1, "{text}");
    // The openings fall in one window, or two when a window ends among them.
    assert!(
        opened <= 2 * payprobe::limits::PER_TARGET_LOG_LINES as usize,
        "{opened} \"incident opened\" lines"
    );
    drop(d);
}
