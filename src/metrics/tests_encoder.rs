//! The exposition written from payprobe's own per-target state: histograms, family
//! grouping, escaping, removal, and the one-hot families written as their active series.

use std::time::Duration;

use super::Metrics;
use crate::checked::Checked;
use crate::classify::{Cause, Diagnosis, Scope, Symptom};
use crate::config::{Check, Plan};
use crate::probe::Evidence;

fn plan(src: &str) -> Plan {
    crate::config::parse(
        std::path::Path::new("t.toml"),
        src,
        std::path::Path::new("."),
    )
    .unwrap_or_else(|e| panic!("{e}"))
}

const TWO: &str =
    "[[targets]]\nname = \"a\"\nprovider = \"p\\\"q\\\\r\"\nurl = \"http://127.0.0.1:1/\"\n\
                   [[targets]]\nname = \"b\"\nprovider = \"p\"\nurl = \"http://127.0.0.1:2/\"\n";

fn http(target: &str, secs: f64, ok: bool) -> Checked {
    let mut e = Evidence::new(target, Check::Http);
    e.duration = Duration::from_secs_f64(secs);
    let mut c = Checked::unconditioned(e);
    c.failure = (!ok).then(|| {
        crate::probe::Failure::new(
            crate::probe::Phase::Processing,
            crate::probe::FailureKind::UnexpectedStatus,
            "503",
        )
    });
    c
}

fn lines_of<'a>(text: &'a str, prefix: &str) -> Vec<&'a str> {
    text.lines().filter(|l| l.starts_with(prefix)).collect()
}

#[test]
fn a_histogram_has_cumulative_buckets_sum_and_count() {
    let p = plan(TWO);
    let m = Metrics::with_histograms(true).unwrap();
    m.observe(
        &p.targets[1],
        &[http("b", 0.03, true), http("b", 2.0, true)],
    );
    let text = m.render().unwrap();
    let series =
        "payprobe_probe_latency_seconds_bucket{check=\"http\",provider=\"p\",target=\"b\",le=";
    let want = [
        ("0.025", 0),
        ("0.05", 1),
        ("1.5", 1),
        ("2.5", 2),
        ("30", 2),
        ("+Inf", 2),
    ];
    for (le, n) in want {
        let line = format!("{series}\"{le}\"}} {n}");
        assert!(text.lines().any(|l| l == line), "no `{line}` in\n{text}");
    }
    assert_eq!(lines_of(&text, series).len(), 16, "15 bounds and +Inf");
    let base = "{check=\"http\",provider=\"p\",target=\"b\"}";
    assert!(
        text.contains(&format!("payprobe_probe_latency_seconds_sum{base} 2.03\n")),
        "{text}"
    );
    assert!(
        text.contains(&format!("payprobe_probe_latency_seconds_count{base} 2\n")),
        "{text}"
    );
    assert!(text.contains("# TYPE payprobe_probe_latency_seconds histogram\n"));
}

#[test]
fn each_family_is_written_once_with_all_its_series_together() {
    let p = plan(TWO);
    let m = Metrics::new().unwrap();
    for t in &p.targets {
        m.observe(t, &[http(&t.name, 0.1, false)]);
        m.observe_diagnosis(t, &Diagnosis::pending());
    }
    let text = m.render().unwrap();
    let mut seen: Vec<&str> = Vec::new();
    let mut current = "";
    for l in text.lines() {
        if let Some(name) = l.strip_prefix("# TYPE ").and_then(|r| r.split(' ').next()) {
            assert!(!seen.contains(&name), "{name} written twice:\n{text}");
            seen.push(name);
            current = name;
        } else if !l.starts_with('#') {
            assert!(l.starts_with(current), "`{l}` outside its family {current}");
        }
    }
    assert!(seen.contains(&"payprobe_probes_total") && seen.contains(&"payprobe_build_info"));
    let failed = lines_of(
        &text,
        "payprobe_probes_total{check=\"http\",outcome=\"failure\"",
    );
    assert_eq!(failed.len(), 2, "{text}");
}

#[test]
fn label_values_from_the_config_are_escaped() {
    let p = plan(TWO);
    let m = Metrics::new().unwrap();
    m.observe(&p.targets[0], &[http("a", 0.1, true)]);
    let text = m.render().unwrap();
    let want = "payprobe_probe_success{check=\"http\",provider=\"p\\\"q\\\\r\",target=\"a\"} 1\n";
    assert!(text.contains(want), "{text}");
}

#[test]
fn a_removed_target_leaves_no_series() {
    let p = plan(TWO);
    let m = Metrics::new().unwrap();
    for t in &p.targets {
        m.observe(t, &[http(&t.name, 0.1, true)]);
        m.observe_diagnosis(t, &Diagnosis::pending());
    }
    m.remove_target(&p.targets[0]);
    let text = m.render().unwrap();
    assert!(!text.contains("target=\"a\""), "{text}");
    assert!(text.contains("target=\"b\""), "{text}");
}

#[test]
fn one_hot_families_hold_the_active_values_only() {
    let p = plan(TWO);
    let m = Metrics::new().unwrap();
    let mut d = Diagnosis::pending();
    d.healthy = false;
    d.cause = Cause::Server;
    d.scope = Scope::Endpoint;
    d.symptoms = [Symptom::ALL[0], Symptom::ALL[2]].into_iter().collect();
    m.observe_diagnosis(&p.targets[1], &d);
    let text = m.render().unwrap();
    let cause = lines_of(&text, "payprobe_cause{");
    assert_eq!(
        cause,
        ["payprobe_cause{cause=\"server\",provider=\"p\",target=\"b\"} 1"]
    );
    let scope = lines_of(&text, "payprobe_scope{");
    assert_eq!(
        scope,
        ["payprobe_scope{provider=\"p\",scope=\"endpoint\",target=\"b\"} 1"]
    );
    assert_eq!(lines_of(&text, "payprobe_symptom{").len(), 2, "{text}");
    assert!(text.contains("payprobe_target_healthy{provider=\"p\",target=\"b\"} 0\n"));
}

#[test]
fn a_judged_round_sets_the_state_age_to_the_millisecond() {
    use crate::output::{JudgedRound, Output};
    let p = plan(TWO);
    let m = Metrics::new().unwrap();
    let t = p.targets[1].clone();
    let since = std::time::SystemTime::UNIX_EPOCH + Duration::from_secs(1_000);
    let d = std::sync::Arc::new(Diagnosis::pending());
    m.publish(&JudgedRound {
        target: t,
        evidence: vec![http("b", 0.1, true)],
        conditions: Vec::new(),
        diagnosis: d,
        previous: None,
        since,
        at: since + Duration::from_micros(90_250_400),
    });
    let text = m.render().unwrap();
    let want = "payprobe_target_state_seconds{provider=\"p\",target=\"b\"} 90.25\n";
    assert!(text.contains(want), "{text}");
}
