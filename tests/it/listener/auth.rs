//! `web_config`: TLS, basic auth and bearer tokens on the listener, and their rate limit.

use super::*;

/// GET over TLS trusting `root` (PEM), with an optional `Authorization` value.
async fn https_get(addr: SocketAddr, root: &str, path: &str, auth: Option<&str>) -> (u16, String) {
    use rustls::pki_types::pem::PemObject;
    let mut roots = rustls::RootCertStore::empty();
    for c in rustls::pki_types::CertificateDer::pem_slice_iter(root.as_bytes()) {
        roots.add(c.unwrap()).unwrap();
    }
    let cfg = rustls::ClientConfig::builder_with_provider(std::sync::Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_root_certificates(roots)
    .with_no_client_auth();
    let tcp = TcpStream::connect(addr).await.unwrap();
    let name = rustls::pki_types::ServerName::try_from("127.0.0.1").unwrap();
    let mut s = tokio_rustls::TlsConnector::from(std::sync::Arc::new(cfg))
        .connect(name, tcp)
        .await
        .unwrap();
    let auth = auth
        .map(|a| format!("Authorization: {a}\r\n"))
        .unwrap_or_default();
    s.write_all(
        format!("GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n{auth}\r\n").as_bytes(),
    )
    .await
    .unwrap();
    let mut buf = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(10), s.read_to_end(&mut buf)).await;
    let text = String::from_utf8_lossy(&buf).into_owned();
    let status = text
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    (status, text)
}

/// `[server] web_config` in the exporter toolkit's format: TLS, bcrypt basic auth, bearer
/// tokens, and `/metrics` left open on request.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn web_config_gives_tls_basic_auth_and_bearer_tokens() {
    use base64::Engine;
    let gw = Gateway::http(Behavior::ok("{}")).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let key = rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_string()]).unwrap();
    let cert_pem = key.cert.pem();
    std::fs::write(dir.path().join("server.crt"), &cert_pem).unwrap();
    std::fs::write(
        dir.path().join("server.key"),
        key.signing_key.serialize_pem(),
    )
    .unwrap();
    let user_hash = bcrypt::hash("s3cret-pass", 4).unwrap();
    let token_hash = bcrypt::hash("tok-abc-123", 4).unwrap();
    let web = format!("tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\nbasic_auth_users:\n  alice: {user_hash}\nbearer_token_hashes:\n  - {token_hash}\n");
    let d = with_web_config(dir.path(), &web, "metrics_open = true\n", &gw).await;
    let cfg = dir.path().join("p.toml");
    let addr = d.addr;
    let basic = |u: &str, p: &str| {
        format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(format!("{u}:{p}"))
        )
    };
    let api = "/api/v1/targets";
    assert_eq!(https_get(addr, &cert_pem, api, None).await.0, 401);
    let (status, text) = https_get(addr, &cert_pem, api, Some(&basic("alice", "wrong"))).await;
    assert_eq!(status, 401);
    assert!(text
        .to_ascii_lowercase()
        .contains("www-authenticate: basic"));
    assert_eq!(
        https_get(addr, &cert_pem, api, Some(&basic("bob", "s3cret-pass")))
            .await
            .0,
        401
    );
    let good = basic("alice", "s3cret-pass");
    assert_eq!(https_get(addr, &cert_pem, api, Some(&good)).await.0, 200);
    assert_eq!(
        https_get(addr, &cert_pem, api, Some(&good)).await.0,
        200,
        "cached pair"
    );
    assert_eq!(
        https_get(addr, &cert_pem, api, Some("Bearer tok-abc-123"))
            .await
            .0,
        200
    );
    assert_eq!(
        https_get(addr, &cert_pem, api, Some("Bearer tok-other"))
            .await
            .0,
        401
    );
    assert_eq!(
        https_get(addr, &cert_pem, "/metrics", None).await.0,
        200,
        "metrics_open"
    );
    assert_eq!(
        https_get(addr, &cert_pem, "/", None).await.0,
        401,
        "the page is not"
    );
    // Plain HTTP on the TLS port gets no HTTP answer.
    assert!(!matches!(get(addr, "/metrics").await, Ok((200, _))));
    d.stop();

    // A toolkit key payprobe does not implement is refused by name, not ignored.
    std::fs::write(dir.path().join("web.yml"), "tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n  client_ca_file: ca.crt\n").unwrap();
    let err = payprobe::config::load(&cfg)
        .map(|_| ())
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("client_ca_file") && err.contains("p.toml:4:14"),
        "{err}"
    );
}

/// A daemon on loopback with `web.yml` holding `web`, probing one quiet gateway.
async fn with_web_config(
    dir: &std::path::Path,
    web: &str,
    server: &str,
    gw: &Gateway,
) -> payprobe::app::Daemon {
    std::fs::write(dir.join("web.yml"), web).unwrap();
    let cfg = dir.join("p.toml");
    std::fs::write(
        &cfg,
        format!("[server]\nlisten = \"127.0.0.1:0\"\nstate_dir = \"state\"\nweb_config = \"web.yml\"\n{server}[[targets]]\nname = \"gw\"\nurl = \"http://127.0.0.1:{}/\"\ninterval = \"1h\"\n", gw.port()),
    )
    .unwrap();
    let plan = payprobe::config::load(&cfg).unwrap();
    payprobe::app::Daemon::start(
        plan,
        None,
        std::sync::Arc::new(payprobe::probe::Probers::system()),
    )
    .await
    .unwrap()
}

/// `GET /metrics` with this `Authorization`; (status, head).
async fn auth_get(addr: SocketAddr, auth: &str) -> (u16, String) {
    let (status, head, _) = get_with(addr, "/metrics", &[("Authorization", auth)])
        .await
        .unwrap();
    (status, head)
}

/// Wrong passwords cost a bcrypt each: past `AUTH_CHECKS_BURST` they get 429 with
/// `Retry-After` instead of CPU, while a scraper whose password was verified before is still
/// served (from the cache).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_passwords_are_rate_limited_and_a_known_scraper_is_not() {
    use base64::Engine;
    let gw = Gateway::http(Behavior::ok("{}")).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let hash = bcrypt::hash("right-pass", 4).unwrap();
    let web = format!("basic_auth_users:\n  prom: {hash}\n");
    let d = with_web_config(dir.path(), &web, "", &gw).await;
    let basic = |p: &str| {
        format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(format!("prom:{p}"))
        )
    };
    let good = basic("right-pass");
    assert_eq!(auth_get(d.addr, &good).await.0, 200);
    let n = limits::AUTH_CHECKS_BURST as usize * 4;
    let mut limited = None;
    let mut unauthorized = 0;
    for i in 0..n {
        let (status, head) = auth_get(d.addr, &basic(&format!("guess-{i}"))).await;
        match status {
            401 => unauthorized += 1,
            429 => limited = Some(head),
            other => panic!("a wrong password got {other}"),
        }
    }
    let head = limited.expect("no wrong password was rate-limited");
    assert!(
        head.to_ascii_lowercase().contains("retry-after: "),
        "{head}"
    );
    assert!(
        unauthorized < n,
        "{unauthorized} of {n} wrong passwords were checked"
    );
    assert_eq!(
        auth_get(d.addr, &good).await.0,
        200,
        "the known scraper is served from the cache"
    );
    d.stop();
}
