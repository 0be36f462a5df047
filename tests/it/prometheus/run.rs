//! A real Prometheus runs the rules and every dashboard expression against the demo.

use super::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prometheus_runs_the_rules_and_dashboards_against_the_demo() {
    if std::env::var_os("PAYPROBE_SKIP_PROMTOOL").is_some() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    // The story's acts are seconds long; alert rules need minutes of the same failures.
    let demo = Proc::spawn(&["demo", "--hold", "showcase"], dir.path());
    demo.wait_ready().await;
    let prom = Prometheus::start(&test_config(demo.addr, dir.path()), dir.path()).await;

    wait_for(60, "five scrapes of the demo", || async {
        let q = "count_over_time(up{job=\"payprobe\"}[1m]) >= 5 and up == 1";
        let d = prom.api("/api/v1/query", Some(q)).await.ok()?;
        (!d["result"].as_array()?.is_empty()).then_some(())
    })
    .await;
    // Alerts first: by the time they fire, every rule has been evaluated many times.
    demo_failures_fire(&demo, &prom).await;
    every_expression_runs_and_returns_data(&prom).await;
}

/// Every rule Prometheus loaded (health ok) and every dashboard query, through the API.
async fn every_expression_runs_and_returns_data(prom: &Prometheus) {
    let rules = prom.api("/api/v1/rules", None).await.unwrap();
    let mut exprs = Vec::new();
    for g in rules["groups"].as_array().unwrap() {
        for r in g["rules"].as_array().unwrap() {
            assert_eq!(
                r["health"], "ok",
                "rule {} in {}: {}",
                r["name"], g["name"], r["lastError"]
            );
            let name = format!("rule {} ({})", r["name"], g["name"]);
            exprs.push((name, r["query"].as_str().unwrap().to_string()));
        }
    }
    let file = Path::new(ROOT).join("deploy/prometheus/payprobe-rules.yml");
    let shipped = std::fs::read_to_string(file).unwrap();
    let in_file = shipped.matches("- alert: ").count() + shipped.matches("- record: ").count();
    assert_eq!(
        exprs.len(),
        in_file,
        "Prometheus loaded {} of {in_file} rules",
        exprs.len()
    );
    let dash = dashboard_exprs();
    assert!(
        dash.len() >= 40,
        "only {} dashboard expressions found",
        dash.len()
    );
    let rules = exprs.len();
    exprs.extend(dash);

    // An entry is kept only while it excuses an empty answer: one whose expressions all
    // return data now is stale, like one that matches no expression.
    let mut used = BTreeSet::new();
    let mut failures = Vec::new();
    for (i, (name, expr)) in exprs.iter().enumerate() {
        // Only an alert rule may be quiet on the demo; a dashboard panel must show data.
        let allowed = MAY_BE_EMPTY
            .iter()
            .find(|(k, _)| i < rules && expr.contains(k));
        match prom.api("/api/v1/query", Some(expr)).await {
            Err(e) => failures.push(format!("{name}: `{expr}` does not run: {e}")),
            Ok(d) if d["result"].as_array().is_some_and(Vec::is_empty) => match allowed {
                Some((k, _)) => {
                    used.insert(*k);
                }
                None if i >= rules => failures.push(format!(
                    "dashboard panel {name}: `{expr}` shows no data on the demo"
                )),
                None => failures.push(format!("{name}: `{expr}` returns no data")),
            },
            Ok(_) => {}
        }
    }
    for (k, why) in MAY_BE_EMPTY {
        if !used.contains(k) {
            failures.push(format!(
                "MAY_BE_EMPTY `{k}` ({why}) excuses no empty answer"
            ));
        }
    }
    let log = std::fs::read_to_string(&prom.log).unwrap_or_default();
    assert!(
        failures.is_empty(),
        "{} of {} expressions:\n{}\n\nprometheus log:\n{log}",
        failures.len(),
        exprs.len(),
        failures.join("\n")
    );
}
