//! Scheduler timing under `tokio::time::pause`: no sleeping, exact instants.
//!
//! The runner here is a fake on purpose: these tests are about *when* rounds start, how many
//! run at once and what happens at the deadline, not about probing (tested with real servers).

use std::collections::HashMap;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::future::BoxFuture;
use payprobe::config::{self, Plan, Target};
use payprobe::judge::Judge;
use payprobe::metrics::Metrics;
use payprobe::pipeline::Pipeline;
use payprobe::probe::{Evidence, FailureKind};
use payprobe::scheduler::{start_offset, Applied, Runner, Scheduler, TaskEnv};
use tokio::sync::Semaphore;
use tokio::time::Instant;

#[derive(Default)]
struct Log {
    starts: Mutex<Vec<(String, Instant)>>,
    inflight: AtomicUsize,
    max_inflight: AtomicUsize,
    per_target: Mutex<HashMap<String, usize>>,
    max_per_target: AtomicUsize,
}

struct Fake {
    log: Arc<Log>,
    work: Duration,
    hang: bool,
    /// Rounds (counted over all targets) that panic instead of returning.
    panic_rounds: usize,
}

impl Runner for Fake {
    fn round(&self, t: Arc<Target>, _deadline: Instant) -> BoxFuture<'static, Vec<Evidence>> {
        let (log, work, hang) = (self.log.clone(), self.work, self.hang);
        let panic_rounds = self.panic_rounds;
        Box::pin(async move {
            let started = {
                let mut s = log.starts.lock().unwrap();
                s.push((t.name.clone(), Instant::now()));
                s.len()
            };
            if started <= panic_rounds {
                panic!("fake prober bug in round {started}");
            }
            let n = log.inflight.fetch_add(1, Ordering::SeqCst) + 1;
            log.max_inflight.fetch_max(n, Ordering::SeqCst);
            let mine = {
                let mut m = log.per_target.lock().unwrap();
                let c = m.entry(t.name.clone()).or_default();
                *c += 1;
                *c
            };
            log.max_per_target.fetch_max(mine, Ordering::SeqCst);
            if hang {
                std::future::pending::<()>().await;
            }
            tokio::time::sleep(work).await;
            *log.per_target.lock().unwrap().get_mut(&t.name).unwrap() -= 1;
            log.inflight.fetch_sub(1, Ordering::SeqCst);
            t.checks
                .iter()
                .map(|c| {
                    let mut e = Evidence::new(&t.name, *c);
                    e.duration = work;
                    e
                })
                .collect()
        })
    }
}

fn plan(n: usize, extra: &str, cap: usize) -> Plan {
    let mut src = format!("[server]\nmax_concurrency = {cap}\n");
    for i in 0..n {
        src.push_str(&format!(
            "[[targets]]\nname = \"t{i}\"\nurl = \"http://127.0.0.1:9/{i}\"\n{extra}\n"
        ));
    }
    config::parse(Path::new("test.toml"), &src, Path::new(".")).unwrap()
}

struct Harness {
    ctx: Arc<TaskEnv>,
    pipeline: Arc<Pipeline>,
    metrics: Arc<Metrics>,
}

fn scheduler(log: &Arc<Log>, work: Duration, hang: bool, cap: usize) -> (Scheduler, Harness) {
    with_panics(log, work, hang, cap, 0)
}

fn with_panics(
    log: &Arc<Log>,
    work: Duration,
    hang: bool,
    cap: usize,
    panic_rounds: usize,
) -> (Scheduler, Harness) {
    let metrics = Arc::new(Metrics::new().unwrap());
    let pipeline = Arc::new(Pipeline::new(
        Arc::new(Judge::default()),
        metrics.clone(),
        vec![metrics.clone()],
    ));
    let ctx = Arc::new(TaskEnv {
        runner: Arc::new(Fake {
            log: log.clone(),
            work,
            hang,
            panic_rounds,
        }),
        rounds: pipeline.clone(),
        limit: Arc::new(Semaphore::new(cap)),
    });
    (
        Scheduler::new(ctx.clone()),
        Harness {
            ctx,
            pipeline,
            metrics,
        },
    )
}

/// The failure of the first check of `t0`'s last recorded round.
fn first_failure(h: &Harness) -> Option<payprobe::probe::Failure> {
    let st = h.pipeline.store.get("t0")?;
    st.latest.values().next()?.failure.clone()
}

#[tokio::test(start_paused = true)]
async fn first_rounds_are_spread_by_a_stable_offset() {
    let log = Arc::new(Log::default());
    let (mut s, _ctx) = scheduler(&log, Duration::from_millis(10), false, 10_000);
    let p = plan(200, "interval = \"10s\"\ntimeout = \"1s\"", 10_000);
    let t0 = Instant::now();
    s.apply(&p);
    tokio::time::sleep(Duration::from_millis(9_999)).await;
    let starts = log.starts.lock().unwrap().clone();
    assert_eq!(
        starts.len(),
        200,
        "every target starts once within its first interval"
    );
    let mut per_second = [0usize; 10];
    for (name, at) in &starts {
        let offset = *at - t0;
        let want = start_offset(name, Duration::from_secs(10));
        assert!(
            offset.abs_diff(want) < Duration::from_millis(2),
            "{name}: {offset:?} vs {want:?}"
        );
        per_second[offset.as_secs() as usize] += 1;
    }
    // 200 over 10 s is 20 a second on average; a herd would pile them into one bucket.
    assert!(
        per_second.iter().all(|n| *n <= 40),
        "uneven start: {per_second:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn rounds_repeat_on_the_interval() {
    let log = Arc::new(Log::default());
    let (mut s, _ctx) = scheduler(&log, Duration::from_millis(10), false, 100);
    s.apply(&plan(1, "interval = \"2s\"\ntimeout = \"1s\"", 100));
    tokio::time::sleep(Duration::from_secs(11)).await;
    let starts = log.starts.lock().unwrap().clone();
    assert!(
        (5..=6).contains(&starts.len()),
        "{} rounds in 11 s at 2 s",
        starts.len()
    );
    for w in starts.windows(2) {
        assert_eq!(w[1].1 - w[0].1, Duration::from_secs(2));
    }
}

#[tokio::test(start_paused = true)]
async fn the_global_cap_holds_and_a_target_never_overlaps_itself() {
    let log = Arc::new(Log::default());
    let (mut s, ctx) = scheduler(&log, Duration::from_millis(1400), false, 3);
    s.apply(&plan(20, "interval = \"2s\"\ntimeout = \"1500ms\"", 3));
    tokio::time::sleep(Duration::from_secs(20)).await;
    assert_eq!(
        log.max_inflight.load(Ordering::SeqCst),
        3,
        "cap reached, never exceeded"
    );
    assert_eq!(log.max_per_target.load(Ordering::SeqCst), 1);
    // 20 targets of 1.4 s in 2 s with 3 slots cannot keep up: lag must show it.
    let text = ctx.metrics.render().unwrap();
    let count = crate::support::metric(&text, "payprobe_scheduler_lag_seconds_count").unwrap();
    let sum = crate::support::metric(&text, "payprobe_scheduler_lag_seconds_sum").unwrap();
    assert!(count >= 20.0 && sum > 1.0, "count {count} sum {sum}");
}

#[tokio::test(start_paused = true)]
async fn a_round_that_never_returns_is_cut_at_its_deadline() {
    let log = Arc::new(Log::default());
    let (mut s, ctx) = scheduler(&log, Duration::ZERO, true, 10);
    let p = plan(1, "interval = \"10s\"\ntimeout = \"1s\"", 10);
    let offset = start_offset("t0", Duration::from_secs(10));
    s.apply(&p);
    tokio::time::sleep(offset + Duration::from_secs(2)).await;
    assert_eq!(
        first_failure(&ctx).map(|f| f.kind),
        Some(FailureKind::DeadlineExceeded)
    );
    assert_eq!(
        ctx.ctx.limit.available_permits(),
        10,
        "the permit was released"
    );
}

#[tokio::test(start_paused = true)]
async fn apply_keeps_unchanged_targets_and_drops_removed_series() {
    let log = Arc::new(Log::default());
    let (mut s, ctx) = scheduler(&log, Duration::from_millis(5), false, 10);
    let a = plan(2, "interval = \"2s\"\ntimeout = \"1s\"", 10);
    assert_eq!(
        s.apply(&a),
        Applied {
            added: 2,
            ..Default::default()
        }
    );
    tokio::time::sleep(Duration::from_secs(3)).await;
    let text = ctx.metrics.render().unwrap();
    assert!(
        text.contains("target=\"t1\""),
        "series exist before removal"
    );

    let mut b = plan(2, "interval = \"2s\"\ntimeout = \"1s\"", 10);
    let mut changed = (*b.targets[1]).clone();
    changed.interval = Duration::from_secs(3);
    b.targets[1] = Arc::new(changed);
    assert_eq!(
        s.apply(&b),
        Applied {
            kept: 1,
            changed: 1,
            ..Default::default()
        }
    );

    let c = plan(1, "interval = \"2s\"\ntimeout = \"1s\"", 10);
    assert_eq!(
        s.apply(&c),
        Applied {
            kept: 1,
            removed: 1,
            ..Default::default()
        }
    );
    assert_eq!(s.len(), 1);
    // The retirement reaches the metrics through their queue.
    ctx.pipeline.flush().await;
    let text = ctx.metrics.render().unwrap();
    assert!(
        !text.contains("target=\"t1\""),
        "removed target's series must go:\n{text}"
    );
    assert!(ctx.pipeline.store.get("t1").is_none());
    let before = log
        .starts
        .lock()
        .unwrap()
        .iter()
        .filter(|(n, _)| n == "t1")
        .count();
    tokio::time::sleep(Duration::from_secs(6)).await;
    let after = log
        .starts
        .lock()
        .unwrap()
        .iter()
        .filter(|(n, _)| n == "t1")
        .count();
    assert_eq!(before, after, "a removed target is no longer probed");
}

#[tokio::test(start_paused = true)]
async fn a_panicking_round_is_recorded_counted_and_the_target_goes_on() {
    let log = Arc::new(Log::default());
    let (mut s, ctx) = with_panics(&log, Duration::from_millis(5), false, 10, 1);
    let p = plan(1, "interval = \"2s\"\ntimeout = \"1s\"", 10);
    let offset = start_offset("t0", Duration::from_secs(2));
    s.apply(&p);
    tokio::time::sleep(offset + Duration::from_millis(100)).await;
    let f = first_failure(&ctx).expect("the panicking round was recorded as failed");
    assert_eq!(f.kind, FailureKind::InternalError);
    assert!(
        f.detail.contains("payprobe failed, not the gateway"),
        "{}",
        f.detail
    );
    assert!(
        f.detail.contains("fake prober bug in round 1"),
        "{}",
        f.detail
    );
    let text = ctx.metrics.render().unwrap();
    assert_eq!(
        crate::support::metric(&text, "payprobe_internal_errors_total{where=\"round\"}"),
        Some(1.0)
    );
    assert_eq!(
        ctx.ctx.limit.available_permits(),
        10,
        "the permit was released"
    );
    // The next rounds run and pass: the task survived its panic.
    tokio::time::sleep(Duration::from_secs(4)).await;
    let st = ctx.pipeline.store.get("t0").unwrap();
    assert!(st.latest.values().all(|e| e.success()), "{:?}", st.latest);
    assert!(log.starts.lock().unwrap().len() >= 3);
    let stamp = crate::support::metric(
        &ctx.metrics.render().unwrap(),
        "payprobe_target_last_round_timestamp_seconds{provider=\"127.0.0.1\",target=\"t0\"}",
    );
    assert!(stamp.is_some_and(|v| v > 1.0e9), "{stamp:?}");
}
