//! The files users load next to payprobe: alert rules (through the real promtool) and
//! dashboards (every metric they query must exist).

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;

use payprobe::checked::Checked;
use payprobe::metrics::Metrics;
use payprobe::probe::{Evidence, HttpEvidence, TlsEvidence};

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

fn promtool(args: &[&str], dir: &Path) {
    let out = match Command::new("promtool")
        .args(args)
        .current_dir(dir)
        .output()
    {
        Ok(o) => o,
        Err(_) if std::env::var_os("PAYPROBE_SKIP_PROMTOOL").is_some() => return,
        Err(e) => {
            panic!("promtool not runnable ({e}); tests/run.sh installs Debian's `prometheus`")
        }
    };
    assert!(
        out.status.success(),
        "promtool {args:?}:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn alert_rules_are_valid_and_their_unit_tests_pass() {
    let dir = Path::new(ROOT).join("deploy/prometheus");
    promtool(&["check", "rules", "payprobe-rules.yml"], &dir);
    promtool(&["test", "rules", "payprobe-rules.test.yml"], &dir);
    promtool(&["check", "config", "prometheus.yml"], &dir);
}

/// Every series name payprobe exports once it has seen a full round (with the opt-in
/// latency histograms: a dashboard panel may use them where they are enabled).
fn exported_names() -> BTreeSet<String> {
    full_round_exposition()
        .lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| l.split(['{', ' ']).next())
        .map(str::to_string)
        .collect()
}

/// `/metrics` once a target has seen a full round of every kind of evidence (also read by
/// tests/it/docs.rs for the families docs/metrics.md must list).
pub(crate) fn full_round_exposition() -> String {
    let m = Metrics::with_histograms(true).unwrap();
    let t = crate::support::target(
        "name = \"t\"\nurl = \"https://127.0.0.1:1/\"\nchecks = [\"tls\", \"http\"]\nlatency_slo = \"1s\"",
    );
    let mut tls = Evidence::new("t", payprobe::config::Check::Tls);
    tls.tls = Some(TlsEvidence {
        version: Some("TLSv1.3".into()),
        certificate: Some(payprobe::probe::cert::CertSummary {
            subject: "CN=t".into(),
            issuer: "CN=ca".into(),
            sans: vec![],
            serial: "01".into(),
            not_before: String::new(),
            not_after: String::new(),
            not_after_unix: 1,
            self_signed: false,
            chain_len: 2,
            sha256: String::new(),
        }),
        ..Default::default()
    });
    let mut http = Evidence::new("t", payprobe::config::Check::Http);
    http.http = Some(HttpEvidence::default());
    let mut ping = Evidence::new("t", payprobe::config::Check::Ping);
    ping.ping = Some(payprobe::probe::ping::PingEvidence {
        method: payprobe::probe::ping::Method::Tcp,
        address: std::net::Ipv4Addr::LOCALHOST.into(),
        port: Some(443),
        sent: 2,
        received: 2,
        send_errors: 0,
        loss_ratio: 0.0,
        rtt_min: Some(0.001),
        rtt_avg: Some(0.001),
        rtt_max: Some(0.001),
        rtt_stddev: Some(0.0),
    });
    let api = Evidence::new("t", payprobe::config::Check::ApiVersion);
    let mut api = Checked::unconditioned(api);
    api.readings.api_version = Some(payprobe::checked::ApiVersionReading {
        seen: Some("3.1".into()),
        compatible: Some(true),
        sunset_unix: Some(1),
        ..Default::default()
    });
    let observed = [tls, http, ping].map(Checked::unconditioned);
    m.observe(&t, &[observed.to_vec(), vec![api]].concat());
    signed_series(&m);
    // A symptom, so the symptom family (written as its active series only) has one.
    let mut d = payprobe::classify::Diagnosis::pending();
    d.symptoms.insert(payprobe::classify::Symptom::ALL[0]);
    m.observe_diagnosis(&t, &d);
    m.observe_lag(std::time::Duration::from_millis(3));
    m.render().unwrap()
}

/// A signed probe's series (tests/it/signed.rs has the real exchanges): a WeChat Pay target
/// with keys from the independent gateway, and an answer verified with a platform
/// certificate seen for the first time.
fn signed_series(m: &Metrics) {
    let gw = crate::signed_gw::Gw::start();
    let plan = gw.plan(&gw.wechat("apiv3_key_file = \"apiv3.key\""));
    let t = &plan.targets[0];
    let mut e = Evidence::new("wx", payprobe::config::Check::Http);
    let mut cred = payprobe::sign::Credential::new("platform_cert", "43A5", 1);
    cred.first_seen_unix = Some(1);
    e.http = Some(HttpEvidence {
        signature: Some(payprobe::sign::SignEvidence {
            answer: payprobe::sign::AnswerCheck::Verified,
            clock_skew_seconds: Some(0),
            credentials: vec![cred],
            ..Default::default()
        }),
        ..Default::default()
    });
    m.observe(t, &[Checked::unconditioned(e)]);
}

/// `payprobe_…` and `process_…` names used in a text.
pub(crate) fn referenced(text: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for prefix in ["payprobe_", "process_"] {
        for (i, _) in text.match_indices(prefix) {
            let name: String = text[i..]
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            out.insert(name);
        }
    }
    out
}

#[test]
fn dashboards_and_rules_query_only_metrics_that_exist() {
    let have = exported_names();
    let mut files = vec![Path::new(ROOT).join("deploy/prometheus/payprobe-rules.yml")];
    for e in std::fs::read_dir(Path::new(ROOT).join("dashboards")).unwrap() {
        let p = e.unwrap().path();
        if p.extension().and_then(|x| x.to_str()) == Some("json") {
            let text = std::fs::read_to_string(&p).unwrap();
            serde_json::from_str::<serde_json::Value>(&text)
                .unwrap_or_else(|e| panic!("{}: {e}", p.display()));
            files.push(p);
        }
    }
    assert!(files.len() >= 3, "expected the dashboards in dashboards/");
    // Alerting's series appear once an incident opens or an alert sink is configured (the
    // Prometheus test sees them against the demo); here it is enough that payprobe defines
    // them.
    let incidents =
        std::fs::read_to_string(Path::new(ROOT).join("src/metrics/incidents.rs")).unwrap();
    // Maintenance and availability write their own families (src/metrics `Exposition`).
    let extra = ["src/availability/expose.rs", "src/maintenance/mod.rs"]
        .map(|f| std::fs::read_to_string(Path::new(ROOT).join(f)).unwrap())
        .concat();
    let defined_for_alerting = |name: &str| {
        incidents.contains(&format!("\"{name}\"")) || extra.contains(&format!("\"{name}\""))
    };
    for f in files {
        let text = std::fs::read_to_string(&f).unwrap();
        for name in referenced(&text) {
            assert!(
                have.contains(&name) || defined_for_alerting(&name),
                "{} queries {name}, which payprobe does not export",
                f.display()
            );
        }
    }
}

/// Every row of the rules table is shown by a real-server test (diagnosis.rs, judgement.rs
/// or netns.rs),
/// not only by the table test: adding a rule without one fails here.
#[test]
fn every_rule_has_a_real_server_test() {
    let dir = Path::new(ROOT).join("tests/it");
    // Each suite and the files of its directory (`diagnosis/`, `judgement/`, ...).
    let mut files = Vec::new();
    for suite in [
        "diagnosis",
        "judgement",
        "netns",
        "egress",
        "notifications",
        "signed",
        "auth_forms",
    ] {
        files.push(dir.join(format!("{suite}.rs")));
        if let Ok(rd) = std::fs::read_dir(dir.join(suite)) {
            files.extend(rd.map(|e| e.unwrap().path()));
        }
    }
    let sources: String = files
        .iter()
        .map(|f| std::fs::read_to_string(f).unwrap())
        .collect();
    // payprobe's own failures: no gateway can cause one once the bug is fixed, so this row
    // is shown with a panicking prober in scheduler.rs instead.
    let exempt = ["internal_error"];
    let mut missing = Vec::new();
    for r in payprobe::classify::rules::RULES {
        if !exempt.contains(&r.id) && !sources.contains(&format!("\"{}\"", r.id)) {
            missing.push(r.id);
        }
    }
    assert!(
        missing.is_empty(),
        "rules without a real-server test: {missing:?}"
    );
}

/// docs/profiles.md documents every row of every profile table, with its cause.
#[test]
fn the_profile_doc_lists_every_code() {
    use payprobe::profile::Profile;
    let doc = std::fs::read_to_string(Path::new(ROOT).join("docs/profiles.md")).unwrap();
    let mut n = 0;
    for p in Profile::ALL {
        let section = doc
            .split(&format!("## {}\n", p.as_str()))
            .nth(1)
            .map(|s| s.split("\n## ").next().unwrap_or(s));
        for c in p.table() {
            let section = section
                .unwrap_or_else(|| panic!("docs/profiles.md has no section for {}", p.as_str()));
            let row = format!("| `{}` | {} |", c.code, c.cause.as_str());
            assert!(
                section.contains(&row),
                "docs/profiles.md, {}: no row {row}",
                p.as_str()
            );
            n += 1;
        }
    }
    assert!(n >= 60, "{n}");
}

/// "1m45s", "75s", "2h" in seconds.
fn duration_secs(s: &str) -> u64 {
    let (mut total, mut n) = (0, 0);
    for c in s.chars() {
        match c {
            '0'..='9' => n = n * 10 + u64::from(c.to_digit(10).unwrap()),
            'h' => (total, n) = (total + n * 3600, 0),
            'm' => (total, n) = (total + n * 60, 0),
            's' => (total, n) = (total + n, 0),
            _ => panic!("duration {s}"),
        }
    }
    total + n
}

/// Every alert of the rules file has a unit test where it fires, one before that where it is
/// quiet, and one after where it has resolved (in the same test group).
#[test]
fn every_alert_is_unit_tested_firing_quiet_and_resolved() {
    let dir = Path::new(ROOT).join("deploy/prometheus");
    let rules = &crate::ops::yaml_docs(&dir.join("payprobe-rules.yml"))[0];
    let tests = &crate::ops::yaml_docs(&dir.join("payprobe-rules.test.yml"))[0];
    let mut missing = Vec::new();
    let alerts: BTreeSet<&str> = rules["groups"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|g| g["rules"].as_array().unwrap())
        .filter_map(|r| r["alert"].as_str())
        .collect();
    for alert in &alerts {
        let covered = tests["tests"].as_array().unwrap().iter().any(|t| {
            let cases: Vec<(u64, bool)> = t["alert_rule_test"]
                .as_array()
                .into_iter()
                .flatten()
                .filter(|c| c["alertname"] == *alert)
                .map(|c| {
                    let fires = c["exp_alerts"].as_array().is_some_and(|a| !a.is_empty());
                    (duration_secs(c["eval_time"].as_str().unwrap()), fires)
                })
                .collect();
            let firing: Vec<u64> = cases.iter().filter(|c| c.1).map(|c| c.0).collect();
            let (Some(first), Some(last)) = (firing.iter().min(), firing.iter().max()) else {
                return false;
            };
            cases.iter().any(|c| !c.1 && c.0 < *first) && cases.iter().any(|c| !c.1 && c.0 > *last)
        });
        if !covered {
            missing.push(*alert);
        }
    }
    assert!(alerts.len() >= 15, "{alerts:?}");
    assert!(
        missing.is_empty(),
        "alerts not tested firing, quiet before and resolved after: {missing:?}"
    );
}

/// docs/status-codes.md has a row for every registered code, naming the rule and cause the
/// rules table gives it (interim codes are read past and say so).
#[test]
fn the_status_code_doc_says_what_the_rules_do() {
    use payprobe::classify::status::{INTERIM, REGISTERED};
    use payprobe::probe::{Evidence, HttpEvidence};
    let judge = payprobe::judge::Judge::default();
    let doc = std::fs::read_to_string(Path::new(ROOT).join("docs/status-codes.md")).unwrap();
    let t = crate::support::target("name = \"t\"\nurl = \"https://127.0.0.1:1/pay\"");
    for &(code, name, _) in REGISTERED {
        let row = doc
            .lines()
            .find(|l| l.starts_with(&format!("| {code} | {name} |")))
            .unwrap_or_else(|| panic!("docs/status-codes.md has no row for {code} {name}"));
        if INTERIM.contains(&code) {
            assert!(row.contains("interim: read past"), "{row}");
            continue;
        }
        let (rule, cause) = if (200..300).contains(&code) {
            ("none", "none")
        } else {
            let mut e = Evidence::new("t", payprobe::config::Check::Http);
            e.http = Some(HttpEvidence {
                status: Some(code),
                final_url: "https://127.0.0.1:1/pay".into(),
                ..Default::default()
            });
            // Judged as the daemon judges an answer: the status held against 2xx.
            let judged = judge.conditions(&t, vec![e], std::time::SystemTime::now());
            let v = payprobe::classify::judge_round(&t, &judged);
            (v.rule, v.cause.as_str())
        };
        assert!(
            row.contains(&format!("| `{rule}` | {cause} |")),
            "docs/status-codes.md row for {code} should say `{rule}` | {cause}: {row}"
        );
    }
}
