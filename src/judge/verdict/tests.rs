//! The judging step over hand-made observations: which condition decides, and that an
//! observation failure is never replaced by a condition.

use std::path::Path;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use super::*;
use crate::checked::Checked;
use crate::config::Target;
use crate::probe::cert::CertSummary;
use crate::probe::ping::{Method, PingEvidence};
use crate::probe::rpc::RpcEvidence;
use crate::probe::{Failure, FailureKind, HttpEvidence, Phase, TlsEvidence};

fn target(toml: &str) -> Target {
    let src = format!("[[targets]]\nname = \"t\"\n{toml}\n");
    let plan = crate::config::parse(Path::new("t.toml"), &src, Path::new("."))
        .unwrap_or_else(|e| panic!("{e}"));
    (*plan.targets[0]).clone()
}

fn answer(check: Check, status: u16, body: &str) -> Evidence {
    let mut e = Evidence::new("t", check);
    e.http = Some(HttpEvidence {
        status: Some(status),
        body: bytes::Bytes::from(body.to_string()),
        ..Default::default()
    });
    e
}

fn judged(v: &Verdicts, t: &Target, e: Evidence) -> Checked {
    let j = v.judge_round(t, std::slice::from_ref(&e), SystemTime::now());
    crate::judge::condition::view(vec![e], &j).remove(0)
}

/// The `api_version` check of a round whose `http` check made the one request.
fn shared(v: &Verdicts, t: &Target, http: Evidence) -> Checked {
    let now = SystemTime::now();
    let mut j = v.judge_round(t, std::slice::from_ref(&http), now);
    let derived = api_version_of(t, &http, &mut j, now);
    crate::judge::condition::view(vec![derived], &j).remove(0)
}

fn kind(e: &Checked) -> Option<FailureKind> {
    e.failure.as_ref().map(|f| f.kind)
}

#[test]
fn status_is_held_against_expect_status_or_2xx() {
    let v = Verdicts::default();
    let t = target("url = \"https://gw.example/\"\nchecks = [\"http\"]");
    assert_eq!(kind(&judged(&v, &t, answer(Check::Http, 204, ""))), None);
    let e = judged(&v, &t, answer(Check::Http, 503, ""));
    assert_eq!(kind(&e), Some(FailureKind::UnexpectedStatus));
    assert!(!e.success());
    assert_eq!(e.failure.as_ref().map(|f| f.phase), Some(Phase::Processing));
    let t = target(
        "url = \"https://gw.example/\"\nchecks = [\"http\"]\n[targets.http]\nexpect_status = [401]",
    );
    assert_eq!(kind(&judged(&v, &t, answer(Check::Http, 401, ""))), None);
    let e = judged(&v, &t, answer(Check::Http, 200, ""));
    assert_eq!(kind(&e), Some(FailureKind::UnexpectedStatus));
    assert!(e.failure.is_some_and(|f| f.detail.contains("[401]")));
}

#[test]
fn the_provider_code_decides_unless_the_status_is_listed() {
    let v = Verdicts::default();
    let body = r#"{"error":{"type":"invalid_request_error","code":"api_key_expired","message":"Expired API Key provided"}}"#;
    let t = target(
        "url = \"https://api.stripe.example/v1/x\"\nprofile = \"stripe\"\nchecks = [\"http\"]",
    );
    let e = judged(&v, &t, answer(Check::Http, 401, body));
    assert_eq!(kind(&e), Some(FailureKind::ProviderError));
    assert!(e.readings.profile.is_some(), "the reading is kept");
    assert!(e.observed.failure.is_none(), "the observation is untouched");
    let t = target("url = \"https://api.stripe.example/v1/x\"\nprofile = \"stripe\"\nchecks = [\"http\"]\n[targets.http]\nexpect_status = [401]");
    let e = judged(&v, &t, answer(Check::Http, 401, body));
    assert_eq!(kind(&e), None, "a listed status is the user's word");
    assert!(e.readings.profile.is_some(), "still shown");
}

#[test]
fn an_observation_failure_is_never_replaced_by_a_condition() {
    let v = Verdicts::default();
    let t = target("url = \"https://gw.example/\"\nchecks = [\"http\"]");
    let mut e = answer(Check::Http, 500, "");
    e.failure = Some(Failure::new(
        Phase::Transfer,
        FailureKind::BodyTimeout,
        "deadline reached",
    ));
    assert_eq!(kind(&judged(&v, &t, e)), Some(FailureKind::BodyTimeout));
}

#[test]
fn api_version_reads_the_version_even_when_the_answer_fails() {
    let v = Verdicts::default();
    let t = target("url = \"https://gw.example/v3/x\"\nchecks = [\"api_version\"]\n[targets.api_version]\nheader = \"X-Api-Version\"\nrequire = \"^3\"");
    let mut e = answer(Check::ApiVersion, 200, "");
    if let Some(h) = e.http.as_mut() {
        h.headers.insert("x-api-version".into(), "2.1".into());
    }
    let ok_status = judged(&v, &t, e.clone());
    assert_eq!(kind(&ok_status), Some(FailureKind::ApiVersionMismatch));
    if let Some(h) = e.http.as_mut() {
        h.status = Some(500);
    }
    let failed = judged(&v, &t, e);
    assert_eq!(
        kind(&failed),
        Some(FailureKind::UnexpectedStatus),
        "the lower layer explains"
    );
    assert_eq!(
        failed.readings.api_version.and_then(|a| a.seen).as_deref(),
        Some("2.1")
    );
}

fn ping(sent: u32, received: u32) -> Evidence {
    let mut e = Evidence::new("t", Check::Ping);
    e.ping = Some(PingEvidence {
        method: Method::Tcp,
        address: [192, 0, 2, 1].into(),
        port: Some(443),
        sent,
        received,
        send_errors: 0,
        loss_ratio: f64::from(sent - received) / f64::from(sent),
        rtt_min: None,
        rtt_avg: None,
        rtt_max: None,
        rtt_stddev: None,
    });
    e
}

#[test]
fn loss_fails_only_above_the_threshold() {
    let v = Verdicts::default();
    let t = target("url = \"https://gw.example/\"\nchecks = [\"ping\"]\n[targets.ping]\ncount = 5\nloss_threshold = 0.2");
    assert_eq!(
        kind(&judged(&v, &t, ping(5, 4))),
        None,
        "20% is at the threshold"
    );
    let e = judged(&v, &t, ping(5, 3));
    assert_eq!(kind(&e), Some(FailureKind::PacketLoss));
    let detail = e.failure.map(|f| f.detail).unwrap_or_default();
    assert!(
        detail.contains("40% of 5 TCP pings to 192.0.2.1"),
        "{detail}"
    );
}

fn rpc(t: &Target, name: &str, chain_id: Option<u64>, height: u64) -> Evidence {
    let mut e = Evidence::new(name, Check::Rpc);
    e.rpc = Some(RpcEvidence {
        chain: t.rpc.chain.clone(),
        chain_id,
        height: Some(height),
        ..Default::default()
    });
    e
}

#[tokio::test]
async fn a_node_on_the_wrong_chain_is_not_a_peer() {
    let v = Verdicts::default();
    let node = |name: &str| {
        let mut t = target(&format!("url = \"https://{name}.example/\"\nprofile = \"evm_jsonrpc\"\nchecks = [\"rpc\"]\n[targets.rpc]\nchain = \"eth\"\nchain_id = 1\nmax_block_lag = 5"));
        t.name = name.to_string();
        t
    };
    let (a, b) = (node("t"), node("b"));
    let wrong = judged(&v, &a, rpc(&a, "t", Some(5), 10_000));
    assert_eq!(kind(&wrong), Some(FailureKind::RpcWrongChain));
    let e = judged(&v, &b, rpc(&b, "b", Some(1), 100));
    assert_eq!(kind(&e), None, "the wrong chain's 10000 was not filed");
    let r = e.readings.lag.unwrap_or_default();
    assert_eq!((r.best_peer_height, r.peers), (None, 0));
    let behind = judged(&v, &a, rpc(&a, "t", Some(1), 90));
    assert_eq!(kind(&behind), Some(FailureKind::RpcBehind));
    assert_eq!(behind.readings.lag.and_then(|r| r.blocks), Some(10));
}

#[test]
fn an_unanswered_call_is_a_provider_error_unless_the_profile_explains_it() {
    let v = Verdicts::default();
    let t = target("url = \"https://n.example/\"\nprofile = \"evm_jsonrpc\"\nchecks = [\"rpc\"]");
    let mut e = answer(Check::Rpc, 200, r#"{"jsonrpc":"2.0","id":1,"result":null}"#);
    e.rpc = Some(RpcEvidence {
        unanswered: Some("eth_blockNumber: null is not a block height".into()),
        ..Default::default()
    });
    let plain = judged(&v, &t, e.clone());
    assert_eq!(kind(&plain), Some(FailureKind::ProviderError));
    assert!(plain
        .failure
        .is_some_and(|f| f.detail.starts_with("eth_blockNumber: null")));
    e.http = answer(
        Check::Rpc,
        200,
        r#"{"jsonrpc":"2.0","id":1,"error":{"code":-32005,"message":"limit exceeded"}}"#,
    )
    .http;
    let explained = judged(&v, &t, e);
    let f = explained.failure.unwrap_or_else(|| panic!("should fail"));
    assert!(
        f.detail.contains("-32005"),
        "the profile's reading decides: {}",
        f.detail
    );
}

fn tls(valid: bool, days_left: u64) -> Evidence {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    let mut e = Evidence::new("t", Check::Tls);
    e.tls = Some(TlsEvidence {
        version: valid.then(|| "TLSv1.3".to_string()),
        certificate: Some(CertSummary {
            subject: "CN=gw.example".into(),
            issuer: "CN=Test CA".into(),
            sans: vec!["gw.example".into()],
            serial: "01".into(),
            not_before: "2026-01-01T00:00:00Z".into(),
            not_after: "soon".into(),
            not_after_unix: (now + Duration::from_secs(days_left * 86_400)).as_secs() as i64,
            self_signed: false,
            chain_len: 2,
            sha256: "ab".into(),
        }),
        ..Default::default()
    });
    e
}

#[test]
fn expiry_is_flagged_for_a_valid_certificate_inside_the_window() {
    let v = Verdicts::default();
    let t =
        target("url = \"https://gw.example/\"\nchecks = [\"tls\"]\ncert_expiry_warning = \"14d\"");
    let soon = judged(&v, &t, tls(true, 3));
    assert!(soon.readings.cert_expiring);
    assert!(soon.success(), "a warning, not a failure");
    let later = judged(&v, &t, tls(true, 30));
    assert!(!later.readings.cert_expiring);
    let mut broken = tls(false, 3);
    broken.failure = Some(Failure::new(
        Phase::Tls,
        FailureKind::TlsCertUnknownIssuer,
        "invalid peer certificate: UnknownIssuer",
    ));
    let broken = judged(&v, &t, broken);
    assert_eq!(kind(&broken), Some(FailureKind::TlsCertUnknownIssuer));
    assert!(!broken.readings.cert_expiring);
}

#[test]
fn a_shared_request_is_read_for_its_version_after_the_http_verdict() {
    let v = Verdicts::default();
    let t = target("url = \"https://gw.example/v3/x\"\nchecks = [\"http\", \"api_version\"]\n[targets.api_version]\nheader = \"X-Api-Version\"\nrequire = \"^3\"");
    let mut e = answer(Check::Http, 200, "");
    if let Some(h) = e.http.as_mut() {
        h.headers.insert("x-api-version".into(), "2.1".into());
    }
    let derived = shared(&v, &t, e.clone());
    assert_eq!(derived.check(), Check::ApiVersion);
    assert_eq!(kind(&derived), Some(FailureKind::ApiVersionMismatch));
    assert!(!derived.success());
    if let Some(h) = e.http.as_mut() {
        h.status = Some(503);
    }
    let derived = shared(&v, &t, e);
    assert_eq!(
        kind(&derived),
        Some(FailureKind::UnexpectedStatus),
        "the answer's verdict stays"
    );
    assert_eq!(
        derived.readings.api_version.and_then(|a| a.seen).as_deref(),
        Some("2.1")
    );
}

/// A channel's round: silence over `max_silence` is `notification_missing` (it beats an old
/// late notification), a last delay over today's `max_delay` is `notification_late`.
#[test]
fn a_channel_is_held_against_max_delay_and_max_silence() {
    use crate::probe::NotificationEvidence;
    let src = "[[targets]]\nname = \"api\"\nurl = \"https://x.example\"\n[[notifications]]\nname = \"n\"\nprovider = \"p\"\ntoken_file = \"src/config/validate/testdata/token.txt\"\nmax_delay = \"1m\"\nmax_silence = \"10m\"\n";
    let plan = crate::config::parse(Path::new("t.toml"), src, Path::new("."))
        .unwrap_or_else(|e| panic!("{e}"));
    let t = plan.target("n").unwrap_or_else(|| panic!("channel"));
    let v = Verdicts::default();
    let round = |n: NotificationEvidence| {
        let mut e = Evidence::new("n", Check::Notification);
        e.notification = Some(n);
        judged(&v, t, e)
    };
    let seen = |secs| NotificationEvidence {
        last_id: Some("T1".into()),
        last_delay: Some(Duration::from_secs(secs)),
        ..Default::default()
    };
    assert_eq!(kind(&round(seen(30))), None);
    assert_eq!(kind(&round(seen(90))), Some(FailureKind::NotificationLate));
    let silent = NotificationEvidence {
        silent_for: Some(Duration::from_secs(700)),
        ..seen(90)
    };
    let e = round(silent);
    assert_eq!(kind(&e), Some(FailureKind::NotificationMissing));
    assert!(e.failure.is_some_and(|f| f.detail.contains("700s")));
    assert_eq!(kind(&round(NotificationEvidence::default())), None);
}

/// The judge's conclusions are a typed list beside the observation: which condition, on
/// which check, held or not; an answer that never came is held against nothing.
#[test]
fn conditions_are_listed_apart_from_the_observation() {
    use crate::judge::condition::{view, Which};
    let v = Verdicts::default();
    let t = target("url = \"https://gw.example/\"\nchecks = [\"http\"]");
    let now = SystemTime::now();
    let bad = answer(Check::Http, 503, "");
    let j = v.judge_round(&t, std::slice::from_ref(&bad), now);
    let held: Vec<_> = j
        .conditions
        .iter()
        .map(|c| (c.check, c.which, c.passed()))
        .collect();
    assert_eq!(held, [(Check::Http, Which::ExpectedStatus, false)]);
    let judged = view(vec![bad.clone()], &j).remove(0);
    assert_eq!(judged.failure, j.conditions[0].failure);
    assert_eq!(
        bad.failure, None,
        "the observation is not the judge's to write"
    );
    let good = answer(Check::Http, 200, "");
    let j = v.judge_round(&t, std::slice::from_ref(&good), now);
    assert!(j.conditions.iter().all(|c| c.passed()) && j.conditions.len() == 1);
    let mut lost = answer(Check::Http, 200, "");
    lost.failure = Some(Failure::new(
        Phase::Processing,
        FailureKind::ResponseTimeout,
        "deadline reached while waiting for the response",
    ));
    let j = v.judge_round(&t, std::slice::from_ref(&lost), now);
    assert!(j.conditions.is_empty(), "{:?}", j.conditions);
    let judged = view(vec![lost], &j).remove(0);
    assert_eq!(
        judged.failure.map(|f| f.kind),
        Some(FailureKind::ResponseTimeout)
    );
}
