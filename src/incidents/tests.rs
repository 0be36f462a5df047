use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::*;
use crate::classify::{Cause, Scope};
use crate::config::{self, Check};
use crate::judge::Judge;
use crate::metrics::Metrics;
use crate::probe::{Evidence, Failure, FailureKind, Phase};

fn target(name: &str, provider: &str) -> Arc<Target> {
    let src = format!(
        "[[targets]]\nname = \"{name}\"\nprovider = \"{provider}\"\nurl = \"tcp://127.0.0.1:9\"\nchecks = [\"tcp\"]\nfailure_threshold = 2\nsuccess_threshold = 2\n"
    );
    config::parse(Path::new("t.toml"), &src, Path::new("."))
        .unwrap()
        .targets[0]
        .clone()
}

fn round(t: &Target, ok: bool) -> Vec<Evidence> {
    let mut e = Evidence::new(&t.name, Check::Tcp);
    if !ok {
        e.failure = Some(Failure::new(
            Phase::Connect,
            FailureKind::ConnectRefused,
            "connection refused",
        ));
    }
    vec![e]
}

/// Rounds judged and handed to the book on the caller's thread: these tests are about the
/// book, not the outputs' queues (`src/pipeline.rs` has its own).
struct Inline {
    judge: Judge,
    inc: Arc<Incidents>,
}

impl Inline {
    fn finished(&self, t: &Arc<Target>, evidence: Vec<Evidence>) {
        let now = SystemTime::now();
        let j = self.judge.round(t, evidence, now);
        let r = j.recorded;
        self.inc.publish(&JudgedRound {
            target: t.clone(),
            evidence: j.evidence,
            conditions: j.conditions,
            diagnosis: r.diagnosis,
            previous: r.previous,
            since: r.since,
            at: now,
        });
        for o in r.rejudged {
            self.inc.publish(&JudgedRound {
                target: o.target,
                evidence: Vec::new(),
                conditions: Vec::new(),
                diagnosis: o.diagnosis,
                previous: Some(o.previous),
                since: o.since,
                at: now,
            });
        }
    }

    fn retire(&self, t: &Target) {
        self.judge.remove(&t.name);
        self.inc.retire(t);
    }
}

fn setup(dir: &Path) -> (Inline, Arc<Incidents>, Arc<Metrics>) {
    let metrics = Arc::new(Metrics::new().unwrap());
    let known = [
        target("gw", "acme"),
        target("a", "acme"),
        target("b", "acme"),
    ];
    let inc = Arc::new(Incidents::new(dir, &known, metrics.clone()));
    crate::metrics::IncidentSeries::follow(&inc, metrics.clone());
    let p = Inline {
        judge: Judge::default(),
        inc: inc.clone(),
    };
    (p, inc, metrics)
}

/// Waits (bounded) until the writer thread has put `want` into the file.
fn wait_file(dir: &Path, want: &str) -> String {
    let end = Instant::now() + Duration::from_secs(10);
    loop {
        let s = String::from_utf8_lossy(
            &std::fs::read(dir.join("incidents.journal")).unwrap_or_default(),
        )
        .into_owned();
        if s.contains(want) {
            return s;
        }
        assert!(
            Instant::now() < end,
            "incidents.journal never held {want:?}: {s}"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[test]
fn opens_after_threshold_and_closes_with_duration() {
    let dir = tempfile::tempdir().unwrap();
    let (p, inc, metrics) = setup(dir.path());
    let t = target("gw", "acme");
    p.finished(&t, round(&t, true));
    p.finished(&t, round(&t, false));
    assert!(
        inc.open().is_empty(),
        "one failing round is below failure_threshold"
    );
    p.finished(&t, round(&t, false));
    let open = inc.open();
    assert_eq!(open.len(), 1);
    assert_eq!(
        (open[0].cause, open[0].scope),
        (Cause::Server, Scope::Endpoint)
    );
    assert!(
        open[0].detect_secs().is_some(),
        "the first failing round was seen"
    );
    assert!(
        open[0].evidence.contains("connection refused"),
        "{:?}",
        open[0]
    );
    let text = metrics.render().unwrap();
    assert!(
        text.contains(r#"payprobe_incident_open{cause="server",provider="acme",target="gw"} 1"#),
        "{text}"
    );
    assert!(text.contains(r#"payprobe_incidents_total{cause="server"} 1"#));
    p.finished(&t, round(&t, true));
    assert_eq!(inc.open().len(), 1, "one pass is below success_threshold");
    p.finished(&t, round(&t, true));
    assert!(inc.open().is_empty());
    let all = inc.snapshot(10);
    assert_eq!(all.len(), 1);
    assert_eq!(all[0].closed_by.as_deref(), Some(RECOVERED));
    assert!(all[0].closed_ms.unwrap() >= all[0].opened_ms);
    let text = metrics.render().unwrap();
    assert!(
        !text.contains("payprobe_incident_open{"),
        "closed incidents leave no open series"
    );
    assert!(
        text.contains(
            r#"payprobe_incident_duration_seconds_count{cause="server",provider="acme"} 1"#
        ),
        "{text}"
    );
}

#[test]
fn a_scope_change_is_recorded_while_open() {
    let dir = tempfile::tempdir().unwrap();
    let (p, inc, _) = setup(dir.path());
    let a = target("a", "acme");
    let b = target("b", "acme");
    for _ in 0..2 {
        p.finished(&a, round(&a, true));
    }
    p.finished(&b, round(&b, true));
    for _ in 0..2 {
        p.finished(&a, round(&a, false));
    }
    assert_eq!(inc.open()[0].scope, Scope::Endpoint);
    for _ in 0..2 {
        p.finished(&b, round(&b, false));
    }
    let a_inc = inc.of_target("a", 5);
    assert_eq!(a_inc.len(), 1);
    let scopes: Vec<Scope> = a_inc[0].changes.iter().map(|c| c.scope).collect();
    assert_eq!(scopes, [Scope::Endpoint, Scope::Provider], "{a_inc:?}");
    assert_eq!(a_inc[0].scope, Scope::Provider);
}

#[test]
fn a_restart_keeps_the_open_incident_until_this_process_sees_recovery() {
    let dir = tempfile::tempdir().unwrap();
    let t = target("gw", "acme");
    let id = {
        let (p, inc, _) = setup(dir.path());
        for _ in 0..2 {
            p.finished(&t, round(&t, false));
        }
        let id = inc.open()[0].id.clone();
        wait_file(dir.path(), &id);
        id
    };
    let (p, inc, _) = setup(dir.path());
    assert_eq!(inc.open()[0].id, id, "restored from state_dir");
    p.finished(&t, round(&t, true));
    assert_eq!(
        inc.open().len(),
        1,
        "a fresh window is healthy, which proves nothing yet"
    );
    // Failing again continues the same incident instead of opening a second one.
    for _ in 0..2 {
        p.finished(&t, round(&t, false));
    }
    assert_eq!(inc.open()[0].id, id);
    for _ in 0..2 {
        p.finished(&t, round(&t, true));
    }
    assert!(inc.open().is_empty());
    assert_eq!(inc.snapshot(5)[0].id, id);
}

#[test]
fn a_corrupt_file_is_set_aside_not_fatal() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("incidents.json"), b"{\"open\": [tor").unwrap();
    let (_, inc, _) = setup(dir.path());
    assert!(inc.snapshot(5).is_empty());
    assert!(dir.path().join("incidents.json.bad").exists());
}

#[test]
fn an_unwritable_state_dir_is_counted_and_incidents_go_on() {
    let dir = tempfile::tempdir().unwrap();
    // A state_dir below a regular file cannot be created, even by root.
    let file = dir.path().join("not-a-dir");
    std::fs::write(&file, b"x").unwrap();
    let (p, inc, metrics) = setup(&file.join("state"));
    let t = target("gw", "acme");
    for _ in 0..2 {
        p.finished(&t, round(&t, false));
    }
    assert_eq!(inc.open().len(), 1);
    let end = Instant::now() + Duration::from_secs(10);
    while !metrics.render().unwrap().lines().any(|l| {
        l.starts_with(r#"payprobe_state_dir_errors_total{what="incidents"} "#) && !l.ends_with(" 0")
    }) {
        assert!(Instant::now() < end, "the failed write was never counted");
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[test]
fn closed_incidents_are_bounded() {
    let dir = tempfile::tempdir().unwrap();
    let (p, inc, _) = setup(dir.path());
    let t = target("gw", "acme");
    for _ in 0..(RECENT_CLOSED + 5) {
        for ok in [false, false, true, true] {
            p.finished(&t, round(&t, ok));
        }
    }
    assert_eq!(inc.snapshot(usize::MAX).len(), RECENT_CLOSED);
}

#[test]
fn a_poisoned_book_is_taken_over_and_counted_and_incidents_go_on() {
    let dir = tempfile::tempdir().unwrap();
    let (p, inc, metrics) = setup(dir.path());
    let book = inc.book.clone();
    let _ = std::thread::spawn(move || {
        let _g = book.lock().unwrap();
        panic!("a bug while holding the book");
    })
    .join();
    let t = target("gw", "acme");
    for _ in 0..2 {
        p.finished(&t, round(&t, false));
    }
    assert_eq!(inc.open().len(), 1, "the incident opened after the panic");
    let text = metrics.render().unwrap();
    assert!(
        text.contains(r#"payprobe_internal_errors_total{where="incidents_lock"} 1"#),
        "{text}"
    );
}

/// The alert engine's copy, fed only by events, ends equal to the book through opens,
/// scope changes, closes and a removal.
#[tokio::test]
async fn a_follower_keeps_the_same_ledger_as_the_book() {
    let dir = tempfile::tempdir().unwrap();
    let (p, inc, _) = setup(dir.path());
    let mut f = inc.follow("test");
    let (a, b, gw) = (
        target("a", "acme"),
        target("b", "acme"),
        target("gw", "acme"),
    );
    for ok in [true, false, false, true, false, false] {
        p.finished(&a, round(&a, ok));
        p.finished(&b, round(&b, !ok));
        p.finished(&gw, round(&gw, false));
    }
    p.retire(&gw);
    inc.sweep(unix_ms(SystemTime::now()) + 3_600_000);
    assert_eq!(f.catch_up(&inc), 3, "gw and a opened, gw closed");
    let (_, book) = inc.ledger();
    assert_eq!(f.ledger(), &book);
    assert!(book
        .closed
        .iter()
        .any(|i| i.closed_by.as_deref() == Some(REMOVED)));
    assert!(!book.open.is_empty());
}

/// A target lost by one reload and back at the next continues its incident: no close, no
/// new id; one that stays away closes as removed once the grace is over.
#[test]
fn a_removed_target_keeps_its_incident_through_the_grace_period() {
    let dir = tempfile::tempdir().unwrap();
    let (p, inc, _) = setup(dir.path());
    let t = target("gw", "acme");
    for _ in 0..2 {
        p.finished(&t, round(&t, false));
    }
    let id = inc.open()[0].id.clone();
    p.retire(&t);
    inc.sweep(unix_ms(SystemTime::now()));
    assert_eq!(inc.open().len(), 1, "kept during the grace period");
    p.finished(&t, round(&t, false));
    let far = unix_ms(SystemTime::now()) + 3_600_000;
    inc.sweep(far);
    assert_eq!(
        inc.open()[0].id,
        id,
        "back in the config: the same incident goes on"
    );
    p.retire(&t);
    inc.sweep(far);
    assert!(inc.open().is_empty());
    let closed = &inc.snapshot(5)[0];
    assert_eq!(
        (closed.id.as_str(), closed.closed_by.as_deref()),
        (id.as_str(), Some(REMOVED))
    );
}

/// The reload that brings a target back adopts its incident at once (its first round may be
/// a whole interval away, past the grace); a target back as something else (another
/// provider) has its old incident closed rather than continued under the wrong group.
#[test]
fn a_reload_adopts_a_returning_target_and_closes_a_changed_one() {
    let dir = tempfile::tempdir().unwrap();
    let (p, inc, _) = setup(dir.path());
    let (a, b) = (target("a", "acme"), target("b", "acme"));
    for _ in 0..2 {
        p.finished(&a, round(&a, false));
        p.finished(&b, round(&b, false));
    }
    let ids: Vec<String> = inc.open().iter().map(|i| i.id.clone()).collect();
    p.retire(&a);
    p.retire(&b);
    let b_elsewhere = target("b", "other-provider");
    inc.adopt(&[a.clone(), b_elsewhere]);
    inc.sweep(unix_ms(SystemTime::now()) + 3_600_000);
    let open: Vec<String> = inc.open().iter().map(|i| i.id.clone()).collect();
    assert_eq!(
        open,
        [ids.iter().find(|i| i.starts_with("a@")).unwrap().clone()]
    );
    let closed = inc.snapshot(5);
    assert!(closed
        .iter()
        .any(|i| i.target == "b" && i.closed_by.as_deref() == Some(REMOVED)));
}

/// A daemon started on a config that lacks a target keeps that target's open incident
/// through the grace period, so a quick fix of the file continues it.
#[test]
fn a_start_without_a_target_keeps_its_incident_through_the_grace() {
    let dir = tempfile::tempdir().unwrap();
    let t = target("gw", "acme");
    let id = {
        let (p, inc, _) = setup(dir.path());
        for _ in 0..2 {
            p.finished(&t, round(&t, false));
        }
        let id = inc.open()[0].id.clone();
        wait_file(dir.path(), &id);
        id
    };
    let metrics = Arc::new(Metrics::new().unwrap());
    let inc = Incidents::new(dir.path(), &[target("other", "acme")], metrics);
    inc.sweep(unix_ms(SystemTime::now()));
    assert_eq!(inc.open()[0].id, id, "kept during the grace");
    inc.adopt(&[t]);
    inc.sweep(unix_ms(SystemTime::now()) + 3_600_000);
    assert_eq!(
        inc.open()[0].id,
        id,
        "adopted by the reload that brought it back"
    );
}

/// The incident series follow the incident events, not the target's series: a removed
/// target's incident, open through the grace period, keeps `payprobe_incident_open` until it
/// closes as removed, and its duration is observed then.
#[test]
fn the_incident_series_follow_the_events_through_a_removal() {
    let dir = tempfile::tempdir().unwrap();
    let (p, inc, metrics) = setup(dir.path());
    let t = target("gw", "acme");
    for _ in 0..2 {
        p.finished(&t, round(&t, false));
    }
    let open = r#"payprobe_incident_open{cause="server",provider="acme",target="gw"} 1"#;
    p.retire(&t);
    metrics.remove_target(&t);
    assert!(metrics.render().unwrap().contains(open), "still open");
    inc.sweep(unix_ms(SystemTime::now()) + 3_600_000);
    let text = metrics.render().unwrap();
    assert!(!text.contains("payprobe_incident_open{"), "{text}");
    assert!(text
        .contains(r#"payprobe_incident_duration_seconds_count{cause="server",provider="acme"} 1"#));
}
