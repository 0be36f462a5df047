//! The outputs' queues: a slow output never holds a probe nor another output back, a full
//! queue is counted by the output's name, a panicking output is counted and still gets the
//! next round.

use std::collections::HashMap;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use super::*;
use crate::config::Check;

#[derive(Default)]
struct Counts {
    internal: Mutex<HashMap<&'static str, usize>>,
    overflow: Mutex<HashMap<&'static str, usize>>,
}

impl SelfReport for Counts {
    fn internal_error(&self, place: &'static str) {
        *self.internal.lock().unwrap().entry(place).or_default() += 1;
    }
    fn queue_overflow(&self, queue: &'static str) {
        *self.overflow.lock().unwrap().entry(queue).or_default() += 1;
    }
    fn round_lag(&self, _: Duration) {}
    fn state_error(&self, _: &'static str) {}
    fn state_written(&self, _: &'static str, _: usize) {}
}

/// Counts the rounds it got; `gate` (when set) holds its first round until opened, and
/// `panics` makes its first round panic.
struct Probe {
    name: &'static str,
    rounds: AtomicUsize,
    gate: Mutex<Option<std::sync::mpsc::Receiver<()>>>,
    panics: bool,
}

impl Probe {
    fn new(name: &'static str) -> Probe {
        Probe {
            name,
            rounds: AtomicUsize::new(0),
            gate: Mutex::new(None),
            panics: false,
        }
    }
}

impl Output for Probe {
    fn name(&self) -> &'static str {
        self.name
    }
    fn publish(&self, _: &JudgedRound) {
        let n = self.rounds.fetch_add(1, Ordering::SeqCst);
        if let Some(gate) = self.gate.lock().unwrap().take() {
            let _ = gate.recv_timeout(Duration::from_secs(30));
        }
        assert!(!(self.panics && n == 0), "a bug in an output");
    }
    fn retire(&self, _: &Target) {}
}

fn target() -> Arc<Target> {
    let src = "[[targets]]\nname = \"t\"\nurl = \"tcp://127.0.0.1:9\"\nchecks = [\"tcp\"]\n";
    crate::config::parse(Path::new("t.toml"), src, Path::new("."))
        .unwrap()
        .targets[0]
        .clone()
}

fn observed(t: &Target) -> Vec<Evidence> {
    vec![Evidence::new(&t.name, Check::Tcp)]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stuck_output_overflows_alone_and_never_blocks_a_round() {
    let counts = Arc::new(Counts::default());
    let (open, gate) = std::sync::mpsc::channel();
    let stuck = Arc::new(Probe::new("stuck"));
    *stuck.gate.lock().unwrap() = Some(gate);
    let fine = Arc::new(Probe::new("fine"));
    let p = Pipeline::new(
        Arc::new(Judge::default()),
        counts.clone(),
        vec![stuck.clone(), fine.clone()],
    );
    let t = target();
    let extra = 100;
    let rounds = crate::limits::OUTPUT_QUEUE + extra;
    // Every round returns although `stuck` holds its first one: nothing waits for it.
    for _ in 0..rounds {
        p.finished(&t, observed(&t));
    }
    let overflowed = counts.overflow.lock().unwrap().clone();
    assert!(
        overflowed.get("stuck").is_some_and(|n| *n >= extra - 1),
        "{overflowed:?}"
    );
    assert_eq!(overflowed.get("fine"), None, "{overflowed:?}");
    open.send(()).unwrap();
    p.flush().await;
    assert_eq!(fine.rounds.load(Ordering::SeqCst), rounds);
    let got = stuck.rounds.load(Ordering::SeqCst);
    assert!(got < rounds && got + extra - 1 <= rounds, "{got}");
    assert_eq!(p.store.get("t").unwrap().rounds, rounds as u64);
}

#[tokio::test]
async fn a_panicking_output_is_counted_and_gets_the_next_round() {
    let counts = Arc::new(Counts::default());
    let mut bad = Probe::new("bad");
    bad.panics = true;
    let bad = Arc::new(bad);
    let fine = Arc::new(Probe::new("fine"));
    let p = Pipeline::new(
        Arc::new(Judge::default()),
        counts.clone(),
        vec![bad.clone(), fine.clone()],
    );
    let t = target();
    p.finished(&t, observed(&t));
    p.finished(&t, observed(&t));
    p.flush().await;
    assert_eq!(bad.rounds.load(Ordering::SeqCst), 2);
    assert_eq!(fine.rounds.load(Ordering::SeqCst), 2);
    assert_eq!(counts.internal.lock().unwrap().get("bad"), Some(&1));
}
