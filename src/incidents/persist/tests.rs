use std::sync::atomic::AtomicBool;
use std::sync::Arc;

use super::*;
use crate::classify::{Cause, Scope};
use crate::incidents::model::Change;
use crate::metrics::Metrics;

fn incident(target: &str, opened_ms: u64) -> Incident {
    Incident {
        id: format!("{target}@{opened_ms}"),
        target: target.to_string(),
        provider: format!("provider-of-{target}"),
        control: false,
        cause: Cause::Network,
        scope: Scope::Endpoint,
        rule: "connect_refused".into(),
        reason: format!("{target} refused the connection"),
        evidence: String::new(),
        opened_ms,
        first_failure_ms: Some(opened_ms - 1000),
        interval_ms: 10_000,
        success_threshold: 2,
        changes: vec![Change {
            at_ms: opened_ms,
            cause: Cause::Network,
            scope: Scope::Endpoint,
            reason: "refused".into(),
        }],
        closed_ms: None,
        closed_by: None,
        egress: String::new(),
        maintenance: None,
    }
}

/// Three events as the writer appends them: an opening, a change, a close.
fn events() -> Vec<Event> {
    vec![
        Event::Opened {
            incident: std::sync::Arc::new(incident("gw-a", 1_700_000_000_000)),
        },
        Event::Changed {
            target: "gw-a".into(),
            change: Change {
                at_ms: 1_700_000_010_000,
                cause: Cause::Network,
                scope: Scope::Local,
                reason: "controls fail too".into(),
            },
            rule: "connect_refused".into(),
            evidence: Some("tcp check failed at connect".into()),
            after: None,
        },
        Event::Closed {
            target: "gw-a".into(),
            at_ms: 1_700_000_060_000,
            by: "recovered".into(),
            after: None,
        },
    ]
}

#[test]
fn a_journal_torn_anywhere_in_its_last_record_replays_to_the_last_whole_event() {
    let metrics = Metrics::new().unwrap();
    let evs = events();
    let mut file = Vec::new();
    for e in &evs {
        file.extend(encode(e));
    }
    let last_start = file.len() - encode(&evs[2]).len();
    let mut want = Ledger::default();
    for e in &evs[..2] {
        want.apply(e);
    }
    assert_eq!(want.open["gw-a"].scope, Scope::Local, "the change applied");
    for cut in last_start..file.len() {
        let got = replay(Path::new("t"), &file[..cut], &metrics);
        assert_eq!(got, want, "cut at byte {cut}");
    }
    let whole = replay(Path::new("t"), &file, &metrics);
    assert!(whole.open.is_empty());
    assert_eq!(whole.closed[0].closed_by.as_deref(), Some("recovered"));
    assert_eq!(whole.closed[0].changes.len(), 2);
}

/// Waits (bounded) until what `dir` holds, read back as at start, is `want`.
fn wait_loaded(dir: &Path, metrics: &Metrics, want: impl Fn(&Ledger) -> bool) {
    let end = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        let got = load(dir, metrics);
        if want(&got) {
            return;
        }
        assert!(std::time::Instant::now() < end, "never written: {got:?}");
        std::thread::sleep(Duration::from_millis(10));
    }
}

fn stamped(seq: u64, event: Event) -> Arc<Stamped> {
    Arc::new(Stamped { seq, event })
}

#[test]
fn the_writer_appends_events_and_a_restart_reads_them_back() {
    let dir = tempfile::tempdir().unwrap();
    let metrics = Arc::new(Metrics::new().unwrap());
    let snapshot: Snapshot = Arc::new(|| panic!("no overflow in this test"));
    let behind = Arc::new(AtomicBool::new(false));
    let tx = start(
        dir.path(),
        Ledger::default(),
        behind,
        snapshot,
        Arc::new(Progress::default()),
        metrics.clone(),
    )
    .unwrap();
    let evs = events();
    for (i, e) in evs[..2].iter().enumerate() {
        tx.send(stamped(i as u64 + 1, e.clone())).unwrap();
    }
    drop(tx); // the writer writes what it has, then ends
    wait_loaded(dir.path(), &metrics, |got| {
        got.open.get("gw-a").map(|i| (i.changes.len(), i.scope)) == Some((2, Scope::Local))
    });
}

#[test]
fn a_writer_that_fell_behind_rebuilds_from_the_snapshot() {
    let dir = tempfile::tempdir().unwrap();
    let metrics = Arc::new(Metrics::new().unwrap());
    let mut book = Ledger::default();
    for e in &events()[..2] {
        book.apply(e);
    }
    book.apply(&Event::Opened {
        incident: std::sync::Arc::new(incident("gw-b", 1_700_000_020_000)),
    });
    let theirs = book.clone();
    let snapshot: Snapshot = Arc::new(move || (3, theirs.clone()));
    let behind = Arc::new(AtomicBool::new(true)); // events 1..=3 were lost
    let tx = start(
        dir.path(),
        Ledger::default(),
        behind,
        snapshot,
        Arc::new(Progress::default()),
        metrics.clone(),
    )
    .unwrap();
    // Event 3 arrives late (it is in the snapshot already) and must not apply twice.
    tx.send(stamped(3, events()[1].clone())).unwrap();
    drop(tx);
    wait_loaded(dir.path(), &metrics, |got| *got == book);
}

/// What the alert engine relies on: once an event is settled, it is in the file.
#[tokio::test]
async fn a_settled_event_is_on_disk_already() {
    let dir = tempfile::tempdir().unwrap();
    let metrics = Arc::new(Metrics::new().unwrap());
    let snapshot: Snapshot = Arc::new(|| panic!("no overflow in this test"));
    let progress = Arc::new(Progress::default());
    let tx = start(
        dir.path(),
        Ledger::default(),
        Arc::new(AtomicBool::new(false)),
        snapshot,
        progress.clone(),
        metrics.clone(),
    )
    .unwrap();
    assert!(
        !progress.wait_for(1, Duration::from_millis(20)).await,
        "nothing sent yet"
    );
    let evs = events();
    for (i, e) in evs[..2].iter().enumerate() {
        tx.send(stamped(i as u64 + 1, e.clone())).unwrap();
    }
    assert!(progress.wait_for(2, Duration::from_secs(10)).await);
    let got = load(dir.path(), metrics.as_ref());
    assert_eq!(got.open.get("gw-a").map(|i| i.changes.len()), Some(2));
    drop(tx);
}

#[test]
fn a_legacy_incidents_json_is_carried_over() {
    let dir = tempfile::tempdir().unwrap();
    let metrics = Metrics::new().unwrap();
    let legacy = serde_json::json!({"version": 1, "open": [incident("gw-old", 1_600_000_000_000)], "closed": []});
    std::fs::write(dir.path().join(LEGACY), legacy.to_string()).unwrap();
    let got = load(dir.path(), &metrics);
    assert_eq!(got.open["gw-old"].id, "gw-old@1600000000000");
    assert!(dir.path().join("incidents.json.old").exists());
}

/// A follower takes the book's incident after a change or a close (one allocation, shared),
/// and ends with what the journal's replay, which never sees `after`, rebuilds.
#[test]
fn followers_share_the_books_incidents_and_agree_with_the_replay() {
    let (mut book, mut follower, mut replayed) =
        (Ledger::default(), Ledger::default(), Ledger::default());
    let mut evs = events();
    evs.insert(
        2,
        Event::Opened {
            incident: Arc::new(incident("gw-b", 1_700_000_020_000)),
        },
    );
    for mut e in evs {
        book.apply(&e);
        match &mut e {
            Event::Changed { target, after, .. } => *after = book.open.get(target).cloned(),
            Event::Closed { after, .. } => *after = book.closed.back().cloned(),
            _ => {}
        }
        follower.apply(&e);
        let json = serde_json::to_vec(&e).unwrap();
        assert!(!String::from_utf8_lossy(&json).contains("after"));
        replayed.apply(&serde_json::from_slice(&json).unwrap());
    }
    assert_eq!(follower, book);
    assert_eq!(replayed, book);
    assert_eq!(book.closed.len(), 1);
    assert!(Arc::ptr_eq(&book.closed[0], &follower.closed[0]));
    assert!(Arc::ptr_eq(&book.open["gw-b"], &follower.open["gw-b"]));
    assert!(!Arc::ptr_eq(&book.open["gw-b"], &replayed.open["gw-b"]));
}
