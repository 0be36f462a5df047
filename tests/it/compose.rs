//! deploy/Dockerfile and deploy/compose/: no Docker engine runs here, so their structure is
//! checked, every mounted path must exist, and promtool and amtool check the configs as the
//! containers would see them.

use std::collections::BTreeSet;
use std::path::Path;

use serde_json::Value;

use crate::ops::{root, run, yaml_docs};

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
