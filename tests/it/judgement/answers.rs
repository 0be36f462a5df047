//! Answers that are not what was asked: another protocol, JSON-RPC errors in any shape.

use super::*;

/// A TLS server whose only ALPN protocol is one no HTTP client offers: it refuses every
/// handshake with the `no_application_protocol` alert.
async fn alpn_refusing_server(ca: &Ca) -> u16 {
    let leaf = ca.leaf(&["127.0.0.1"], Validity::Current).unwrap();
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut cfg = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(leaf.chain, leaf.key)
        .unwrap();
    cfg.alpn_protocols = vec![b"imap".to_vec()];
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(cfg));
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = l.local_addr().unwrap().port();
    tokio::spawn(async move {
        while let Ok((s, _)) = l.accept().await {
            let acc = acceptor.clone();
            tokio::spawn(async move {
                let _ = tokio::time::timeout(Duration::from_secs(3), acc.accept(s)).await;
            });
        }
    });
    port
}

/// When TCP (and TLS) worked and the peer answered in another protocol or shape, the cause
/// is the server's and the reason names what was seen. The code before issue 12 said
/// `unknown` for each of these.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_peer_answering_in_another_protocol_is_the_servers_and_says_what_it_was() {
    let dir = tempfile::tempdir().unwrap();
    let ca = Ca::new("judgement CA").unwrap();
    std::fs::write(dir.path().join("ca.pem"), ca.pem()).unwrap();
    let plain = Gateway::http(Behavior::ok("{}")).await.unwrap();
    let maintenance = Gateway::http(
        Behavior::ok("<!DOCTYPE html><html><head><title>Scheduled maintenance</title></head><body>back soon</body></html>")
            .header("content-type", "text/html"),
    )
    .await
    .unwrap();
    let not_rpc = Gateway::http(Behavior::ok(r#"{"status":"ok","version":"1.2"}"#))
        .await
        .unwrap();
    let ssh = raw_server(b"SSH-2.0-OpenSSH_9.6\r\n").await;
    let garbled = raw_server(b"\x16\x03\x03\x00\x04\x02\x00\x00\x00").await;
    let hangs_up = raw_server(b"").await;
    let alpn = alpn_refusing_server(&ca).await;
    let cases: Vec<(&str, String, &str, &str, &str)> = vec![
        (
            "http-on-tls-port",
            format!("url = \"https://127.0.0.1:{}/v1/pay\"", plain.port()),
            "tls_not_tls",
            "server",
            "the peer sent \"HTTP/1.1 400 Bad Request\"",
        ),
        (
            "ssh-on-http-port",
            format!("url = \"http://127.0.0.1:{ssh}/v1/pay\""),
            "http_protocol_error",
            "server",
            "not in valid HTTP",
        ),
        (
            "garbled-tls",
            format!("url = \"https://127.0.0.1:{garbled}/v1/pay\""),
            "tls_peer_misbehaved",
            "server",
            "broke the protocol",
        ),
        (
            "alpn-refused",
            format!("url = \"https://127.0.0.1:{alpn}/v1/pay\"\nca_file = \"ca.pem\""),
            "tls_alert",
            "server",
            "NoApplicationProtocol",
        ),
        (
            "html-for-rpc",
            format!(
                "url = \"http://127.0.0.1:{}/\"\nprofile = \"evm_jsonrpc\"",
                maintenance.port()
            ),
            "provider_format",
            "server",
            "an HTML page titled \"Scheduled maintenance\", not a JSON-RPC 2.0 answer",
        ),
        (
            "json-not-rpc",
            format!(
                "url = \"http://127.0.0.1:{}/\"\nprofile = \"evm_jsonrpc\"",
                not_rpc.port()
            ),
            "provider_format",
            "server",
            "a JSON object with keys [status, version], not a JSON-RPC 2.0 answer",
        ),
        // connect() fails on this host before any packet leaves (a link-local address
        // without a zone: EINVAL): neither refused nor a timeout, this side's network.
        (
            "link-local-no-zone",
            "url = \"tcp://[fe80::1]:9\"".to_string(),
            "connect_error",
            "network",
            "could not open the connection",
        ),
        // No answer at all before the close: nothing shows which side it was, said plainly.
        (
            "closed-in-handshake",
            format!("url = \"https://127.0.0.1:{hangs_up}/v1/pay\""),
            "tls_closed",
            "unknown",
            "cannot tell",
        ),
    ];
    let mut targets = String::new();
    for (name, keys, ..) in &cases {
        targets.push_str(&format!(
            "[[targets]]\nname = \"{name}\"\nprovider = \"{name}\"\n{keys}\n\n"
        ));
    }
    let d = start(dir.path(), "interval = \"5s\"", &targets).await;
    let want: Vec<_> = cases
        .iter()
        .map(|(n, _, r, c, _)| (n.to_string(), *r, *c))
        .collect();
    let wrong = wait_rules(&d, &want).await;
    assert!(
        wrong.is_empty(),
        "{} wrong:\n{}",
        wrong.len(),
        wrong.join("\n")
    );
    for (name, _, _, _, seen) in &cases {
        let v = api(&d, &format!("/api/v1/targets/{name}")).await;
        let reason = v["diagnosis"]["reason"].as_str().unwrap_or("");
        assert!(reason.contains(seen), "{name}: {reason:?} lacks {seen:?}");
    }
    d.stop();
}

/// Error answers in every shape JSON-RPC allows are errors, judged by code and, for the
/// catch-all -32000, by the documented message. Before issue 12 the first was healthy.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jsonrpc_error_answers_in_any_shape_are_never_healthy() {
    let dir = tempfile::tempdir().unwrap();
    let bodies = [
        (
            "no-version-member",
            r#"{"id":1,"error":{"code":-32000,"message":"header not found"}}"#,
            "provider_server",
            "server",
        ),
        (
            "batch",
            r#"[{"jsonrpc":"2.0","id":1,"result":"0x10"},{"jsonrpc":"2.0","id":2,"error":{"code":"-32005","message":"limit exceeded"}}]"#,
            "provider_security",
            "security",
        ),
        (
            "null-id",
            r#"{"jsonrpc":"2.0","id":null,"error":{"code":-32000,"message":"nonce too low: next nonce 7, tx nonce 3"}}"#,
            "provider_user_input",
            "user_input",
        ),
        (
            "pruned",
            r#"{"jsonrpc":"2.0","id":1,"error":{"code":-32000,"message":"missing trie node 1f2e (path ) state 0x1 is not available"}}"#,
            "provider_server",
            "server",
        ),
        (
            "result-and-error",
            r#"{"jsonrpc":"2.0","id":1,"result":"0x10","error":{"code":-32603,"message":"internal"}}"#,
            "provider_server",
            "server",
        ),
        // A code no source documents: the answer itself cannot be placed, said plainly.
        (
            "undocumented-code",
            r#"{"jsonrpc":"2.0","id":1,"error":{"code":-32099,"message":"something odd"}}"#,
            "provider_unknown",
            "unknown",
        ),
        (
            "healthy-batch",
            r#"[{"jsonrpc":"2.0","id":1,"result":"0x10"}]"#,
            "none",
            "none",
        ),
    ];
    let mut keep = Vec::new();
    let mut targets = String::new();
    for (name, body, ..) in &bodies {
        let g = Gateway::http(Behavior::ok(body)).await.unwrap();
        targets.push_str(&format!(
            "[[targets]]\nname = \"{name}\"\nprovider = \"{name}\"\nurl = \"http://127.0.0.1:{}/\"\nprofile = \"evm_jsonrpc\"\n\n",
            g.port()
        ));
        keep.push(g);
    }
    let d = start(dir.path(), "interval = \"5s\"", &targets).await;
    let want: Vec<_> = bodies
        .iter()
        .map(|(n, _, r, c)| (n.to_string(), *r, *c))
        .collect();
    let wrong = wait_rules(&d, &want).await;
    assert!(
        wrong.is_empty(),
        "{} wrong:\n{}",
        wrong.len(),
        wrong.join("\n")
    );
    let v = api(&d, "/api/v1/targets/no-version-member").await;
    let symptoms = v["diagnosis"]["symptoms"].to_string();
    assert!(
        symptoms.contains("balance_anomaly"),
        "a node without the block: {symptoms}"
    );
    d.stop();
}
