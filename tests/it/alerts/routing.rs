//! Where alerts go: a real Alertmanager, a vantage point's outage paging once,
//! `payprobe alerts test`, the demo's webhook.

use super::*;

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
