use super::*;
use crate::incidents::Change;

fn s() -> Settings {
    Settings {
        group_wait_ms: 1000,
        control_hold_ms: 5000,
        resend_ms: 60_000,
        external: "http://pp".into(),
        vantage: "v1".into(),
        lang: Lang::En,
    }
}

fn inc(target: &str, provider: &str, cause: Cause, scopes: &[(u64, Scope)]) -> Incident {
    let changes: Vec<Change> = scopes
        .iter()
        .map(|(at, sc)| Change {
            at_ms: *at,
            cause,
            scope: *sc,
            reason: "r".into(),
        })
        .collect();
    Incident {
        id: format!("{target}@{}", scopes[0].0),
        target: target.into(),
        provider: provider.into(),
        control: target.starts_with("control"),
        egress: String::new(),
        cause,
        scope: scopes.last().unwrap().1,
        rule: "x".into(),
        reason: "r".into(),
        evidence: String::new(),
        opened_ms: scopes[0].0,
        first_failure_ms: None,
        interval_ms: 1000,
        success_threshold: 2,
        changes,
        closed_ms: None,
        closed_by: None,
        maintenance: None,
    }
}

fn run(e: &mut Engine, open: &[Incident], now: u64) -> Vec<Out> {
    let want = desired(open, now, &s());
    e.evaluate(want, now, &s()).0
}

#[test]
fn a_local_outage_is_one_vantage_alert_and_holds_the_targets_back() {
    let mut e = Engine::default();
    let open = vec![
        inc("control-1", "ctl", Cause::Network, &[(0, Scope::Local)]),
        inc(
            "a",
            "p1",
            Cause::Network,
            &[(0, Scope::Endpoint), (100, Scope::Local)],
        ),
        inc("b", "p2", Cause::Network, &[(0, Scope::Local)]),
    ];
    assert!(run(&mut e, &open, 100).is_empty(), "group_wait first");
    let out = run(&mut e, &open, 1200);
    assert_eq!(out.len(), 1, "{out:?}");
    let n = &out[0].0;
    assert_eq!(n.event, Event::Firing);
    assert_eq!(n.labels["alertname"], "PaymentProbeVantagePointDown");
    assert_eq!(n.annotation("endpoints"), "a, b, control-1");
    // Network back: the control recovers first, the targets are endpoint for a round or two.
    let recovering = vec![
        inc(
            "a",
            "p1",
            Cause::Network,
            &[
                (0, Scope::Endpoint),
                (100, Scope::Local),
                (5000, Scope::Endpoint),
            ],
        ),
        inc(
            "b",
            "p2",
            Cause::Network,
            &[(0, Scope::Local), (5000, Scope::Endpoint)],
        ),
    ];
    let out = run(&mut e, &recovering, 5000);
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].0.event, Event::Resolved);
    assert!(
        run(&mut e, &recovering, 6500).is_empty(),
        "still held back (2 rounds + group_wait)"
    );
    assert!(
        run(&mut e, &[], 7000).is_empty(),
        "they recovered: nothing more to say"
    );
    // Had one stayed down past its settle time, it would page on its own.
    assert!(
        run(&mut e, &recovering[..1], 9000).is_empty(),
        "group_wait again"
    );
    let out = run(&mut e, &recovering[..1], 10_000);
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].0.labels["target"], "a");
}

#[test]
fn a_provider_outage_is_one_alert_listing_its_endpoints() {
    let mut e = Engine::default();
    let open = vec![
        inc("a", "acme", Cause::Server, &[(0, Scope::Provider)]),
        inc("b", "acme", Cause::Server, &[(0, Scope::Provider)]),
        inc("c", "other", Cause::Security, &[(0, Scope::Endpoint)]),
    ];
    let mut out = run(&mut e, &open, 0);
    assert!(out.is_empty());
    out = run(&mut e, &open, 1000);
    let names: Vec<&str> = out
        .iter()
        .map(|(n, _)| n.labels["alertname"].as_str())
        .collect();
    assert_eq!(
        names,
        ["PaymentProviderDown", "PaymentEndpointFailing"],
        "{out:?}"
    );
    assert_eq!(out[0].0.annotation("endpoints"), "a, b");
    assert!(out[0]
        .0
        .annotation("payment_rule")
        .contains("Never resubmit"));
    assert_eq!(
        out[1].0.annotation("payment_rule"),
        "",
        "security causes carry no payment rule"
    );
}

#[test]
fn a_cause_change_is_one_notification_and_resends_go_to_alertmanager_only() {
    let mut e = Engine::default();
    let a = |c| vec![inc("a", "acme", c, &[(0, Scope::Endpoint)])];
    run(&mut e, &a(Cause::Server), 0);
    let first = run(&mut e, &a(Cause::Server), 1000);
    assert_eq!(first.len(), 1);
    let out = run(&mut e, &a(Cause::Network), 2000);
    assert_eq!(out.len(), 1);
    let n = &out[0].0;
    assert_eq!(n.event, Event::Changed);
    assert_eq!(n.labels["cause"], "network");
    assert_eq!(n.previous_labels.as_ref().unwrap()["cause"], "server");
    assert_eq!(n.fingerprint, first[0].0.fingerprint, "the same alert");
    assert!(run(&mut e, &a(Cause::Network), 3000).is_empty());
    let out = run(&mut e, &a(Cause::Network), 62_000);
    assert_eq!(out.len(), 1);
    assert_eq!((out[0].0.event, out[0].1), (Event::Resend, true));
    let out = run(&mut e, &[], 70_000);
    assert_eq!(out[0].0.event, Event::Resolved);
    assert_eq!(out[0].0.duration_secs(), Some(70.0));
}

#[test]
fn keys_are_stable_for_the_same_transition() {
    let open = vec![inc("a", "acme", Cause::Server, &[(42, Scope::Endpoint)])];
    let mut e1 = Engine::default();
    run(&mut e1, &open, 0);
    let k1 = run(&mut e1, &open, 5000)[0].0.key.clone();
    let mut e2 = Engine::default();
    run(&mut e2, &open, 100);
    let k2 = run(&mut e2, &open, 9000)[0].0.key.clone();
    assert_eq!(
        k1, k2,
        "a second announcement (lost state) carries the same idempotency key"
    );
}

#[test]
fn hints_summary_and_the_payment_rule_follow_the_configured_language() {
    let zh = Settings {
        lang: Lang::ZhCn,
        ..s()
    };
    let open = vec![inc("a", "acme", Cause::Server, &[(0, Scope::Endpoint)])];
    let w = &desired(&open, 0, &zh)["target/a"];
    assert_eq!(w.annotations["summary"], "a（acme）故障：server");
    assert!(
        w.annotations["payment_rule"].contains("切勿重新提交"),
        "{w:?}"
    );
    assert!(w.annotations["hint"].contains("服务商侧故障"), "{w:?}");
}

/// A provider alert names its first endpoints and counts the rest in the configured
/// language; its notifications carry that language, so chat sinks frame them in it.
#[test]
fn a_provider_alert_counts_the_endpoints_it_does_not_name_in_its_language() {
    let open: Vec<Incident> = (0..23)
        .map(|i| {
            inc(
                &format!("e{i:02}"),
                "acme",
                Cause::Server,
                &[(0, Scope::Provider)],
            )
        })
        .collect();
    let zh = Settings {
        lang: Lang::ZhCn,
        ..s()
    };
    let endpoints =
        |set: &Settings| desired(&open, 0, set)["provider/acme"].annotations["endpoints"].clone();
    assert!(
        endpoints(&s()).ends_with("e19 (+3 more)"),
        "{}",
        endpoints(&s())
    );
    assert!(
        endpoints(&zh).ends_with("e19（另有 3 个）"),
        "{}",
        endpoints(&zh)
    );
    let mut e = Engine::default();
    e.evaluate(desired(&open, 0, &zh), 0, &zh);
    let out = e.evaluate(desired(&open, 2000, &zh), 2000, &zh).0;
    assert!(
        !out.is_empty() && out.iter().all(|(n, _)| n.lang == Lang::ZhCn),
        "{out:?}"
    );
}

/// A failing control beside working paths pages as a broken control, but only once the
/// other targets had time to fail too (then it would have been a local outage).
#[test]
fn a_broken_control_pages_after_the_hold_and_says_it_is_the_control() {
    let open = vec![inc(
        "control-1",
        "ctl",
        Cause::Network,
        &[(0, Scope::Endpoint)],
    )];
    assert!(
        desired(&open, 4_999, &s()).is_empty(),
        "held for control_hold_ms"
    );
    let w = &desired(&open, 5_000, &s())["target/control-1"];
    assert!(
        w.annotations["summary"].starts_with("Control control-1 fails while other targets work"),
        "{w:?}"
    );
}

/// Local outages are grouped by way out: uplink 2 broken and the direct way fine gives one
/// vantage-point alert that names uplink 2, not one for the whole vantage point.
#[test]
fn local_alerts_name_their_way_out() {
    let mut a = inc("alipay-2", "alipay", Cause::Network, &[(0, Scope::Local)]);
    a.egress = "source=10.0.2.15".into();
    let mut c = inc("control-2", "", Cause::Network, &[(0, Scope::Local)]);
    c.egress = "source=10.0.2.15".into();
    let d = inc("stripe", "stripe", Cause::Network, &[(0, Scope::Local)]);
    let want = desired(&[a, c, d], 10_000, &s());
    let keys: Vec<&str> = want.keys().map(String::as_str).collect();
    assert_eq!(keys, ["local", "local/source=10.0.2.15"]);
    let two = &want["local/source=10.0.2.15"];
    assert_eq!(two.labels["egress"], "source=10.0.2.15");
    assert!(two.annotations["summary"].contains("by way of source=10.0.2.15"));
    assert!(two.annotations["endpoints"].contains("alipay-2"));
    assert!(!want["local"].labels.contains_key("egress"));
}

/// An alert fired in English and resolved after `[server] lang` became zh-CN is resolved in
/// English: its resolve notice carries the annotations it fired with, so its frame must be
/// in their language, not the new one.
#[test]
fn a_resolve_is_framed_in_the_language_the_alert_fired_in() {
    let zh = Settings {
        lang: Lang::ZhCn,
        ..s()
    };
    let open = vec![inc("a", "acme", Cause::Server, &[(0, Scope::Endpoint)])];
    let mut e = Engine::default();
    run(&mut e, &open, 0);
    let fired = run(&mut e, &open, 2000);
    assert_eq!((fired.len(), fired[0].0.lang), (1, Lang::En), "{fired:?}");
    let out = e.evaluate(desired(&[], 3000, &zh), 3000, &zh).0;
    let resolved = &out[0].0;
    assert_eq!(resolved.event, Event::Resolved);
    assert_eq!(resolved.lang, Lang::En, "{resolved:?}");
    assert!(!resolved.annotation("summary").contains('（'));
}
