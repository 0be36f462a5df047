//! The way out (issue 23): a target's `proxy` (HTTP CONNECT) and `source_address`, against a
//! CONNECT proxy written here that counts its tunnels, and a server that records who called.
//! Every server binds loopback; `source_address` uses 127.0.0.2, which Linux routes on lo.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use payprobe::app::Daemon;
use payprobe::demo::gateway::{Behavior, Gateway};
use payprobe::demo::pki::{Ca, Validity};
use payprobe::probe::{FailureKind, Phase};

use crate::support::{closed_port, get, probe, raw_server, target, target_in, wait_for};

/// A CONNECT proxy on loopback: it counts tunnels it opened, remembers the peers that asked,
/// and, when `auth` is set, answers 407 unless `Proxy-Authorization` carries it.
struct Proxy {
    port: u16,
    tunnels: Arc<AtomicUsize>,
    peers: Arc<Mutex<Vec<SocketAddr>>>,
    heads: Arc<Mutex<Vec<String>>>,
}

impl Proxy {
    async fn start(auth: Option<&'static str>) -> Proxy {
        let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = l.local_addr().unwrap().port();
        let tunnels = Arc::new(AtomicUsize::new(0));
        let peers = Arc::new(Mutex::new(Vec::new()));
        let heads = Arc::new(Mutex::new(Vec::new()));
        let (t, p, h) = (tunnels.clone(), peers.clone(), heads.clone());
        tokio::spawn(async move {
            while let Ok((s, peer)) = l.accept().await {
                p.lock().unwrap().push(peer);
                tokio::spawn(serve(s, auth, t.clone(), h.clone()));
            }
        });
        Proxy {
            port,
            tunnels,
            peers,
            heads,
        }
    }

    fn tunnels(&self) -> usize {
        self.tunnels.load(Ordering::SeqCst)
    }
}

async fn serve(
    mut s: TcpStream,
    auth: Option<&'static str>,
    tunnels: Arc<AtomicUsize>,
    heads: Arc<Mutex<Vec<String>>>,
) {
    let mut head = Vec::new();
    let mut b = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") && head.len() < 8192 {
        match s.read(&mut b).await {
            Ok(1) => head.push(b[0]),
            _ => return,
        }
    }
    let head = String::from_utf8_lossy(&head).into_owned();
    heads.lock().unwrap().push(head.clone());
    if let Some(want) = auth {
        if !head.contains(&format!("Proxy-Authorization: {want}\r\n")) {
            let _ = s
                .write_all(b"HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic realm=\"t\"\r\nContent-Length: 0\r\n\r\n")
                .await;
            return;
        }
    }
    let authority = head
        .strip_prefix("CONNECT ")
        .and_then(|r| r.split(' ').next())
        .unwrap_or_default()
        .to_string();
    let Ok(mut up) = TcpStream::connect(&authority).await else {
        let _ = s.write_all(b"HTTP/1.1 502 Bad Gateway\r\n\r\n").await;
        return;
    };
    tunnels.fetch_add(1, Ordering::SeqCst);
    if s.write_all(b"HTTP/1.1 200 Connection established\r\n\r\n")
        .await
        .is_ok()
    {
        let _ = tokio::time::timeout(
            Duration::from_secs(10),
            tokio::io::copy_bidirectional(&mut s, &mut up),
        )
        .await;
    }
}

/// A server that answers every request with 200 and records each caller's address.
async fn recording_server() -> (u16, Arc<Mutex<Vec<SocketAddr>>>) {
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = l.local_addr().unwrap().port();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let s2 = seen.clone();
    tokio::spawn(async move {
        while let Ok((mut s, peer)) = l.accept().await {
            s2.lock().unwrap().push(peer);
            tokio::spawn(async move {
                let mut buf = [0u8; 2048];
                let _ = s.read(&mut buf).await;
                let _ = s
                    .write_all(
                        b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok",
                    )
                    .await;
            });
        }
    });
    (port, seen)
}

fn kind(e: &payprobe::probe::Evidence) -> Option<FailureKind> {
    e.failure.as_ref().map(|f| f.kind)
}

#[tokio::test]
async fn http_goes_through_the_proxy_in_its_own_phase() {
    let proxy = Proxy::start(None).await;
    let port = raw_server(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok").await;
    let t = target(&format!(
        "name = \"t\"\nurl = \"http://127.0.0.1:{port}/\"\nproxy = \"http://127.0.0.1:{}\"",
        proxy.port
    ));
    let e = probe(&t).await;
    assert!(e.success, "{e:?}");
    assert_eq!(proxy.tunnels(), 1);
    let p = e.proxy.as_ref().expect("proxy evidence");
    assert_eq!(p.status, Some(200));
    assert_eq!(p.authority, format!("127.0.0.1:{port}"));
    assert_eq!(e.tcp.as_ref().unwrap().address.port(), proxy.port);
    let h = e.http.as_ref().unwrap();
    assert!(!h.phases.proxy.is_zero(), "{:?}", h.phases);
    assert_eq!(h.phases.total(), e.duration, "phases add up with the proxy");
    let json = serde_json::to_value(&e).unwrap();
    assert!(json["http"]["phases"]["proxy"].is_f64(), "{json}");
    // A direct target has no proxy phase in its JSON.
    let direct = probe(&target(&format!(
        "name = \"d\"\nurl = \"http://127.0.0.1:{port}/\""
    )))
    .await;
    assert!(direct.success && direct.proxy.is_none());
    assert!(serde_json::to_value(&direct).unwrap()["http"]["phases"]["proxy"].is_null());
    assert_eq!(
        proxy.tunnels(),
        1,
        "the direct target did not use the proxy"
    );
}

#[tokio::test]
async fn https_and_the_path_checks_tunnel_too() {
    let ca = Ca::new("test CA").unwrap();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("ca.pem"), ca.pem()).unwrap();
    let gw = Gateway::https(
        Behavior::ok("{}"),
        ca.leaf(&["127.0.0.1"], Validity::Current).unwrap(),
    )
    .await
    .unwrap();
    let proxy = Proxy::start(None).await;
    for (i, check) in ["http", "tls", "tcp"].iter().enumerate() {
        let t = target_in(
            &format!(
                "name = \"t\"\nurl = \"https://127.0.0.1:{}/\"\nchecks = [\"{check}\"]\nca_file = \"ca.pem\"\nproxy = \"http://127.0.0.1:{}\"",
                gw.port(),
                proxy.port
            ),
            dir.path(),
        );
        let e = probe(&t).await;
        assert!(e.success, "{check}: {e:?}");
        assert_eq!(proxy.tunnels(), i + 1, "{check} opened one tunnel");
        if *check != "tcp" {
            assert!(e.tls.as_ref().unwrap().version.is_some(), "TLS end to end");
        }
    }
    // The proxy saw a CONNECT for the target, with no credentials to leak.
    let heads = proxy.heads.lock().unwrap().clone();
    assert!(heads[0].starts_with(&format!("CONNECT 127.0.0.1:{} HTTP/1.1\r\n", gw.port())));
    assert!(!heads[0].contains("Proxy-Authorization"));
}

#[tokio::test]
async fn a_proxy_that_wants_credentials_answers_407_until_it_gets_them() {
    // "probe:s3cret" in Base64.
    let proxy = Proxy::start(Some("Basic cHJvYmU6czNjcmV0")).await;
    let (port, _) = recording_server().await;
    let dir = tempfile::tempdir().unwrap();
    let base = format!(
        "name = \"t\"\nurl = \"http://127.0.0.1:{port}/\"\nproxy = \"http://127.0.0.1:{}\"",
        proxy.port
    );
    let e = probe(&target_in(&base, dir.path())).await;
    assert_eq!(kind(&e), Some(FailureKind::ProxyAuthRequired), "{e:?}");
    assert_eq!(e.failure.as_ref().unwrap().phase, Phase::Proxy);
    assert_eq!(e.proxy.as_ref().unwrap().status, Some(407));
    std::fs::write(dir.path().join("wrong"), "probe:nope\n").unwrap();
    let e = probe(&target_in(
        &format!("{base}\nproxy_auth_file = \"wrong\""),
        dir.path(),
    ))
    .await;
    assert_eq!(kind(&e), Some(FailureKind::ProxyAuthRequired), "{e:?}");
    std::fs::write(dir.path().join("auth"), "probe:s3cret\n").unwrap();
    let e = probe(&target_in(
        &format!("{base}\nproxy_auth_file = \"auth\""),
        dir.path(),
    ))
    .await;
    assert!(e.success, "{e:?}");
    assert_eq!(proxy.tunnels(), 1);
    // The credentials appear nowhere in the evidence.
    let json = serde_json::to_string(&e).unwrap();
    assert!(
        !json.contains("s3cret") && !json.contains("cHJvYmU6czNjcmV0"),
        "{json}"
    );
}

#[tokio::test]
async fn a_closed_proxy_and_a_dead_target_behind_it_fail_differently() {
    let (port, _) = recording_server().await;
    let e = probe(&target(&format!(
        "name = \"t\"\nurl = \"http://127.0.0.1:{port}/\"\nproxy = \"http://127.0.0.1:{}\"",
        closed_port()
    )))
    .await;
    assert_eq!(kind(&e), Some(FailureKind::ProxyRefused), "{e:?}");
    assert_eq!(e.failure.as_ref().unwrap().phase, Phase::Connect);
    let proxy = Proxy::start(None).await;
    let e = probe(&target(&format!(
        "name = \"t\"\nurl = \"http://127.0.0.1:{}/\"\nproxy = \"http://127.0.0.1:{}\"",
        closed_port(),
        proxy.port
    )))
    .await;
    assert_eq!(kind(&e), Some(FailureKind::ProxyTargetUnreachable), "{e:?}");
    assert_eq!(e.proxy.as_ref().unwrap().status, Some(502));
    assert_eq!(proxy.tunnels(), 0);
}

#[tokio::test]
async fn source_address_is_bound_before_connecting() {
    let (port, seen) = recording_server().await;
    let url = format!("url = \"http://127.0.0.1:{port}/\"");
    for (i, (src, want)) in [(None, "127.0.0.1"), (Some("127.0.0.2"), "127.0.0.2")]
        .iter()
        .enumerate()
    {
        let key = src
            .map(|s| format!("source_address = \"{s}\""))
            .unwrap_or_default();
        let e = probe(&target(&format!("name = \"t\"\n{url}\n{key}"))).await;
        assert!(e.success, "{e:?}");
        assert_eq!(seen.lock().unwrap()[i].ip().to_string(), *want);
    }
    // Through a proxy, the proxy is what sees the source address.
    let proxy = Proxy::start(None).await;
    let e = probe(&target(&format!(
        "name = \"t\"\n{url}\nsource_address = \"127.0.0.2\"\nproxy = \"http://127.0.0.1:{}\"",
        proxy.port
    )))
    .await;
    assert!(e.success, "{e:?}");
    assert_eq!(proxy.peers.lock().unwrap()[0].ip().to_string(), "127.0.0.2");
    // An address this host does not have (TEST-NET-1) cannot be bound: nothing is sent.
    let e = probe(&target(&format!(
        "name = \"t\"\n{url}\nsource_address = \"192.0.2.1\""
    )))
    .await;
    assert_eq!(
        kind(&e),
        Some(FailureKind::SourceAddressUnavailable),
        "{e:?}"
    );
    assert_eq!(seen.lock().unwrap().len(), 3);
}

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
