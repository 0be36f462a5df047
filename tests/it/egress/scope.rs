//! Scope per way out, and secrets of the way out kept out of every output.

use super::*;

async fn start(dir: &Path, body: &str) -> Daemon {
    let src = format!(
        "[server]\nlisten = \"127.0.0.1:0\"\nstate_dir = \"state\"\n[defaults]\ntimeout = \"2s\"\ninterval = \"3s\"\nfailure_threshold = 1\nsuccess_threshold = 1\n\n{body}"
    );
    crate::alerts::daemon(dir, &src).await
}

async fn diagnosis(d: &Daemon, name: &str) -> serde_json::Value {
    let (_, body) = get(d.addr, &format!("/api/v1/targets/{name}"))
        .await
        .unwrap();
    serde_json::from_str(&body).unwrap_or_default()
}

/// A dead proxy behind which every target fails is this side's problem, not N provider
/// outages; a control on another way out is not affected, and each row says its way out.
/// The rules: "proxy_refused", "proxy_auth_required", "proxy_target_unreachable",
/// "proxy_error", "proxy_timeout", "source_address_unavailable" (judged here end to end).
#[tokio::test]
async fn scope_names_the_broken_way_out() {
    let dir = tempfile::tempdir().unwrap();
    let (up, _) = recording_server().await;
    let dead_proxy = closed_port();
    let auth_proxy = Proxy::start(Some("Basic eDp5")).await;
    let live = Proxy::start(None).await;
    let odd = raw_server(b"HTTP/1.1 403 Forbidden\r\n\r\n").await;
    let (silent, _keep) = crate::support::silent_server().await;
    let more = format!(
        "[[targets]]\nname = \"odd\"\nprovider = \"o\"\nurl = \"http://127.0.0.1:{up}/o\"\nproxy = \"http://127.0.0.1:{odd}\"\n\
[[targets]]\nname = \"slow\"\nprovider = \"s\"\nurl = \"http://127.0.0.1:{up}/s\"\nproxy = \"http://127.0.0.1:{silent}\"\ntimeout = \"1s\"\n\
[[targets]]\nname = \"fine\"\nprovider = \"f\"\nurl = \"http://127.0.0.1:{up}/f\"\n"
    );
    let body = format!(
        "[[targets]]\nname = \"alipay-a\"\nprovider = \"alipay\"\nurl = \"http://127.0.0.1:{up}/a\"\nproxy = \"http://127.0.0.1:{dead_proxy}\"\n\
[[targets]]\nname = \"alipay-b\"\nprovider = \"alipay\"\nurl = \"http://127.0.0.1:{up}/b\"\nproxy = \"http://127.0.0.1:{dead_proxy}\"\n\
[[targets]]\nname = \"stripe\"\nprovider = \"stripe\"\nurl = \"http://127.0.0.1:{up}/s\"\nproxy = \"http://127.0.0.1:{}\"\n\
[[targets]]\nname = \"wechat\"\nprovider = \"wechat\"\nurl = \"http://127.0.0.1:{}/w\"\nproxy = \"http://127.0.0.1:{}\"\n\
[[targets]]\nname = \"uplink2\"\nprovider = \"u\"\nurl = \"http://127.0.0.1:{up}/u\"\nsource_address = \"192.0.2.1\"\n\
[[controls]]\nname = \"ctl-direct\"\nurl = \"tcp://127.0.0.1:{up}\"\n{more}",
        auth_proxy.port,
        closed_port(),
        live.port
    );
    let d = start(dir.path(), &body).await;
    let addr = d.addr;
    wait_for(30, "every target's first round", || async move {
        matches!(get(addr, "/readyz").await, Ok((200, _))).then_some(())
    })
    .await;
    let want = [
        ("alipay-a", "proxy_refused", "local"),
        ("alipay-b", "proxy_refused", "local"),
        ("stripe", "proxy_auth_required", "local"),
        ("wechat", "proxy_target_unreachable", "endpoint"),
        ("uplink2", "source_address_unavailable", "local"),
        ("odd", "proxy_error", "local"),
        ("slow", "proxy_timeout", "endpoint"),
    ];
    let mut wrong = Vec::new();
    for _ in 0..40 {
        wrong.clear();
        for (name, rule, scope) in want {
            let v = diagnosis(&d, name).await;
            let got = (
                &v["diagnosis"]["rule"],
                &v["diagnosis"]["scope"],
                &v["diagnosis"]["cause"],
            );
            if got.0 != rule || got.1 != scope || got.2 != "network" {
                wrong.push(format!("{name}: got {got:?}, want {rule}/{scope}/network"));
            }
        }
        if wrong.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    assert!(wrong.is_empty(), "{wrong:#?}");
    let v = diagnosis(&d, "alipay-a").await;
    assert_eq!(v["egress"], format!("proxy=127.0.0.1:{dead_proxy}"));
    assert_eq!(diagnosis(&d, "ctl-direct").await["egress"], "direct");
    let (_, page) = get(d.addr, "/").await.unwrap();
    assert!(page.contains(&format!("proxy=127.0.0.1:{dead_proxy}")));
    // The banner names the broken ways out; the direct one is not among them.
    let banner = page
        .split("class=\"ways\">")
        .nth(1)
        .and_then(|r| r.split("</p>").next())
        .unwrap_or_else(|| panic!("no ways-out line: {page}"));
    assert!(banner.starts_with("Broken way out: "), "{banner}");
    assert!(
        banner.contains(&format!("proxy=127.0.0.1:{dead_proxy}")),
        "{banner}"
    );
    assert!(
        banner.contains("source=192.0.2.1") && !banner.contains("direct"),
        "{banner}"
    );
    let (_, metrics) = get(d.addr, "/metrics").await.unwrap();
    let info = "payprobe_target_egress_info{egress=\"source=192.0.2.1\",provider=\"u\",target=\"uplink2\"} 1";
    assert!(metrics.contains(info), "{metrics}");
    assert!(!metrics.contains("egress=\"direct\""));
    d.stop();
}

/// A control through a proxy speaks for the targets behind the same proxy: when the proxy
/// cannot reach anything, its targets are `local` while a direct target stays `endpoint`.
#[tokio::test]
async fn a_control_on_the_same_way_out_makes_it_local() {
    let dir = tempfile::tempdir().unwrap();
    let proxy = Proxy::start(None).await;
    let dead = closed_port();
    let rx = crate::alerts::Receiver::up().await;
    let body = format!(
        "[alerts]\ngroup_wait = \"300ms\"\n[[alerts.sinks]]\nname = \"hook\"\nkind = \"webhook\"\nurl = \"http://{}/hook\"\n\
[[targets]]\nname = \"via\"\nprovider = \"p1\"\nurl = \"http://127.0.0.1:{dead}/\"\nproxy = \"http://127.0.0.1:{pp}\"\n\
[[targets]]\nname = \"direct\"\nprovider = \"p2\"\nurl = \"http://127.0.0.1:{dead}/\"\n\
[[controls]]\nname = \"ctl-proxy\"\nurl = \"tcp://127.0.0.1:{dead}\"\nproxy = \"http://127.0.0.1:{pp}\"\n",
        rx.addr,
        pp = proxy.port
    );
    let d = start(dir.path(), &body).await;
    let mut got = (serde_json::Value::Null, serde_json::Value::Null);
    for _ in 0..60 {
        got = (
            diagnosis(&d, "via").await["diagnosis"]["scope"].clone(),
            diagnosis(&d, "direct").await["diagnosis"]["scope"].clone(),
        );
        if got.0 == "local" && got.1 == "endpoint" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    assert_eq!(
        (got.0.as_str(), got.1.as_str()),
        (Some("local"), Some("endpoint"))
    );
    d.stop();
}

/// Proxy credentials and a channel's token stay secret: not in debug logs, `/metrics`, the
/// API, the page, `/probe`, `probe-once --json` or `check-config`, while both are in play
/// (the proxy accepted the credentials; the channel accepted a report with the token).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn proxy_credentials_and_channel_tokens_appear_nowhere() {
    use base64::Engine;
    const CRED: &str = "probe:PROXYSECRET_7a1c";
    const TOKEN: &str = "CHANNELTOKEN_5d2e9f0a11223344";
    let b64 = base64::engine::general_purpose::STANDARD.encode(CRED);
    let want: &'static str = Box::leak(format!("Basic {b64}").into_boxed_str());
    let proxy = Proxy::start(Some(want)).await;
    let refusing = Proxy::start(Some("Basic never")).await;
    let (up, _) = recording_server().await;
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("token"), format!("{TOKEN}\n")).unwrap();
    let cfg = dir.path().join("p.toml");
    std::fs::write(
        &cfg,
        format!(
            "[server]\nstate_dir = \"state\"\n[defaults]\ninterval = \"1s\"\ntimeout = \"800ms\"\nfailure_threshold = 1\n\
[[targets]]\nname = \"via\"\nurl = \"http://127.0.0.1:{up}/\"\nproxy = \"http://127.0.0.1:{}\"\nproxy_auth_env = \"PP_PROXY_AUTH\"\n\
[[targets]]\nname = \"refused\"\nurl = \"http://127.0.0.1:{up}/\"\nproxy = \"http://127.0.0.1:{}\"\nproxy_auth_env = \"PP_PROXY_AUTH\"\n\
[[notifications]]\nname = \"n\"\nprovider = \"p\"\ntoken_file = \"token\"\n",
            proxy.port, refusing.port
        ),
    )
    .unwrap();
    let cfg_s = cfg.to_str().unwrap();
    let env = [("PP_PROXY_AUTH", CRED), ("RUST_LOG", "debug")];
    let d = crate::support::Proc::spawn_with(&["run", "--config", cfg_s], dir.path(), None, &env);
    d.wait_ready().await;
    assert!(proxy.tunnels() >= 1, "the credentials were accepted");
    let mut seen: Vec<(String, String)> = Vec::new();
    let post = |token: &'static str, body: &'static str| async move {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let mut s = TcpStream::connect(d.addr).await.unwrap();
        let req = format!("POST /api/v1/notifications/n HTTP/1.1\r\nHost: t\r\nConnection: close\r\nAuthorization: Bearer {token}\r\nContent-Length: {}\r\n\r\n{body}", body.len());
        s.write_all(req.as_bytes()).await.unwrap();
        let mut buf = Vec::new();
        let _ = tokio::time::timeout(Duration::from_secs(5), s.read_to_end(&mut buf)).await;
        String::from_utf8_lossy(&buf).into_owned()
    };
    let ok = post(TOKEN, r#"{"id":"a","paid_at":"2026-01-02T03:04:05Z"}"#).await;
    assert!(ok.starts_with("HTTP/1.1 200"), "{ok}");
    seen.push(("report".into(), ok));
    seen.push(("bad body".into(), post(TOKEN, "{").await));
    seen.push((
        "bad token".into(),
        post("CHANNELTOKEN_5d2e9f0a1122334X", "{}").await,
    ));
    for path in [
        "/metrics",
        "/api/v1/targets",
        "/api/v1/targets/refused",
        "/",
        "/probe?target=via",
        "/probe?target=refused",
    ] {
        let (status, body) = get(d.addr, path).await.unwrap();
        seen.push((format!("GET {path} ({status})"), body));
    }
    d.signal("HUP");
    tokio::time::sleep(Duration::from_millis(500)).await;
    drop(d);
    let log = std::fs::read_to_string(dir.path().join("payprobe.log")).unwrap();
    assert!(log.contains("407"), "the proxy failure is logged: {log}");
    seen.push(("daemon log (debug)".into(), log));
    for args in [
        vec!["probe-once", cfg_s, "--json"],
        vec!["check-config", cfg_s],
    ] {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_payprobe"))
            .args(&args)
            .current_dir(dir.path())
            .envs(env)
            .output()
            .unwrap();
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        seen.push((args.join(" "), text));
    }
    for (what, text) in &seen {
        for secret in ["PROXYSECRET_7a1c", b64.as_str(), TOKEN] {
            assert!(!text.contains(secret), "{what} shows a secret:\n{text}");
        }
    }
}
