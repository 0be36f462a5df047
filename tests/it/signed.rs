//! Signed probes (issue 19) against gateways written independently of payprobe: Python and
//! Debian's python3-cryptography (tests/it/signed_gateway.py) check payprobe's request
//! signatures as Alipay and WeChat Pay v3 do, and sign their answers for payprobe to verify,
//! in public-key and certificate modes, and in every failure the issue names.

use std::path::Path;
use std::process::Command;

use payprobe::classify::Cause;
use payprobe::config;
use payprobe::sign::AnswerCheck;
use serde_json::json;

use crate::signed_gw::{round, sig, Gw};

const ALIPAY_PUBLIC: &str = "alipay_public_key_file = \"alipay_public.pem\"";
const ALIPAY_CERTS: &str = "app_cert_file = \"app_cert.crt\"\nalipay_cert_file = \"alipay_cert.crt\"\nalipay_root_cert_file = \"alipay_root.crt\"";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn alipay_public_key_mode_every_key_form_signs_and_verifies() {
    let gw = Gw::start();
    gw.mode(json!({"answer": "good"}));
    let forms = [
        ("merchant_pkcs8.pem", "alipay_public.pem"),
        ("merchant_pkcs1.pem", "alipay_public.b64"),
        ("merchant.b64", "alipay_public.pem"),
    ];
    for (i, (private, public)) in forms.iter().enumerate() {
        let plan = gw.plan(&gw.alipay(&format!(
            "private_key_file = \"{private}\"\nalipay_public_key_file = \"{public}\""
        )));
        let (e, v) = round(&plan).await;
        let req = &gw.requests()[i];
        assert_eq!(
            req["signature"], true,
            "python3 verified the request ({private}): {req}"
        );
        assert_eq!(req["sign_type"], "RSA2");
        assert_eq!(req["method"], "alipay.trade.query");
        // Beijing time: within a minute of now once read as UTC+8.
        assert!(req["skew"].as_f64().unwrap().abs() < 60.0, "{req}");
        assert!(req["biz_content"]
            .as_str()
            .unwrap()
            .contains("payprobe-nonexistent-order"));
        let s = sig(&e);
        assert!(s.request_signed);
        assert_eq!(s.answer, AnswerCheck::Verified, "{s:?}");
        assert!(
            v.ok,
            "ACQ.TRADE_NOT_EXIST from behind a verified signature is healthy: {v:?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn alipay_certificate_mode_sends_the_sns_alipay_computes() {
    let gw = Gw::start();
    gw.mode(json!({"answer": "good"}));
    let plan = gw.plan(&gw.alipay(&format!(
        "private_key_file = \"merchant_pkcs8.pem\"\n{ALIPAY_CERTS}"
    )));
    let (e, v) = round(&plan).await;
    let req = &gw.requests()[0];
    assert_eq!(req["signature"], true, "{req}");
    assert_eq!(req["app_cert_sn"].as_str().unwrap(), gw.exp("app_cert_sn"));
    // Two RSA roots joined with `_`; the ECDSA root between them is skipped.
    assert_eq!(
        req["alipay_root_cert_sn"].as_str().unwrap(),
        gw.exp("alipay_root_cert_sn")
    );
    let s = sig(&e);
    assert_eq!(s.answer, AnswerCheck::Verified, "{s:?}");
    assert_eq!(
        s.answer_serial.as_deref(),
        Some(gw.exp("alipay_cert_sn").as_str())
    );
    assert!(v.ok, "{v:?}");
    // The app certificate expires in 20 days: inside the default 30-day warning, not the
    // 7-day critical one.
    let (app, x) = e
        .credentials()
        .find(|(c, _)| c.credential == "app_cert")
        .unwrap();
    assert!(x.expiring && !x.critical, "{app:?}: {x:?}");
    assert!(
        crate::support::english(&v.warnings).iter().any(|w| w
            .starts_with("the app_cert certificate")
            && w.contains(&gw.exp("app_cert_sn"))),
        "{:?}",
        v.warnings
    );
    // Alipay rotates its certificate: the answer names another SN.
    gw.mode(json!({"answer": "good", "alipay_cert_sn": "0123456789abcdef0123456789abcdef"}));
    let (e, v) = round(&plan).await;
    assert_eq!(sig(&e).answer, AnswerCheck::UnknownKey);
    assert_eq!((v.cause, v.rule), (Cause::Security, "answer_signature"));
    assert!(
        v.reason.contains("0123456789abcdef0123456789abcdef"),
        "{}",
        v.reason
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn alipay_failures_are_told_apart() {
    let gw = Gw::start();
    let plan = gw.plan(&gw.alipay(&format!(
        "private_key_file = \"merchant_pkcs8.pem\"\n{ALIPAY_PUBLIC}"
    )));
    for (answer, check) in [
        ("wrong_key", AnswerCheck::Invalid),
        ("missing", AnswerCheck::Missing),
        ("tamper", AnswerCheck::Invalid),
    ] {
        gw.mode(json!({"answer": answer}));
        let (e, v) = round(&plan).await;
        assert_eq!(sig(&e).answer, check, "{answer}");
        assert_eq!(
            (v.cause, v.rule),
            (Cause::Security, "answer_signature"),
            "{answer}: {v:?}"
        );
        assert!(
            v.reason.contains("alipay_public_key_file"),
            "names the key tried: {}",
            v.reason
        );
    }
    // A backend failure behind a good signature is the server's.
    gw.mode(json!({"answer": "server_error"}));
    let (e, v) = round(&plan).await;
    assert_eq!(sig(&e).answer, AnswerCheck::Verified);
    assert_eq!(
        (v.cause, v.rule),
        (Cause::Server, "provider_server"),
        "{v:?}"
    );
    // The merchant key no longer matches: the gateway refuses the signature (unsigned
    // isv.invalid-signature), which is security in the provider's own words.
    gw.mode(json!({"answer": "good"}));
    let other = gw.plan(&gw.alipay(&format!(
        "private_key_file = \"other_pkcs8.pem\"\n{ALIPAY_PUBLIC}"
    )));
    let (_, v) = round(&other).await;
    assert_eq!(gw.requests().last().unwrap()["signature"], false);
    assert_eq!(
        (v.cause, v.rule),
        (Cause::Security, "provider_security"),
        "{v:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wechatpay_public_key_mode_and_its_failures() {
    let gw = Gw::start();
    gw.mode(json!({"answer": "good", "wechat_key": "public_key"}));
    let id = gw.exp("pub_key_id");
    let plan = gw.plan(&gw.wechat(&format!(
        "wechatpay_public_key_file = \"wechat_public.pem\"\nwechatpay_public_key_id = \"{id}\""
    )));
    let (e, v) = round(&plan).await;
    let req = &gw.requests()[0];
    assert_eq!(
        req["signature"], true,
        "python3 verified the Authorization: {req}"
    );
    assert!(
        req["path"]
            .as_str()
            .unwrap()
            .ends_with(&format!("mchid={}", gw.exp("mchid"))),
        "{req}"
    );
    let s = sig(&e);
    assert_eq!(s.answer, AnswerCheck::Verified, "{s:?}");
    assert_eq!(s.answer_serial.as_deref(), Some(id.as_str()));
    assert!(s.clock_skew_seconds.unwrap().abs() <= 5);
    assert!(
        v.ok,
        "ORDER_NOT_EXIST behind a verified signature is healthy: {v:?}"
    );
    for answer in ["wrong_key", "missing", "tamper"] {
        gw.mode(json!({"answer": answer, "wechat_key": "public_key"}));
        let (_, v) = round(&plan).await;
        assert_eq!(
            (v.cause, v.rule),
            (Cause::Security, "answer_signature"),
            "{answer}: {v:?}"
        );
        assert!(v.reason.contains(&id), "names the key: {}", v.reason);
    }
    // A clock 6 minutes off shows as skew.
    gw.mode(json!({"answer": "good", "wechat_key": "public_key", "clock_offset": 360}));
    let (e, v) = round(&plan).await;
    let skew = sig(&e).clock_skew_seconds.unwrap();
    assert!((355..=365).contains(&skew), "{skew}");
    assert!(
        v.ok && crate::support::english(&v.warnings)
            .iter()
            .any(|w| w.contains("check NTP")),
        "{v:?}"
    );
    gw.mode(json!({"answer": "server_error", "wechat_key": "public_key"}));
    let (_, v) = round(&plan).await;
    assert_eq!(
        (v.cause, v.rule),
        (Cause::Server, "provider_server"),
        "{v:?}"
    );
    // The merchant key no longer matches: 401 SIGN_ERROR, unsigned, is security in WeChat
    // Pay's words; a body longer than max_body_bytes cannot be verified.
    gw.mode(json!({"answer": "good", "wechat_key": "public_key"}));
    let id_keys = format!(
        "wechatpay_public_key_file = \"wechat_public.pem\"\nwechatpay_public_key_id = \"{id}\""
    );
    let other = gw.plan(
        &gw.wechat(&id_keys)
            .replace("merchant_pkcs8.pem", "other_pkcs8.pem"),
    );
    let (e, v) = round(&other).await;
    assert_eq!(gw.requests().last().unwrap()["signature"], false);
    assert_eq!(sig(&e).answer, AnswerCheck::Missing);
    assert_eq!(
        (v.cause, v.rule),
        (Cause::Security, "provider_security"),
        "{v:?}"
    );
    let short = gw.plan(&format!(
        "{}[targets.http]\nmax_body_bytes = 10\n",
        gw.wechat(&id_keys)
    ));
    let (e, v) = round(&short).await;
    assert_eq!(sig(&e).answer, AnswerCheck::Invalid);
    assert!(v.reason.contains("max_body_bytes"), "{}", v.reason);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wechatpay_platform_certificates_are_decrypted_and_follow_a_rotation() {
    let gw = Gw::start();
    gw.mode(json!({"answer": "good", "wechat_key": "platform"}));
    let plan = gw.plan(&gw.wechat("apiv3_key_file = \"apiv3.key\""));
    let (e, v) = round(&plan).await;
    let s = sig(&e);
    assert_eq!(s.answer, AnswerCheck::Verified, "{s:?}");
    assert_eq!(
        s.answer_serial.as_deref(),
        Some(gw.exp("platform_old").as_str())
    );
    assert!(v.ok, "{v:?}");
    let paths: Vec<String> = gw
        .requests()
        .iter()
        .map(|r| r["path"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(paths[0], "/v3/certificates", "fetched first: {paths:?}");
    assert!(gw.requests().iter().all(|r| r["signature"] == true));
    // WeChat Pay rotates: answers name a new serial; payprobe fetches again, verifies.
    gw.mode(json!({"answer": "good", "wechat_key": "rotated"}));
    let (e, v) = round(&plan).await;
    let s = sig(&e);
    assert_eq!(s.answer, AnswerCheck::Verified, "{s:?}");
    let new = gw.exp("platform_new");
    assert_eq!(s.answer_serial.as_deref(), Some(new.as_str()));
    assert!(v.ok, "{v:?}");
    assert_eq!(s.new_platform_serial.as_deref(), Some(new.as_str()));
    assert!(
        crate::support::english(&v.warnings)
            .iter()
            .any(|w| w.contains("new platform certificate") && w.contains(&new)),
        "{v:?}"
    );
    // The lifecycle series.
    let m = payprobe::metrics::Metrics::new().unwrap();
    m.observe(&plan.targets[0], &[e]);
    let text = m.render().unwrap();
    let labels = "provider=\"127.0.0.1\",target=\"wx\"";
    assert!(
        text.contains(&format!("payprobe_sign_answer_verified{{{labels}}} 1\n")),
        "{text}"
    );
    assert!(
        text.contains(&format!(
            "payprobe_sign_verification_mode{{mode=\"certificate\",{labels}}} 1\n"
        )),
        "{text}"
    );
    assert!(
        text.contains(&format!(
            "payprobe_sign_credential_expiry_warning_days{{{labels}}} 30\n"
        )),
        "{text}"
    );
    let days = text
        .lines()
        .find(|l| {
            l.starts_with("payprobe_sign_credential_expiry_days{credential=\"platform_cert\"")
                && l.contains(&new)
        })
        .and_then(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .unwrap_or_else(|| panic!("{text}"));
    assert!((299.0..300.01).contains(&days), "{days}");
    let first_seen = text
        .lines()
        .filter(|l| l.starts_with("payprobe_sign_platform_serial_first_seen_timestamp_seconds{"))
        .count();
    assert_eq!(first_seen, 2, "{text}");
    // An answer signed by a key nobody configured.
    gw.mode(json!({"answer": "wrong_key", "wechat_key": "rotated"}));
    let (_, v) = round(&plan).await;
    assert_eq!(
        (v.cause, v.rule),
        (Cause::Security, "answer_signature"),
        "{v:?}"
    );
    assert!(v.reason.contains(&gw.exp("platform_new")), "{}", v.reason);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stripe_sends_the_restricted_key_and_the_pinned_version() {
    let gw = Gw::start();
    let plan = gw.plan(&format!(
        "name = \"st\"\nprofile = \"stripe\"\nurl = \"http://127.0.0.1:{}/v1/charges/ch_payprobe_nonexistent\"\nchecks = [\"http\", \"api_version\"]\n[targets.api_version]\nheader = \"Stripe-Version\"\nrequire = \">=2024-06-20, <2026-01-01\"\n[targets.sign]\nkind = \"stripe\"\napi_key_file = \"stripe.key\"\nstripe_version = \"2025-03-31.basil\"\n",
        gw.port
    ));
    let (e, v) = round(&plan).await;
    let req = &gw.requests()[0];
    assert_eq!(req["auth_ok"], true, "{req}");
    assert_eq!(req["version"], "2025-03-31.basil");
    let s = sig(&e);
    assert_eq!(
        (s.answer, s.request_key.as_str()),
        (AnswerCheck::NotSigned, "rk_test")
    );
    assert!(v.ok, "resource_missing with a good key is healthy: {v:?}");
    // The date version compares as a date in [targets.api_version].
    let t = &plan.targets[0];
    let ev = crate::support::judged_round(t, tokio::time::Instant::now() + t.timeout).await;
    let a = ev
        .iter()
        .find_map(|e| e.readings.api_version.clone())
        .unwrap();
    assert_eq!(
        (a.seen.as_deref(), a.compatible),
        (Some("2025-03-31.basil"), Some(true)),
        "{a:?}"
    );
}

/// A known-answer vector: Alipay's public root certificate file (`alipayRootCert.crt`, the
/// same for every merchant: an SM2 root, Ant Financial R1 (RSA), E1 (ECDSA) and iTrusChina
/// G3 (RSA/SHA-1)) and the `alipay_root_cert_sn` Alipay's SDKs send for it.
#[test]
fn alipay_root_cert_sn_of_the_real_root_file_is_the_published_one() {
    let file = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/it/testdata/alipayRootCert.crt");
    let certs = payprobe::sign::keys::Cert::parse_pem(&std::fs::read(file).unwrap()).unwrap();
    assert_eq!(certs.len(), 4);
    assert_eq!(
        payprobe::sign::keys::alipay_root_sn(&certs),
        "687b59193f3f462dd5336e5abf83c5d8_02941eef3187dddf3d3b83462e1dfcf6"
    );
}

#[test]
fn check_config_refuses_calls_that_could_move_money_at_their_place() {
    let gw_dir = tempfile::tempdir().unwrap();
    std::fs::write(gw_dir.path().join("k.pem"), "x").unwrap();
    let cases = [
        (
            "name = \"a\"\nurl = \"https://openapi.alipay.com/gateway.do\"\n[targets.sign]\nkind = \"alipay\"\napp_id = \"1\"\nprivate_key_file = \"k.pem\"\nalipay_public_key_file = \"k.pem\"\nmethod = \"alipay.trade.pay\"\n",
            "test.toml:9:10: `method` = \"alipay.trade.pay\" is not a query",
        ),
        (
            "name = \"w\"\nurl = \"https://api.mch.weixin.qq.com/v3/pay/transactions/jsapi\"\n[targets.sign]\nkind = \"wechatpay_v3\"\n",
            "test.toml:3:7: `url` path \"/v3/pay/transactions/jsapi\" is not a query",
        ),
        (
            "name = \"s\"\nurl = \"https://api.stripe.com/v1/refunds\"\n[targets.http]\nmethod = \"POST\"\n[targets.sign]\nkind = \"stripe\"\napi_key_env = \"PAYPROBE_NO_SUCH_VAR\"\n",
            "test.toml:5:10: [targets.http] `method` = \"POST\": a signed stripe probe may only GET",
        ),
        (
            "name = \"s\"\nurl = \"http://api.stripe.com/v1/charges/ch_x\"\n[targets.sign]\nkind = \"stripe\"\napi_key_env = \"PAYPROBE_NO_SUCH_VAR\"\n",
            "test.toml:3:7: a target with [targets.sign] must use https://",
        ),
    ];
    let more = [
        (
            "[defaults.sign]\nkind = \"stripe\"\n[[targets]]\nname = \"s\"\nurl = \"https://api.stripe.com/v1/charges/ch_x\"\n",
            "test.toml:1:1: [defaults.sign] is not allowed",
        ),
        (
            "[[targets]]\nname = \"s\"\nurl = \"https://api.stripe.com/v1/charges/ch_x\"\n[targets.sign]\nkind = \"stripe\"\napi_key_file = \"k.pem\"\nexpiry_warning = \"5d\"\nexpiry_critical = \"10d\"\n",
            "test.toml:8:19: `expiry_critical` must be shorter than `expiry_warning`",
        ),
    ];
    for (src, want) in more {
        let e = config::parse(Path::new("test.toml"), src, gw_dir.path())
            .unwrap_err()
            .to_string();
        assert!(e.contains(want), "want {want:?} in:\n{e}");
    }
    for (body, want) in cases {
        let src = format!("[[targets]]\n{body}");
        let e = config::parse(Path::new("test.toml"), &src, gw_dir.path())
            .unwrap_err()
            .to_string();
        assert!(e.contains(want), "want {want:?} in:\n{e}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_shared_key_file_warns_and_probe_once_shows_the_signed_evidence() {
    let gw = Gw::start();
    gw.mode(json!({"answer": "good", "wechat_key": "public_key"}));
    let id = gw.exp("pub_key_id");
    let target = gw
        .wechat(&format!(
            "wechatpay_public_key_file = \"wechat_public.pem\"\nwechatpay_public_key_id = \"{id}\""
        ))
        .replace("merchant_pkcs8.pem", "merchant_shared.pem");
    let file = gw.path("payprobe.toml");
    std::fs::write(&file, format!("[[targets]]\n{target}")).unwrap();
    let run = |cmd: &str| {
        let out = Command::new(env!("CARGO_BIN_EXE_payprobe"))
            .args([cmd, file.to_str().unwrap()])
            .output()
            .unwrap();
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    };
    let checked = run("check-config");
    assert!(
        checked.contains(":10:20: warning: `private_key_file`")
            && checked.contains("readable by other users"),
        "{checked}"
    );
    let shown = run("probe-once");
    assert!(
        shown.contains("signed wechatpay_v3: request signed=yes"),
        "{shown}"
    );
    assert!(
        shown.contains("answer verified") && shown.contains(&format!("answer key serial {id}")),
        "{shown}"
    );
    assert!(shown.contains("clock skew"), "{shown}");
}
