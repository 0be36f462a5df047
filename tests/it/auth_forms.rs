//! Authentication and authorization in all their forms (issue 19, point 3): one case per
//! row of the table in docs/diagnosis.md ("Authentication in all its forms"), each against
//! a real server on loopback — redirects to a login page, TLS servers requiring a client
//! certificate, HTTP challenges, provider bodies and JSON-RPC errors — checked for its rule,
//! cause and the `auth_failure` symptom. Every failing case is reported by name; a second
//! test keeps the doc's table and these cases naming the same rows with the same verdicts.

mod servers;

use std::collections::BTreeMap;
use std::path::Path;

use payprobe::classify::rules::judge_round;
use payprobe::classify::Symptom;

/// (case, rule, cause, auth_failure among the symptoms). The doc's table has the same rows.
pub const ROWS: &[(&str, &str, &str, bool)] = &[
    ("redirect_302_login", "login_redirect", "security", true),
    (
        "redirect_303_oauth_authorize",
        "login_redirect",
        "security",
        true,
    ),
    (
        "redirect_followed_to_login_page",
        "login_redirect",
        "security",
        true,
    ),
    ("redirect_302_maintenance", "status_3xx", "server", false),
    (
        "tls13_client_certificate_required",
        "tls_client_auth",
        "security",
        true,
    ),
    (
        "tls12_client_certificate_required",
        "tls_client_auth",
        "security",
        true,
    ),
    (
        "openssl_tls12_client_certificate_required",
        "tls_client_auth",
        "security",
        true,
    ),
    (
        "openssl_tls13_client_certificate_required",
        "tls_client_auth",
        "security",
        true,
    ),
    (
        "tls_alert_access_denied",
        "tls_client_auth",
        "security",
        true,
    ),
    ("tls_alert_handshake_failure", "tls_alert", "server", false),
    (
        "nginx_400_no_client_certificate",
        "tls_client_auth",
        "security",
        true,
    ),
    (
        "nginx_496_no_client_certificate",
        "tls_client_auth",
        "security",
        true,
    ),
    ("http_401_basic_challenge", "status_401", "security", true),
    (
        "http_401_bearer_invalid_token",
        "bearer_token_refused",
        "security",
        true,
    ),
    (
        "http_403_bearer_insufficient_scope",
        "bearer_token_refused",
        "security",
        true,
    ),
    (
        "http_400_bearer_invalid_token",
        "bearer_token_refused",
        "security",
        true,
    ),
    (
        "http_400_bearer_invalid_request",
        "status_400",
        "user_input",
        false,
    ),
    ("http_403_forbidden", "status_403", "security", true),
    ("http_407_from_the_target", "status_407", "network", true),
    (
        "proxy_407_to_connect",
        "proxy_auth_required",
        "network",
        false,
    ),
    ("http_511_network_login", "status_511", "network", false),
    ("http_429_rate_limited", "status_429", "security", false),
    ("http_200_login_page", "login_page", "security", true),
    ("http_200_login_page_generic", "none", "none", false),
    (
        "alipay_missing_signature",
        "provider_security",
        "security",
        true,
    ),
    (
        "alipay_missing_app_id",
        "provider_security",
        "security",
        true,
    ),
    (
        "alipay_invalid_signature",
        "provider_security",
        "security",
        true,
    ),
    (
        "alipay_invalid_app_id",
        "provider_security",
        "security",
        true,
    ),
    (
        "alipay_invalid_auth_token",
        "provider_security",
        "security",
        true,
    ),
    (
        "alipay_insufficient_isv_permissions",
        "provider_security",
        "security",
        true,
    ),
    (
        "alipay_access_forbidden",
        "provider_security",
        "security",
        true,
    ),
    (
        "wechatpay_401_sign_error",
        "provider_security",
        "security",
        true,
    ),
    (
        "wechatpay_403_no_auth",
        "provider_security",
        "security",
        true,
    ),
    (
        "stripe_401_invalid_api_key",
        "provider_security",
        "security",
        true,
    ),
    (
        "stripe_403_restricted_key",
        "provider_security",
        "security",
        true,
    ),
    (
        "alchemy_401_must_be_authenticated",
        "provider_security",
        "security",
        true,
    ),
    (
        "rpc_origin_not_on_whitelist",
        "provider_security",
        "security",
        true,
    ),
    (
        "infura_401_invalid_project_id",
        "status_401",
        "security",
        true,
    ),
    (
        "eip1193_4100_unauthorized",
        "provider_security",
        "security",
        true,
    ),
    (
        "jsonrpc_undocumented_code_on_403",
        "status_403",
        "security",
        true,
    ),
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_form_of_refused_authentication_gets_its_verdict() {
    let dir = tempfile::tempdir().unwrap();
    let pki = servers::Pki::new(dir.path());
    let mut wrong = Vec::new();
    for &(name, rule, cause, auth) in ROWS {
        let keys = match servers::serve(name, &pki).await {
            Ok(k) => k,
            Err(e) => {
                wrong.push(format!("{name}: no server: {e}"));
                continue;
            }
        };
        let src = format!("[[targets]]\nname = \"{name}\"\ntimeout = \"3s\"\n{keys}\n");
        let plan = match payprobe::config::parse(Path::new("t.toml"), &src, dir.path()) {
            Ok(p) => p,
            Err(e) => {
                wrong.push(format!("{name}: config refused: {e}\n{src}"));
                continue;
            }
        };
        let t = &plan.targets[0];
        let deadline = tokio::time::Instant::now() + t.timeout;
        let ev = crate::support::judged_round(t, deadline).await;
        let v = judge_round(t, &ev);
        let got = (
            v.rule,
            v.cause.as_str(),
            v.symptoms.contains(&Symptom::AuthFailure),
        );
        if got != (rule, cause, auth) {
            wrong.push(format!(
                "{name}: got {got:?}, want {:?}: {}",
                (rule, cause, auth),
                v.reason
            ));
        }
    }
    assert!(
        wrong.is_empty(),
        "{} of {} cases wrong:\n{}",
        wrong.len(),
        ROWS.len(),
        wrong.join("\n")
    );
}

/// The rows of the doc's table: case → (rule, cause, auth_failure).
fn doc_rows() -> BTreeMap<String, (String, String, bool)> {
    let doc =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/diagnosis.md"))
            .unwrap();
    let section = doc
        .split("## Authentication in all its forms")
        .nth(1)
        .expect("docs/diagnosis.md has the section");
    let section = section.split("\n## ").next().unwrap_or(section);
    let cell = |c: &str| c.trim().trim_matches('`').to_string();
    section
        .lines()
        .filter(|l| l.starts_with("| `"))
        .map(|l| {
            let c: Vec<&str> = l.split('|').collect();
            // | case | layer | what the server sends | source | rule | cause | auth_failure |
            let n = c.len();
            assert!(n >= 9, "a row with too few cells: {l}");
            let auth = cell(c[n - 2]);
            assert!(
                auth == "yes" || auth == "no",
                "auth_failure is yes or no: {l}"
            );
            (cell(c[1]), (cell(c[n - 4]), cell(c[n - 3]), auth == "yes"))
        })
        .collect()
}

#[test]
fn the_doc_table_and_the_cases_name_the_same_rows_and_verdicts() {
    let doc = doc_rows();
    let code: BTreeMap<String, (String, String, bool)> = ROWS
        .iter()
        .map(|(n, r, c, a)| (n.to_string(), (r.to_string(), c.to_string(), *a)))
        .collect();
    let mut wrong = Vec::new();
    for (name, want) in &code {
        match doc.get(name) {
            None => wrong.push(format!("{name}: tested, not in docs/diagnosis.md")),
            Some(d) if d != want => wrong.push(format!("{name}: doc says {d:?}, test {want:?}")),
            Some(_) => {}
        }
    }
    for name in doc.keys().filter(|n| !code.contains_key(*n)) {
        wrong.push(format!("{name}: in docs/diagnosis.md, not tested"));
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}
