//! TLS through the http check: versions, certificates and what is recorded of them.

use super::*;

#[tokio::test]
async fn https_with_a_trusted_ca_negotiates_h2_and_records_tls() {
    let trust = Trust::new();
    let gw = Gateway::https(
        Behavior::ok("{\"ok\":true}"),
        trust.ca.leaf(&["127.0.0.1"], Validity::Current).unwrap(),
    )
    .await
    .unwrap();
    let t = trust.target(&format!(
        "name = \"t\"\nurl = \"https://127.0.0.1:{}/status\"",
        gw.port()
    ));
    let e = probe(&t).await;
    assert!(e.success(), "{e:?}");
    let tls = e.observed.tls.as_ref().unwrap();
    assert_eq!(tls.version.as_deref(), Some("TLSv1.3"));
    assert_eq!(tls.alpn.as_deref(), Some("h2"));
    assert!(tls.cipher.is_some());
    let h = e.observed.http.as_ref().unwrap();
    assert_eq!(h.version.as_deref(), Some("HTTP/2.0"));
    assert!(h.phases.tls > Duration::ZERO);
    assert_eq!(h.phases.total(), e.observed.duration);
    assert_eq!(h.body_excerpt, "{\"ok\":true}");
    assert_eq!(gw.last_request().unwrap().version, "HTTP/2.0");
}

#[tokio::test]
async fn https_over_http1_when_the_server_has_no_h2() {
    let trust = Trust::new();
    // A TLS 1.2-only server still negotiates with the default minimum.
    let gw = Gateway::https_with(
        Behavior::ok("{}"),
        trust.ca.leaf(&["127.0.0.1"], Validity::Current).unwrap(),
        &[&rustls::version::TLS12],
    )
    .await
    .unwrap();
    let t = trust.target_for(&gw, "");
    let e = probe(&t).await;
    assert!(e.success(), "{e:?}");
    assert_eq!(
        e.observed.tls.as_ref().unwrap().version.as_deref(),
        Some("TLSv1.2")
    );
}

#[tokio::test]
async fn a_server_below_min_tls_version_is_a_protocol_version_failure() {
    let trust = Trust::new();
    let gw = Gateway::https_with(
        Behavior::ok("{}"),
        trust.ca.leaf(&["127.0.0.1"], Validity::Current).unwrap(),
        &[&rustls::version::TLS12],
    )
    .await
    .unwrap();
    let t = trust.target_for(&gw, "min_tls_version = \"1.3\"");
    let e = probe(&t).await;
    assert_eq!(kind(&e), Some(FailureKind::TlsProtocolVersion), "{e:?}");
}

#[tokio::test]
async fn a_leaf_from_an_unknown_ca_is_unknown_issuer_and_its_certificate_is_recorded() {
    let other = Ca::new("Not Your CA").unwrap();
    let gw = Gateway::https(
        Behavior::ok("{}"),
        other
            .leaf(&["127.0.0.1", "pay.test"], Validity::Current)
            .unwrap(),
    )
    .await
    .unwrap();
    let t = target(&format!(
        "name = \"t\"\nurl = \"https://127.0.0.1:{}/\"",
        gw.port()
    ));
    let e = probe(&t).await;
    assert_eq!(kind(&e), Some(FailureKind::TlsCertUnknownIssuer), "{e:?}");
    let c = e
        .observed
        .tls
        .as_ref()
        .unwrap()
        .certificate
        .as_ref()
        .expect("the rejected certificate is still evidence");
    assert_eq!(c.subject, "CN=127.0.0.1");
    assert_eq!(c.issuer, "CN=Not Your CA");
    assert_eq!(
        c.sans,
        vec!["127.0.0.1".to_string(), "pay.test".to_string()]
    );
    assert_eq!(c.chain_len, 2);
    assert!(!c.self_signed);
    assert_eq!(c.sha256.len(), 32 * 3 - 1);
}

#[tokio::test]
async fn an_expired_certificate_shows_its_dates() {
    let trust = Trust::new();
    let gw = trust.gateway(Validity::Expired).await;
    let e = probe(&trust.target_for(&gw, "")).await;
    assert_eq!(kind(&e), Some(FailureKind::TlsCertExpired));
    let c = e
        .observed
        .tls
        .as_ref()
        .unwrap()
        .certificate
        .as_ref()
        .unwrap();
    assert_eq!(c.not_after, "2021-01-01T00:00:00Z");
    assert_eq!(c.not_after_unix, 1_609_459_200);
}

#[tokio::test]
async fn a_certificate_revoked_by_the_crl_file_is_refused() {
    let trust = Trust::new();
    std::fs::write(
        trust.dir.path().join("crl.pem"),
        trust.ca.crl_revoking(&[77]).unwrap(),
    )
    .unwrap();
    let revoked = Gateway::https(
        Behavior::ok("{}"),
        trust.ca.leaf_with_serial(&["127.0.0.1"], 77).unwrap(),
    )
    .await
    .unwrap();
    let fine = Gateway::https(
        Behavior::ok("{}"),
        trust.ca.leaf_with_serial(&["127.0.0.1"], 78).unwrap(),
    )
    .await
    .unwrap();
    let t = |port: u16| {
        trust.target(&format!(
            "name = \"t\"\nurl = \"https://127.0.0.1:{port}/\"\ncrl_file = \"crl.pem\""
        ))
    };
    let e = probe(&t(revoked.port())).await;
    assert_eq!(kind(&e), Some(FailureKind::TlsCertRevoked), "{e:?}");
    let ok = probe(&t(fine.port())).await;
    assert!(
        ok.success(),
        "a certificate the CRL does not list passes: {ok:?}"
    );
}

#[tokio::test]
async fn a_certificate_close_to_expiry_passes_with_a_warning() {
    let trust = Trust::new();
    let gw = trust.gateway(Validity::ExpiresInDays(3)).await;
    let t = trust.target_for(&gw, "cert_expiry_warning = \"14d\"");
    let e = probe(&t).await;
    assert!(e.success(), "{e:?}");
    assert!(e.observed.tls.is_some());
    assert!(e.readings.cert_expiring);
    let v = payprobe::classify::judge_round(&t, std::slice::from_ref(&e));
    let said = crate::support::english(&v.warnings);
    assert!(
        v.ok && said.len() == 1 && said[0].contains("expires at"),
        "{v:?}"
    );
    let later = trust.target_for(&gw, "cert_expiry_warning = \"1d\"");
    assert!(!probe(&later).await.readings.cert_expiring);
}

#[tokio::test]
async fn a_self_signed_certificate_is_reported_as_such() {
    let gw = Gateway::https(
        Behavior::ok("{}"),
        pki::self_signed(&["127.0.0.1"]).unwrap(),
    )
    .await
    .unwrap();
    let t = target(&format!(
        "name = \"t\"\nurl = \"https://127.0.0.1:{}/\"",
        gw.port()
    ));
    let e = probe(&t).await;
    let f = e.failure.as_ref().expect("must fail");
    assert_eq!(
        (f.kind, f.phase),
        (FailureKind::TlsCertSelfSigned, Phase::Tls),
        "{e:?}"
    );
    assert_eq!(
        gw.hits(),
        0,
        "no request may be sent over an unverified connection"
    );
    assert!(e.observed.http.as_ref().unwrap().status.is_none());
}

#[tokio::test]
async fn certificate_for_another_name_is_a_name_mismatch() {
    let trust = Trust::new();
    let gw = Gateway::https(
        Behavior::ok("{}"),
        trust
            .ca
            .leaf(&["pay.other.example"], Validity::Current)
            .unwrap(),
    )
    .await
    .unwrap();
    let t = trust.target_for(&gw, "");
    let e = probe(&t).await;
    assert_eq!(kind(&e), Some(FailureKind::TlsCertNameMismatch), "{e:?}");
}

#[tokio::test]
async fn expired_and_not_yet_valid_certificates_are_told_apart() {
    let trust = Trust::new();
    for (validity, want) in [
        (Validity::Expired, FailureKind::TlsCertExpired),
        (Validity::NotYetValid, FailureKind::TlsCertNotYetValid),
    ] {
        let gw = Gateway::https(
            Behavior::ok("{}"),
            trust.ca.leaf(&["127.0.0.1"], validity).unwrap(),
        )
        .await
        .unwrap();
        let t = trust.target_for(&gw, "");
        let e = probe(&t).await;
        assert_eq!(kind(&e), Some(want), "{e:?}");
    }
}
