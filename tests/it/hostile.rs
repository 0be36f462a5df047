//! The hostile-gateway suite (issue 15): real servers on loopback that misbehave on purpose.
//!
//! Each case asserts the bounded evidence and its cause, that the probe returned within its
//! timeout plus `limits::DEADLINE_SLACK` (the documented slack), and that nothing panicked
//! (a panic would fail the test itself). Memory is bounded by the caps of `src/limits.rs`:
//! the serialised evidence stays small whatever the server sent.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use payprobe::demo::gateway::{Behavior, Gateway};
use payprobe::limits;
use payprobe::probe::{Evidence, FailureKind, Phase};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::time::Instant;

use crate::support::{probe, target, target_in};

/// Evidence serialised stays under this: the body cap (64 KiB by default), its excerpt,
/// headers of interest (bounded by the head cap) and a few fields.
const EVIDENCE_BOUND: usize = 256 * 1024;

fn kind(e: &Evidence) -> Option<FailureKind> {
    e.failure.as_ref().map(|f| f.kind)
}

/// Probes `t` once, asserting the deadline and the size of the evidence.
async fn bounded(t: &payprobe::config::Target) -> Evidence {
    let started = Instant::now();
    let ev = probe(t).await;
    let took = started.elapsed();
    assert!(
        took <= t.timeout + limits::DEADLINE_SLACK,
        "the probe took {took:?}, past its timeout {:?} + slack {:?}",
        t.timeout,
        limits::DEADLINE_SLACK
    );
    let size = serde_json::to_string(&ev).unwrap().len();
    assert!(size < EVIDENCE_BOUND, "evidence is {size} bytes");
    if let Some(h) = &ev.http {
        assert!(
            h.body.len() <= t.http.max_body_bytes,
            "body kept past the cap"
        );
    }
    ev
}

/// A TCP server running `handle` for every connection.
async fn server<F, Fut>(handle: F) -> u16
where
    F: Fn(TcpStream) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = l.local_addr().unwrap().port();
    let handle = Arc::new(handle);
    tokio::spawn(async move {
        while let Ok((s, _)) = l.accept().await {
            tokio::spawn(handle(s));
        }
    });
    port
}

/// Reads (part of) the request so the probe is past sending it.
async fn read_request(s: &mut TcpStream) {
    let mut buf = [0u8; 4096];
    let _ = s.read(&mut buf).await;
}

fn http_target(port: u16, timeout: &str, extra: &str) -> Arc<payprobe::config::Target> {
    target(&format!(
        "name = \"t\"\nurl = \"http://127.0.0.1:{port}/\"\nchecks = [\"http\"]\ninterval = \"10s\"\ntimeout = \"{timeout}\"\n{extra}"
    ))
}

#[tokio::test]
async fn accept_and_never_answer_is_a_response_timeout() {
    let port = server(|mut s| async move {
        read_request(&mut s).await;
        tokio::time::sleep(Duration::from_secs(60)).await;
    })
    .await;
    let ev = bounded(&http_target(port, "800ms", "")).await;
    assert_eq!(kind(&ev), Some(FailureKind::ResponseTimeout));
    assert_eq!(ev.failure.unwrap().phase, Phase::Processing);
}

#[tokio::test]
async fn headers_one_byte_a_second_end_at_the_deadline() {
    let port = server(|mut s| async move {
        read_request(&mut s).await;
        for b in b"HTTP/1.1 200 OK\r\nX-Slow: aaaaaaaaaaaaaaaaaaaaaa".iter() {
            if s.write_all(&[*b]).await.is_err() {
                return;
            }
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
    })
    .await;
    let ev = bounded(&http_target(port, "1500ms", "")).await;
    assert_eq!(kind(&ev), Some(FailureKind::ResponseTimeout));
}

#[tokio::test]
async fn endless_headers_are_cut_at_the_head_limit() {
    let port = server(|mut s| async move {
        read_request(&mut s).await;
        let _ = s.write_all(b"HTTP/1.1 200 OK\r\n").await;
        let line = format!("X-Pad: {}\r\n", "a".repeat(1000));
        // Bounded on our side too: at most 100 MiB, far past any limit.
        for _ in 0..100_000 {
            if s.write_all(line.as_bytes()).await.is_err() {
                return;
            }
        }
    })
    .await;
    let ev = bounded(&http_target(port, "3s", "")).await;
    assert_eq!(kind(&ev), Some(FailureKind::HttpProtocolError), "{ev:?}");
}

#[tokio::test]
async fn one_mebibyte_of_headers_is_refused() {
    let port = server(|mut s| async move {
        read_request(&mut s).await;
        let big = format!(
            "HTTP/1.1 200 OK\r\nX-Big: {}\r\nContent-Length: 0\r\n\r\n",
            "b".repeat(1 << 20)
        );
        let _ = s.write_all(big.as_bytes()).await;
    })
    .await;
    let ev = bounded(&http_target(port, "3s", "")).await;
    assert_eq!(kind(&ev), Some(FailureKind::HttpProtocolError), "{ev:?}");
    let detail = ev.failure.unwrap().detail;
    assert!(detail.contains("too large"), "{detail}");
}

#[tokio::test]
async fn too_many_headers_are_refused() {
    let n = limits::MAX_RESPONSE_HEADERS + 50;
    let port = server(move |mut s| async move {
        read_request(&mut s).await;
        let mut r = String::from("HTTP/1.1 200 OK\r\n");
        for i in 0..n {
            r.push_str(&format!("X-H{i}: v\r\n"));
        }
        r.push_str("Content-Length: 0\r\n\r\n");
        let _ = s.write_all(r.as_bytes()).await;
    })
    .await;
    let ev = bounded(&http_target(port, "3s", "")).await;
    assert_eq!(kind(&ev), Some(FailureKind::HttpProtocolError), "{ev:?}");
}

#[tokio::test]
async fn an_endless_chunked_body_is_read_up_to_the_cap() {
    let port = server(|mut s| async move {
        read_request(&mut s).await;
        let _ = s
            .write_all(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
            .await;
        let chunk = format!("1000\r\n{}\r\n", "c".repeat(0x1000));
        for _ in 0..100_000 {
            if s.write_all(chunk.as_bytes()).await.is_err() {
                return;
            }
        }
    })
    .await;
    let ev = bounded(&http_target(
        port,
        "3s",
        "[targets.http]\nmax_body_bytes = 10000",
    ))
    .await;
    let h = ev.http.as_ref().unwrap();
    assert!(h.body_truncated, "{ev:?}");
    assert_eq!(h.body.len(), 10_000);
    assert!(h.body_bytes > 10_000 && h.body_bytes < 1_000_000);
    assert!(
        ev.success,
        "a 200 whose body is cut at the cap is still an answer"
    );
}

#[tokio::test]
async fn a_ten_gigabyte_content_length_that_stalls_is_a_body_timeout() {
    let port = server(|mut s| async move {
        read_request(&mut s).await;
        let _ = s
            .write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 10000000000\r\n\r\nfirst-bytes")
            .await;
        tokio::time::sleep(Duration::from_secs(60)).await;
    })
    .await;
    let ev = bounded(&http_target(port, "1s", "")).await;
    assert_eq!(kind(&ev), Some(FailureKind::BodyTimeout), "{ev:?}");
}

#[tokio::test]
async fn a_reset_mid_body_is_a_closed_connection_in_transfer() {
    let port = server(|mut s| async move {
        read_request(&mut s).await;
        let _ = s
            .write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 5000\r\n\r\npartial body")
            .await;
        tokio::time::sleep(Duration::from_millis(50)).await;
        // SO_LINGER 0: close sends RST, not FIN.
        let s = socket2::Socket::from(s.into_std().unwrap());
        let _ = s.set_linger(Some(Duration::ZERO));
        drop(s);
    })
    .await;
    let ev = bounded(&http_target(port, "3s", "")).await;
    let f = ev.failure.clone().unwrap();
    assert_eq!(f.kind, FailureKind::ConnectionClosed, "{ev:?}");
    assert_eq!(f.phase, Phase::Transfer);
}

#[tokio::test]
async fn a_redirect_loop_ends_at_max_redirects() {
    let gw = Gateway::http(Behavior::ok("").status(302).header("location", "/again"))
        .await
        .unwrap();
    let t = http_target(
        gw.port(),
        "3s",
        "[targets.http]\nfollow_redirects = true\nmax_redirects = 4",
    );
    let ev = bounded(&t).await;
    assert_eq!(kind(&ev), Some(FailureKind::TooManyRedirects));
    assert_eq!(ev.http.as_ref().unwrap().redirects, 5);
    assert_eq!(gw.hits(), 5, "the first request and 4 redirects, no more");
}

// ----- TLS -----

mod tls {
    use super::*;
    use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, IsCa, KeyPair};
    use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

    /// A private CA, written to a temp dir as `ca.pem` for the target's `ca_file`.
    pub struct Pki {
        issuer: CertifiedIssuer<'static, KeyPair>,
        pub dir: tempfile::TempDir,
    }

    impl Pki {
        pub fn new() -> Pki {
            let mut p = CertificateParams::new(Vec::<String>::new()).unwrap();
            p.distinguished_name
                .push(rcgen::DnType::CommonName, "hostile CA");
            p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
            let issuer = CertifiedIssuer::self_signed(p, KeyPair::generate().unwrap()).unwrap();
            let dir = tempfile::tempdir().unwrap();
            std::fs::write(dir.path().join("ca.pem"), issuer.pem()).unwrap();
            Pki { issuer, dir }
        }

        /// A leaf for 127.0.0.1 valid between the two years (1 January of each).
        pub fn leaf(
            &self,
            from: i32,
            to: i32,
        ) -> (Vec<CertificateDer<'static>>, PrivateKeyDer<'static>) {
            let mut p = CertificateParams::new(vec!["127.0.0.1".to_string()]).unwrap();
            p.not_before = rcgen::date_time_ymd(from, 1, 1);
            p.not_after = rcgen::date_time_ymd(to, 1, 1);
            let key = KeyPair::generate().unwrap();
            let cert = p.signed_by(&key, &self.issuer).unwrap();
            (
                vec![cert.der().clone(), self.issuer.der().clone()],
                PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der())),
            )
        }

        /// A leaf for 127.0.0.1 wrongly marked as a CA (basicConstraints CA:TRUE).
        pub fn ca_marked_leaf(&self) -> (Vec<CertificateDer<'static>>, PrivateKeyDer<'static>) {
            let mut p = CertificateParams::new(vec!["127.0.0.1".to_string()]).unwrap();
            p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
            let key = KeyPair::generate().unwrap();
            let cert = p.signed_by(&key, &self.issuer).unwrap();
            (
                vec![cert.der().clone(), self.issuer.der().clone()],
                PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der())),
            )
        }

        pub fn target(
            &self,
            port: u16,
            check: &str,
            timeout: &str,
        ) -> Arc<payprobe::config::Target> {
            target_in(
                &format!("name = \"t\"\nurl = \"https://127.0.0.1:{port}/\"\nchecks = [\"{check}\"]\ninterval = \"10s\"\ntimeout = \"{timeout}\"\nca_file = \"ca.pem\""),
                self.dir.path(),
            )
        }
    }

    /// A TLS server with this leaf (ALPN `alpn`) running `handle` on each session.
    pub async fn tls_server<F, Fut>(
        leaf: (Vec<CertificateDer<'static>>, PrivateKeyDer<'static>),
        alpn: &[&[u8]],
        handle: F,
    ) -> u16
    where
        F: Fn(tokio_rustls::server::TlsStream<TcpStream>) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let mut cfg = rustls::ServerConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(leaf.0, leaf.1)
        .unwrap();
        cfg.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
        let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(cfg));
        let handle = Arc::new(handle);
        server(move |s| {
            let (acceptor, handle) = (acceptor.clone(), handle.clone());
            async move {
                if let Ok(tls) = acceptor.accept(s).await {
                    handle(tls).await;
                }
            }
        })
        .await
    }

    #[tokio::test]
    async fn garbage_instead_of_a_handshake_says_the_peer_does_not_speak_tls() {
        let pki = Pki::new();
        let port = server(|mut s| async move {
            let mut buf = [0u8; 512];
            let _ = s.read(&mut buf).await;
            let _ = s.write_all(&[0x17; 64]).await;
            let _ = s.write_all(b"\xff\xfe not TLS at all \x00\x01").await;
            tokio::time::sleep(Duration::from_secs(5)).await;
        })
        .await;
        let ev = bounded(&pki.target(port, "http", "2s")).await;
        let f = ev.failure.clone().unwrap();
        assert_eq!(f.phase, Phase::Tls, "{ev:?}");
        assert_eq!(f.kind, FailureKind::TlsNotTls, "{ev:?}");
    }

    #[tokio::test]
    async fn a_valid_handshake_then_garbage_is_an_http_protocol_error() {
        let pki = Pki::new();
        let port = tls_server(pki.leaf(2020, 2090), &[b"http/1.1"], |mut s| async move {
            let mut buf = [0u8; 2048];
            let _ = s.read(&mut buf).await;
            let _ = s.write_all(b"\x00\x01\x02garbage, not HTTP\r\n\r\n").await;
            let _ = s.flush().await;
            tokio::time::sleep(Duration::from_secs(5)).await;
        })
        .await;
        let ev = bounded(&pki.target(port, "http", "2s")).await;
        let f = ev.failure.clone().unwrap();
        assert_eq!(f.kind, FailureKind::HttpProtocolError, "{ev:?}");
        assert_eq!(f.phase, Phase::Processing);
        assert!(
            ev.tls.as_ref().unwrap().version.is_some(),
            "the handshake is in evidence"
        );
    }

    /// An HTTP/2 frame: length, type, flags, stream.
    fn frame(kind: u8, flags: u8, stream: u32, payload: &[u8]) -> Vec<u8> {
        let len = payload.len() as u32;
        let mut f = len.to_be_bytes()[1..].to_vec();
        f.extend_from_slice(&[kind, flags]);
        f.extend_from_slice(&stream.to_be_bytes());
        f.extend_from_slice(payload);
        f
    }

    #[tokio::test]
    async fn an_h2_peer_flooding_settings_and_pings_cannot_hold_the_probe() {
        let pki = Pki::new();
        let port = tls_server(pki.leaf(2020, 2090), &[b"h2"], |s| async move {
            let (mut r, mut w) = tokio::io::split(s);
            // Drain what the client sends so its writes never block.
            tokio::spawn(async move {
                let mut buf = [0u8; 4096];
                while matches!(r.read(&mut buf).await, Ok(n) if n > 0) {}
            });
            let _ = w.write_all(&frame(4, 0, 0, &[])).await;
            let ping = frame(6, 0, 0, b"12345678");
            let settings = frame(4, 0, 0, &[0, 3, 0, 0, 0, 100]);
            for _ in 0..200_000 {
                if w.write_all(&ping).await.is_err() || w.write_all(&settings).await.is_err() {
                    return;
                }
            }
        })
        .await;
        let ev = bounded(&pki.target(port, "http", "2s")).await;
        assert!(!ev.success, "{ev:?}");
        let f = ev.failure.clone().unwrap();
        assert!(
            matches!(
                f.kind,
                FailureKind::ResponseTimeout
                    | FailureKind::HttpProtocolError
                    | FailureKind::ConnectionClosed
            ),
            "{f:?}"
        );
        assert_eq!(ev.tls.as_ref().unwrap().alpn.as_deref(), Some("h2"));
    }

    #[tokio::test]
    async fn an_h2_goaway_mid_stream_fails_the_body_not_the_process() {
        let pki = Pki::new();
        let port = tls_server(pki.leaf(2020, 2090), &[b"h2"], |mut s| async move {
            let _ = s.write_all(&frame(4, 0, 0, &[])).await;
            let mut buf = [0u8; 4096];
            let _ = s.read(&mut buf).await; // preface, settings
            tokio::time::sleep(Duration::from_millis(100)).await;
            let _ = s.read(&mut buf).await; // the request's HEADERS
            let mut out = frame(4, 1, 0, &[]); // SETTINGS ACK
            out.extend(frame(1, 4, 1, &[0x88])); // HEADERS :status 200, END_HEADERS
            out.extend(frame(0, 0, 1, b"half a body")); // DATA, no END_STREAM
            let mut goaway = 0u32.to_be_bytes().to_vec();
            goaway.extend_from_slice(&2u32.to_be_bytes()); // INTERNAL_ERROR
            out.extend(frame(7, 0, 0, &goaway));
            let _ = s.write_all(&out).await;
            let _ = s.flush().await;
            tokio::time::sleep(Duration::from_secs(5)).await;
        })
        .await;
        let ev = bounded(&pki.target(port, "http", "2s")).await;
        assert!(!ev.success, "{ev:?}");
        let f = ev.failure.clone().unwrap();
        assert!(
            matches!(
                f.kind,
                FailureKind::ConnectionClosed
                    | FailureKind::HttpProtocolError
                    | FailureKind::BodyTimeout
            ),
            "{f:?}"
        );
    }

    /// notBefore in 1950 (before the epoch: it used to panic the date formatter). webpki
    /// cannot represent a time before 1970 and refuses the certificate as badly encoded;
    /// the evidence still shows both dates.
    #[tokio::test]
    async fn certificates_from_1950_are_refused_and_reported_with_their_dates() {
        let pki = Pki::new();
        for (from, to, after) in [
            (1950, 1951, "1951-01-01T00:00:00Z"),
            (1950, 9999, "9999-01-01T00:00:00Z"),
        ] {
            let port = tls_server(pki.leaf(from, to), &[], |_s| async {}).await;
            let ev = bounded(&pki.target(port, "tls", "2s")).await;
            assert_eq!(kind(&ev), Some(FailureKind::TlsCertInvalid), "{ev:?}");
            let c = ev.tls.as_ref().unwrap().certificate.clone().unwrap();
            assert_eq!(c.not_before, "1950-01-01T00:00:00Z");
            assert_eq!(c.not_after, after);
            let detail = ev.failure.unwrap().detail;
            assert!(detail.contains("before 1970"), "{detail}");
        }
    }

    /// An end-entity certificate marked as a CA is explained, not dumped as debug text.
    #[tokio::test]
    async fn a_server_certificate_marked_as_a_ca_is_explained() {
        let pki = Pki::new();
        let port = tls_server(pki.ca_marked_leaf(), &[], |_s| async {}).await;
        let ev = bounded(&pki.target(port, "tls", "2s")).await;
        assert_eq!(kind(&ev), Some(FailureKind::TlsCertInvalid), "{ev:?}");
        let detail = ev.failure.unwrap().detail;
        assert!(detail.contains("marked as a CA"), "{detail}");
        assert!(!detail.contains("OtherError"), "{detail}");
    }

    /// The same kind of certificate, self-signed and pinned exactly in `ca_file`, is trusted
    /// as is (its name and dates still checked).
    #[tokio::test]
    async fn a_certificate_pinned_exactly_in_ca_file_is_trusted() {
        // A self-signed certificate marked as a CA, for `san`, pinned in ca_file.
        async fn pinned(san: &str) -> (tempfile::TempDir, u16) {
            let mut p = CertificateParams::new(vec![san.to_string()]).unwrap();
            p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
            let key = KeyPair::generate().unwrap();
            let cert = p.self_signed(&key).unwrap();
            let dir = tempfile::tempdir().unwrap();
            std::fs::write(dir.path().join("ca.pem"), cert.pem()).unwrap();
            let leaf = (
                vec![cert.der().clone()],
                PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der())),
            );
            (dir, tls_server(leaf, &[], |_s| async {}).await)
        }
        let body = |port: u16| {
            format!("name = \"t\"\nurl = \"https://127.0.0.1:{port}/\"\nchecks = [\"tls\"]\ntimeout = \"2s\"\nca_file = \"ca.pem\"")
        };
        let (dir, port) = pinned("127.0.0.1").await;
        let ev = bounded(&target_in(&body(port), dir.path())).await;
        assert!(ev.success, "{ev:?}");
        // Pinned, but the name must still match.
        let (dir, port) = pinned("127.0.0.2").await;
        let ev = bounded(&target_in(&body(port), dir.path())).await;
        assert_eq!(
            ev.failure.as_ref().map(|f| f.phase),
            Some(Phase::Tls),
            "{ev:?}"
        );
    }

    #[tokio::test]
    async fn a_certificate_from_the_year_9999_is_not_yet_valid() {
        let pki = Pki::new();
        let port = tls_server(pki.leaf(9999, 9999), &[], |_s| async {}).await;
        let ev = bounded(&pki.target(port, "tls", "2s")).await;
        assert_eq!(kind(&ev), Some(FailureKind::TlsCertNotYetValid), "{ev:?}");
        let c = ev.tls.as_ref().unwrap().certificate.clone().unwrap();
        assert_eq!(c.not_before, "9999-01-01T00:00:00Z");
    }
}

// ----- Dates, numbers and bytes a gateway chooses -----

fn api_target(port: u16, extra: &str) -> Arc<payprobe::config::Target> {
    target(&format!(
        "name = \"t\"\nurl = \"http://127.0.0.1:{port}/\"\nchecks = [\"api_version\"]\ninterval = \"10s\"\ntimeout = \"2s\"\n[targets.api_version]\n{extra}"
    ))
}

#[tokio::test]
async fn deprecation_and_sunset_far_in_the_future_are_warnings_not_panics() {
    for (dep, want) in [
        ("@300000000000", "+11476-"),
        ("@9223372036854775807", "+292277026596-"),
        ("@-9223372036854775808", "-292277022657-"),
    ] {
        let gw = Gateway::http(
            Behavior::ok("{}")
                .header("deprecation", dep)
                .header("sunset", "Fri, 31 Dec 9999 23:59:59 GMT"),
        )
        .await
        .unwrap();
        let ev = bounded(&api_target(gw.port(), "")).await;
        let a = ev.api_version.clone().unwrap();
        assert!(a.deprecated);
        assert!(
            a.warnings.iter().any(|w| w.contains(want)),
            "{dep}: {:?}",
            a.warnings
        );
        assert!(
            a.warnings
                .iter()
                .any(|w| w.contains("9999-12-31T23:59:59Z")),
            "{:?}",
            a.warnings
        );
    }
}

#[tokio::test]
async fn numbers_past_i64_invalid_utf8_and_deep_json_are_data() {
    let port = server(|mut s| async move {
        read_request(&mut s).await;
        let body = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
        let head = format!(
            "HTTP/1.1 200 OK\r\nDeprecation: @99999999999999999999999\r\nContent-Length: {}\r\n\r\n",
            body.len()
        );
        let mut out = head.into_bytes();
        out.extend_from_slice(body.as_bytes());
        let _ = s.write_all(&out).await;
    })
    .await;
    let t = api_target(
        port,
        "json_pointer = \"/version\"\n[targets.api_version.required_fields]\n\"/id\" = \"string\"\n[targets.http]\nmax_body_bytes = 300000",
    );
    let ev = bounded(&t).await;
    let a = ev.api_version.clone().unwrap();
    assert!(a.deprecated, "an unreadable date still means deprecated");
    assert_eq!(a.deprecation_unix, None);
    assert_eq!(kind(&ev), Some(FailureKind::ApiVersionMissing), "{ev:?}");
}

#[tokio::test]
async fn invalid_utf8_in_headers_and_body_is_shown_lossily() {
    let port = server(|mut s| async move {
        read_request(&mut s).await;
        let mut out = b"HTTP/1.1 200 OK\r\nX-Api-Version: 3.\xff\xfe\r\nSunset: \xc3\x28\r\nContent-Length: 6\r\n\r\n".to_vec();
        out.extend_from_slice(b"\xff\xfe\xfd{}\x80");
        let _ = s.write_all(&out).await;
    })
    .await;
    let ev = bounded(&api_target(
        port,
        "header = \"X-Api-Version\"\nrequire = \">=3\"",
    ))
    .await;
    assert_eq!(kind(&ev), Some(FailureKind::ApiVersionMissing), "{ev:?}");
    let a = ev.api_version.clone().unwrap();
    assert_eq!(a.sunset_unix, None);
    assert!(a.seen.unwrap().contains('\u{fffd}'));
    assert!(ev.http.unwrap().body_excerpt.contains('\u{fffd}'));
}

#[tokio::test]
async fn a_block_height_past_u64_is_not_a_height() {
    let gw = Gateway::http(Behavior::jsonrpc(&[
        ("eth_chainId", serde_json::json!("0x1")),
        (
            "eth_blockNumber",
            serde_json::json!("0xffffffffffffffffffffffffffffffffffff"),
        ),
    ]))
    .await
    .unwrap();
    let t = target(&format!(
        "name = \"t\"\nurl = \"http://127.0.0.1:{}/\"\nprofile = \"evm_jsonrpc\"\nchecks = [\"rpc\"]\ninterval = \"10s\"\ntimeout = \"2s\"\n[targets.rpc]\nchain = \"ethereum\"",
        gw.port()
    ));
    let ev = bounded(&t).await;
    assert_eq!(kind(&ev), Some(FailureKind::ProviderError), "{ev:?}");
    assert!(ev.failure.unwrap().detail.contains("not a block height"));
}

/// `probe-once` used to panic outright on `Deprecation: @300000000000`.
#[tokio::test]
async fn probe_once_survives_a_far_deprecation_date() {
    let gw = Gateway::http(Behavior::ok("{}").header("deprecation", "@300000000000"))
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("p.toml");
    std::fs::write(
        &f,
        format!(
            "[[targets]]\nname = \"t\"\nurl = \"http://127.0.0.1:{}/\"\nchecks = [\"http\", \"api_version\"]\ntimeout = \"2s\"\n",
            gw.port()
        ),
    )
    .unwrap();
    let out = tokio::task::spawn_blocking(move || {
        std::process::Command::new(env!("CARGO_BIN_EXE_payprobe"))
            .args(["probe-once", f.to_str().unwrap(), "--json"])
            .env("RUST_LOG", "warn")
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("+11476-"), "{stdout}");
}

// ----- DNS -----

type Answer = fn(&[u8]) -> Vec<u8>;

/// A UDP name server answering each query with `answer(query)`.
async fn dns_server(answer: Answer) -> std::net::SocketAddr {
    let s = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let addr = s.local_addr().unwrap();
    tokio::spawn(async move {
        let mut buf = [0u8; 1500];
        while let Ok((n, peer)) = s.recv_from(&mut buf).await {
            let _ = s.send_to(&answer(&buf[..n]), peer).await;
        }
    });
    addr
}

/// The query turned into an empty reply (QR set) with extra flags in byte 2.
fn reply(q: &[u8], flags: u8) -> Vec<u8> {
    let mut r = q.to_vec();
    if r.len() >= 12 {
        r[2] |= 0x80 | flags;
        r[3] = 0x80;
        r[6..12].fill(0);
    }
    r
}

#[tokio::test]
async fn a_dns_server_answering_truncated_malformed_or_foreign_ids_fails_dns_in_time() {
    let cases: [(&str, Answer); 3] = [
        // TC set: the resolver retries over TCP, where nothing listens.
        ("truncated", |q| reply(q, 0x02)),
        ("malformed", |_| b"\x12\x34\xff\xff garbage".to_vec()),
        ("mismatched id", |q| {
            let mut r = reply(q, 0);
            if r.len() >= 2 {
                r[0] ^= 0x5a;
            }
            r
        }),
    ];
    for (what, answer) in cases {
        let addr = dns_server(answer).await;
        let t = target(&format!(
            "name = \"t\"\nurl = \"http://pay.test:1/\"\nchecks = [\"dns\"]\ninterval = \"10s\"\ntimeout = \"1500ms\"\n[targets.dns]\nresolvers = [\"{addr}\"]"
        ));
        let ev = bounded(&t).await;
        let f = ev
            .failure
            .clone()
            .unwrap_or_else(|| panic!("{what}: {ev:?}"));
        assert_eq!(f.phase, Phase::Dns, "{what}: {ev:?}");
        assert!(ev.dns.as_ref().unwrap().addresses.is_empty(), "{what}");
    }
}

// ----- Config bounds -----

/// Values past the bounds of `src/limits.rs` are refused by line and column, so deadline
/// arithmetic never sees them; an absent `[targets.ping]` still has its burst checked.
#[test]
fn config_values_past_their_bounds_are_named_by_line_and_column() {
    let src = "[server]\nmax_concurrency = 1000000\n[[targets]]\nname = \"a\"\nurl = \"https://a.example\"\ninterval = \"9999999999h\"\n[[targets]]\nname = \"b\"\nurl = \"https://b.example\"\ntimeout = \"11m\"\ninterval = \"1h\"\n[[targets]]\nname = \"c\"\nurl = \"https://c.example\"\nchecks = [\"ping\"]\ntimeout = \"1s\"\n";
    let parsed = payprobe::config::parse(
        std::path::Path::new("b.toml"),
        src,
        std::path::Path::new("."),
    );
    let Err(err) = parsed else {
        panic!("the config was accepted")
    };
    let err = err.to_string();
    for want in [
        "b.toml:2:19",
        "`max_concurrency` = 1000000: expected a whole number from 1 to 100000",
        "b.toml:6:12",
        "`interval` = \"9999999999h\" is longer than the largest accepted, 400d",
        "b.toml:10:11",
        "`timeout` = \"11m\" is longer than the largest accepted, 10m",
        "b.toml:16:11",
        "a ping burst takes up to 1s 800ms",
    ] {
        assert!(err.contains(want), "missing {want:?} in:\n{err}");
    }
}

// ----- Several addresses, one black-holed -----

/// A name with a black-holed address and a good one: the black hole costs one connection
/// attempt delay (RFC 8305's 250 ms), not the deadline, and the evidence lists each address
/// tried with its outcome. The black hole is 127.0.0.2:P with a full accept queue (SYNs
/// dropped, as on a dead route); the good server is 127.0.0.1:P.
#[tokio::test]
async fn a_black_holed_address_does_not_eat_the_deadline() {
    use crate::support::Dnsmasq;
    // The same port on two loopback addresses: the black hole first, then the good one.
    let (black, _fillers, port, good) = loop {
        let sock = tokio::net::TcpSocket::new_v4().unwrap();
        sock.bind("127.0.0.2:0".parse().unwrap()).unwrap();
        let black = sock.listen(1).unwrap();
        let addr = black.local_addr().unwrap();
        let mut fillers = Vec::new();
        for _ in 0..8 {
            let c = tokio::time::timeout(Duration::from_millis(200), TcpStream::connect(addr));
            if let Ok(Ok(s)) = c.await {
                fillers.push(s);
            }
        }
        if let Ok(good) = TcpListener::bind(("127.0.0.1", addr.port())).await {
            break (black, fillers, addr.port(), good);
        }
    };
    tokio::spawn(async move {
        while let Ok((mut s, _)) = good.accept().await {
            tokio::spawn(async move {
                read_request(&mut s).await;
                let _ = s
                    .write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}")
                    .await;
            });
        }
    });
    let d = Dnsmasq::start(&[
        // dnsmasq answers the last `--address` first.
        "--address=/pay.test/127.0.0.1",
        "--address=/pay.test/127.0.0.2",
    ])
    .await;
    let t = target(&format!(
        "name = \"t\"\nurl = \"http://pay.test:{port}/\"\nchecks = [\"http\"]\ninterval = \"10s\"\ntimeout = \"3s\"\n[targets.dns]\nresolvers = [\"{}\"]",
        d.addr
    ));
    let mut saw_black_first = false;
    for _ in 0..4 {
        let ev = bounded(&t).await;
        assert!(ev.success, "{ev:?}");
        let tried = &ev.connect_attempts;
        let good = tried.iter().find(|a| a.outcome == "connected").unwrap();
        assert_eq!(good.address.ip().to_string(), "127.0.0.1");
        assert_eq!(ev.tcp.as_ref().unwrap().address, good.address);
        if tried[0].address.ip().to_string() == "127.0.0.2" {
            saw_black_first = true;
            assert_eq!(tried[0].outcome, "abandoned", "{tried:?}");
            let connect = ev.http.as_ref().unwrap().phases.connect;
            assert!(
                connect < Duration::from_millis(1500),
                "connect took {connect:?}"
            );
        }
        let json = serde_json::to_value(&ev).unwrap();
        assert!(json["connect_attempts"]
            .as_array()
            .is_some_and(|a| !a.is_empty()));
    }
    assert!(
        saw_black_first,
        "the resolver never put the black hole first: {:?}",
        bounded(&t).await.dns
    );
    drop(black);
}
