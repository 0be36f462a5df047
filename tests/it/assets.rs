//! The files users load next to payprobe: alert rules (through the real promtool) and
//! dashboards (every metric they query must exist).

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;

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

/// Every series name payprobe exports once it has seen a full round.
fn exported_names() -> BTreeSet<String> {
    let m = Metrics::new().unwrap();
    let t = crate::support::target(
        "name = \"t\"\nurl = \"https://127.0.0.1:1/\"\nchecks = [\"tls\", \"http\"]",
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
    m.observe(&t, &[tls, http]);
    m.observe_diagnosis(&t, &payprobe::classify::Diagnosis::pending());
    m.observe_lag(std::time::Duration::from_millis(3));
    m.render()
        .unwrap()
        .lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| l.split(['{', ' ']).next())
        .map(str::to_string)
        .collect()
}

/// `payprobe_…` and `process_…` names used in a text.
fn referenced(text: &str) -> BTreeSet<String> {
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
    assert!(files.len() >= 2, "expected a dashboard in dashboards/");
    for f in files {
        let text = std::fs::read_to_string(&f).unwrap();
        for name in referenced(&text) {
            assert!(
                have.contains(&name),
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
    let sources: String = ["diagnosis.rs", "judgement.rs", "netns.rs"]
        .iter()
        .map(|f| std::fs::read_to_string(dir.join(f)).unwrap())
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

/// docs/status-codes.md has a row for every registered code, naming the rule and cause the
/// rules table gives it (interim codes are read past and say so).
#[test]
fn the_status_code_doc_says_what_the_rules_do() {
    use payprobe::classify::status::{INTERIM, REGISTERED};
    use payprobe::probe::{Evidence, Failure, FailureKind, HttpEvidence, Phase};
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
            e.failure = Some(Failure::new(
                Phase::Processing,
                FailureKind::UnexpectedStatus,
                format!("status {code}"),
            ));
            e.http = Some(HttpEvidence {
                status: Some(code),
                final_url: "https://127.0.0.1:1/pay".into(),
                ..Default::default()
            });
            let v = payprobe::classify::judge_round(&t, &[e]);
            (v.rule, v.cause.as_str())
        };
        assert!(
            row.contains(&format!("| `{rule}` | {cause} |")),
            "docs/status-codes.md row for {code} should say `{rule}` | {cause}: {row}"
        );
    }
}
