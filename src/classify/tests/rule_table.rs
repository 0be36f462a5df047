//! The rules table: each row decides its evidence, the lowest layer wins, symptoms follow.

use super::rows::table;
use super::*;

/// Every row is judged, and every wrong one is reported together, named by its rule.
#[test]
fn every_rule_row_decides_its_evidence() {
    let t = target("");
    let mut wrong = Vec::new();
    for (i, (e, rule, cause)) in table().into_iter().enumerate() {
        let v = judge_round(&t, std::slice::from_ref(&e));
        let name = format!("row {i} ({rule})");
        if v.ok || (v.rule, v.cause) != (rule, cause) {
            wrong.push(format!(
                "{name}: got {} / {:?} (ok {}), want {rule} / {cause:?}; evidence {:?}",
                v.rule, v.cause, v.ok, e.failure
            ));
            continue;
        }
        if v.symptoms.is_empty() {
            wrong.push(format!("{name}: no symptom"));
        }
        if !(v.reason.contains("detail") || v.reason.contains("status")) {
            wrong.push(format!(
                "{name}: the reason lacks the evidence: {}",
                v.reason
            ));
        }
    }
    assert!(
        wrong.is_empty(),
        "{} wrong:\n{}",
        wrong.len(),
        wrong.join("\n")
    );
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
    e.observed.http = Some(h);
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
