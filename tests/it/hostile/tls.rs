//! Hostile TLS peers: certificates and handshakes a gateway chooses.

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

    pub fn target(&self, port: u16, check: &str, timeout: &str) -> Arc<payprobe::config::Target> {
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
        ev.observed.tls.as_ref().unwrap().version.is_some(),
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
    assert!(ev.failure.is_some(), "{ev:?}");
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
    assert_eq!(
        ev.observed.tls.as_ref().unwrap().alpn.as_deref(),
        Some("h2")
    );
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
    assert!(ev.failure.is_some(), "{ev:?}");
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
        let c = ev
            .observed
            .tls
            .as_ref()
            .unwrap()
            .certificate
            .clone()
            .unwrap();
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
    assert!(ev.failure.is_none(), "{ev:?}");
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
    let c = ev
        .observed
        .tls
        .as_ref()
        .unwrap()
        .certificate
        .clone()
        .unwrap();
    assert_eq!(c.not_before, "9999-01-01T00:00:00Z");
}
