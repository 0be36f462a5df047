//! Deployment files, each checked by the real tool that exists here: Grafana dashboards and
//! provisioning (structure; their queries run in prometheus.rs), the systemd unit
//! (`systemd-analyze`), the Dockerfile and compose stack (structure, mounts, promtool and
//! amtool on the files as the containers see them). Kubernetes is in kubernetes.rs, the
//! Debian package in tests/deb.sh.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

fn root(p: &str) -> PathBuf {
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

fn run(cmd: &str, args: &[&str]) -> (bool, String) {
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
    // The README's panel tables are the dashboards' own titles, kinds and descriptions.
    let readme = std::fs::read_to_string(root("README.md")).unwrap();
    for p in panels(&overview).into_iter().chain(panels(&target)) {
        let s = |k: &str| p[k].as_str().unwrap_or_default().to_string();
        let row = format!("| {} | {} | {} |", s("title"), s("type"), s("description"));
        if !readme.contains(&row) {
            problems.push(format!("README.md does not describe panel {row}"));
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

fn exposure(unit: &Path) -> f64 {
    let (_, text) = run(
        "systemd-analyze",
        &["security", "--offline=yes", unit.to_str().unwrap()],
    );
    let line = text
        .lines()
        .find(|l| l.contains("Overall exposure level"))
        .unwrap_or_else(|| panic!("no exposure level in:\n{text}"));
    let score = line
        .rsplit(':')
        .next()
        .unwrap()
        .split_whitespace()
        .next()
        .unwrap();
    score.parse().unwrap_or_else(|_| panic!("score in {line}"))
}

#[test]
fn systemd_unit_scores_at_most_2_verifies_and_reloads_with_sighup() {
    let unit = root("deploy/payprobe.service");
    let score = exposure(&unit);
    assert!(
        score <= 2.0,
        "systemd-analyze security: exposure {score} > 2.0"
    );
    let text = std::fs::read_to_string(&unit).unwrap();
    let keys: Vec<(&str, &str)> = text
        .lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| l.split_once('='))
        .collect();
    let get = |k: &str| {
        keys.iter()
            .filter(|(key, _)| *key == k)
            .map(|(_, v)| *v)
            .collect::<Vec<_>>()
    };
    assert_eq!(get("ExecReload"), ["/bin/kill -HUP $MAINPID"]);
    assert_eq!(
        get("AmbientCapabilities"),
        ["CAP_NET_RAW"],
        "ping needs CAP_NET_RAW"
    );
    assert_eq!(get("CapabilityBoundingSet"), ["CAP_NET_RAW"]);
    // A weaker unit scores worse: the measurement can fail.
    let weak = tempfile::tempdir().unwrap();
    let weak_unit = weak.path().join("payprobe.service");
    let stripped: String = text
        .lines()
        .filter(|l| !l.starts_with("SystemCallFilter") && !l.starts_with("Protect"))
        .map(|l| format!("{l}\n"))
        .collect();
    std::fs::write(&weak_unit, stripped).unwrap();
    assert!(
        exposure(&weak_unit) > 2.0,
        "the score does not react to hardening"
    );

    // `verify` needs the binaries to exist: point the unit at the one cargo built.
    let dir = tempfile::tempdir().unwrap();
    let local = dir.path().join("payprobe.service");
    std::fs::write(
        &local,
        text.replace("/usr/bin/payprobe", env!("CARGO_BIN_EXE_payprobe")),
    )
    .unwrap();
    let (ok, out) = run("systemd-analyze", &["verify", local.to_str().unwrap()]);
    assert!(
        ok && out.trim().is_empty(),
        "systemd-analyze verify:\n{out}"
    );
}

#[test]
fn dockerfile_is_multi_stage_non_root_and_ships_the_binary_only() {
    let text = std::fs::read_to_string(root("deploy/Dockerfile")).unwrap();
    let lines: Vec<&str> = text
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .collect();
    let stages: Vec<usize> = lines
        .iter()
        .enumerate()
        .filter(|(_, l)| l.starts_with("FROM "))
        .map(|(i, _)| i)
        .collect();
    assert!(stages.len() >= 2, "not multi-stage");
    let last = &lines[*stages.last().unwrap()..];
    assert!(last[0].contains("distroless"), "final image: {}", last[0]);
    assert!(
        !last.iter().any(|l| l.starts_with("RUN ")),
        "the final stage runs nothing (no shell)"
    );
    let copies: Vec<&&str> = last
        .iter()
        .filter(|l| l.starts_with("COPY") || l.starts_with("ADD"))
        .collect();
    assert_eq!(copies.len(), 1, "only the binary is added: {copies:?}");
    assert!(copies[0].contains("--from=build") && copies[0].ends_with("/usr/local/bin/payprobe"));
    let user = last
        .iter()
        .find_map(|l| l.strip_prefix("USER "))
        .expect("USER in the final stage");
    let uid: u32 = user
        .split(':')
        .next()
        .unwrap()
        .parse()
        .expect("numeric USER");
    assert_ne!(uid, 0, "runs as root");
    assert!(last
        .iter()
        .any(|l| l.starts_with("ENTRYPOINT [\"/usr/local/bin/payprobe\"]")));
    // Kubernetes runs the image as the same user.
    let k8s = yaml_docs(&root("deploy/kubernetes/payprobe.yaml"));
    let sts = k8s.iter().find(|d| d["kind"] == "StatefulSet").unwrap();
    assert_eq!(
        sts["spec"]["template"]["spec"]["securityContext"]["runAsUser"],
        uid
    );
}

/// Copies what a compose service mounts to where its container sees it, under `stage`.
fn stage_mounts(compose_dir: &Path, svc: &Value, stage: &Path, problems: &mut Vec<String>) {
    for v in svc["volumes"].as_array().into_iter().flatten() {
        let spec = v.as_str().unwrap_or_default();
        let mut parts = spec.split(':');
        let (host, inside) = (
            parts.next().unwrap_or_default(),
            parts.next().unwrap_or_default(),
        );
        let src = compose_dir.join(host);
        if !src.exists() {
            problems.push(format!("mount {spec}: {} does not exist", src.display()));
            continue;
        }
        let dst = stage.join(inside.trim_start_matches('/'));
        std::fs::create_dir_all(dst.parent().unwrap()).unwrap();
        let (ok, out) = run("cp", &["-r", src.to_str().unwrap(), dst.to_str().unwrap()]);
        assert!(ok, "{out}");
    }
}

#[test]
fn compose_stack_mounts_files_that_exist_and_its_configs_pass_promtool_and_amtool() {
    let dir = root("deploy/compose");
    let compose = &yaml_docs(&dir.join("compose.yaml"))[0];
    let services = compose["services"].as_object().unwrap();
    let names: BTreeSet<&str> = services.keys().map(String::as_str).collect();
    for s in [
        "payprobe",
        "prometheus",
        "alertmanager",
        "grafana",
        "webhook",
    ] {
        assert!(names.contains(s), "compose has no {s} service");
    }
    let mut problems = Vec::new();
    let stage = tempfile::tempdir().unwrap();
    for (name, svc) in services {
        if svc["image"].as_str().is_none() && svc["build"].is_null() {
            problems.push(format!("{name}: neither image nor build"));
        }
        if let Some(b) = svc["build"].as_object() {
            let ctx = dir.join(b["context"].as_str().unwrap());
            if !ctx.join(b["dockerfile"].as_str().unwrap()).is_file() {
                problems.push(format!("{name}: no Dockerfile at {}", ctx.display()));
            }
        }
        for dep in svc["depends_on"].as_array().into_iter().flatten() {
            if !names.contains(dep.as_str().unwrap_or_default()) {
                problems.push(format!("{name}: depends on unknown {dep}"));
            }
        }
        stage_mounts(&dir, svc, &stage.path().join(name), &mut problems);
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));

    // Each tool on its config as its container sees it (rule files resolved there).
    let prom = stage
        .path()
        .join("prometheus/etc/prometheus/prometheus.yml");
    let (ok, out) = run("promtool", &["check", "config", prom.to_str().unwrap()]);
    assert!(
        ok && out.contains("SUCCESS: 1 rule files found"),
        "promtool:\n{out}"
    );
    let am = stage
        .path()
        .join("alertmanager/etc/alertmanager/alertmanager.yml");
    let (ok, out) = run("amtool", &["check-config", am.to_str().unwrap()]);
    assert!(ok, "amtool:\n{out}");

    // The names the configs use are the services' names and ports.
    let p = &yaml_docs(&prom)[0];
    let scrape = p["scrape_configs"][0]["static_configs"][0]["targets"][0]
        .as_str()
        .unwrap();
    let cmd = services["payprobe"]["command"].to_string();
    assert!(
        cmd.contains(&format!(
            "0.0.0.0:{}",
            scrape.trim_start_matches("payprobe:")
        )),
        "{scrape} vs {cmd}"
    );
    let am_target = p["alerting"]["alertmanagers"][0]["static_configs"][0]["targets"][0]
        .as_str()
        .unwrap();
    assert_eq!(am_target, "alertmanager:9093");
    let a = &yaml_docs(&am)[0];
    let hook = a["receivers"][0]["webhook_configs"][0]["url"]
        .as_str()
        .unwrap();
    let port = services["webhook"]["environment"]["HTTP_PORT"]
        .as_str()
        .unwrap();
    assert!(
        hook.starts_with(&format!("http://webhook:{port}/")),
        "{hook}"
    );

    // Grafana finds its datasource and both dashboards where provisioning says.
    let g = stage.path().join("grafana");
    let ds = &yaml_docs(&g.join("etc/grafana/provisioning/datasources/payprobe.yml"))[0];
    assert_eq!(ds["datasources"][0]["url"], "http://prometheus:9090");
    let prov = &yaml_docs(&g.join("etc/grafana/provisioning/dashboards/payprobe.yml"))[0];
    let path = prov["providers"][0]["options"]["path"].as_str().unwrap();
    for d in ["payprobe-overview.json", "payprobe-target.json"] {
        assert!(
            g.join(path.trim_start_matches('/')).join(d).is_file(),
            "grafana: no {path}/{d}"
        );
    }
    let home = services["grafana"]["environment"]["GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH"]
        .as_str()
        .unwrap();
    assert!(
        g.join(home.trim_start_matches('/')).is_file(),
        "grafana home {home}"
    );
}

/// The syscalls of a systemd syscall group, nested groups expanded (as systemd-analyze
/// lists them for this systemd version).
fn syscall_group(name: &str, depth: u32) -> BTreeSet<String> {
    assert!(depth < 5, "syscall groups nest too deep at {name}");
    let (ok, text) = run("systemd-analyze", &["syscall-filter", name]);
    assert!(ok, "systemd-analyze syscall-filter {name}:\n{text}");
    let mut out = BTreeSet::new();
    for l in text.lines().skip(1).map(str::trim) {
        if l.is_empty() || l.starts_with('#') {
            continue;
        }
        if l.starts_with('@') {
            out.extend(syscall_group(l, depth + 1));
        } else {
            out.insert(l.to_string());
        }
    }
    out
}

/// What the unit's SystemCallFilter= lines allow: the allow-list minus every `~` deny-list.
fn unit_allowed_syscalls(unit: &str) -> BTreeSet<String> {
    let mut allowed = BTreeSet::new();
    for v in unit
        .lines()
        .filter_map(|l| l.strip_prefix("SystemCallFilter="))
    {
        match v.strip_prefix('~') {
            Some(deny) => {
                for g in deny.split_whitespace() {
                    for s in syscall_group(g, 0) {
                        allowed.remove(&s);
                    }
                }
            }
            None => {
                for g in v.split_whitespace() {
                    allowed.extend(syscall_group(g, 0));
                }
            }
        }
    }
    allowed
}

/// Runs payprobe under `strace -f -c` and returns the names of the syscalls it made.
fn traced_syscalls(args: &[&str], secs: u64, dir: &Path) -> BTreeSet<String> {
    let summary = dir.join(format!("strace-{}.txt", args[0]));
    let mut child = Command::new("strace")
        .args(["-f", "-qq", "-c", "-U", "name", "-o"])
        .arg(&summary)
        .arg(env!("CARGO_BIN_EXE_payprobe"))
        .args(args)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("strace not runnable ({e}); tests/run.sh installs strace"));
    let end = std::time::Instant::now() + std::time::Duration::from_secs(secs);
    while std::time::Instant::now() < end && child.try_wait().unwrap().is_none() {
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    if child.try_wait().unwrap().is_none() {
        // SIGHUP (a reload) then SIGTERM: both paths are part of the service's life.
        for sig in ["-HUP", "-TERM"] {
            let pid = std::fs::read_dir("/proc")
                .unwrap()
                .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
                .find(|p| {
                    std::fs::read_to_string(format!("/proc/{p}/stat"))
                        .is_ok_and(|s| s.split_whitespace().nth(3) == Some(&child.id().to_string()))
                });
            if let Some(pid) = pid {
                let _ = Command::new("kill").args([sig, &pid.to_string()]).status();
            }
            std::thread::sleep(std::time::Duration::from_secs(1));
        }
    }
    let _ = child.wait();
    let text = std::fs::read_to_string(&summary).unwrap_or_default();
    text.lines()
        .filter_map(|l| l.split_whitespace().next())
        .filter(|w| {
            w.chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        })
        .filter(|w| !w.is_empty() && *w != "total" && *w != "syscall")
        .map(str::to_string)
        .collect()
}

/// The unit's SystemCallFilter= allows every syscall payprobe makes: the daemon (the demo,
/// scraped, reloaded by SIGHUP, stopped by SIGTERM) and a round of every check (pings too).
/// There is no systemd as PID 1 here to enforce the filter, so it is checked against the
/// syscalls strace sees.
#[test]
fn systemd_syscall_filter_allows_every_syscall_payprobe_makes() {
    let unit = std::fs::read_to_string(root("deploy/payprobe.service")).unwrap();
    let allowed = unit_allowed_syscalls(&unit);
    assert!(
        allowed.contains("read") && !allowed.contains("setrlimit") && !allowed.contains("mount")
    );
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("all-checks.toml");
    std::fs::write(
        &cfg,
        "[[targets]]\nname = \"local\"\nurl = \"http://localhost:1/\"\nchecks = [\"dns\", \"tcp\", \"ping\", \"http\"]\n[targets.ping]\ncount = 2\nspacing = \"50ms\"\n",
    )
    .unwrap();
    let mut used = traced_syscalls(&["probe-once", cfg.to_str().unwrap()], 20, dir.path());
    let daemon = traced_syscalls(&["demo", "--listen", "127.0.0.1:0"], 8, dir.path());
    assert!(
        daemon.contains("accept4") || daemon.contains("epoll_wait"),
        "{daemon:?}"
    );
    used.extend(daemon);
    assert!(used.len() > 20, "strace saw too little: {used:?}");
    let denied: Vec<&String> = used.iter().filter(|s| !allowed.contains(*s)).collect();
    assert!(
        denied.is_empty(),
        "deploy/payprobe.service's SystemCallFilter= would refuse (EPERM) payprobe's {denied:?}"
    );
}
