//! The WeChat Pay merchant certificate (`apiclient_cert_file`, issue 19 point 4): days to
//! expiry in the evidence, the warnings and /metrics beside the other merchant certificates,
//! and check-config refusing a certificate that is not the one of `serial_no` and
//! `private_key_file`. The certificates are made here with rcgen, for the merchant key the
//! independent gateway (tests/it/signed_gateway.py) checks signatures with.

use std::path::Path;

use payprobe::config;
use payprobe::sign::AnswerCheck;
use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair, SerialNumber,
};
use serde_json::json;

use crate::signed_gw::{round, sig, Gw};

/// The calendar date `days` from today (UTC), for rcgen.
fn in_days(days: u64) -> (i32, u8, u8) {
    let t = std::time::SystemTime::now() + std::time::Duration::from_secs(days * 86_400);
    let s = humantime::format_rfc3339_seconds(t).to_string();
    let n = |r: std::ops::Range<usize>| s[r].parse::<i32>().unwrap();
    (n(0..4), n(5..7) as u8, n(8..10) as u8)
}

/// An apiclient_cert.pem as WeChat Pay's CA issues it: the merchant's key (read from
/// `key_file`), serial `serial_hex`, expiring `days` from today.
fn apiclient_cert(gw: &Gw, key_file: &str, serial_hex: &str, days: u64, out: &str) {
    let mut ca = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca.distinguished_name
        .push(DnType::CommonName, "Tenpay.com Root CA");
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let issuer = CertifiedIssuer::self_signed(ca, KeyPair::generate().unwrap()).unwrap();
    let key = KeyPair::from_pem(&std::fs::read_to_string(gw.path(key_file)).unwrap()).unwrap();
    let mut p = CertificateParams::new(Vec::<String>::new()).unwrap();
    p.distinguished_name
        .push(DnType::CommonName, "1900000001 payprobe test merchant");
    let bytes: Vec<u8> = (0..serial_hex.len() / 2)
        .map(|i| u8::from_str_radix(&serial_hex[2 * i..2 * i + 2], 16).unwrap())
        .collect();
    p.serial_number = Some(SerialNumber::from_slice(&bytes));
    let (y, m, d) = in_days(days);
    p.not_before = rcgen::date_time_ymd(2024, 1, 1);
    p.not_after = rcgen::date_time_ymd(y, m, d);
    let cert = p.signed_by(&key, &issuer).unwrap();
    std::fs::write(gw.path(out), cert.pem()).unwrap();
}

fn public_key_mode(gw: &Gw) -> String {
    format!(
        "wechatpay_public_key_file = \"wechat_public.pem\"\nwechatpay_public_key_id = \"{}\"",
        gw.exp("pub_key_id")
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_merchant_certificate_expiry_is_evidence_warning_and_metric() {
    let gw = Gw::start();
    gw.mode(json!({"answer": "good", "wechat_key": "public_key"}));
    let serial = gw.exp("serial_no");
    apiclient_cert(&gw, "merchant_pkcs8.pem", &serial, 20, "apiclient_20d.pem");
    apiclient_cert(&gw, "merchant_pkcs8.pem", &serial, 5, "apiclient_5d.pem");
    apiclient_cert(
        &gw,
        "merchant_pkcs8.pem",
        &serial,
        200,
        "apiclient_200d.pem",
    );
    let mut seen = Vec::new();
    for (file, expiring, critical) in [
        ("apiclient_20d.pem", true, false),
        ("apiclient_5d.pem", true, true),
        ("apiclient_200d.pem", false, false),
    ] {
        let sign = format!("{}\napiclient_cert_file = \"{file}\"", public_key_mode(&gw));
        let plan = gw.plan(&gw.wechat(&sign));
        let (e, v) = round(&plan).await;
        let s = sig(&e);
        assert_eq!(s.answer, AnswerCheck::Verified, "{file}: {s:?}");
        assert!(v.ok, "an expiring certificate still works today: {v:?}");
        let c = s
            .credentials
            .iter()
            .find(|c| c.credential == "apiclient_cert")
            .unwrap_or_else(|| panic!("{file}: no apiclient_cert in {:?}", s.credentials));
        assert_eq!(c.serial, serial, "WeChat Pay's form: upper-case hex");
        let judged = e
            .credentials()
            .find(|(x, _)| x.credential == "apiclient_cert")
            .map(|(_, x)| (x.expiring, x.critical));
        assert_eq!(judged, Some((expiring, critical)), "{file}");
        let said = crate::support::english(&v.warnings);
        let warned = said
            .iter()
            .find(|w| w.contains("the apiclient_cert certificate") && w.contains(&serial));
        assert_eq!(warned.is_some(), expiring, "{file}: {:?}", v.warnings);
        assert_eq!(
            warned.is_some_and(|w| w.starts_with("critical: ")),
            critical,
            "{file}: {warned:?}"
        );
        seen.push((plan, e));
    }
    // The metric family the Alipay certificates use, with credential="apiclient_cert".
    let (plan, e) = seen.swap_remove(0);
    let m = payprobe::metrics::Metrics::new().unwrap();
    m.observe(&plan.targets[0], &[e]);
    let text = m.render().unwrap();
    let want = format!(
        "payprobe_sign_credential_expiry_days{{credential=\"apiclient_cert\",provider=\"127.0.0.1\",serial=\"{serial}\",target=\"wx\"}} "
    );
    let days = text
        .lines()
        .find_map(|l| l.strip_prefix(&want))
        .and_then(|v| v.parse::<f64>().ok())
        .unwrap_or_else(|| panic!("no {want} in:\n{text}"));
    assert!((18.9..20.01).contains(&days), "{days}");
}

/// The daemon's outputs: the API's evidence lists the certificate with the other merchant
/// credentials, and the page shows its warning in the target's row.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_api_and_the_page_show_the_merchant_certificate() {
    let gw = Gw::start();
    gw.mode(json!({"answer": "good", "wechat_key": "public_key"}));
    let serial = gw.exp("serial_no");
    apiclient_cert(&gw, "merchant_pkcs8.pem", &serial, 20, "apiclient.pem");
    let sign = format!(
        "{}\napiclient_cert_file = \"apiclient.pem\"",
        public_key_mode(&gw)
    );
    let src = format!(
        "[server]\nlisten = \"127.0.0.1:0\"\nstate_dir = \"state\"\n[[targets]]\n{}",
        gw.wechat(&sign)
    );
    let plan = config::parse(&gw.path("p.toml"), &src, gw.dir.path()).unwrap();
    let probers = std::sync::Arc::new(payprobe::probe::Probers::system());
    let d = payprobe::app::Daemon::start(plan, None, probers)
        .await
        .unwrap();
    let addr = d.addr;
    let api = crate::support::wait_for(30, "the first round in the API", || async move {
        let (_, body) = crate::support::get(addr, "/api/v1/targets/wx").await.ok()?;
        body.contains("apiclient_cert").then_some(body)
    })
    .await;
    let v: serde_json::Value = serde_json::from_str(&api).unwrap();
    let creds: Vec<&serde_json::Value> = v["evidence"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|e| e["http"]["signature"]["credentials"].as_array())
        .flatten()
        .filter(|c| c["credential"] == "apiclient_cert")
        .collect();
    assert!(
        creds.len() == 1 && creds[0]["serial"] == serial.as_str() && creds[0]["expiring"] == true,
        "{api}"
    );
    assert!(
        v["diagnosis"]["warnings"]
            .as_array()
            .is_some_and(|w| w.iter().any(|w| w
                .as_str()
                .is_some_and(|w| w.contains("the apiclient_cert certificate")))),
        "{api}"
    );
    let (_, page) = crate::support::get(addr, "/").await.unwrap();
    assert!(
        page.contains(&format!("the apiclient_cert certificate {serial} expires")),
        "the page row shows the warning"
    );
    // In Chinese, through the catalogue: the serial verbatim, no English sentence left.
    let zh = format!("apiclient_cert 证书 {serial} 将于");
    let (_, api) = crate::support::get(addr, "/api/v1/targets/wx?lang=zh-CN")
        .await
        .unwrap();
    let v: serde_json::Value = serde_json::from_str(&api).unwrap();
    let said = v["diagnosis"]["warnings"].to_string();
    assert!(said.contains(&zh) && !said.contains("expires at"), "{said}");
    let (_, page) = crate::support::get(addr, "/?lang=zh-CN").await.unwrap();
    assert!(page.contains(&zh) && !page.contains("renew it"), "{page}");
    d.stop();
}

#[test]
fn check_config_refuses_another_certificate_at_its_place() {
    let gw = Gw::start();
    let serial = gw.exp("serial_no");
    // Another serial for the right key; the right serial for another key.
    apiclient_cert(
        &gw,
        "merchant_pkcs8.pem",
        "0A1B2C3D",
        100,
        "other_serial.pem",
    );
    apiclient_cert(&gw, "other_pkcs8.pem", &serial, 100, "other_key.pem");
    let at = |file: &str| {
        let sign = format!("{}\napiclient_cert_file = \"{file}\"", public_key_mode(&gw));
        let src = format!("[[targets]]\n{}", gw.wechat(&sign));
        let line = src
            .lines()
            .position(|l| l.starts_with("apiclient_cert_file"))
            .unwrap()
            + 1;
        let e = config::parse(Path::new("test.toml"), &src, gw.dir.path())
            .unwrap_err()
            .to_string();
        (format!("test.toml:{line}:23: "), e)
    };
    let (place, e) = at("other_serial.pem");
    assert!(
        e.contains(&format!(
            "{place}`apiclient_cert_file` \"other_serial.pem\" is certificate A1B2C3D, not `serial_no` {serial}"
        )),
        "{e}"
    );
    assert!(!e.contains("public key is another key's"), "{e}");
    let (place, e) = at("other_key.pem");
    assert!(
        e.contains(&format!(
            "{place}`apiclient_cert_file` \"other_key.pem\" is not the certificate of `private_key_file`"
        )),
        "{e}"
    );
    assert!(!e.contains("not `serial_no`"), "{e}");
    let (place, e) = at("no_such.pem");
    assert!(
        e.contains(&format!("{place}`apiclient_cert_file` ")) && e.contains("cannot read"),
        "{e}"
    );
    // The right certificate passes; the key belongs to WeChat Pay only.
    apiclient_cert(&gw, "merchant_pkcs8.pem", &serial, 100, "right.pem");
    let sign = format!(
        "{}\napiclient_cert_file = \"right.pem\"",
        public_key_mode(&gw)
    );
    gw.plan(&gw.wechat(&sign));
    let src = format!(
        "[[targets]]\n{}",
        gw.alipay("private_key_file = \"merchant_pkcs8.pem\"\nalipay_public_key_file = \"alipay_public.pem\"\napiclient_cert_file = \"right.pem\"")
    );
    let e = config::parse(Path::new("test.toml"), &src, gw.dir.path())
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("test.toml:11:23: `apiclient_cert_file` does not apply to kind = \"alipay\""),
        "{e}"
    );
}
