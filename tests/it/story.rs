//! The demo's story against the real probers and classifier: each act makes payprobe say
//! what the act claims (src/demo/story.rs), on the real simulated gateways.

use std::time::SystemTime;

use payprobe::demo::story::{ACTS, CAST, SHOWCASE};
use payprobe::judge::Judge;
use payprobe::probe::Probers;
use payprobe::state::Store;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_act_gets_the_diagnosis_it_claims() {
    let demo = payprobe::demo::start("127.0.0.1:0").await.unwrap();
    let plan = payprobe::config::load(&demo.config_path).unwrap();
    assert_eq!(
        plan.targets.len(),
        CAST.len(),
        "one target per simulated endpoint"
    );
    let probers = Probers::system();
    let judge = Judge::default();
    let height = payprobe::demo::height_at(std::time::Duration::ZERO);
    for act in ACTS.iter().chain([&SHOWCASE]) {
        demo.cast.apply(act, height).await;
        // Thresholds are 2 in the demo: three rounds turn any target either way. A few more
        // are allowed for a loaded machine, where one round may miss its deadline.
        let mut wrong = Vec::new();
        for n in 1..=8 {
            let rounds = plan.targets.iter().map(|t| {
                let probers = probers.clone();
                async move {
                    let deadline = tokio::time::Instant::now() + t.timeout;
                    (t, probers.round(t, deadline).await)
                }
            });
            for (t, ev) in futures_util::future::join_all(rounds).await {
                judge.round(t, ev, SystemTime::now());
            }
            wrong = CAST
                .iter()
                .filter_map(|sim| miss(judge.store(), act, sim.name))
                .collect();
            if n >= 3 && wrong.is_empty() {
                break;
            }
        }
        assert!(wrong.is_empty(), "act {}:\n{}", act.key, wrong.join("\n"));
    }
}

/// What is wrong with `target`'s diagnosis for `act`, if anything.
fn miss(store: &Store, act: &payprobe::demo::story::Act, target: &'static str) -> Option<String> {
    let want = act.expected(target);
    let d = store.get(target)?.diagnosis;
    let got = (d.healthy, d.cause, d.scope);
    let symptom_ok = want.symptom.is_none_or(|s| d.symptoms.contains(&s));
    (got != (want.healthy, want.cause, want.scope) || !symptom_ok).then(|| {
        format!(
            "{target}: got {got:?} {:?}, want {:?} {:?} ({})",
            d.symptoms,
            (want.healthy, want.cause, want.scope),
            want.symptom,
            d.reason
        )
    })
}

/// The local act is at the network layer: connects time out (SYNs dropped by a full accept
/// queue), which the classifier reads as `network`, where a refused connect would be `server`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_gateway_times_out_connecting() {
    use payprobe::demo::gateway::Reach;
    let demo = payprobe::demo::start("127.0.0.1:0").await.unwrap();
    let plan = payprobe::config::load(&demo.config_path).unwrap();
    let t = plan
        .targets
        .iter()
        .find(|t| t.name == "stripe-charges")
        .unwrap();
    let g = demo.cast.gateway("stripe-charges").unwrap();
    g.set_reach(Reach::Unreachable).await;
    let deadline = tokio::time::Instant::now() + t.timeout;
    let ev = crate::support::judged_round(t, deadline).await;
    for e in &ev {
        let f = e.failure.as_ref().expect("fails while unreachable");
        assert_eq!(
            f.kind,
            payprobe::probe::FailureKind::ConnectTimeout,
            "{}",
            e.check().as_str()
        );
    }
    g.set_reach(Reach::Serve).await;
    let deadline = tokio::time::Instant::now() + t.timeout;
    let ev = crate::support::judged_round(t, deadline).await;
    assert!(ev.iter().all(|e| e.success()), "reachable again: {ev:?}");
}

/// The local act is one problem, not twelve: with a webhook sink, exactly one
/// vantage-point alert fires (no endpoint or provider alert on the way), and it resolves
/// in the recovery.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_local_act_fires_exactly_one_vantage_point_alert() {
    use std::sync::Arc;
    use std::time::Duration;

    use payprobe::demo::story;

    use crate::alerts::Receiver;
    use crate::support::wait_for;

    let demo = payprobe::demo::start("127.0.0.1:0").await.unwrap();
    let rx = Receiver::up().await;
    std::fs::write(demo.dir.join("hook.secret"), "test-hook-secret\n").unwrap();
    // The demo's config ends with its `[alerts]` and its own receiver's sink: one more.
    let mut src = std::fs::read_to_string(&demo.config_path).unwrap();
    src.push_str(&format!(
        "\n[[alerts.sinks]]\nname = \"hook\"\nkind = \"webhook\"\nurl = \"http://{}/hook\"\nsecret_file = \"hook.secret\"\n",
        rx.addr
    ));
    let mut plan = payprobe::config::parse(&demo.config_path, &src, &demo.dir).unwrap();
    plan.server.listen = "127.0.0.1:0".parse().unwrap();
    let d = payprobe::app::Daemon::start(plan, None, Arc::new(Probers::system()))
        .await
        .unwrap();
    let store = d.shared.store.clone();
    let all = |healthy: Option<bool>, scope: &'static str| {
        let store = store.clone();
        move || {
            let store = store.clone();
            async move {
                let mut n = 0;
                let mut ok = true;
                store.each_diagnosis(|_, d, _| {
                    n += 1;
                    ok &= healthy.is_none_or(|h| d.healthy == h) && d.scope.as_str() == scope;
                });
                (ok && n == CAST.len()).then_some(())
            }
        }
    };
    let height = payprobe::demo::height_at(Duration::ZERO);
    wait_for(20, "every target healthy", all(Some(true), "none")).await;
    demo.cast.apply(story::act("local").unwrap(), height).await;
    wait_for(30, "every target local", all(Some(false), "local")).await;
    let got = &rx;
    wait_for(30, "the vantage-point alert", || async move {
        (!got.got().is_empty()).then_some(())
    })
    .await;
    tokio::time::sleep(Duration::from_secs(5)).await; // room for any other alert to show
    demo.cast
        .apply(story::act("recovery").unwrap(), height)
        .await;
    wait_for(30, "every target healthy again", all(Some(true), "none")).await;
    wait_for(30, "the resolved notification", || async move {
        (got.got().len() >= 2).then_some(())
    })
    .await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let sent: Vec<(String, String)> = rx
        .got()
        .iter()
        .flat_map(|g| {
            let status = g.body["status"].as_str().unwrap_or("").to_string();
            g.body["alerts"]
                .as_array()
                .cloned()
                .unwrap_or_default()
                .into_iter()
                .map(move |a| {
                    let name = a["labels"]["alertname"].as_str().unwrap_or("").to_string();
                    (name, status.clone())
                })
        })
        .collect();
    assert_eq!(
        sent,
        vec![
            (
                "PaymentProbeVantagePointDown".to_string(),
                "firing".to_string()
            ),
            (
                "PaymentProbeVantagePointDown".to_string(),
                "resolved".to_string()
            ),
        ],
        "one vantage-point alert, fired then resolved, and nothing else"
    );
    d.stop();
}
