//! The demo's signing gateways (issue 19, point 6) against an independent implementation:
//! tests/it/demo_client.py (Python and Debian's python3-cryptography) signs as a merchant with
//! the keys the demo wrote, verifies the gateways' answer signatures and is refused when it
//! signs wrong. Then the signed-probe acts, seen in payprobe's own evidence, and
//! `payprobe probe-once` on the demo's config.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use payprobe::config::Target;
use payprobe::demo::story;
use payprobe::probe::{Evidence, Probers};
use payprobe::sign::{AnswerCheck, SignEvidence};
use serde_json::Value;

fn python() -> &'static str {
    if Path::new("/usr/bin/python3").exists() {
        "/usr/bin/python3"
    } else {
        "python3"
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_independent_client_verifies_the_demo_gateways_and_is_refused_when_it_signs_wrong() {
    let demo = payprobe::demo::start("127.0.0.1:0").await.unwrap();
    let port = |name: &str| demo.cast.gateway(name).unwrap().port().to_string();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/it/demo_client.py");
    let mut cmd = Command::new(python());
    cmd.arg(&script)
        .arg(&demo.dir)
        .arg(port("alipay-trade-query"))
        .arg(port("wechatpay-order-query"))
        .arg(port("stripe-charges"));
    let out = tokio::task::spawn_blocking(move || cmd.output())
        .await
        .unwrap()
        .expect("python3 (tests/run.sh installs python3-cryptography)");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "demo_client.py failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let r: Value = serde_json::from_str(&stdout).unwrap();

    // Alipay: a good signature gets the signed "no such trade", verified with the published
    // Alipay public key; a wrong or missing one the documented refusal, unsigned.
    let good = &r["alipay_good"];
    assert_eq!(good["member"], "alipay_trade_query_response", "{r}");
    assert_eq!(good["sub_code"], "ACQ.TRADE_NOT_EXIST", "{r}");
    assert_eq!(good["verified"], true, "{r}");
    assert_eq!(
        r["alipay_wrong_key"]["sub_code"], "isv.invalid-signature",
        "{r}"
    );
    assert_eq!(r["alipay_wrong_key"]["signed"], false, "{r}");
    assert_eq!(
        r["alipay_unsigned"]["sub_code"], "isv.missing-signature",
        "{r}"
    );

    // WeChat Pay: /v3/certificates decrypts with the APIv3 key, its certificates' serials are
    // the listed ones, and they verify that answer and the order query's.
    let certs = &r["wechat_certificates"];
    assert_eq!(certs["status"], 200, "{r}");
    assert_eq!(certs["serials"], certs["listed"], "{r}");
    assert_eq!(certs["verified"], true, "{r}");
    let good = &r["wechat_good"];
    assert_eq!(
        (good["status"].as_u64(), good["code"].as_str()),
        (Some(404), Some("ORDER_NOT_EXIST")),
        "{r}"
    );
    assert_eq!(good["verified"], true, "{r}");
    assert_eq!(
        good["serial"].as_str(),
        Some(demo.cast.keys.platform_serial().as_str())
    );
    assert!(good["skew"].as_i64().unwrap().abs() <= 5, "{r}");
    for refused in ["wechat_wrong_key", "wechat_unsigned"] {
        let a = &r[refused];
        assert_eq!(
            (a["status"].as_u64(), a["code"].as_str()),
            (Some(401), Some("SIGN_ERROR")),
            "{refused}: {r}"
        );
        assert_eq!(a["signed"], false, "{refused}: {r}");
    }

    // Stripe signs nothing: the restricted key is checked, a wrong one refused, never echoed.
    let good = &r["stripe_good"];
    assert_eq!(
        (good["status"].as_u64(), good["code"].as_str()),
        (Some(404), Some("resource_missing")),
        "{r}"
    );
    assert_eq!(good["version"], "2024-06-20", "{r}");
    let wrong = &r["stripe_wrong_key"];
    assert_eq!(
        (wrong["status"].as_u64(), wrong["type"].as_str()),
        (Some(401), Some("invalid_request_error")),
        "{r}"
    );
    assert_eq!(wrong["key_echoed"], false, "{r}");
}

/// A few rounds of one demo target (the first may fetch platform certificates).
async fn rounds(t: &Target, n: usize) -> Vec<Evidence> {
    let mut last = Vec::new();
    for _ in 0..n {
        let deadline = tokio::time::Instant::now() + t.timeout;
        last = Probers::system().round(t, deadline).await;
    }
    last
}

fn signature(ev: &[Evidence]) -> SignEvidence {
    ev.iter()
        .find_map(|e| e.http.as_ref().and_then(|h| h.signature.clone()))
        .expect("signed evidence")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_signed_acts_show_in_the_evidence() {
    let demo = payprobe::demo::start("127.0.0.1:0").await.unwrap();
    let plan = payprobe::config::load(&demo.config_path).unwrap();
    let target = |name: &str| plan.targets.iter().find(|t| t.name == name).unwrap();
    let (order, refund) = (
        target("wechatpay-order-query"),
        target("wechatpay-refund-query"),
    );
    let height = payprobe::demo::height_at(Duration::ZERO);
    let act = |key: &str| story::act(key).unwrap();

    // Each target keeps its own platform certificates: both fetch them first.
    assert_eq!(
        signature(&rounds(refund, 2).await).answer,
        AnswerCheck::Verified
    );
    let before = signature(&rounds(order, 2).await);
    assert_eq!(before.answer, AnswerCheck::Verified, "{before:?}");
    let first = before.answer_serial.clone().unwrap();

    // A rotation: answers under a serial payprobe never saw, fetched, verified and reported.
    demo.cast.apply(act("platform-rotation"), height).await;
    let s = signature(&rounds(order, 1).await);
    let new = demo.cast.keys.platform_serial();
    assert_ne!(new, first);
    assert_eq!(s.answer, AnswerCheck::Verified, "{s:?}");
    assert_eq!(s.answer_serial.as_deref(), Some(new.as_str()), "{s:?}");
    assert_eq!(
        s.new_platform_serial.as_deref(),
        Some(new.as_str()),
        "{s:?}"
    );
    assert!(
        crate::support::english(&payprobe::classify::sign_warnings(&s))
            .iter()
            .any(|w| w.contains(&new)),
        "{s:?}"
    );
    // The refund target sees the rotation too (it probes during the act in the story).
    assert_eq!(
        signature(&rounds(refund, 1).await).answer,
        AnswerCheck::Verified
    );
    let serials: Vec<&str> = s.credentials.iter().map(|c| c.serial.as_str()).collect();
    assert!(
        serials.contains(&first.as_str()) && serials.contains(&new.as_str()),
        "{s:?}"
    );

    // A clock 6 minutes ahead: refused (401 SIGN_ERROR, unsigned), the skew shown.
    demo.cast.apply(act("clock-skew"), height).await;
    let ev = rounds(order, 1).await;
    let s = signature(&ev);
    let skew = s.clock_skew_seconds.unwrap();
    assert!((355..=365).contains(&skew), "{s:?}");
    assert_eq!(s.answer, AnswerCheck::Missing, "{s:?}");
    assert!(
        crate::support::english(&payprobe::classify::sign_warnings(&s))
            .iter()
            .any(|w| w.contains("+36")),
        "{s:?}"
    );

    // A stranger's signature: does not verify with the serial it names.
    demo.cast.apply(act("stranger-signature"), height).await;
    let s = signature(&rounds(refund, 1).await);
    assert_eq!(s.answer, AnswerCheck::Invalid, "{s:?}");
    assert!(s.problem.unwrap().contains(&new));

    // A changed merchant key: Alipay refuses, unsigned.
    demo.cast.apply(act("merchant-key"), height).await;
    let ev = rounds(target("alipay-trade-query"), 1).await;
    let s = signature(&ev);
    assert_eq!(s.answer, AnswerCheck::Missing, "{s:?}");
    let body = ev.iter().find_map(|e| e.http.as_ref()).unwrap();
    assert!(String::from_utf8_lossy(&body.body).contains("isv.invalid-signature"));

    // A backend error behind a good signature: verified.
    demo.cast.apply(act("signed-server-error"), height).await;
    let ev = rounds(target("alipay-refund-query"), 1).await;
    assert_eq!(signature(&ev).answer, AnswerCheck::Verified);
    let body = ev.iter().find_map(|e| e.http.as_ref()).unwrap();
    assert!(String::from_utf8_lossy(&body.body).contains("ACQ.SYSTEM_ERROR"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn probe_once_on_the_demo_config_shows_the_signed_evidence() {
    let demo = payprobe::demo::start("127.0.0.1:0").await.unwrap();
    for (target, want) in [
        ("alipay-trade-query", "signed alipay: request signed=yes"),
        (
            "wechatpay-order-query",
            "signed wechatpay_v3: request signed=yes",
        ),
        ("stripe-charges", "signed stripe: request signed=yes"),
    ] {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_payprobe"));
        cmd.args([
            "probe-once",
            demo.config_path.to_str().unwrap(),
            "--target",
            target,
        ]);
        let out = tokio::task::spawn_blocking(move || cmd.output())
            .await
            .unwrap()
            .unwrap();
        let shown = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(out.status.success(), "{target}: {shown}");
        assert!(shown.contains(want), "{target}: {shown}");
        if !target.starts_with("stripe") {
            assert!(shown.contains("answer verified"), "{target}: {shown}");
            assert!(shown.contains("clock skew"), "{target}: {shown}");
        }
    }
}
