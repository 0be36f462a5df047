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

mod scope;

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

fn kind(e: &payprobe::checked::Checked) -> Option<FailureKind> {
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
    assert!(e.success(), "{e:?}");
    assert_eq!(proxy.tunnels(), 1);
    let p = e.observed.proxy.as_ref().expect("proxy evidence");
    assert_eq!(p.status, Some(200));
    assert_eq!(p.authority, format!("127.0.0.1:{port}"));
    assert_eq!(e.observed.tcp.as_ref().unwrap().address.port(), proxy.port);
    let h = e.observed.http.as_ref().unwrap();
    assert!(!h.phases.proxy.is_zero(), "{:?}", h.phases);
    assert_eq!(
        h.phases.total(),
        e.observed.duration,
        "phases add up with the proxy"
    );
    let json = serde_json::to_value(&e).unwrap();
    assert!(json["http"]["phases"]["proxy"].is_f64(), "{json}");
    // A direct target has no proxy phase in its JSON.
    let direct = probe(&target(&format!(
        "name = \"d\"\nurl = \"http://127.0.0.1:{port}/\""
    )))
    .await;
    assert!(direct.success() && direct.observed.proxy.is_none());
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
        assert!(e.success(), "{check}: {e:?}");
        assert_eq!(proxy.tunnels(), i + 1, "{check} opened one tunnel");
        if *check != "tcp" {
            assert!(
                e.observed.tls.as_ref().unwrap().version.is_some(),
                "TLS end to end"
            );
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
    assert_eq!(e.observed.proxy.as_ref().unwrap().status, Some(407));
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
    assert!(e.success(), "{e:?}");
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
    assert_eq!(e.observed.proxy.as_ref().unwrap().status, Some(502));
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
        assert!(e.success(), "{e:?}");
        assert_eq!(seen.lock().unwrap()[i].ip().to_string(), *want);
    }
    // Through a proxy, the proxy is what sees the source address.
    let proxy = Proxy::start(None).await;
    let e = probe(&target(&format!(
        "name = \"t\"\n{url}\nsource_address = \"127.0.0.2\"\nproxy = \"http://127.0.0.1:{}\"",
        proxy.port
    )))
    .await;
    assert!(e.success(), "{e:?}");
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
