//! A durable outbox per sink: `state_dir/outbox/<sink>.log`.
//!
//! Each record is framed as `len: u32 LE | crc32(payload): u32 LE | payload (JSON)`, where
//! the payload is a `Put` (a notification to deliver) or a `Done` (its key, delivered or
//! dropped). A `Put` is written and fsynced before delivery is tried, so a notification
//! survives `kill -9` once [`Outbox::push`] returned. Reading stops at the first record whose
//! length runs past the end or whose checksum does not match (a torn write of the last
//! record): that tail is logged and cut off, never a crash. When enough records are `Done`
//! the file is rewritten with the pending ones only (through a temporary file and rename).
//!
//! When state_dir cannot be written (unwritable, full, not a directory) the outbox logs it
//! once, counts it (`payprobe_state_dir_errors_total{what="outbox"}`) and keeps pending
//! notifications in memory, bounded by `queue_limit` (the oldest is dropped, counted); it
//! tries the disk again at the next notification.

use std::collections::VecDeque;
use std::fs::{File, OpenOptions};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::notification::Notification;
use crate::metrics::Metrics;

use crate::limits::OUTBOX_COMPACT_AFTER as COMPACT_AFTER;

#[derive(Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
enum Record {
    Put { n: Notification },
    Done { key: String },
}

pub struct Outbox {
    sink: String,
    path: PathBuf,
    file: Option<File>,
    pending: VecDeque<Notification>,
    /// Records in the file that are no longer pending (`Done`s and what they cancel).
    dead: usize,
    /// The disk failed and has not worked since (logged once per outage).
    failing: bool,
    limit: usize,
    metrics: Arc<Metrics>,
}

fn frame(r: &Record) -> Vec<u8> {
    crate::durable::frame(&serde_json::to_vec(r).unwrap_or_default())
}

/// The records of `bytes` up to the first torn or corrupt one, and where that one starts.
fn parse(bytes: &[u8]) -> (Vec<Record>, usize) {
    let (frames, mut good) = crate::durable::parse_frames(bytes);
    let mut out = Vec::with_capacity(frames.len());
    let mut at = 0;
    for payload in frames {
        match serde_json::from_slice::<Record>(payload) {
            Ok(r) => out.push(r),
            Err(_) => {
                good = at;
                break;
            }
        }
        at += 8 + payload.len();
    }
    (out, good)
}

impl Outbox {
    /// Opens (or creates) the sink's outbox and loads what is still pending.
    pub fn open(dir: &Path, sink: &str, limit: usize, metrics: Arc<Metrics>) -> Outbox {
        let path = dir.join("outbox").join(format!("{sink}.log"));
        let mut ob = Outbox {
            sink: sink.to_string(),
            path,
            file: None,
            pending: VecDeque::new(),
            dead: 0,
            failing: false,
            limit: limit.max(1),
            metrics,
        };
        ob.load();
        ob
    }

    fn load(&mut self) {
        let mut bytes = Vec::new();
        match File::open(&self.path).and_then(|mut f| f.read_to_end(&mut bytes)) {
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => {
                tracing::error!(sink = %self.sink, path = %self.path.display(), error = %e, "cannot read the outbox; starting with an empty one")
            }
        }
        let (records, good) = parse(&bytes);
        if good < bytes.len() {
            tracing::warn!(sink = %self.sink, path = %self.path.display(), skipped_bytes = bytes.len() - good, "outbox ends in a torn or corrupt record (a crash mid-write); it is skipped");
            self.metrics.incidents.state_error("outbox_torn");
        }
        let total = records.len();
        for r in records {
            match r {
                Record::Put { n } => self.pending.push_back(n),
                Record::Done { key } => self.pending.retain(|n| n.key != key),
            }
        }
        // A smaller queue_limit than the file was written under applies at once.
        self.trim();
        self.dead = total - self.pending.len();
        if !self.pending.is_empty() {
            tracing::info!(sink = %self.sink, pending = self.pending.len(), "outbox restored; delivering what was not delivered before");
        }
        // Rewrite at once: drops the torn tail and the delivered records.
        self.compact();
    }

    fn disk_failed(&mut self, e: &std::io::Error) {
        if !self.failing {
            tracing::error!(sink = %self.sink, path = %self.path.display(), error = %e, "cannot write the outbox; notifications wait in memory (bounded) until it works again");
        }
        self.failing = true;
        self.file = None;
        self.metrics.incidents.state_error("outbox");
    }

    /// Rewrites the file with the pending notifications only.
    fn compact(&mut self) {
        let dir = self.path.parent().unwrap_or(Path::new("."));
        let name = self
            .path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or("outbox.log");
        let mut bytes = Vec::new();
        for n in &self.pending {
            bytes.extend(frame(&Record::Put { n: n.clone() }));
        }
        let result = crate::durable::write_atomic(dir, name, &bytes)
            .and_then(|()| OpenOptions::new().append(true).open(&self.path));
        match result {
            Ok(f) => {
                if self.failing {
                    tracing::info!(sink = %self.sink, path = %self.path.display(), pending = self.pending.len(), "the outbox is written to disk again");
                }
                self.failing = false;
                self.file = Some(f);
                self.dead = 0;
            }
            Err(e) => self.disk_failed(&e),
        }
    }

    fn append(&mut self, r: &Record) -> std::io::Result<()> {
        let f = self
            .file
            .as_mut()
            .ok_or_else(|| std::io::Error::other("outbox not open"))?;
        f.write_all(&frame(r))?;
        f.sync_data()
    }

    /// Queues a notification; it is on disk (fsynced) when this returns, unless the disk
    /// failed (then it waits in memory). False when the same transition is queued already.
    pub fn push(&mut self, n: Notification) -> bool {
        if self.pending.iter().any(|p| p.key == n.key) {
            return false;
        }
        self.pending.push_back(n.clone());
        let dropped = self.trim();
        if self.file.is_none() {
            self.compact(); // retry the disk, writing everything pending
            return true;
        }
        // The dropped ones are marked done on disk too, or a restart would bring them back.
        let records = std::iter::once(Record::Put { n })
            .chain(dropped.into_iter().map(|key| Record::Done { key }));
        for r in records {
            if let Err(e) = self.append(&r) {
                self.disk_failed(&e);
                return true;
            }
            if matches!(r, Record::Done { .. }) {
                self.dead += 2; // the Done and the Put it cancels
            }
        }
        true
    }

    /// Drops the oldest notifications beyond `queue_limit`, counted and said; returns their
    /// keys.
    fn trim(&mut self) -> Vec<String> {
        let mut dropped = Vec::new();
        while self.pending.len() > self.limit {
            let Some(old) = self.pending.pop_front() else {
                break;
            };
            tracing::error!(sink = %self.sink, key = %old.key, "outbox full: the oldest notification is dropped");
            self.metrics.incidents.notification(&self.sink, "dropped");
            dropped.push(old.key);
        }
        dropped
    }

    pub fn front(&self) -> Option<&Notification> {
        self.pending.front()
    }

    /// The pending notifications, oldest first.
    pub fn pending(&self) -> impl Iterator<Item = &Notification> {
        self.pending.iter()
    }

    /// The notification with `key` is delivered (or dropped): it leaves the outbox.
    pub fn done(&mut self, key: &str) {
        self.pending.retain(|n| n.key != key);
        if self.file.is_some() {
            if let Err(e) = self.append(&Record::Done {
                key: key.to_string(),
            }) {
                self.disk_failed(&e);
                return;
            }
            self.dead += 2;
            if self.dead > COMPACT_AFTER {
                self.compact();
            }
        }
    }

    pub fn len(&self) -> usize {
        self.pending.len()
    }

    pub fn is_empty(&self) -> bool {
        self.pending.is_empty()
    }

    /// Whether notifications are kept on disk now (false: in memory only).
    pub fn durable(&self) -> bool {
        self.file.is_some()
    }

    pub fn oldest_created_ms(&self) -> Option<u64> {
        self.pending.iter().map(|n| n.created_ms).min()
    }
}

#[cfg(test)]
mod tests;
