//! The table's rows on the path: unexpected statuses, the HTTP exchange and TLS.

use std::path::Path;
use std::time::Duration;

use payprobe::demo::gateway::{Behavior, Gateway};
use payprobe::demo::pki::{self, Ca, Validity};

use super::{case, http, status, Table};
use crate::support::{closed_port, full_backlog, raw_server, silent_server};

/// Unexpected statuses, by code and path.
pub(super) async fn statuses(t: &mut Table) {
    let statuses = [
        (
            "s503-maint",
            "/v1/pay",
            "status_503_retry_after",
            "server",
            Some("payment_delay"),
            "never resubmit",
            status(503).header("retry-after", "60"),
        ),
        (
            "s500",
            "/v1/pay",
            "status_5xx",
            "server",
            Some("transaction_failure"),
            "Wait and retry",
            status(500),
        ),
        (
            "s401",
            "/v1/pay",
            "status_401",
            "security",
            Some("auth_failure"),
            "re-login",
            status(401),
        ),
        (
            "s403",
            "/v1/pay",
            "status_403",
            "security",
            Some("auth_failure"),
            "signing key",
            status(403),
        ),
        (
            "s429",
            "/v1/pay",
            "status_429",
            "security",
            Some("payment_delay"),
            "rate limiting",
            status(429),
        ),
        (
            "s404-v",
            "/v2/pay",
            "status_404_versioned",
            "api_version",
            None,
            "Upgrade",
            status(404),
        ),
        (
            "s410-v",
            "/api/v1/pay",
            "status_410_versioned",
            "api_version",
            None,
            "Upgrade",
            status(410),
        ),
        (
            "s426",
            "/pay",
            "status_426",
            "api_version",
            None,
            "Upgrade",
            status(426),
        ),
        (
            "s406",
            "/pay",
            "status_406",
            "api_version",
            None,
            "Upgrade",
            status(406),
        ),
        (
            "s415",
            "/pay",
            "status_415",
            "api_version",
            None,
            "Upgrade",
            status(415),
        ),
        (
            "s400",
            "/v1/pay",
            "status_400",
            "user_input",
            Some("transaction_failure"),
            "request parameters",
            status(400),
        ),
        (
            "s422",
            "/v1/pay",
            "status_422",
            "user_input",
            None,
            "request parameters",
            status(422),
        ),
        (
            "s423",
            "/v1/pay",
            "status_423",
            "user_input",
            Some("auth_failure"),
            "account state",
            status(423),
        ),
        (
            "s404-plain",
            "/pay",
            "status_404",
            "user_input",
            None,
            "request parameters",
            status(404),
        ),
    ];
    for (name, path, rule, cause, symptom, hint, b) in statuses {
        let g = Gateway::http(b).await.unwrap();
        t.cases
            .push(case(name, http(g.port(), path), rule, cause, symptom, hint));
        t.keep.push(Box::new(g));
    }
}

/// The HTTP path: healthy, slow, refused, silent, stalled, hung up, redirects, blackholed.
pub(super) async fn http_path(t: &mut Table) {
    let ok = Gateway::http(Behavior::ok("{}")).await.unwrap();
    t.cases.push(case(
        "healthy",
        http(ok.port(), "/v1/ping"),
        "none",
        "none",
        None,
        "",
    ));
    let slow = Gateway::http(Behavior::ok("{}").delay(Duration::from_millis(500)))
        .await
        .unwrap();
    t.cases.push(case(
        "slow-but-ok",
        http(slow.port(), "/v1/ping"),
        "none",
        "none",
        Some("payment_delay"),
        "",
    ));
    t.cases.push(case(
        "refused",
        http(closed_port(), "/v1/pay"),
        "connect_refused",
        "server",
        Some("transaction_failure"),
        "Wait and retry",
    ));
    let hang = Gateway::http(Behavior::ok("{}").delay(Duration::from_secs(30)))
        .await
        .unwrap();
    t.cases.push(case(
        "no-response",
        http(hang.port(), "/v1/pay"),
        "response_timeout",
        "server",
        Some("payment_delay"),
        "Wait and retry",
    ));
    let trickle = Gateway::http(Behavior::ok("{}").body_delay(Duration::from_secs(30)))
        .await
        .unwrap();
    t.cases.push(case(
        "stalled-body",
        http(trickle.port(), "/v1/pay"),
        "body_timeout",
        "server",
        Some("payment_delay"),
        "Wait and retry",
    ));
    let half = raw_server(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nhalf").await;
    t.cases.push(case(
        "hung-up",
        http(half, "/v1/pay"),
        "connection_closed",
        "server",
        None,
        "Wait and retry",
    ));
    let looping = Gateway::http(Behavior::ok("").status(302).header("location", "/again"))
        .await
        .unwrap();
    t.cases.push(case(
        "redirect-loop",
        format!(
            "{}\n[targets.http]\nfollow_redirects = true",
            http(looping.port(), "/")
        ),
        "too_many_redirects",
        "server",
        None,
        "Wait and retry",
    ));
    let bad_loc = Gateway::http(
        Behavior::ok("")
            .status(301)
            .header("location", "ftp://files.example/x"),
    )
    .await
    .unwrap();
    t.cases.push(case(
        "redirect-ftp",
        format!(
            "{}\n[targets.http]\nfollow_redirects = true",
            http(bad_loc.port(), "/")
        ),
        "bad_redirect",
        "server",
        None,
        "Wait and retry",
    ));
    let (_l, _fill, backlog) = full_backlog().await;
    t.cases.push(case(
        "blackhole",
        format!("url = \"http://{backlog}/v1/pay\""),
        "connect_timeout",
        "network",
        Some("network_interruption"),
        "network path",
    ));
    let (silent, _silent_task) = silent_server().await;
    t.cases.push(case(
        "tls-stall",
        format!("url = \"https://127.0.0.1:{silent}/\""),
        "tls_handshake_timeout",
        "network",
        Some("network_interruption"),
        "network path",
    ));
    t.control = ok.port();
    t.keep
        .push(Box::new((ok, slow, hang, trickle, looping, bad_loc)));
    t.keep.push(Box::new((_l, _fill, _silent_task)));
}

/// Certificates and TLS versions (the CA's file is `ca.pem` in `dir`).
pub(super) async fn tls(t: &mut Table, dir: &Path, ca: &Ca) {
    let trusted = |v: Validity| ca.leaf(&["127.0.0.1"], v).unwrap();
    let https =
        |port: u16| format!("url = \"https://127.0.0.1:{port}/v1/pay\"\nca_file = \"ca.pem\"");
    for (name, leaf, rule) in [
        (
            "cert-expired",
            trusted(Validity::Expired),
            "tls_cert_expired",
        ),
        (
            "cert-future",
            trusted(Validity::NotYetValid),
            "tls_cert_not_yet_valid",
        ),
        (
            "cert-self-signed",
            pki::self_signed(&["127.0.0.1"]).unwrap(),
            "tls_cert_self_signed",
        ),
        (
            "cert-unknown-ca",
            Ca::new("someone else's CA")
                .unwrap()
                .leaf(&["127.0.0.1"], Validity::Current)
                .unwrap(),
            "tls_cert_unknown_issuer",
        ),
        (
            "cert-wrong-name",
            ca.leaf(&["other.example"], Validity::Current).unwrap(),
            "tls_cert_name_mismatch",
        ),
        (
            "cert-client-only",
            ca.client_only_leaf(&["127.0.0.1"]).unwrap(),
            "tls_cert_invalid",
        ),
    ] {
        let g = Gateway::https(Behavior::ok("{}"), leaf).await.unwrap();
        t.cases.push(case(
            name,
            https(g.port()),
            rule,
            "security",
            Some("auth_failure"),
            "certificate",
        ));
        t.keep.push(Box::new(g));
    }
    // Revoked by the operator's CRL file.
    std::fs::write(
        dir.join("revoked.crl.pem"),
        ca.crl_revoking(&[4242]).unwrap(),
    )
    .unwrap();
    let revoked = Gateway::https(
        Behavior::ok("{}"),
        ca.leaf_with_serial(&["127.0.0.1"], 4242).unwrap(),
    )
    .await
    .unwrap();
    t.cases.push(case(
        "cert-revoked",
        format!("{}\ncrl_file = \"revoked.crl.pem\"", https(revoked.port())),
        "tls_cert_revoked",
        "security",
        Some("auth_failure"),
        "certificate",
    ));
    t.keep.push(Box::new(revoked));
    let old_tls = Gateway::https_with(
        Behavior::ok("{}"),
        trusted(Validity::Current),
        &[&rustls::version::TLS12],
    )
    .await
    .unwrap();
    t.cases.push(case(
        "tls12-only",
        format!("{}\nmin_tls_version = \"1.3\"", https(old_tls.port())),
        "tls_protocol_version",
        "api_version",
        None,
        "TLS settings",
    ));
    t.keep.push(Box::new(old_tls));
}
