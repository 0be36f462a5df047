//! The command line: check-config on the shipped examples, probe-once, and the demo.

use std::process::{Command, Output};

use payprobe::demo::gateway::{Behavior, Gateway};

use crate::support::{closed_port, metric, wait_for, Proc};

fn payprobe(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_payprobe"))
        .args(args)
        .env("RUST_LOG", "warn")
        .output()
        .expect("run payprobe")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

#[test]
fn every_shipped_example_config_is_valid() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/config");
    let mut checked = 0;
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().and_then(|e| e.to_str()) != Some("toml") {
            continue;
        }
        let out = payprobe(&["check-config", path.to_str().unwrap()]);
        assert!(
            out.status.success(),
            "{}:\n{}",
            path.display(),
            text(&out.stderr)
        );
        let stdout = text(&out.stdout);
        assert!(
            stdout.lines().last().unwrap().contains(": ok, "),
            "{stdout}"
        );
        checked += 1;
    }
    assert!(
        checked >= 3,
        "expected the example configs in config/, found {checked}"
    );
}

#[test]
fn check_config_reports_every_problem_with_its_place() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("bad.toml");
    std::fs::write(
        &f,
        "[[targets]]\nname = \"a\"\nurl = \"https://x.example\"\ntimeout = \"20s\"\n\n[[targets]]\nname = \"a\"\nurl = \"https://y.example\"\n",
    )
    .unwrap();
    let out = payprobe(&["check-config", f.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    let want_timeout = format!(
        "{}:4:11: `timeout` (20s) must be shorter than `interval` (15s)",
        f.display()
    );
    let want_dup = format!("{}:7:8: duplicate target name `a`", f.display());
    assert!(err.contains(&want_timeout), "{err}");
    assert!(err.contains(&want_dup), "{err}");
    let missing = payprobe(&["check-config", "/nonexistent/payprobe.toml"]);
    assert_eq!(missing.status.code(), Some(1));
    assert!(text(&missing.stderr).contains("/nonexistent/payprobe.toml: cannot read"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn probe_once_prints_json_evidence_and_exits_by_outcome() {
    let dir = tempfile::tempdir().unwrap();
    let gw = Gateway::http(Behavior::ok("{\"status\":\"UP\"}"))
        .await
        .unwrap();
    let f = dir.path().join("p.toml");
    std::fs::write(
        &f,
        format!(
            "[[targets]]\nname = \"up\"\nurl = \"http://127.0.0.1:{}/health\"\n\n[[targets]]\nname = \"down\"\nurl = \"http://127.0.0.1:{}/\"\n",
            gw.port(),
            closed_port()
        ),
    )
    .unwrap();
    let path = f.to_str().unwrap().to_string();
    let run = |args: Vec<String>| {
        tokio::task::spawn_blocking(move || {
            let a: Vec<&str> = args.iter().map(String::as_str).collect();
            payprobe(&a)
        })
    };
    let out = run(vec!["probe-once".into(), path.clone(), "--json".into()])
        .await
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(2),
        "one target is down: {}",
        text(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON on stdout");
    let list = v.as_array().unwrap();
    assert_eq!(list.len(), 2);
    let up = list.iter().find(|e| e["target"] == "up").unwrap();
    assert_eq!(up["success"], true);
    assert_eq!(up["check"], "http");
    assert_eq!(up["http"]["status"], 200);
    assert!(up["http"]["phases"]["processing"].as_f64().unwrap() > 0.0);
    assert!(up["started_at"].as_str().unwrap().ends_with('Z'));
    let down = list.iter().find(|e| e["target"] == "down").unwrap();
    assert_eq!(down["failure"]["kind"], "connect_refused");

    let out = run(vec![
        "probe-once".into(),
        path.clone(),
        "--target".into(),
        "up".into(),
        "--json".into(),
    ])
    .await
    .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v.as_array().unwrap().len(), 1);

    let out = run(vec![
        "probe-once".into(),
        path,
        "--target".into(),
        "nope".into(),
    ])
    .await
    .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("no target named \"nope\"; targets: up, down"));
}

/// The README's first command, end to end: the story's first acts reach /metrics — every
/// simulated provider healthy in its own answer format, one slow but working, then the
/// first broken endpoint — and `--duration` ends the demo.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_runs_offline_and_tells_its_story() {
    let dir = tempfile::tempdir().unwrap();
    let mut p = Proc::spawn(&["demo", "--duration", "40s"], dir.path());
    p.wait_ready().await;
    let healthy = [
        ("alipay-trade-query", "alipay"),
        ("alipay-refund-query", "alipay"),
        ("wechatpay-order-query", "wechatpay"),
        ("wechatpay-refund-query", "wechatpay"),
        ("stripe-charges", "stripe"),
        ("eth-node-a", "ethereum"),
        ("eth-node-b", "ethereum"),
        ("eth-node-c", "ethereum"),
        ("solana-node", "solana"),
    ];
    let t = wait_for(15, "the healthy first act", || async {
        let t = p.metrics().await;
        let all = healthy.iter().all(|(target, provider)| {
            metric(
                &t,
                &format!("payprobe_target_healthy{{provider=\"{provider}\",target=\"{target}\"}}"),
            ) == Some(1.0)
        });
        all.then_some(t)
    })
    .await;
    assert!(
        metric(
            &t,
            "payprobe_rpc_block_height{provider=\"ethereum\",target=\"eth-node-a\"}"
        )
        .is_some_and(|h| h >= 21_000_000.0),
        "the EVM nodes answer eth_blockNumber"
    );
    wait_for(12, "the slow endpoint's payment_delay", || async {
        let t = p.metrics().await;
        (metric(&t, "payprobe_symptom{provider=\"stripe\",symptom=\"payment_delay\",target=\"stripe-payment-intents\"}") == Some(1.0)).then_some(())
    })
    .await;
    wait_for(25, "act 2: stripe-charges fails at the network layer", || async {
        let t = p.metrics().await;
        (metric(&t, "payprobe_cause{cause=\"network\",provider=\"stripe\",target=\"stripe-charges\"}") == Some(1.0)
            && metric(&t, "payprobe_scope{provider=\"stripe\",scope=\"endpoint\",target=\"stripe-charges\"}") == Some(1.0))
        .then_some(())
    })
    .await;
    let log = std::fs::read_to_string(dir.path().join("payprobe.log")).unwrap();
    let acts = log.lines().filter(|l| l.contains("demo act ")).count();
    assert!(acts >= 2, "each act is narrated in one line:\n{log}");
    let st = p.wait_exit(30).await;
    assert!(st.success(), "--duration ends the demo: {st}");
}
