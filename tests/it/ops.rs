//! Grafana dashboards and provisioning: structure (their queries run in prometheus.rs), and
//! the helpers the other deployment tests share. The systemd unit is in systemd.rs, Docker and
//! compose in compose.rs, Kubernetes in kubernetes.rs, the Debian package in tests/deb.sh.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

pub fn root(p: &str) -> PathBuf {
    Path::new(ROOT).join(p)
}

/// Every YAML document of a file, as JSON, through PyYAML (Debian's python3-yaml, installed
/// by tests/run.sh).
pub fn yaml_docs(path: &Path) -> Vec<Value> {
    let py = if Path::new("/usr/bin/python3").exists() {
        "/usr/bin/python3"
    } else {
        "python3"
    };
    let out = Command::new(py)
        .args([
            "-c",
            "import json,sys,yaml; print(json.dumps([d for d in yaml.safe_load_all(open(sys.argv[1])) if d is not None]))",
        ])
        .arg(path)
        .output()
        .unwrap_or_else(|e| panic!("python3 not runnable ({e}); tests/run.sh installs python3-yaml"));
    assert!(
        out.status.success(),
        "{}: not YAML (or PyYAML missing: tests/run.sh installs python3-yaml):\n{}",
        path.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

pub fn run(cmd: &str, args: &[&str]) -> (bool, String) {
    let out = Command::new(cmd)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("{cmd} not runnable ({e}); tests/run.sh installs it"));
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

/// Every panel of a dashboard, rows' nested panels included, rows themselves excluded.
pub fn panels(d: &Value) -> Vec<&Value> {
    let mut out = Vec::new();
    for p in d["panels"].as_array().into_iter().flatten() {
        if p["type"] == "row" {
            out.extend(p["panels"].as_array().into_iter().flatten());
        } else {
            out.push(p);
        }
    }
    out
}

fn dashboard(name: &str) -> Value {
    let text = std::fs::read_to_string(root("dashboards").join(name)).unwrap();
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("dashboards/{name}: {e}"))
}

/// Every `datasource` object anywhere in the JSON must be the variable, never a fixed UID.
fn datasources_are_the_variable(v: &Value, at: &str, bad: &mut Vec<String>) {
    match v {
        Value::Object(m) => {
            for (k, x) in m {
                if k == "datasource" && !(x.is_object() && x["uid"] == "${datasource}") {
                    bad.push(format!("{at}.{k} = {x}"));
                }
                datasources_are_the_variable(x, &format!("{at}.{k}"), bad);
            }
        }
        Value::Array(a) => {
            for (i, x) in a.iter().enumerate() {
                datasources_are_the_variable(x, &format!("{at}[{i}]"), bad);
            }
        }
        _ => {}
    }
}

/// `$var` / `${var}` names used in an expression, and whether each sits in `=~"…"`.
fn variables_in(expr: &str) -> Vec<(String, bool)> {
    let mut out = Vec::new();
    for (i, _) in expr.match_indices('$') {
        let rest = expr[i + 1..].trim_start_matches('{');
        let name: String = rest
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect();
        out.push((name, expr[..i].ends_with("=~\"")));
    }
    out
}

fn check_dashboard(name: &str, d: &Value, problems: &mut Vec<String>) {
    let vars: BTreeMap<String, &Value> = d["templating"]["list"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|v| (v["name"].as_str().unwrap_or_default().to_string(), v))
        .collect();
    match vars.get("datasource") {
        Some(v) if v["type"] == "datasource" && v["query"] == "prometheus" => {}
        _ => problems.push(format!(
            "{name}: no `datasource` variable of type prometheus"
        )),
    }
    let mut bad = Vec::new();
    datasources_are_the_variable(&d["panels"], "panels", &mut bad);
    datasources_are_the_variable(&d["templating"], "templating", &mut bad);
    problems.extend(
        bad.into_iter()
            .map(|b| format!("{name}: hard-coded datasource {b}")),
    );
    if d["uid"].as_str().is_none_or(str::is_empty) {
        problems.push(format!("{name}: no uid (links and provisioning need one)"));
    }
    let mut ids = BTreeSet::new();
    let top = d["panels"].as_array().into_iter().flatten();
    let rows = top.clone().filter(|p| p["type"] == "row");
    let nested = rows.flat_map(|r| r["panels"].as_array().into_iter().flatten());
    let all: Vec<&Value> = top.chain(nested).collect();
    for p in &all {
        if !ids.insert(p["id"].as_u64().unwrap_or(0)) {
            problems.push(format!("{name}: panel id {} repeated or missing", p["id"]));
        }
    }
    let rect = |p: &Value| {
        let g = &p["gridPos"];
        let n = |k: &str| g[k].as_u64().unwrap_or(0);
        (n("x"), n("y"), n("w"), n("h"))
    };
    let shown = panels(d);
    for (i, a) in shown.iter().enumerate() {
        let (x, y, w, h) = rect(a);
        if w == 0 || h == 0 || x + w > 24 {
            problems.push(format!("{name}: panel {} has a bad gridPos", a["title"]));
        }
        if a["description"].as_str().is_none_or(str::is_empty) {
            problems.push(format!("{name}: panel {} has no description", a["title"]));
        }
        if a["targets"].as_array().is_none_or(Vec::is_empty) {
            problems.push(format!("{name}: panel {} queries nothing", a["title"]));
        }
        for b in &shown[i + 1..] {
            let (bx, by, bw, bh) = rect(b);
            if x < bx + bw && bx < x + w && y < by + bh && by < y + h {
                problems.push(format!(
                    "{name}: panels {} and {} overlap",
                    a["title"], b["title"]
                ));
            }
        }
        for t in a["targets"].as_array().into_iter().flatten() {
            let expr = t["expr"].as_str().unwrap_or_default();
            for (var, in_regex) in variables_in(expr) {
                if !var.starts_with("__") && (!vars.contains_key(&var) || !in_regex) {
                    problems.push(format!(
                        "{name}: {} uses ${var} outside a defined variable's =~\"…\"",
                        a["title"]
                    ));
                }
            }
        }
    }
}

/// (panel type, expression) of a dashboard.
fn queries(d: &Value) -> Vec<(String, String, &Value)> {
    let mut out = Vec::new();
    for p in panels(d) {
        for t in p["targets"].as_array().into_iter().flatten() {
            let ty = p["type"].as_str().unwrap_or_default().to_string();
            out.push((ty, t["expr"].as_str().unwrap_or_default().to_string(), p));
        }
    }
    out
}

#[test]
fn dashboards_have_a_datasource_variable_no_fixed_uid_and_what_the_issue_asks() {
    let mut problems = Vec::new();
    let overview = dashboard("payprobe-overview.json");
    let target = dashboard("payprobe-target.json");
    check_dashboard("payprobe-overview.json", &overview, &mut problems);
    check_dashboard("payprobe-target.json", &target, &mut problems);

    let has = |d: &Value, ty: &str, needle: &str| {
        queries(d)
            .iter()
            .any(|(t, e, _)| (ty.is_empty() || t == ty) && e.contains(needle))
    };
    for (what, needle) in [
        (
            "health by provider",
            "by (provider) (payprobe_target_healthy",
        ),
        ("cause", "count by (cause) (payprobe_cause"),
        ("scope", "count by (scope) (payprobe_scope"),
        ("symptoms", "count by (symptom) (payprobe_symptom"),
        ("open incidents", "payprobe_incident_open"),
        ("alerts", "ALERTS{"),
    ] {
        if !has(&overview, "", needle) {
            problems.push(format!("overview: no {what} panel ({needle})"));
        }
    }
    for (what, ty, needle) in [
        (
            "cause as a state timeline",
            "state-timeline",
            "payprobe_cause",
        ),
        ("loss", "timeseries", "payprobe_ping_loss_ratio"),
        ("RTT", "timeseries", "payprobe_ping_rtt_seconds"),
        (
            "certificate days left",
            "",
            "payprobe_tls_cert_not_after_timestamp_seconds",
        ),
        ("API version", "", "payprobe_api_version_info"),
        ("API sunset", "", "payprobe_api_sunset_timestamp_seconds"),
        ("status codes", "timeseries", "payprobe_http_status_code"),
    ] {
        if !has(&target, ty, needle) {
            problems.push(format!("drill-down: no {what} panel ({ty} {needle})"));
        }
    }
    let stacked = queries(&target).iter().any(|(_, e, p)| {
        e.contains("payprobe_http_phase_duration_seconds")
            && p["fieldConfig"]["defaults"]["custom"]["stacking"]["mode"] == "normal"
    });
    if !stacked {
        problems.push("drill-down: HTTP phases are not stacked".into());
    }
    let target_var = target["templating"]["list"]
        .as_array()
        .and_then(|l| l.iter().find(|v| v["name"] == "target"));
    if target_var.is_none_or(|v| v["multi"] != false) {
        problems.push("drill-down: needs a single-valued `target` variable".into());
    }
    let link = "/d/payprobe-target/";
    if !overview.to_string().contains(link) {
        problems.push(format!("overview: no link to the drill-down ({link})"));
    }
    // The guide's panel tables are the dashboards' own titles, kinds and descriptions.
    let readme = std::fs::read_to_string(root("docs/deployment.md")).unwrap();
    for p in panels(&overview).into_iter().chain(panels(&target)) {
        let s = |k: &str| p[k].as_str().unwrap_or_default().to_string();
        let row = format!("| {} | {} | {} |", s("title"), s("type"), s("description"));
        if !readme.contains(&row) {
            problems.push(format!("docs/deployment.md does not describe panel {row}"));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn grafana_provisioning_loads_the_dashboards_from_prometheus() {
    let ds = &yaml_docs(&root("dashboards/provisioning/datasources/payprobe.yml"))[0];
    let sources = ds["datasources"].as_array().unwrap();
    assert_eq!(sources.len(), 1);
    assert_eq!(sources[0]["type"], "prometheus");
    assert_eq!(sources[0]["isDefault"], true);
    let prov = &yaml_docs(&root("dashboards/provisioning/dashboards/payprobe.yml"))[0];
    let p = &prov["providers"][0];
    assert_eq!(p["type"], "file");
    assert!(p["options"]["path"]
        .as_str()
        .is_some_and(|s| s.starts_with('/')));
    // Where compose mounts them is checked in the compose test.
}
