//! The alert engine's task: follows the incident events (its own copy, no lock of the book
//! per tick) and turns the open incidents into notifications, at once when an incident
//! changes and every tick for what time alone decides (`group_wait`, re-sends, the settling
//! after a local outage). Judging and writing run on the blocking pool: both are O(open
//! incidents) or disk work, and the runtime's workers belong to the probes.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use super::engine::{self, Engine, Out, Settings};
use super::{enqueue, load_state, maintenance, Sink, ENGINE_STATE};
use crate::incidents::{Follower, Incidents};
use crate::limits;
use crate::metrics::Metrics;
use crate::timefmt::unix_ms;

/// What the task keeps between turns, besides the engine and its follower.
struct Task {
    dir: PathBuf,
    s: Arc<Settings>,
    incidents: Arc<Incidents>,
    sinks: Vec<Arc<Sink>>,
    metrics: Arc<Metrics>,
    maintenance: Arc<crate::maintenance::Live>,
    /// The last write of the engine's state failed (logged once per outage).
    failing: bool,
    /// The journal did not write what the engine waited for (logged once per episode).
    journal_slow: bool,
}

pub(super) async fn run_engine(
    dir: PathBuf,
    s: Arc<Settings>,
    incidents: Arc<Incidents>,
    sinks: Vec<Arc<Sink>>,
    metrics: Arc<Metrics>,
    maintenance: Arc<crate::maintenance::Live>,
) {
    let mut engine = Engine::restore(load_state(&dir));
    let mut follow = incidents.follow("alert_engine");
    let tick = Duration::from_millis(s.group_wait_ms / 4)
        .clamp(limits::ALERT_ENGINE_TICK_MIN, limits::ALERT_ENGINE_TICK_MAX);
    let mut t = Task {
        dir,
        s,
        incidents,
        sinks,
        metrics,
        maintenance,
        failing: false,
        journal_slow: false,
    };
    // Window edges are announced as they are crossed: a window already running when the
    // engine (re)starts was announced by the process that saw it start.
    let mut edges_seen = crate::maintenance::now_ms();
    loop {
        follow.catch_up(&t.incidents);
        t.wait_for_journal(follow.seq()).await;
        let Some((f, e, (mut out, changed), now)) = t.judge(follow, engine).await else {
            return; // the supervisor starts a fresh engine from the saved state and the book
        };
        (follow, engine) = (f, e);
        let edges = maintenance::transitions(&t.maintenance.get(), edges_seen, now, &t.s);
        edges_seen = now;
        out.extend(edges.into_iter().map(|n| (n, false)));
        let state = changed.then(|| serde_json::to_vec(&engine.sent).unwrap_or_default());
        t.write(out, state).await;
        tokio::select! {
            alive = follow.next() => {
                if !alive {
                    return;
                }
                // A burst of events (a mass change) is judged once, not once per event.
                tokio::time::sleep(crate::limits::ALERT_ENGINE_COALESCE).await;
            }
            () = tokio::time::sleep(tick) => {}
        }
    }
}

impl Task {
    /// Page only on what the journal holds: a notification on disk before its incident would
    /// be resolved and sent again after a crash (the restarted engine would find no incident
    /// behind it). Bounded: a hung disk delays pages, it never stops them.
    async fn wait_for_journal(&mut self, seq: u64) {
        let written = self.incidents.journaled(seq).await;
        if written == self.journal_slow {
            self.journal_slow = !written;
            if self.journal_slow {
                tracing::warn!(waited = ?crate::limits::JOURNAL_WAIT, "the incident journal is behind (a slow or hung disk?); alerts go out after waiting this long for it");
            } else {
                tracing::info!("the incident journal caught up");
            }
        }
    }

    /// The notifications the open incidents call for now, judged on the blocking pool (O(open
    /// incidents): tens of milliseconds at 100,000). `None` when judging panicked: the
    /// engine's state went with it.
    async fn judge(
        &self,
        follow: Follower,
        mut engine: Engine,
    ) -> Option<(Follower, Engine, (Vec<Out>, bool), i64)> {
        let (m, s) = (self.maintenance.clone(), self.s.clone());
        let judged = tokio::task::spawn_blocking(move || {
            let now = unix_ms(SystemTime::now());
            let now_i = i64::try_from(now).unwrap_or(i64::MAX);
            let open =
                maintenance::outside(&m, follow.ledger().open.values().map(|i| i.as_ref()), now_i);
            let want = engine::desired(open, now, &s);
            let result = engine.evaluate(want, now, &s);
            (follow, engine, result, now_i)
        })
        .await;
        match judged {
            Ok(j) => Some(j),
            Err(e) => {
                self.metrics.internal_error("alert_engine");
                tracing::error!(error = %e, "judging the alerts failed");
                None
            }
        }
    }

    /// Queues `out` in the sinks' outboxes and writes the engine's `state` when it changed:
    /// each fsyncs, so on the blocking pool.
    async fn write(&mut self, out: Vec<Out>, state: Option<Vec<u8>>) {
        if out.is_empty() && state.is_none() {
            return; // nothing to write: no thread for it
        }
        let (q, m, d) = (self.sinks.clone(), self.metrics.clone(), self.dir.clone());
        let written = tokio::task::spawn_blocking(move || {
            enqueue(&q, out, &m);
            state.map(|bytes| crate::durable::write_atomic(&d, ENGINE_STATE, &bytes))
        })
        .await;
        match written {
            Ok(None) => {}
            Ok(Some(Ok(()))) => self.failing = false,
            Ok(Some(Err(e))) => {
                self.metrics.incidents.state_error("alerts");
                if !self.failing {
                    tracing::error!(dir = %self.dir.display(), error = %e, "cannot write the alert state to state_dir; alerting goes on");
                }
                self.failing = true;
            }
            Err(e) => {
                self.metrics.internal_error("alert_engine");
                tracing::error!(error = %e, "queueing notifications failed");
            }
        }
    }
}
