//! `state_dir/incidents.journal`: the incident events, appended as they happen.
//!
//! Each record is one [`Event`] framed and checksummed as `src/durable.rs` says. The writer
//! thread keeps its own [`Ledger`] fed by the book's events through a bounded queue, appends
//! what arrived in one write and one `fdatasync` per batch, and rewrites the file from its
//! ledger (through a temporary file and rename) once the records that no longer describe
//! anything live outnumber the live ones and [`crate::limits::JOURNAL_DEAD_RECORDS`] (times
//! [`crate::limits::JOURNAL_DEAD_RATIO`]): a
//! mass outage of 10,000 targets costs 10,000 small records, never 10,000 copies of the book
//! (which is what rewriting `incidents.json` per change did: 66 GiB in 95 s). Nothing here
//! runs on a probing task or under the book's lock.
//!
//! A queue that overflows loses no state: the book marks the writer as behind, and the
//! writer rebuilds its ledger from a snapshot and compacts. A torn or corrupt tail (a crash
//! mid-write) is detected by its checksum, logged, counted and cut off at start; every whole
//! event before it is replayed. A state_dir that cannot be written is logged once per
//! outage and counted (`payprobe_state_dir_errors_total{what="incidents"}`); incidents go on
//! in memory, and the whole ledger is written once the disk works again.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc;
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::ledger::{Event, Ledger, Stamped};
use super::Incident;
use crate::output::SelfReport;

pub const FILE: &str = "incidents.journal";
/// Where incidents were kept before the journal; read once to carry them over.
const LEGACY: &str = "incidents.json";

/// How far the writer has got: the number of the last event it wrote (or tried to write:
/// a failing disk must not hold paging back). The alert engine waits on it before it pages
/// on an event, so a notification is never on disk before the incident it is about.
#[derive(Default)]
pub struct Progress {
    settled: AtomicU64,
    moved: tokio::sync::Notify,
}

impl Progress {
    fn settle(&self, seq: u64) {
        self.settled.fetch_max(seq, Ordering::AcqRel);
        self.moved.notify_waiters();
    }

    /// Waits until event `seq` is settled, at most `limit`; `false` when the time ran out.
    pub async fn wait_for(&self, seq: u64, limit: Duration) -> bool {
        let deadline = tokio::time::Instant::now() + limit;
        loop {
            let moved = self.moved.notified();
            tokio::pin!(moved);
            moved.as_mut().enable();
            if self.settled.load(Ordering::Acquire) >= seq {
                return true;
            }
            if tokio::time::timeout_at(deadline, moved).await.is_err() {
                return self.settled.load(Ordering::Acquire) >= seq;
            }
        }
    }
}

/// The book's view of its state, for a writer that fell behind.
pub type Snapshot = Arc<dyn Fn() -> (u64, Ledger) + Send + Sync>;

/// Reads the journal (or the legacy `incidents.json`) into a ledger; never fails.
pub fn load(dir: &Path, metrics: &dyn SelfReport) -> Ledger {
    let path = dir.join(FILE);
    match std::fs::read(&path) {
        Ok(bytes) => replay(&path, &bytes, metrics),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => load_legacy(&dir.join(LEGACY)),
        Err(e) => {
            tracing::error!(path = %path.display(), error = %e, "cannot read the incident journal; starting without the earlier incidents");
            Ledger::default()
        }
    }
}

/// The ledger of every whole event in `bytes`; a torn tail is reported and skipped.
pub fn replay(path: &Path, bytes: &[u8], metrics: &dyn SelfReport) -> Ledger {
    let (frames, mut good) = crate::durable::parse_frames(bytes);
    let mut ledger = Ledger::default();
    let mut at = 0;
    for payload in frames {
        match serde_json::from_slice::<Event>(payload) {
            Ok(e) => ledger.apply(&e),
            Err(_) => {
                good = at;
                break;
            }
        }
        at += 8 + payload.len();
    }
    if good < bytes.len() {
        tracing::warn!(path = %path.display(), skipped_bytes = bytes.len() - good, "incident journal ends in a torn or corrupt record (a crash mid-write); it is skipped");
        metrics.state_error("incidents_torn");
    }
    tracing::info!(path = %path.display(), open = ledger.open.len(), closed = ledger.closed.len(), "incidents restored");
    ledger
}

fn load_legacy(path: &Path) -> Ledger {
    #[derive(serde::Deserialize)]
    struct Legacy {
        #[serde(default)]
        open: Vec<Incident>,
        #[serde(default)]
        closed: Vec<Incident>,
    }
    let bytes = match std::fs::read(path) {
        Ok(b) => b,
        Err(_) => return Ledger::default(),
    };
    match serde_json::from_slice::<Legacy>(&bytes) {
        Ok(l) => {
            let mut ledger = Ledger::default();
            for i in l.closed {
                ledger.apply(&Event::Kept {
                    incident: std::sync::Arc::new(i),
                });
            }
            for i in l.open {
                ledger.apply(&Event::Opened {
                    incident: std::sync::Arc::new(i),
                });
            }
            tracing::info!(path = %path.display(), open = ledger.open.len(), "incidents carried over from incidents.json into the journal");
            let _ = std::fs::rename(path, path.with_extension("json.old"));
            ledger
        }
        Err(e) => {
            let aside = path.with_extension("json.bad");
            let _ = std::fs::rename(path, &aside);
            tracing::error!(path = %path.display(), error = %e, moved_to = %aside.display(), "incidents file is not valid; set aside, starting without the earlier incidents");
            Ledger::default()
        }
    }
}

/// The writer's side: the journal file and its own ledger.
struct Journal {
    dir: PathBuf,
    file: Option<File>,
    ledger: Ledger,
    seq: u64,
    /// Records in the file now; compaction when it reaches twice the live ones.
    records: usize,
    failing: bool,
    metrics: Arc<dyn SelfReport>,
}

fn encode(e: &Event) -> Vec<u8> {
    crate::durable::frame(&serde_json::to_vec(e).unwrap_or_default())
}

impl Journal {
    fn live(&self) -> usize {
        self.ledger.open.len() + self.ledger.closed.len()
    }

    /// Rewrites the file from the ledger and reopens it for appending.
    fn compact(&mut self) -> std::io::Result<()> {
        let mut bytes = Vec::new();
        for e in self.ledger.events() {
            bytes.extend(encode(&e));
        }
        crate::durable::write_atomic(&self.dir, FILE, &bytes)?;
        self.metrics.state_written("incidents", bytes.len());
        self.file = Some(OpenOptions::new().append(true).open(self.dir.join(FILE))?);
        self.records = self.live();
        Ok(())
    }

    fn append(&mut self, batch: &[Arc<Stamped>]) -> std::io::Result<()> {
        let f = self
            .file
            .as_mut()
            .ok_or_else(|| std::io::Error::other("journal not open"))?;
        let mut bytes = Vec::new();
        for s in batch {
            bytes.extend(encode(&s.event));
        }
        f.write_all(&bytes)?;
        self.metrics.state_written("incidents", bytes.len());
        f.sync_data()?;
        self.records += batch.len();
        Ok(())
    }

    /// Takes a batch into the ledger and onto the disk (appended, or compacted).
    fn persist(&mut self, batch: &[Arc<Stamped>]) {
        let dead = (self.records + batch.len()).saturating_sub(self.live());
        let compact = self.file.is_none()
            || dead
                > self.live().max(crate::limits::JOURNAL_DEAD_RECORDS)
                    * crate::limits::JOURNAL_DEAD_RATIO;
        let result = if compact {
            self.compact()
        } else if batch.is_empty() {
            Ok(())
        } else {
            self.append(batch)
        };
        match result {
            Ok(()) if self.failing => {
                self.failing = false;
                tracing::info!(dir = %self.dir.display(), "incidents are written to state_dir again");
            }
            Ok(()) => {}
            Err(e) => {
                self.metrics.state_error("incidents");
                if !self.failing {
                    tracing::error!(dir = %self.dir.display(), error = %e, "cannot write incidents to state_dir; they are kept in memory and written when it works again");
                }
                self.failing = true;
                self.file = None;
            }
        }
    }
}

/// Starts the writer thread with the ledger as loaded; returns the queue's sending side.
pub fn start(
    dir: &Path,
    ledger: Ledger,
    lost: Arc<AtomicBool>,
    snapshot: Snapshot,
    progress: Arc<Progress>,
    metrics: Arc<dyn SelfReport>,
) -> Option<mpsc::SyncSender<Arc<Stamped>>> {
    let (tx, rx) = mpsc::sync_channel(crate::limits::INCIDENT_EVENT_QUEUE);
    let j = Journal {
        dir: dir.to_path_buf(),
        file: None,
        ledger,
        seq: 0,
        records: 0,
        failing: false,
        metrics,
    };
    let spawned = std::thread::Builder::new()
        .name("payprobe-incidents".into())
        .spawn(move || {
            writer(
                j,
                &rx,
                &lost,
                &snapshot,
                &progress,
                crate::limits::JOURNAL_RETRY,
            )
        });
    match spawned {
        Ok(_) => Some(tx),
        Err(e) => {
            tracing::error!(error = %e, "cannot start the incident writer; incidents are kept in memory only");
            None
        }
    }
}

/// The events that arrive within [`crate::limits::JOURNAL_COALESCE`] of the first one,
/// [`crate::limits::JOURNAL_BATCH`] at most.
fn gather(rx: &mpsc::Receiver<Arc<Stamped>>, batch: &mut Vec<Arc<Stamped>>) {
    let until = Instant::now() + crate::limits::JOURNAL_COALESCE;
    while batch.len() < crate::limits::JOURNAL_BATCH {
        let left = until.saturating_duration_since(Instant::now());
        match rx.recv_timeout(left) {
            Ok(s) => batch.push(s),
            Err(_) => break,
        }
    }
}

/// Writes batches until the book is dropped, after a last try.
fn writer(
    mut j: Journal,
    rx: &mpsc::Receiver<Arc<Stamped>>,
    lost: &AtomicBool,
    snapshot: &Snapshot,
    progress: &Progress,
    retry: Duration,
) {
    j.persist(&[]); // the loaded ledger, compacted: drops a torn tail at once
    loop {
        let mut batch = Vec::new();
        let first = if j.failing {
            rx.recv_timeout(retry)
        } else {
            rx.recv().map_err(|_| mpsc::RecvTimeoutError::Disconnected)
        };
        let last = match first {
            Ok(s) => {
                batch.push(s);
                false
            }
            Err(mpsc::RecvTimeoutError::Timeout) => false,
            Err(mpsc::RecvTimeoutError::Disconnected) => true,
        };
        if !last && !batch.is_empty() {
            gather(rx, &mut batch);
        }
        if lost.swap(false, Ordering::AcqRel) {
            let (seq, ledger) = snapshot();
            tracing::warn!(
                open = ledger.open.len(),
                "the incident writer fell behind; rebuilt from the book"
            );
            (j.seq, j.ledger) = (seq, ledger);
            j.file = None; // compact from the rebuilt ledger
        }
        batch.retain(|s| s.seq > j.seq);
        for s in &batch {
            j.ledger.apply(&s.event);
            j.seq = s.seq;
        }
        j.persist(&batch);
        progress.settle(j.seq);
        if last {
            return;
        }
    }
}

#[cfg(test)]
mod tests;
