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

/// The README's first command, end to end: every simulated gateway gets its own diagnosis.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_runs_offline_and_shows_every_cause() {
    let dir = tempfile::tempdir().unwrap();
    let p = Proc::spawn(&["demo"], dir.path());
    p.wait_ready().await;
    let want = [
        ("wallet-healthy", "demo-wallet", "none", "none"),
        ("wallet-slow", "demo-wallet", "none", "none"),
        ("acquirer-5xx", "demo-acquirer", "server", "provider"),
        ("acquirer-refused", "demo-acquirer", "server", "provider"),
        (
            "acquirer-retired-api",
            "demo-acquirer",
            "api_version",
            "provider",
        ),
        (
            "wallet-untrusted-cert",
            "demo-wallet",
            "security",
            "endpoint",
        ),
        (
            "wallet-bad-request",
            "demo-wallet",
            "user_input",
            "endpoint",
        ),
        ("bank-stalled-tls", "demo-bank", "network", "endpoint"),
    ];
    // failure_threshold is 2 in the demo: wait for the second failing rounds.
    let t = wait_for(40, "every demo target's diagnosis", || async {
        let t = p.metrics().await;
        let all = want.iter().all(|(target, provider, cause, scope)| {
            metric(&t, &format!("payprobe_cause{{cause=\"{cause}\",provider=\"{provider}\",target=\"{target}\"}}")) == Some(1.0)
                && metric(&t, &format!("payprobe_scope{{provider=\"{provider}\",scope=\"{scope}\",target=\"{target}\"}}")) == Some(1.0)
        });
        all.then_some(t)
    })
    .await;
    let slow = metric(&t, "payprobe_http_phase_duration_seconds{phase=\"processing\",provider=\"demo-wallet\",target=\"wallet-slow\"}").unwrap();
    assert!(
        slow >= 1.2,
        "the slow gateway's delay shows as processing: {slow}"
    );
    assert_eq!(
        metric(&t, "payprobe_symptom{provider=\"demo-wallet\",symptom=\"payment_delay\",target=\"wallet-slow\"}"),
        Some(1.0)
    );
    let (_, body) = crate::support::get(p.addr, "/api/v1/targets/wallet-untrusted-cert")
        .await
        .unwrap();
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["evidence"][0]["failure"]["kind"], "tls_cert_self_signed");
    assert_eq!(v["diagnosis"]["rule"], "tls_cert_self_signed");
}
