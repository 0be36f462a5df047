//! Unit tests, compiled only with #[cfg(test)] (declared at the bottom of mod.rs).

use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, SystemTime};

use proptest::prelude::*;

use super::rules::RULES;
use super::*;
use crate::config::{self, Check, Target};
use crate::probe::{Evidence, Failure, FailureKind as K, HttpEvidence, Phase};

fn target(extra: &str) -> Target {
    let src = format!("[[targets]]\nname = \"t\"\nurl = \"https://gw.example/v3/pay\"\n{extra}\n");
    let plan = config::parse(Path::new("t.toml"), &src, Path::new(".")).unwrap();
    (*plan.targets[0]).clone()
}

fn failing(check: Check, phase: Phase, kind: K) -> Evidence {
    let mut e = Evidence::new("t", check);
    e.failure = Some(Failure::new(phase, kind, "detail"));
    e
}

fn status(code: u16, url: &str, headers: &[(&str, &str)]) -> Evidence {
    let mut e = failing(Check::Http, Phase::Processing, K::UnexpectedStatus);
    e.http = Some(HttpEvidence {
        status: Some(code),
        final_url: url.to_string(),
        headers: headers
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect::<BTreeMap<_, _>>(),
        ..Default::default()
    });
    e
}

fn provider(cause: Cause, status_code: u16) -> Evidence {
    let mut e = failing(Check::Http, Phase::Processing, K::ProviderError);
    e.http = Some(HttpEvidence {
        status: Some(status_code),
        final_url: "https://gw.example/gateway.do".into(),
        profile: Some(crate::profile::Verdict {
            profile: crate::profile::Profile::Alipay,
            code: "X".into(),
            message: None,
            ok: false,
            cause,
            symptoms: vec![Symptom::BalanceAnomaly],
            means: "m".into(),
        }),
        ..Default::default()
    });
    e
}

/// A 2xx body that is not in the provider's format (as `profile::judge` reports it).
fn mismatch(code: &str) -> Evidence {
    let mut e = provider(Cause::Server, 200);
    if let Some(v) = e.http.as_mut().and_then(|h| h.profile.as_mut()) {
        v.code = code.into();
    }
    e
}

fn passing(check: Check, ms: u64) -> Evidence {
    let mut e = Evidence::new("t", check);
    e.success = true;
    e.duration = Duration::from_millis(ms);
    e
}

/// One row per rule: the evidence, the rule that must decide, and its cause.
fn table() -> Vec<(Evidence, &'static str, Cause)> {
    use Cause::*;
    use Check::{Dns, Http, Tcp, Tls};
    let v = "https://gw.example/v3/pay";
    vec![
        // The provider's code beats the status it came with (here a 200 or a 503).
        (provider(Server, 200), "provider_server", Server),
        (
            failing(Check::Rpc, Phase::Content, K::RpcWrongChain),
            "rpc_wrong_chain",
            UserInput,
        ),
        (
            failing(Check::Rpc, Phase::Content, K::RpcBehind),
            "rpc_behind",
            Server,
        ),
        (
            failing(Http, Phase::Content, K::AnswerSignature),
            "answer_signature",
            Security,
        ),
        (
            failing(Check::ApiVersion, Phase::Content, K::ApiVersionMismatch),
            "api_version_mismatch",
            ApiVersion,
        ),
        (
            failing(Check::ApiVersion, Phase::Content, K::ApiSunsetPassed),
            "api_sunset_passed",
            ApiVersion,
        ),
        (
            failing(Check::ApiVersion, Phase::Content, K::ApiSchemaDrift),
            "api_schema_drift",
            ApiVersion,
        ),
        (
            failing(Check::ApiVersion, Phase::Content, K::ApiVersionMissing),
            "api_version_missing",
            ApiVersion,
        ),
        (
            failing(Tls, Phase::Tls, K::TlsCertSelfSigned),
            "tls_cert_self_signed",
            Security,
        ),
        (
            failing(Tls, Phase::Tls, K::TlsCertRevoked),
            "tls_cert_revoked",
            Security,
        ),
        (provider(Security, 503), "provider_security", Security),
        (
            provider(ApiVersion, 200),
            "provider_api_version",
            ApiVersion,
        ),
        (provider(UserInput, 500), "provider_user_input", UserInput),
        (provider(Unknown, 200), "provider_unknown", Unknown),
        (
            failing(Check::Ping, Phase::Connect, K::PacketLoss),
            "packet_loss",
            Network,
        ),
        (
            failing(Dns, Phase::Dns, K::DnsNxdomain),
            "dns_nxdomain",
            Network,
        ),
        (
            failing(Dns, Phase::Dns, K::DnsServfail),
            "dns_servfail",
            Network,
        ),
        (
            failing(Dns, Phase::Dns, K::DnsRefused),
            "dns_refused",
            Network,
        ),
        (
            failing(Dns, Phase::Dns, K::DnsNoAddresses),
            "dns_no_addresses",
            Network,
        ),
        (
            failing(Dns, Phase::Dns, K::DnsTimeout),
            "dns_timeout",
            Network,
        ),
        (failing(Dns, Phase::Dns, K::DnsError), "dns_error", Network),
        (
            failing(Dns, Phase::Dns, K::DnsUnexpectedAddress),
            "dns_unexpected_address",
            Security,
        ),
        (
            failing(Tcp, Phase::Connect, K::ConnectTimeout),
            "connect_timeout",
            Network,
        ),
        (
            failing(Tcp, Phase::Connect, K::HostUnreachable),
            "host_unreachable",
            Network,
        ),
        (
            failing(Tcp, Phase::Connect, K::NetworkUnreachable),
            "network_unreachable",
            Network,
        ),
        (
            failing(Tcp, Phase::Connect, K::ConnectRefused),
            "connect_refused",
            Server,
        ),
        (
            failing(Tcp, Phase::Connect, K::ConnectReset),
            "connect_refused",
            Server,
        ),
        (
            failing(Tls, Phase::Tls, K::TlsHandshakeTimeout),
            "tls_handshake_timeout",
            Network,
        ),
        (
            failing(Tls, Phase::Tls, K::TlsCertExpired),
            "tls_cert_expired",
            Security,
        ),
        (
            failing(Tls, Phase::Tls, K::TlsCertNotYetValid),
            "tls_cert_not_yet_valid",
            Security,
        ),
        (
            failing(Tls, Phase::Tls, K::TlsCertUnknownIssuer),
            "tls_cert_unknown_issuer",
            Security,
        ),
        (
            failing(Tls, Phase::Tls, K::TlsCertNameMismatch),
            "tls_cert_name_mismatch",
            Security,
        ),
        (
            failing(Tls, Phase::Tls, K::TlsCertInvalid),
            "tls_cert_invalid",
            Security,
        ),
        (
            failing(Tls, Phase::Tls, K::TlsProtocolVersion),
            "tls_protocol_version",
            ApiVersion,
        ),
        (
            failing(Http, Phase::Processing, K::ResponseTimeout),
            "response_timeout",
            Server,
        ),
        (
            failing(Http, Phase::Transfer, K::BodyTimeout),
            "body_timeout",
            Server,
        ),
        (
            failing(Http, Phase::Transfer, K::ConnectionClosed),
            "connection_closed",
            Server,
        ),
        (
            failing(Http, Phase::Processing, K::TooManyRedirects),
            "too_many_redirects",
            Server,
        ),
        (
            failing(Http, Phase::Processing, K::BadRedirect),
            "bad_redirect",
            Server,
        ),
        (
            status(503, v, &[("retry-after", "120")]),
            "status_503_retry_after",
            Server,
        ),
        (status(503, v, &[]), "status_5xx", Server),
        (status(502, v, &[]), "status_5xx", Server),
        (status(401, v, &[]), "status_401", Security),
        (status(403, v, &[]), "status_403", Security),
        (status(429, v, &[]), "status_429", Security),
        (status(404, v, &[]), "status_404_versioned", ApiVersion),
        (
            status(410, "https://gw.example/api/v2.1/x", &[]),
            "status_410_versioned",
            ApiVersion,
        ),
        (status(426, v, &[]), "status_426", ApiVersion),
        (status(406, v, &[]), "status_406", ApiVersion),
        (status(415, v, &[]), "status_415", ApiVersion),
        (status(400, v, &[]), "status_400", UserInput),
        (status(422, v, &[]), "status_422", UserInput),
        (status(423, v, &[]), "status_423", UserInput),
        // Every status has a row; only the reserved, unused ones are unknown, said plainly.
        (
            status(404, "https://gw.example/pay", &[]),
            "status_404",
            UserInput,
        ),
        (status(418, v, &[]), "status_unused", Unknown),
        (status(306, v, &[]), "status_unused", Unknown),
        (status(101, v, &[]), "status_1xx", Server),
        (status(204, v, &[]), "status_2xx_unexpected", Server),
        (status(301, v, &[]), "status_3xx_moved", UserInput),
        (status(308, v, &[]), "status_3xx_moved", UserInput),
        (status(304, v, &[]), "status_304", Server),
        (status(305, v, &[]), "status_305", Network),
        (status(302, v, &[]), "status_3xx", Server),
        (status(307, v, &[]), "status_3xx", Server),
        (status(407, v, &[]), "status_407", Network),
        (status(451, v, &[]), "status_451", Network),
        (status(408, v, &[]), "status_408", Network),
        (status(402, v, &[]), "status_402", UserInput),
        (
            status(410, "https://gw.example/pay", &[]),
            "status_410",
            ApiVersion,
        ),
        (status(421, v, &[]), "status_421", Server),
        (status(424, v, &[]), "status_424", Server),
        (status(425, v, &[]), "status_425", Server),
        (status(405, v, &[]), "status_405", UserInput),
        (status(409, v, &[]), "status_409", UserInput),
        (status(413, v, &[]), "status_request_rejected", UserInput),
        (status(431, v, &[]), "status_request_rejected", UserInput),
        (status(499, v, &[]), "status_4xx", UserInput),
        (status(511, v, &[]), "status_511", Network),
        (status(501, v, &[]), "status_501", ApiVersion),
        (status(505, v, &[]), "status_505", ApiVersion),
        (status(510, v, &[]), "status_510", ApiVersion),
        (status(504, v, &[]), "status_504", Server),
        (status(520, v, &[]), "status_5xx", Server),
        (status(600, v, &[]), "status_invalid", Server),
        // A peer that answered in another protocol shows the path works: the server's.
        (failing(Tls, Phase::Tls, K::TlsAlert), "tls_alert", Server),
        (
            failing(Tls, Phase::Tls, K::TlsNotTls),
            "tls_not_tls",
            Server,
        ),
        (
            failing(Tls, Phase::Tls, K::TlsPeerMisbehaved),
            "tls_peer_misbehaved",
            Server,
        ),
        // Closed before any TLS answer: a middlebox or a non-TLS server, said to be unknown.
        (failing(Tls, Phase::Tls, K::TlsError), "tls_closed", Unknown),
        (
            failing(Tcp, Phase::Connect, K::ConnectError),
            "connect_error",
            Network,
        ),
        (
            failing(Http, Phase::Processing, K::HttpProtocolError),
            "http_protocol_error",
            Server,
        ),
        // Our own way out: the proxy and the source address are on this side.
        (
            failing(Tcp, Phase::Connect, K::SourceAddressUnavailable),
            "source_address_unavailable",
            Network,
        ),
        (
            failing(Http, Phase::Connect, K::ProxyRefused),
            "proxy_refused",
            Network,
        ),
        (
            failing(Http, Phase::Proxy, K::ProxyAuthRequired),
            "proxy_auth_required",
            Network,
        ),
        (
            failing(Http, Phase::Proxy, K::ProxyError),
            "proxy_error",
            Network,
        ),
        (
            failing(Http, Phase::Proxy, K::ProxyTargetUnreachable),
            "proxy_target_unreachable",
            Network,
        ),
        (
            failing(Http, Phase::Proxy, K::ProxyTimeout),
            "proxy_timeout",
            Network,
        ),
        // Payment notifications: money confirmed late.
        (
            failing(Check::Notification, Phase::Content, K::NotificationLate),
            "notification_late",
            Server,
        ),
        (
            failing(Check::Notification, Phase::Content, K::NotificationMissing),
            "notification_missing",
            Server,
        ),
        (mismatch("not_json"), "provider_format", Server),
        (mismatch("login_page"), "login_page", Security),
        (
            failing(Http, Phase::Tls, K::TlsClientAuth),
            "tls_client_auth",
            Security,
        ),
        (
            failing(Http, Phase::Processing, K::LoginRedirect),
            "login_redirect",
            Security,
        ),
        (
            status(
                400,
                v,
                &[("www-authenticate", r#"Bearer error="invalid_token""#)],
            ),
            "bearer_token_refused",
            Security,
        ),
        (
            status(
                403,
                v,
                &[("www-authenticate", "Bearer error=insufficient_scope")],
            ),
            "bearer_token_refused",
            Security,
        ),
        (
            status(
                400,
                v,
                &[("www-authenticate", r#"Bearer error="invalid_request""#)],
            ),
            "status_400",
            UserInput,
        ),
        (mismatch("not_provider_format"), "provider_format", Server),
        (
            failing(Http, Phase::Processing, K::DeadlineExceeded),
            "internal_error",
            Unknown,
        ),
        (
            failing(Tcp, Phase::Processing, K::InternalError),
            "internal_error",
            Unknown,
        ),
    ]
}

#[test]
fn every_rule_row_decides_its_evidence() {
    let t = target("");
    for (e, rule, cause) in table() {
        let v = judge_round(&t, std::slice::from_ref(&e));
        assert!(!v.ok);
        assert_eq!((v.rule, v.cause), (rule, cause), "evidence {:?}", e.failure);
        assert!(!v.symptoms.is_empty(), "{rule} gives at least one symptom");
        assert!(
            v.reason.contains("detail") || v.reason.contains("status"),
            "{}",
            v.reason
        );
    }
}

/// The proxy itself failing, or the source address gone, is on this side whatever the
/// peers look like: `local`, even with every peer healthy. A proxy that cannot reach the
/// target is judged by its peers like any network failure.
#[test]
fn this_side_failures_are_local_whatever_the_peers() {
    let t = target("");
    for (kind, phase, scope) in [
        (K::ProxyRefused, Phase::Connect, Scope::Local),
        (K::ProxyAuthRequired, Phase::Proxy, Scope::Local),
        (K::ProxyError, Phase::Proxy, Scope::Local),
        (K::SourceAddressUnavailable, Phase::Connect, Scope::Local),
        (K::ProxyTargetUnreachable, Phase::Proxy, Scope::Endpoint),
        (K::ProxyTimeout, Phase::Proxy, Scope::Endpoint),
    ] {
        let mut w = Window::new(1, 1);
        w.push(judge_round(&t, &[failing(Check::Http, phase, kind)]));
        let healthy_peers = PeerView {
            peers: 2,
            other_providers: 3,
            ..PeerView::default()
        };
        let d = classify(&w, &healthy_peers, SystemTime::UNIX_EPOCH);
        assert_eq!(d.scope, scope, "{kind:?}");
    }
}

#[test]
fn every_rule_has_a_row_in_the_table_test() {
    let tested: Vec<&str> = table().iter().map(|r| r.1).collect();
    for r in RULES {
        assert!(tested.contains(&r.id), "rule {} has no table test", r.id);
    }
    let mut ids: Vec<&str> = RULES.iter().map(|r| r.id).collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), RULES.len(), "rule ids are unique");
}

#[test]
fn a_provider_code_brings_its_own_symptoms() {
    let t = target("");
    let v = judge_round(&t, &[provider(Cause::Server, 200)]);
    assert!(
        v.symptoms.contains(&Symptom::BalanceAnomaly)
            && v.symptoms.contains(&Symptom::TransactionFailure)
    );
}

#[test]
fn symptoms_follow_the_rule() {
    let t = target("");
    let v = judge_round(&t, &[failing(Check::Dns, Phase::Dns, K::DnsTimeout)]);
    assert!(v.symptoms.contains(&Symptom::NetworkInterruption));
    let v = judge_round(&t, &[status(401, "https://x/v1", &[])]);
    assert!(v.symptoms.contains(&Symptom::AuthFailure));
    let v = judge_round(
        &t,
        &[failing(Check::Http, Phase::Processing, K::ResponseTimeout)],
    );
    assert!(v.symptoms.contains(&Symptom::PaymentDelay));
}

#[test]
fn versioned_paths() {
    for yes in [
        "https://a/v1/x",
        "https://a/api/v3",
        "https://a/V2/",
        "https://a/x/v2.1/y?z=/v1",
    ] {
        assert!(rules::versioned_path(yes), "{yes}");
    }
    for no in [
        "https://a/",
        "https://a/video/v",
        "https://a/vendor",
        "https://a/x?v=/v1/",
        "https://v1.example/pay",
    ] {
        assert!(!rules::versioned_path(no), "{no}");
    }
}

#[test]
fn slow_success_is_a_delay_not_a_failure_and_names_the_slow_phase() {
    let t = target("latency_slo = \"800ms\"");
    let mut e = passing(Check::Http, 1200);
    let mut h = HttpEvidence::default();
    h.phases.add(Phase::Connect, Duration::from_millis(50));
    h.phases.add(Phase::Processing, Duration::from_millis(1150));
    e.http = Some(h);
    let v = judge_round(&t, &[e]);
    assert!(v.ok && v.slow);
    assert!(
        v.reason.contains("processing") && v.reason.contains("the server is slow"),
        "{}",
        v.reason
    );
    let mut w = Window::new(3, 2);
    w.push(v);
    let d = classify(&w, &PeerView::default(), SystemTime::UNIX_EPOCH);
    assert_eq!(
        (d.cause, d.scope, d.healthy),
        (Cause::None, Scope::None, true)
    );
    assert!(d.symptoms.contains(&Symptom::PaymentDelay));
    let fast = judge_round(&t, &[passing(Check::Http, 100)]);
    assert!(!fast.slow && fast.symptoms.is_empty());
}

fn verdict(ok: bool) -> RoundVerdict {
    let t = target("");
    if ok {
        judge_round(&t, &[passing(Check::Http, 10)])
    } else {
        judge_round(&t, &[status(503, "https://x/v1", &[])])
    }
}

#[test]
fn thresholds_give_hysteresis() {
    let mut w = Window::new(3, 2);
    let ctx = PeerView::default();
    for _ in 0..2 {
        w.push(verdict(false));
        assert!(
            classify(&w, &ctx, SystemTime::UNIX_EPOCH).healthy,
            "below failure_threshold"
        );
    }
    assert_eq!(w.push(verdict(false)), Some(false));
    let d = classify(&w, &ctx, SystemTime::UNIX_EPOCH);
    assert_eq!(
        (d.healthy, d.cause, d.scope, d.rule),
        (false, Cause::Server, Scope::Endpoint, "status_5xx")
    );
    w.push(verdict(true));
    let d = classify(&w, &ctx, SystemTime::UNIX_EPOCH);
    assert_eq!(
        (d.healthy, d.cause),
        (false, Cause::Server),
        "still failing until success_threshold"
    );
    assert_eq!(w.push(verdict(true)), Some(true));
    assert_eq!(
        classify(&w, &ctx, SystemTime::UNIX_EPOCH).cause,
        Cause::None
    );
}

#[test]
fn alternating_results_are_flapping_without_flipping() {
    let mut w = Window::new(3, 2);
    for i in 0..10 {
        w.push(verdict(i % 2 == 0));
    }
    let d = classify(&w, &PeerView::default(), SystemTime::UNIX_EPOCH);
    assert!(d.flapping && d.healthy, "{d:?}");
    let mut steady = Window::new(3, 2);
    for _ in 0..10 {
        steady.push(verdict(false));
    }
    assert!(!classify(&steady, &PeerView::default(), SystemTime::UNIX_EPOCH).flapping);
}

/// A target leaving directly, as scope sees it.
fn seat<'a>(name: &'a str, provider: &'a str, control: bool) -> scope::Seat<'a> {
    scope::Seat {
        name,
        provider,
        control,
        egress: "direct",
        path: true,
    }
}

/// The context of a target in the scope test: "ctl" is the control, "alipay-a" belongs to
/// provider "alipay", and so on.
fn ctx(p: &Peers, name: &str) -> PeerView {
    match name {
        "ctl" => p.context_for(seat(name, "", true)),
        n => p.context_for(seat(name, n.split('-').next().unwrap_or(n), false)),
    }
}

/// A control speaks for the targets that leave the same way, and only for them: uplink 2's
/// control failing makes uplink 2's targets `local`, and leaves uplink 1's to their peers.
#[test]
fn controls_speak_for_their_own_way_out() {
    let on = |name, provider, control, egress| scope::Seat {
        name,
        provider,
        control,
        egress,
        path: true,
    };
    let mut p = Peers::default();
    p.set(on("ctl-1", "", true, "source=10.0.1.2"), false, Cause::None);
    p.set(
        on("ctl-2", "", true, "source=10.0.2.2"),
        true,
        Cause::Network,
    );
    p.set(
        on("alipay-1", "alipay", false, "source=10.0.1.2"),
        true,
        Cause::Network,
    );
    p.set(
        on("alipay-2", "alipay", false, "source=10.0.2.2"),
        true,
        Cause::Network,
    );
    p.set(
        on("alipay-3", "alipay", false, "source=10.0.1.2"),
        false,
        Cause::None,
    );
    let two = p.context_for(on("alipay-2", "alipay", false, "source=10.0.2.2"));
    assert_eq!(two.controls_failing, 1);
    assert_eq!(scope::scope(Cause::Network, &two), Scope::Local);
    let one = p.context_for(on("alipay-1", "alipay", false, "source=10.0.1.2"));
    assert_eq!(one.controls_failing, 0);
    assert_eq!(scope::scope(Cause::Network, &one), Scope::Endpoint);
    // Uplink 2's control recovers: its target is judged by its peers again.
    p.set(on("ctl-2", "", true, "source=10.0.2.2"), false, Cause::None);
    let two = p.context_for(on("alipay-2", "alipay", false, "source=10.0.2.2"));
    assert_eq!(two.controls_failing, 0);
}

#[test]
fn scope_from_peers_and_controls() {
    let mut p = Peers::default();
    p.set(seat("alipay-a", "alipay", false), true, Cause::Server);
    p.set(seat("alipay-b", "alipay", false), false, Cause::None);
    p.set(seat("stripe", "stripe", false), false, Cause::None);
    p.set(seat("ctl", "", true), false, Cause::None);
    assert_eq!(
        scope::scope(Cause::Server, &ctx(&p, "alipay-a")),
        Scope::Endpoint
    );
    // Both alipay endpoints down, controls fine: the provider.
    p.set(seat("alipay-b", "alipay", false), true, Cause::Server);
    assert_eq!(
        scope::scope(Cause::Server, &ctx(&p, "alipay-a")),
        Scope::Provider
    );
    assert_eq!(
        scope::scope(Cause::Server, &ctx(&p, "alipay-b")),
        Scope::Provider
    );
    // A control fails too: it is us.
    p.set(seat("ctl", "", true), true, Cause::Network);
    assert_eq!(
        scope::scope(Cause::Server, &ctx(&p, "alipay-a")),
        Scope::Local
    );
    assert_eq!(scope::scope(Cause::Network, &ctx(&p, "ctl")), Scope::Local);
    p.set(seat("ctl", "", true), false, Cause::None);
    // Every provider down at the network layer, no control failing: still us.
    p.set(seat("alipay-a", "alipay", false), true, Cause::Network);
    p.set(seat("alipay-b", "alipay", false), true, Cause::Network);
    assert_eq!(
        scope::scope(Cause::Network, &ctx(&p, "alipay-a")),
        Scope::Provider
    );
    p.set(seat("stripe", "stripe", false), true, Cause::Network);
    assert_eq!(
        scope::scope(Cause::Network, &ctx(&p, "alipay-a")),
        Scope::Local
    );
    assert_eq!(
        scope::scope(Cause::Network, &ctx(&p, "stripe")),
        Scope::Local
    );
    // One provider failing for another reason breaks the "everything is down" picture.
    p.set(seat("stripe", "stripe", false), true, Cause::Server);
    assert_eq!(
        scope::scope(Cause::Network, &ctx(&p, "alipay-a")),
        Scope::Provider
    );
    assert_eq!(
        scope::scope(Cause::Server, &ctx(&p, "stripe")),
        Scope::Endpoint
    );
    // A target not recorded yet is judged against everyone else too.
    let fresh = p.context_for(seat("alipay-new", "alipay", false));
    assert_eq!((fresh.peers, fresh.peers_failing), (2, 2));
    // Removing targets keeps the counts right.
    p.remove("alipay-b");
    p.remove("stripe");
    let c = ctx(&p, "alipay-a");
    assert_eq!(
        (c.peers, c.other_providers, c.other_providers_network_down),
        (0, 0, 0)
    );
    assert_eq!(scope::scope(Cause::Network, &c), Scope::Endpoint);
}

#[test]
fn hints_exist_for_every_cause_in_both_languages() {
    for c in Cause::ALL {
        for s in Scope::ALL {
            for l in [Lang::En, Lang::ZhCn] {
                let h = hint(c, s, l);
                assert_eq!(h.is_empty(), c == Cause::None, "{c:?} {s:?} {l:?}");
            }
        }
    }
    assert!(hint(Cause::Server, Scope::Endpoint, Lang::En).contains("never resubmit a payment"));
    assert!(hint(Cause::Server, Scope::Endpoint, Lang::ZhCn).contains("切勿重复提交"));
    assert!(hint(Cause::ApiVersion, Scope::Endpoint, Lang::En).contains("Upgrade"));
    assert!(hint(Cause::Security, Scope::Endpoint, Lang::En).contains("re-login"));
    assert!(hint(Cause::Network, Scope::Local, Lang::En).contains("switch networks"));
    assert!(hint(Cause::Server, Scope::Provider, Lang::En).contains("status page"));
    assert_eq!(Lang::parse("zh_CN"), Some(Lang::ZhCn));
    assert_eq!(Lang::parse("fr"), None);
}

fn any_failure() -> impl Strategy<Value = Evidence> {
    let kinds = prop_oneof![
        Just((Check::Dns, Phase::Dns, K::DnsNxdomain)),
        Just((Check::Dns, Phase::Dns, K::DnsTimeout)),
        Just((Check::Tcp, Phase::Connect, K::ConnectRefused)),
        Just((Check::Tcp, Phase::Connect, K::ConnectTimeout)),
        Just((Check::Tls, Phase::Tls, K::TlsCertExpired)),
        Just((Check::Tls, Phase::Tls, K::TlsHandshakeTimeout)),
        Just((Check::Http, Phase::Processing, K::ResponseTimeout)),
        Just((Check::Http, Phase::Transfer, K::ConnectionClosed)),
        Just((Check::Http, Phase::Processing, K::UnexpectedStatus)),
    ];
    (kinds, 400u16..600).prop_map(|((c, p, k), code)| {
        if k == K::UnexpectedStatus {
            status(code, "https://gw.example/v1/x", &[])
        } else {
            failing(c, p, k)
        }
    })
}

fn higher_layer_failure() -> impl Strategy<Value = Evidence> {
    prop_oneof![
        Just(failing(Check::Http, Phase::Processing, K::ResponseTimeout)),
        Just(failing(Check::Http, Phase::Transfer, K::BodyTimeout)),
        (400u16..600).prop_map(|c| status(c, "https://gw.example/v1/x", &[])),
    ]
}

proptest! {
    #[test]
    fn a_window_of_passing_probes_is_always_none(
        durations in proptest::collection::vec(1u64..5000, 1..30),
        fail_t in 1u32..5,
        ok_t in 1u32..5,
    ) {
        let t = target("latency_slo = \"1s\"");
        let mut w = Window::new(fail_t, ok_t);
        for ms in durations {
            w.push(judge_round(&t, &[passing(Check::Tcp, ms / 2), passing(Check::Http, ms)]));
        }
        let d = classify(&w, &PeerView::default(), SystemTime::UNIX_EPOCH);
        prop_assert_eq!((d.cause, d.scope, d.healthy, d.flapping), (Cause::None, Scope::None, true, false));
    }

    #[test]
    fn the_verdict_does_not_depend_on_evidence_order(
        mut round in proptest::collection::vec(any_failure(), 1..6),
        rot in 0usize..6,
    ) {
        let t = target("");
        let first = judge_round(&t, &round);
        round.reverse();
        prop_assert_eq!(&judge_round(&t, &round), &first);
        let n = round.len();
        round.rotate_left(rot % n);
        prop_assert_eq!(&judge_round(&t, &round), &first);
    }

    #[test]
    fn a_higher_layer_failure_does_not_change_a_lower_layers_cause(
        low in prop_oneof![
            Just(failing(Check::Dns, Phase::Dns, K::DnsServfail)),
            Just(failing(Check::Tcp, Phase::Connect, K::ConnectTimeout)),
            Just(failing(Check::Tcp, Phase::Connect, K::ConnectRefused)),
            Just(failing(Check::Tls, Phase::Tls, K::TlsCertUnknownIssuer)),
            Just(failing(Check::Tls, Phase::Tls, K::TlsProtocolVersion)),
        ],
        high in higher_layer_failure(),
    ) {
        let t = target("");
        let alone = judge_round(&t, std::slice::from_ref(&low));
        let both = judge_round(&t, &[high, low]);
        prop_assert_eq!((both.cause, both.rule), (alone.cause, alone.rule));
    }
}

/// Evidence the HTTP prober would record for one answer: the profile reads the body first,
/// then the status decides (as `src/probe/http.rs` does).
fn answered(profile: crate::profile::Profile, status: u16, body: &[u8]) -> Evidence {
    let verdict = crate::profile::judge(profile, status, body, false, &[]);
    let mut e = Evidence::new("t", Check::Http);
    let failure = match &verdict {
        Some(v) if v.ok => None,
        Some(_) => Some(Failure::new(Phase::Content, K::ProviderError, "provider")),
        None if (200..300).contains(&status) => None,
        None => Some(Failure::new(
            Phase::Processing,
            K::UnexpectedStatus,
            "status",
        )),
    };
    e.success = failure.is_none();
    e.failure = failure;
    e.http = Some(HttpEvidence {
        status: Some(status),
        final_url: "https://gw.example/pay".into(),
        profile: verdict,
        ..Default::default()
    });
    e
}

/// The answer itself cannot be placed: a reserved, unused status, or a provider code no
/// source documents (the verdict says so).
fn ambiguous(e: &Evidence) -> bool {
    let h = e.http.as_ref().unwrap();
    match &h.profile {
        Some(v)
            if e.failure
                .as_ref()
                .is_some_and(|f| f.kind == K::ProviderError) =>
        {
            v.means.contains("is not in payprobe's table")
        }
        _ => matches!(h.status, Some(306 | 418)),
    }
}

fn any_body() -> impl Strategy<Value = Vec<u8>> {
    let code = prop_oneof![
        Just("-32000".to_string()),
        Just("-32601".to_string()),
        Just("\"-32005\"".to_string()),
        (-33000i64..0).prop_map(|n| n.to_string()),
    ];
    let msg = prop_oneof![
        Just("header not found"),
        Just("nonce too low"),
        Just("rate limit"),
        Just("x"),
    ];
    prop_oneof![
        proptest::collection::vec(any::<u8>(), 0..64),
        Just(b"<!DOCTYPE html><html><title>Down</title></html>".to_vec()),
        Just(b"{\"status\":\"ok\"}".to_vec()),
        Just(b"[]".to_vec()),
        (code.clone(), msg).prop_map(|(c, m)| format!(
            r#"{{"jsonrpc":"2.0","id":null,"error":{{"code":{c},"message":"{m}"}}}}"#
        )
        .into_bytes()),
        code.prop_map(|c| format!(
            r#"[{{"jsonrpc":"2.0","id":1,"result":"0x1"}},{{"jsonrpc":"2.0","id":2,"error":{{"code":{c}}}}}]"#
        )
        .into_bytes()),
        Just(br#"{"alipay_trade_query_response":{"code":"40004","sub_code":"ACQ.SYSTEM_ERROR"}}"#.to_vec()),
        Just(br#"{"code":"SYSTEM_ERROR","message":"busy"}"#.to_vec()),
        Just(br#"{"error":{"type":"api_error","message":"x"}}"#.to_vec()),
    ]
}

proptest! {
    /// A working TCP path with an answer never yields `unknown` unless the answer itself is
    /// ambiguous: any status (registered or not), any body, any profile.
    #[test]
    fn an_answer_over_a_working_path_is_placed_unless_it_is_itself_ambiguous(
        status in 100u16..1000,
        body in any_body(),
        p in proptest::sample::select(crate::profile::Profile::ALL.to_vec()),
    ) {
        let t = target("");
        let e = answered(p, status, &body);
        let v = judge_round(&t, std::slice::from_ref(&e));
        if v.cause == Cause::Unknown {
            prop_assert!(ambiguous(&e), "unknown for {:?} at {status}: {:?}", p, v.reason);
        }
    }

    /// A peer that answered in another protocol (TLS, HTTP) is placed too.
    #[test]
    fn a_protocol_mismatch_is_the_servers(
        kind in proptest::sample::select(vec![K::TlsNotTls, K::TlsPeerMisbehaved, K::TlsAlert, K::HttpProtocolError, K::ConnectionClosed]),
    ) {
        let t = target("");
        let phase = if matches!(kind, K::HttpProtocolError | K::ConnectionClosed) { Phase::Processing } else { Phase::Tls };
        let v = judge_round(&t, &[failing(Check::Http, phase, kind)]);
        prop_assert_eq!(v.cause, Cause::Server);
    }
}

#[test]
fn the_reason_is_rendered_in_chinese_from_its_parts() {
    let t = target("latency_slo = \"100ms\"");
    let mut w = Window::new(1, 1);
    w.push(judge_round(
        &t,
        &[status(511, "https://gw.example/pay", &[])],
    ));
    let d = classify(&w, &PeerView::default(), SystemTime::UNIX_EPOCH);
    assert_eq!(
        reason(&d, Lang::En),
        d.reason,
        "English is the reason field itself"
    );
    let zh = reason(&d, Lang::ZhCn);
    assert!(zh.starts_with("HTTP 检查，服务器处理阶段："), "{zh}");
    assert!(zh.contains("强制门户") && zh.contains("（detail）"), "{zh}");
    // Every rule says what it means in both languages.
    for r in RULES {
        assert!(!r.means_zh.is_empty() && !r.means_zh.is_ascii(), "{}", r.id);
    }
    // A slow but passing round, too.
    let mut w = Window::new(1, 1);
    w.push(judge_round(&t, &[passing(Check::Http, 250)]));
    let d = classify(&w, &PeerView::default(), SystemTime::UNIX_EPOCH);
    let zh = reason(&d, Lang::ZhCn);
    assert!(zh.contains("250 毫秒") && zh.contains("100 毫秒"), "{zh}");
}

#[test]
fn packet_loss_adds_payment_delay_whichever_failure_decides() {
    let t = target("");
    let v = judge_round(
        &t,
        &[
            failing(Check::Ping, Phase::Connect, K::PacketLoss),
            failing(Check::Tcp, Phase::Connect, K::ConnectTimeout),
        ],
    );
    assert_eq!(v.rule, "connect_timeout");
    assert!(
        v.symptoms.contains(&Symptom::PaymentDelay),
        "{:?}",
        v.symptoms
    );
    let v = judge_round(
        &t,
        &[failing(Check::Tcp, Phase::Connect, K::ConnectTimeout)],
    );
    assert!(
        !v.symptoms.contains(&Symptom::PaymentDelay),
        "no loss, no delay"
    );
}

/// Flapping from the kept pass/fail bits agrees with counting changes over the last ten
/// whole verdicts (what the window kept before), for every sequence of up to 12 rounds.
#[test]
fn flapping_bits_agree_with_the_last_ten_rounds() {
    let (pass, fail) = (verdict(true), verdict(false));
    for len in 0..=12u32 {
        for bits in 0..(1u32 << len) {
            let oks: Vec<bool> = (0..len).map(|i| bits >> i & 1 == 1).collect();
            let mut w = Window::new(3, 2);
            for ok in &oks {
                w.push(if *ok { pass.clone() } else { fail.clone() });
            }
            let last: Vec<bool> = oks.iter().rev().take(10).copied().collect();
            let changes = last.windows(2).filter(|p| p[0] != p[1]).count();
            assert_eq!(w.flapping(), changes >= 4, "{oks:?}");
        }
    }
}

/// Whose scope a change can move: a new provider or a provider going down at the network layer
/// concerns everyone (`other_providers*`), a change inside a provider only its endpoints, a
/// control everyone, a repeat nobody.
#[test]
fn a_change_reaches_only_those_whose_scope_it_can_move() {
    use crate::classify::Reach;
    let mut p = Peers::default();
    assert_eq!(
        p.set(seat("a1", "a", false), false, Cause::None),
        Reach::Everyone,
        "a new provider"
    );
    assert_eq!(
        p.set(seat("a2", "a", false), false, Cause::None),
        Reach::Provider
    );
    assert_eq!(
        p.set(seat("a2", "a", false), false, Cause::None),
        Reach::Nobody
    );
    assert_eq!(
        p.set(seat("a2", "a", false), true, Cause::Server),
        Reach::Nobody,
        "a1 still passes: no unhealthy peer's scope can move"
    );
    assert_eq!(
        p.set(seat("a1", "a", false), true, Cause::Network),
        Reach::Provider,
        "a2 is not network"
    );
    assert_eq!(
        p.set(seat("a2", "a", false), true, Cause::Network),
        Reach::Everyone,
        "provider a is now down at the network layer"
    );
    assert_eq!(
        p.set(seat("ctl", "", true), true, Cause::Network),
        Reach::Everyone
    );
    assert_eq!(
        p.set(seat("a2", "b", false), false, Cause::None),
        Reach::Everyone,
        "moved provider"
    );
}

proptest::proptest! {
    /// A broken control beside healthy targets is never local: whatever the providers,
    /// causes and controls, while more of the other paths work than fail, no target's
    /// scope is `local`, and a failing control then carries the broken-control warning.
    #[test]
    fn a_broken_control_beside_healthy_targets_is_never_local(
        targets in proptest::collection::vec((0u8..4, proptest::bool::ANY, proptest::bool::ANY), 1..40),
        controls in proptest::collection::vec(proptest::bool::ANY, 1..4),
    ) {
        let mut p = Peers::default();
        for (i, (prov, failing, network)) in targets.iter().enumerate() {
            let cause = match (failing, network) {
                (false, _) => Cause::None,
                (true, true) => Cause::Network,
                (true, false) => Cause::Server,
            };
            let (name, provider) = (format!("t{i}"), format!("p{prov}"));
            p.set(seat(&name, &provider, false), *failing, cause);
        }
        for (i, failing) in controls.iter().enumerate() {
            let cause = if *failing { Cause::Network } else { Cause::None };
            p.set(seat(&format!("ctl{i}"), "", true), *failing, cause);
        }
        let failing = targets.iter().filter(|t| t.1).count();
        let healthy = targets.len() - failing;
        for (i, (prov, f, network)) in targets.iter().enumerate() {
            if !f {
                continue;
            }
            let (name, provider) = (format!("t{i}"), format!("p{prov}"));
            let c = p.context_for(seat(&name, &provider, false));
            let cause = if *network { Cause::Network } else { Cause::Server };
            if healthy > failing {
                proptest::prop_assert_ne!(scope::scope(cause, &c), Scope::Local, "{:?}", c);
            }
        }
        for (i, f) in controls.iter().enumerate() {
            let c = p.context_for(seat(&format!("ctl{i}"), "", true));
            if *f && healthy > failing {
                proptest::prop_assert_eq!(scope::scope(Cause::Network, &c), Scope::Endpoint);
                proptest::prop_assert!(scope::broken_control(&c));
            }
            if *f && healthy <= failing {
                proptest::prop_assert_eq!(scope::scope(Cause::Network, &c), Scope::Local);
            }
        }
    }
}

/// The agreement of a way out flipping re-judges everyone (the failing targets' scope turns
/// `local` at once); a notification channel, which probes nothing, does not count as a path.
#[test]
fn an_agreement_flip_reaches_everyone_and_channels_are_no_paths() {
    let mut p = Peers::default();
    let t = |name| seat(name, "acme", false);
    p.set(seat("ctl", "", true), true, Cause::Network);
    for (name, failing) in [("a", true), ("b", false), ("c", false), ("d", false)] {
        let cause = if failing { Cause::Network } else { Cause::None };
        p.set(t(name), failing, cause);
    }
    assert_ne!(
        scope::scope(Cause::Network, &p.context_for(t("a"))),
        Scope::Local
    );
    // b failing makes two of four: the other paths agree now, everyone is judged again.
    assert_eq!(p.set(t("b"), true, Cause::Network), Reach::Everyone);
    assert_eq!(
        scope::scope(Cause::Network, &p.context_for(t("a"))),
        Scope::Local
    );
    let mut q = Peers::default();
    q.set(seat("ctl", "", true), true, Cause::Network);
    q.set(t("a"), true, Cause::Network);
    for i in 0..5 {
        let name = format!("channel-{i}");
        let mut s = seat(&name, "acme", false);
        s.path = false;
        q.set(s, false, Cause::None);
    }
    let c = q.context_for(t("a"));
    assert_eq!(
        (c.others_failing, c.others_healthy),
        (0, 0),
        "channels are not counted"
    );
    assert_eq!(scope::scope(Cause::Network, &c), Scope::Local);
}
