use std::collections::BTreeMap;

use super::*;
use crate::classify::{Cause, Scope};
use crate::incidents::{Change, Event};

fn incident(target: &str, opened_ms: u64, provider: &str) -> Incident {
    Incident {
        id: format!("{target}@{opened_ms}"),
        target: target.into(),
        provider: provider.into(),
        control: false,
        cause: if opened_ms % 2 == 0 {
            Cause::Server
        } else {
            Cause::Network
        },
        scope: Scope::Endpoint,
        rule: "r".into(),
        reason: "r".into(),
        evidence: String::new(),
        opened_ms,
        first_failure_ms: None,
        interval_ms: 1000,
        success_threshold: 1,
        changes: vec![Change {
            at_ms: opened_ms,
            cause: Cause::Server,
            scope: Scope::Endpoint,
            reason: "r".into(),
        }],
        closed_ms: None,
        closed_by: None,
        egress: String::new(),
        maintenance: None,
    }
}

fn open(l: &mut Ledger, target: &str, at: u64) {
    let provider = if at % 3 == 0 { "acme" } else { "other" };
    l.apply(&Event::Opened {
        incident: std::sync::Arc::new(incident(target, at, provider)),
    });
}

fn close(l: &mut Ledger, target: &str, at: u64) {
    l.apply(&Event::Closed {
        target: target.into(),
        at_ms: at,
        by: "recovered".into(),
        after: None,
    });
}

/// Pages through the list while incidents open and close between pages: every incident
/// that stayed where it was for the whole walk (open throughout, or closed before it
/// began) is seen exactly once.
#[test]
fn pagination_is_stable_under_concurrent_change() {
    for limit in [1, 3, 7, 50] {
        let mut l = Ledger::default();
        for i in 0..40u64 {
            open(&mut l, &format!("t{i:02}"), 1000 + i * 10);
        }
        for i in 30..40u64 {
            close(&mut l, &format!("t{i:02}"), 5000 + i);
        }
        let stable: Vec<String> = (0..30u64)
            .filter(|i| ![1, 5, 9, 13].contains(i)) // these close during the walk
            .map(|i| format!("t{i:02}@{}", 1000 + i * 10))
            .chain((30..40u64).map(|i| format!("t{i:02}@{}", 1000 + i * 10)))
            .collect();
        let mut seen: BTreeMap<String, usize> = BTreeMap::new();
        let mut cursor = None;
        let mut step = 0u64;
        loop {
            let q = Query {
                limit,
                cursor: cursor.clone(),
                ..Query::default()
            };
            let (page, next) = incident_page(&l, &q).unwrap();
            assert!(page.len() <= limit);
            for i in &page {
                *seen.entry(i.id.clone()).or_default() += 1;
            }
            // Churn between pages: new incidents open (older and newer keys), some close.
            step += 1;
            open(&mut l, &format!("new{step:03}"), 500 + step);
            if step <= 20 {
                open(&mut l, &format!("late{step:03}"), 90_000 + step);
            }
            if step <= 4 {
                close(&mut l, &format!("t{:02}", step * 4 - 3), 9000 + step);
            }
            close(
                &mut l,
                &format!("new{:03}", step.saturating_sub(2)),
                9500 + step,
            );
            match next {
                Some(c) => cursor = Some(c),
                None => break,
            }
            assert!(step < 10_000, "the walk ends");
        }
        for id in &stable {
            assert_eq!(
                seen.get(id),
                Some(&1),
                "limit {limit}: {id} seen {:?} times",
                seen.get(id)
            );
        }
        // An incident that closed during the walk may show once open and once closed; any
        // other repeat would be a page boundary that moved.
        for (id, n) in &seen {
            assert!(
                *n == 1 || (*n == 2 && id.starts_with('t')),
                "limit {limit}: {id} seen {n} times"
            );
        }
    }
}

#[test]
fn filters_and_status_select_and_open_comes_before_closed() {
    let mut l = Ledger::default();
    for i in 0..6u64 {
        open(&mut l, &format!("t{i}"), 300 + i);
    }
    close(&mut l, "t0", 1000);
    let q = |s: &str| Query::parse(s, &["open", "closed"]).unwrap();
    let ids = |q: &Query| -> Vec<String> {
        incident_page(&l, q)
            .unwrap()
            .0
            .iter()
            .map(|i| i.target.clone())
            .collect()
    };
    assert_eq!(ids(&q("")), ["t1", "t2", "t3", "t4", "t5", "t0"]);
    assert_eq!(ids(&q("status=closed")), ["t0"]);
    assert_eq!(ids(&q("status=open&provider=acme")), ["t3"]);
    assert_eq!(ids(&q("cause=network")), ["t1", "t3", "t5"]);
    let (_, next) = incident_page(&l, &q("limit=5")).unwrap();
    let rest = incident_page(
        &l,
        &Query {
            limit: 5,
            cursor: next,
            ..Query::default()
        },
    )
    .unwrap();
    assert_eq!(
        rest.0.iter().map(|i| i.target.as_str()).collect::<Vec<_>>(),
        ["t0"]
    );
    assert!(rest.1.is_none());
}

/// Incidents close in an order their `closed_ms` need not follow (a clock step, a sweep):
/// a walk one item a page still sees every closed incident once.
#[test]
fn closed_incidents_out_of_time_order_are_each_listed_once() {
    let mut l = Ledger::default();
    let times = [100u64, 101, 99, 150, 98, 98];
    for (i, _) in times.iter().enumerate() {
        open(&mut l, &format!("c{i}"), 10 + i as u64);
    }
    for (i, at) in times.iter().enumerate() {
        close(&mut l, &format!("c{i}"), *at);
    }
    let mut seen = Vec::new();
    let mut cursor = None;
    for _ in 0..20 {
        let q = Query {
            limit: 1,
            cursor: cursor.clone(),
            ..Query::default()
        };
        let (page, next) = incident_page(&l, &q).unwrap();
        seen.extend(page.iter().map(|i| i.target.clone()));
        match next {
            Some(c) => cursor = Some(c),
            None => break,
        }
    }
    assert_eq!(
        seen,
        ["c5", "c4", "c3", "c2", "c1", "c0"],
        "newest close first, each once"
    );
}
