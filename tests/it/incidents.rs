//! Incidents from a real gateway broken and mended on purpose: `/api/v1/incidents`, the
//! target's page, the metrics, and a restart that keeps the open incident.

use std::path::Path;
use std::sync::Arc;

use payprobe::app::Daemon;
use payprobe::demo::gateway::{Behavior, Gateway};
use payprobe::probe::Probers;

use crate::support::{get, metric, wait_for};

async fn start(dir: &Path, port: u16) -> Daemon {
    let src = format!(
        r#"[server]
listen = "127.0.0.1:0"
state_dir = "{state}"
[[targets]]
name = "pay"
provider = "acme"
url = "http://127.0.0.1:{port}/status"
interval = "300ms"
timeout = "200ms"
failure_threshold = 2
success_threshold = 2
"#,
        state = dir.join("state").display()
    );
    let plan = payprobe::config::parse(&dir.join("p.toml"), &src, dir).unwrap();
    Daemon::start(plan, None, Arc::new(Probers::system()))
        .await
        .unwrap()
}

async fn incidents(addr: std::net::SocketAddr) -> serde_json::Value {
    let (status, body) = get(addr, "/api/v1/incidents").await.unwrap();
    assert_eq!(status, 200, "{body}");
    serde_json::from_str(&body).unwrap()
}

#[tokio::test]
async fn an_outage_opens_survives_a_restart_and_closes_with_its_duration() {
    let dir = tempfile::tempdir().unwrap();
    let gw = Gateway::http(Behavior::ok("{}")).await.unwrap();
    gw.set(Behavior::ok(r#"{"error":"maintenance"}"#).status(503));
    let d = start(dir.path(), gw.port()).await;
    let addr = d.addr;
    let first = wait_for(20, "an open incident", || async move {
        let v = incidents(addr).await;
        (v["open"] == 1).then_some(v)
    })
    .await;
    let inc = &first["incidents"][0];
    assert_eq!(inc["target"], "pay");
    assert_eq!(inc["status"], "open");
    assert_eq!(inc["cause"], "server");
    assert!(inc["evidence"].as_str().unwrap().contains("503"), "{inc}");
    let id = inc["id"].as_str().unwrap().to_string();
    let text = get(addr, "/metrics").await.unwrap().1;
    assert_eq!(
        metric(
            &text,
            r#"payprobe_incident_open{cause="server",provider="acme",target="pay"}"#
        ),
        Some(1.0),
        "{text}"
    );
    let (_, page) = get(addr, "/api/v1/targets/pay").await.unwrap();
    let page: serde_json::Value = serde_json::from_str(&page).unwrap();
    assert_eq!(page["incidents"][0]["id"], id.as_str());

    // The file is written off the probing task: wait for it, then restart.
    let state = dir.path().join("state").join("incidents.journal");
    let idc = id.clone();
    wait_for(10, "the incident on disk", || {
        let s = std::fs::read(&state).unwrap_or_default();
        let ok = String::from_utf8_lossy(&s).contains(&idc);
        async move { ok.then_some(()) }
    })
    .await;
    d.stop();
    let d = start(dir.path(), gw.port()).await;
    let addr = d.addr;
    let v = incidents(addr).await;
    assert_eq!(v["incidents"][0]["id"], id.as_str(), "restored: {v}");
    assert_eq!(v["incidents"][0]["status"], "open");

    gw.set(Behavior::ok("{}"));
    let closed = wait_for(20, "the incident to close", || async move {
        let v = incidents(addr).await;
        (v["open"] == 0).then_some(v)
    })
    .await;
    let inc = &closed["incidents"][0];
    assert_eq!(
        inc["id"],
        id.as_str(),
        "the same incident closed, none reopened"
    );
    assert_eq!(inc["status"], "resolved");
    assert_eq!(inc["recovered_by_itself"], true);
    assert!(inc["duration_seconds"].as_f64().unwrap() > 0.0);
    let text = get(addr, "/metrics").await.unwrap().1;
    assert_eq!(
        metric(
            &text,
            r#"payprobe_incident_duration_seconds_count{cause="server",provider="acme"}"#
        ),
        Some(1.0),
        "{text}"
    );
    assert!(!text.contains("payprobe_incident_open{"));
    d.stop();
}
