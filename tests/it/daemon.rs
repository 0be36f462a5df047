//! The daemon as users run it: a real process, real signals, real promtool.

use std::path::Path;
use std::time::Duration;

use payprobe::demo::gateway::{Behavior, Gateway};
use payprobe::demo::pki::{Ca, Validity};

use crate::support::{closed_port, get, metric, wait_for, Proc};

/// Runs Debian's `promtool check metrics` on an exposition.
pub(crate) fn promtool_check(text: &str) {
    use std::io::Write;
    let mut child = match std::process::Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
    {
        Ok(c) => c,
        Err(e) if std::env::var_os("PAYPROBE_SKIP_PROMTOOL").is_some() => {
            eprintln!("skipping promtool ({e}) because PAYPROBE_SKIP_PROMTOOL is set");
            return;
        }
        Err(e) => panic!("promtool not runnable ({e}); install Debian's `prometheus` package (tests/run.sh does) or set PAYPROBE_SKIP_PROMTOOL=1"),
    };
    child
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "promtool check metrics failed:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

fn write_config(dir: &Path, targets: &str) -> std::path::PathBuf {
    let path = dir.join("payprobe.toml");
    let text = format!(
        "[defaults]\ninterval = \"1s\"\ntimeout = \"800ms\"\nfailure_threshold = 1\nsuccess_threshold = 1\n\n{targets}"
    );
    std::fs::write(&path, text).unwrap();
    path
}

fn http_target(name: &str, provider: &str, port: u16) -> String {
    format!("[[targets]]\nname = \"{name}\"\nprovider = \"{provider}\"\nurl = \"http://127.0.0.1:{port}/v1/status\"\n\n")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_pass_promtool_and_the_api_tells_the_story() {
    let dir = tempfile::tempdir().unwrap();
    let ca = Ca::new("daemon test CA").unwrap();
    std::fs::write(dir.path().join("ca.pem"), ca.pem()).unwrap();
    let ok = Gateway::https(
        Behavior::ok("{}"),
        ca.leaf(&["127.0.0.1"], Validity::Current).unwrap(),
    )
    .await
    .unwrap();
    let down = Gateway::http(Behavior::ok("{}").status(503).header("retry-after", "30"))
        .await
        .unwrap();
    let cfg = write_config(
        dir.path(),
        &format!(
            "[server]\nlatency_histograms = true\n[[targets]]\nname = \"wallet-ok\"\nprovider = \"wallet\"\nurl = \"https://127.0.0.1:{}/\"\nchecks = [\"tcp\", \"tls\", \"http\"]\nca_file = \"ca.pem\"\n\n{}{}[[controls]]\nname = \"ctl\"\nurl = \"tcp://127.0.0.1:{}\"\n",
            ok.port(),
            http_target("acq-down", "acquirer", down.port()),
            http_target("acq-refused", "acquirer", closed_port()),
            ok.port(),
        ),
    );
    let p = Proc::spawn(&["run", "--config", cfg.to_str().unwrap()], dir.path());
    p.wait_ready().await;
    let text = p.metrics().await;
    promtool_check(&text);

    let m = |s: &str| metric(&text, s);
    assert_eq!(
        m("payprobe_probe_success{check=\"http\",provider=\"wallet\",target=\"wallet-ok\"}"),
        Some(1.0)
    );
    assert_eq!(
        m("payprobe_probe_success{check=\"tls\",provider=\"wallet\",target=\"wallet-ok\"}"),
        Some(1.0)
    );
    assert_eq!(
        m("payprobe_probe_success{check=\"http\",provider=\"acquirer\",target=\"acq-down\"}"),
        Some(0.0)
    );
    assert_eq!(
        m("payprobe_http_status_code{provider=\"acquirer\",target=\"acq-down\"}"),
        Some(503.0)
    );
    assert_eq!(
        m("payprobe_http_status_code{provider=\"acquirer\",target=\"acq-refused\"}"),
        Some(0.0)
    );
    assert_eq!(
        m("payprobe_target_healthy{provider=\"acquirer\",target=\"acq-refused\"}"),
        Some(0.0)
    );
    assert_eq!(m("payprobe_tls_version_info{provider=\"wallet\",target=\"wallet-ok\",version=\"TLSv1.3\"}"), Some(1.0));
    assert_eq!(m("payprobe_config_last_reload_successful"), Some(1.0));
    assert_eq!(
        m(&format!(
            "payprobe_build_info{{version=\"{}\"}}",
            env!("CARGO_PKG_VERSION")
        )),
        Some(1.0)
    );
    assert!(m("payprobe_http_phase_duration_seconds{phase=\"tls\",provider=\"wallet\",target=\"wallet-ok\"}").unwrap() > 0.0);
    assert!(text.contains("payprobe_probe_latency_seconds_bucket{check=\"http\",provider=\"wallet\",target=\"wallet-ok\",le=\"0.005\"}"));
    assert!(text.contains("payprobe_probes_total{check=\"http\",outcome=\"failure\",provider=\"acquirer\",target=\"acq-down\"}"));
    assert!(text.contains("process_resident_memory_bytes"));
    assert!(
        !text.contains("http://127.0.0.1"),
        "no URL may be a label value"
    );

    let (status, body) = get(p.addr, "/api/v1/targets").await.unwrap();
    assert_eq!(status, 200);
    let all: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(all.as_array().unwrap().len(), 4);
    let (status, body) = get(p.addr, "/api/v1/targets/acq-refused").await.unwrap();
    assert_eq!(status, 200);
    let one: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(one["diagnosis"]["healthy"], false);
    assert_eq!(one["diagnosis"]["cause"], "server");
    assert_eq!(one["diagnosis"]["rule"], "connect_refused");
    assert_eq!(one["evidence"][0]["failure"]["kind"], "connect_refused");
    assert_eq!(one["evidence"][0]["failure"]["phase"], "connect");
    let (status, _) = get(p.addr, "/api/v1/targets/nope").await.unwrap();
    assert_eq!(status, 404);
    let (status, page) = get(p.addr, "/").await.unwrap();
    assert_eq!(status, 200);
    assert!(
        page.contains("acq-down") && page.contains("failing"),
        "{page}"
    );
    assert_eq!(get(p.addr, "/healthz").await.unwrap().0, 200);

    // blackbox_exporter-style one-shot probes of configured targets.
    let (status, one) = get(p.addr, "/probe?target=wallet-ok&module=tls")
        .await
        .unwrap();
    assert_eq!(status, 200);
    promtool_check(&one);
    assert_eq!(metric(&one, "probe_success"), Some(1.0), "{one}");
    assert_eq!(
        metric(&one, "payprobe_check_success{check=\"tls\"}"),
        Some(1.0)
    );
    assert!(metric(&one, "probe_ssl_earliest_cert_expiry").unwrap() > 1.7e9);
    let (_, down) = get(p.addr, "/probe?target=acq-down").await.unwrap();
    promtool_check(&down);
    assert_eq!(metric(&down, "probe_success"), Some(0.0));
    assert_eq!(metric(&down, "probe_http_status_code"), Some(503.0));
    assert!(metric(&down, "probe_http_duration_seconds{phase=\"processing\"}").is_some());
    assert_eq!(
        get(p.addr, "/probe?target=elsewhere.example")
            .await
            .unwrap()
            .0,
        404,
        "only configured targets"
    );
    let (status, why) = get(p.addr, "/probe?target=acq-down&module=smtp")
        .await
        .unwrap();
    assert_eq!(status, 400);
    modules_listed_are_the_modules_accepted(p.addr, &why).await;
    assert_eq!(get(p.addr, "/probe").await.unwrap().0, 400);
}

/// The 400 for an unknown `module` lists exactly the modules `/probe` accepts: each check
/// name is tried, and those not refused must be the ones listed (so a hand-written list that
/// forgets a check, or names one that is refused, fails here).
async fn modules_listed_are_the_modules_accepted(addr: std::net::SocketAddr, why: &str) {
    let listed: Vec<&str> = why
        .trim()
        .rsplit_once("one of: ")
        .map(|(_, l)| l.split(", ").collect())
        .unwrap_or_default();
    let mut accepted = Vec::new();
    for c in payprobe::vocab::Check::ALL {
        let path = format!("/probe?target=acq-down&module={c}");
        if get(addr, &path).await.unwrap().0 != 400 {
            accepted.push(c.as_str());
        }
    }
    assert!(accepted.len() > 1, "{accepted:?}");
    assert_eq!(listed, accepted, "{why}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sighup_reloads_and_a_bad_file_keeps_the_old_plan() {
    let dir = tempfile::tempdir().unwrap();
    let gw = Gateway::http(Behavior::ok("{}")).await.unwrap();
    let cfg = write_config(
        dir.path(),
        &format!(
            "{}{}",
            http_target("a", "p", gw.port()),
            http_target("b", "p", gw.port())
        ),
    );
    let p = Proc::spawn(&["run", "--config", cfg.to_str().unwrap()], dir.path());
    p.wait_ready().await;

    std::fs::write(
        &cfg,
        "[[targets]]\nname = \"a\"\nurl = \"http://127.0.0.1:1/\"\ninterval = \"soon\"\n",
    )
    .unwrap();
    p.signal("HUP");
    let text = wait_for(20, "reload failure", || async {
        let t = p.metrics().await;
        (metric(&t, "payprobe_config_last_reload_successful") == Some(0.0)).then_some(t)
    })
    .await;
    assert!(text.contains("target=\"b\""), "the old plan keeps running");
    let log = std::fs::read_to_string(dir.path().join("payprobe.log")).unwrap();
    assert!(
        log.contains("payprobe.toml:4:12"),
        "the log names the place:\n{log}"
    );

    write_config(
        dir.path(),
        &format!(
            "{}{}",
            http_target("a", "p", gw.port()),
            http_target("c", "p", gw.port())
        ),
    );
    p.signal("HUP");
    wait_for(20, "reload with c probed and b gone", || async {
        let t = p.metrics().await;
        let ok = metric(&t, "payprobe_config_last_reload_successful") == Some(1.0)
            && t.contains("payprobe_probe_success{check=\"http\",provider=\"p\",target=\"c\"} 1")
            && !t.contains("target=\"b\"");
        ok.then_some(())
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_and_sigint_stop_cleanly() {
    for sig in ["TERM", "INT"] {
        let dir = tempfile::tempdir().unwrap();
        // A gateway that never answers: stopping must not wait for in-flight probes.
        let gw = Gateway::http(Behavior::ok("{}").delay(Duration::from_secs(60)))
            .await
            .unwrap();
        let cfg = write_config(dir.path(), &http_target("slow", "p", gw.port()));
        let mut p = Proc::spawn(&["run", "--config", cfg.to_str().unwrap()], dir.path());
        wait_for(20, "first probe in flight", || async {
            (gw.hits() > 0).then_some(())
        })
        .await;
        p.signal(sig);
        let st = p.wait_exit(5).await;
        assert!(st.success(), "SIG{sig}: exit status {st:?}");
    }
}

/// Break a gateway on purpose, then mend it: thresholds hold the verdict back by the right
/// number of rounds, and each change of cause is logged once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_gateway_broken_and_mended_flips_after_its_thresholds_and_logs_each_change_once() {
    let dir = tempfile::tempdir().unwrap();
    let gw = Gateway::http(Behavior::ok("{}")).await.unwrap();
    let cfg = dir.path().join("payprobe.toml");
    std::fs::write(
        &cfg,
        format!(
            "[defaults]\ninterval = \"1s\"\ntimeout = \"800ms\"\nfailure_threshold = 3\nsuccess_threshold = 2\n\n{}",
            http_target("gw", "p", gw.port())
        ),
    )
    .unwrap();
    let p = Proc::spawn(&["run", "--config", cfg.to_str().unwrap()], dir.path());
    p.wait_ready().await;
    let state = || async {
        let (_, body) = get(p.addr, "/api/v1/targets/gw").await.ok()?;
        let v: serde_json::Value = serde_json::from_str(&body).ok()?;
        Some((
            v["diagnosis"]["cause"].as_str()?.to_string(),
            v["consecutive_failures"].as_u64()?,
            v["rounds"].as_u64()?,
        ))
    };

    gw.set(Behavior::ok("{}").status(503));
    // Failing, but below failure_threshold: still "none".
    let (cause, fails, _) = wait_for(10, "two failed rounds", || async {
        state().await.filter(|s| s.1 == 2)
    })
    .await;
    assert_eq!((cause.as_str(), fails), ("none", 2));
    wait_for(10, "the third failed round flips it", || async {
        state().await.filter(|s| s.0 == "server")
    })
    .await;

    gw.set(Behavior::ok("{}"));
    let rounds_at_fix = state().await.unwrap().2;
    let (cause, _, rounds) = wait_for(10, "mended, one good round", || async {
        state().await.filter(|s| s.1 == 0)
    })
    .await;
    assert_eq!(
        cause, "server",
        "one good round is below success_threshold (round {rounds}, fixed at {rounds_at_fix})"
    );
    wait_for(10, "the second good round clears it", || async {
        state().await.filter(|s| s.0 == "none")
    })
    .await;

    let log = std::fs::read_to_string(dir.path().join("payprobe.log")).unwrap();
    let changes: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("diagnosis changed"))
        .collect();
    assert_eq!(
        changes.len(),
        2,
        "none→server and server→none, once each:\n{}",
        changes.join("\n")
    );
    assert!(
        changes[0].contains("\"cause\":\"server\"")
            && changes[0].contains("\"rule\":\"status_5xx\""),
        "{}",
        changes[0]
    );
    assert!(
        changes[1].contains("\"cause\":\"none\"")
            && changes[1].contains("\"cause_from\":\"server\""),
        "{}",
        changes[1]
    );
}
