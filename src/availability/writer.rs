//! The rollup writer: the one task that touches the rollup file, off the probing path.
//!
//! It takes tallies from the channel, counts them, and every `AVAILABILITY_FLUSH` appends
//! the buckets they touched (absolute counts, one record each) on the blocking pool, with
//! `fdatasync`. A failing disk is logged once per outage and counted; the counts stay in
//! memory and the buckets stay dirty, so they are written once the disk is back.

use std::collections::HashSet;
use std::sync::atomic::Ordering;
use std::sync::Arc;

use super::points::PointLog;
use super::rollup::Grain;
use super::store::{Log, Record};
use super::Availability;
use crate::history::History;
use crate::limits::{AVAILABILITY_COMPACT_RATIO, AVAILABILITY_COMPACT_SLACK, AVAILABILITY_FLUSH};
use crate::metrics::Metrics;
use crate::supervise::{self, Supervised};

pub(super) type Dirty = HashSet<(String, Grain, u32)>;

/// Replays the files into the book and the page's history, then starts the supervised
/// writer.
pub async fn start(
    a: Arc<Availability>,
    metrics: Arc<Metrics>,
    history: Arc<History>,
) -> Supervised {
    let _ = a.history.set(history.clone());
    let dir = a.dir.clone();
    let replayed = tokio::task::spawn_blocking(move || PointLog::open(&dir, &history)).await;
    match replayed {
        Ok(Ok((log, torn))) => {
            if torn > 0 {
                tracing::warn!(
                    skipped_bytes = torn,
                    "the history file ended in a torn record (a crash mid-write); it was cut off"
                );
                metrics.incidents.state_error("availability_torn");
            }
            *crate::sync::lock(&a.points, "history log") = Some(log);
        }
        Ok(Err(e)) => {
            tracing::error!(error = %e, "cannot open the history file; the page's history is kept in memory only");
            metrics.incidents.state_error("availability");
        }
        Err(_) => metrics.internal_error("availability_writer"),
    }
    let dir = a.dir.clone();
    let opened = tokio::task::spawn_blocking(move || Log::open(&dir)).await;
    match opened {
        Ok(Ok((log, book, torn))) => {
            if torn > 0 {
                tracing::warn!(skipped_bytes = torn, "the availability file ended in a torn record (a crash mid-write); it was cut off");
                metrics.incidents.state_error("availability_torn");
            }
            *crate::sync::lock(&a.book, "availability") = book;
            *crate::sync::lock(&a.log, "availability log") = Some(log);
        }
        Ok(Err(e)) => {
            tracing::error!(error = %e, "cannot open the availability file; availability is kept in memory only");
            metrics.incidents.state_error("availability");
        }
        Err(_) => metrics.internal_error("availability_writer"),
    }
    supervise::spawn("availability_writer", metrics.clone(), move || {
        run(a.clone(), metrics.clone())
    })
}

async fn run(a: Arc<Availability>, metrics: Arc<Metrics>) {
    let mut rx = a.rx.lock().await;
    let mut tick = tokio::time::interval(AVAILABILITY_FLUSH);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            t = rx.recv() => {
                let Some(t) = t else { return };
                a.apply(&t);
                {
                    let mut p = crate::sync::lock(&a.pending_points, "history pending");
                    if p.len() < crate::limits::AVAILABILITY_QUEUE {
                        p.push((t.target.clone(), t.point));
                    }
                }
                let mut d = crate::sync::lock(&a.dirty, "availability dirty");
                for g in [Grain::Hour, Grain::Day] {
                    d.insert((t.target.clone(), g, g.index(t.at_ms)));
                }
            }
            _ = tick.tick() => {
                let (a, m) = (a.clone(), metrics.clone());
                if tokio::task::spawn_blocking(move || flush(&a, &m)).await.is_err() {
                    metrics.internal_error("availability_writer");
                }
            }
        }
    }
}

/// Appends the dirty buckets; compacts when the file holds too many dead records.
pub(super) fn flush(a: &Availability, metrics: &Metrics) {
    flush_points(a, metrics);
    let (log, dirty) = (&a.log, &a.dirty);
    let mut guard = crate::sync::lock(log, "availability log");
    let Some(log) = guard.as_mut() else {
        crate::sync::lock(dirty, "availability dirty").clear();
        return;
    };
    let keys: Vec<(String, Grain, u32)> = crate::sync::lock(dirty, "availability dirty")
        .drain()
        .collect();
    if keys.is_empty() {
        return;
    }
    let records: Vec<Record> = {
        let b = crate::sync::lock(&a.book, "availability");
        keys.iter()
            .filter_map(|(name, g, idx)| {
                let counts = b.get(name)?.get(*g, *idx)?;
                Some(Record {
                    name: name.clone(),
                    grain: *g,
                    index: *idx,
                    counts,
                })
            })
            .collect()
    };
    let before = log.written;
    let result = log.append(&records).and_then(|()| {
        let live = live_records(a);
        if log.records > live.len() * AVAILABILITY_COMPACT_RATIO + AVAILABILITY_COMPACT_SLACK {
            log.compact(&live)?;
        }
        Ok(())
    });
    metrics
        .incidents
        .written("availability", log.written - before);
    if let Err(e) = result {
        if a.write_errors.fetch_add(1, Ordering::Relaxed) == 0 {
            tracing::error!(error = %e, "cannot write the availability file; counts are kept in memory and written when it works again");
        }
        metrics.incidents.state_error("availability");
        crate::sync::lock(dirty, "availability dirty").extend(keys);
    } else {
        a.write_errors.store(0, Ordering::Relaxed);
    }
}

/// One record per bucket held, for a compaction (removed targets' buckets included until
/// they are older than every window: a target that comes back finds its history).
fn live_records(a: &Availability) -> Vec<Record> {
    let now = crate::maintenance::now_ms();
    let (hour, day) = (Grain::Hour.index(now), Grain::Day.index(now));
    let fresh = |g: Grain, i: u32| match g {
        Grain::Hour => i.saturating_add(24) >= hour,
        Grain::Day => i.saturating_add(31) >= day,
    };
    let b = crate::sync::lock(&a.book, "availability");
    let mut out = Vec::new();
    for (name, r) in b.iter() {
        for (grain, index, counts) in r.buckets().filter(|(g, i, _)| fresh(*g, *i)) {
            out.push(Record {
                name: name.clone(),
                grain,
                index,
                counts,
            });
        }
    }
    out
}

/// Appends the rounds not yet in the history log; compacts it to the rings when due. A
/// failing disk keeps them pending (bounded by the queue's size).
fn flush_points(a: &Availability, metrics: &Metrics) {
    let mut guard = crate::sync::lock(&a.points, "history log");
    let Some(log) = guard.as_mut() else {
        crate::sync::lock(&a.pending_points, "history pending").clear();
        return;
    };
    let pending = std::mem::take(&mut *crate::sync::lock(
        &a.pending_points,
        "history pending",
    ));
    if pending.is_empty() {
        return;
    }
    let before = log.written;
    let appended = log.append(&pending).is_ok();
    metrics.incidents.written("history", log.written - before);
    if appended {
        // A failed compaction leaves the (longer) log as it was: nothing to redo.
        let before = log.written;
        let compacted = a.history.get().map_or(Ok(()), |h| log.compact_if_due(h));
        metrics.incidents.written("history", log.written - before);
        if compacted.is_err() {
            metrics.incidents.state_error("availability");
        }
        return;
    }
    {
        metrics.incidents.state_error("availability");
        let mut p = crate::sync::lock(&a.pending_points, "history pending");
        let room = crate::limits::AVAILABILITY_QUEUE.saturating_sub(p.len());
        let keep: Vec<_> = pending.into_iter().take(room).collect();
        p.splice(0..0, keep);
    }
}
