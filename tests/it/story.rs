//! The demo's story against the real probers and classifier: each act makes payprobe say
//! what the act claims (src/demo/story.rs), on the real simulated gateways.

use std::time::SystemTime;

use payprobe::demo::story::{ACTS, CAST, SHOWCASE};
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
    let store = Store::new();
    let height = payprobe::demo::height_at(std::time::Duration::ZERO);
    for act in ACTS.iter().chain([&SHOWCASE]) {
        demo.cast.apply(act, height).await;
        // Thresholds are 2 in the demo: three rounds turn any target either way.
        for _ in 0..3 {
            let rounds = plan.targets.iter().map(|t| {
                let probers = probers.clone();
                async move {
                    let deadline = tokio::time::Instant::now() + t.timeout;
                    (t, probers.round(t, deadline).await)
                }
            });
            for (t, ev) in futures_util::future::join_all(rounds).await {
                store.record(t, &ev, SystemTime::now()).unwrap();
            }
        }
        for sim in CAST {
            let want = act.expected(sim.name);
            let d = store.get(sim.name).unwrap().diagnosis;
            let got = (d.healthy, d.cause, d.scope);
            assert_eq!(
                got,
                (want.healthy, want.cause, want.scope),
                "act {}: {} ({})",
                act.key,
                sim.name,
                d.reason
            );
            if let Some(s) = want.symptom {
                assert!(
                    d.symptoms.contains(&s),
                    "act {}: {} lacks {s:?}: {:?}",
                    act.key,
                    sim.name,
                    d.symptoms
                );
            }
        }
    }
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
    let ev = Probers::system().round(t, deadline).await;
    for e in &ev {
        let f = e.failure.as_ref().expect("fails while unreachable");
        assert_eq!(
            f.kind,
            payprobe::probe::FailureKind::ConnectTimeout,
            "{}",
            e.check.as_str()
        );
    }
    g.set_reach(Reach::Serve).await;
    let deadline = tokio::time::Instant::now() + t.timeout;
    let ev = Probers::system().round(t, deadline).await;
    assert!(ev.iter().all(|e| e.success), "reachable again: {ev:?}");
}
