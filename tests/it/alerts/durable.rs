//! What survives: a SIGKILL while the receiver is down, a torn outbox.

use super::*;

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
