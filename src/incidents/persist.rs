//! `state_dir/incidents.json`: open and recent closed incidents, replaced atomically.
//!
//! Incidents change rarely (an open, a change, a close), so the whole book is rewritten each
//! time: written to a temporary file, fsynced, renamed over the old one, and the directory
//! fsynced, so a crash leaves either the old or the new file, never half of one. Writing
//! happens on a thread of its own: the probing task that published the round never waits
//! for a disk. A state_dir that cannot be written is logged (once per outage of the disk)
//! and counted (`payprobe_state_dir_errors_total{what="incidents"}`); incidents go on in
//! memory.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::Incident;
use crate::metrics::Metrics;

const FILE: &str = "incidents.json";

#[derive(Default, Serialize, Deserialize)]
pub struct Loaded {
    #[serde(default)]
    pub open: Vec<Incident>,
    #[serde(default)]
    pub closed: Vec<Incident>,
}

#[derive(Serialize)]
struct Saved<'a> {
    version: u32,
    open: &'a [&'a Incident],
    closed: &'a [&'a Incident],
}

pub struct Persister {
    tx: Option<mpsc::Sender<Vec<u8>>>,
}

impl Persister {
    /// Reads what the file holds and starts the writer thread.
    pub fn open(dir: &Path, metrics: Arc<Metrics>) -> (Persister, Loaded) {
        let path = dir.join(FILE);
        let loaded = load(&path);
        let (tx, rx) = mpsc::channel::<Vec<u8>>();
        let dir = dir.to_path_buf();
        let spawned = std::thread::Builder::new()
            .name("payprobe-incidents".into())
            .spawn(move || writer(dir, rx, metrics, RETRY));
        let tx = match spawned {
            Ok(_) => Some(tx),
            Err(e) => {
                tracing::error!(error = %e, "cannot start the incident writer; incidents are kept in memory only");
                None
            }
        };
        (Persister { tx }, loaded)
    }

    pub fn save(&self, open: &[&Incident], closed: &[&Incident]) {
        let Some(tx) = &self.tx else { return };
        let saved = Saved {
            version: 1,
            open,
            closed,
        };
        if let Ok(bytes) = serde_json::to_vec(&saved) {
            let _ = tx.send(bytes);
        }
    }
}

fn load(path: &Path) -> Loaded {
    let bytes = match std::fs::read(path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Loaded::default(),
        Err(e) => {
            tracing::error!(path = %path.display(), error = %e, "cannot read the incidents file; starting without the earlier incidents");
            return Loaded::default();
        }
    };
    match serde_json::from_slice::<Loaded>(&bytes) {
        Ok(l) => {
            tracing::info!(path = %path.display(), open = l.open.len(), closed = l.closed.len(), "incidents restored");
            l
        }
        Err(e) => {
            let aside = path.with_extension("json.bad");
            let _ = std::fs::rename(path, &aside);
            tracing::error!(path = %path.display(), error = %e, moved_to = %aside.display(), "incidents file is not valid; set aside, starting without the earlier incidents");
            Loaded::default()
        }
    }
}

/// How often a book that could not be written is tried again when nothing newer comes.
const RETRY: std::time::Duration = std::time::Duration::from_secs(5);

/// Writes the newest book; one that failed (a full or read-only disk) is kept and tried
/// again every [`RETRY`] even if no incident changes, so the file catches up once the disk
/// works. Ends when the daemon drops its sender, after a last try.
fn writer(
    dir: PathBuf,
    rx: mpsc::Receiver<Vec<u8>>,
    metrics: Arc<Metrics>,
    retry: std::time::Duration,
) {
    let mut failing = false;
    let mut pending: Option<Vec<u8>> = None;
    loop {
        let next = match pending {
            Some(_) => rx.recv_timeout(retry),
            None => rx.recv().map_err(|_| mpsc::RecvTimeoutError::Disconnected),
        };
        let last = match next {
            Ok(bytes) => {
                pending = Some(bytes);
                false
            }
            Err(mpsc::RecvTimeoutError::Timeout) => false,
            Err(mpsc::RecvTimeoutError::Disconnected) => true,
        };
        // Only the newest book matters.
        while let Ok(newer) = rx.try_recv() {
            pending = Some(newer);
        }
        let Some(bytes) = pending.take() else {
            return;
        };
        match write_atomic(&dir, FILE, &bytes) {
            Ok(()) if failing => {
                failing = false;
                tracing::info!(dir = %dir.display(), "incidents are written to state_dir again");
            }
            Ok(()) => {}
            Err(e) => {
                metrics.incidents.state_error("incidents");
                if !failing {
                    tracing::error!(dir = %dir.display(), error = %e, "cannot write incidents to state_dir; they are kept in memory and written when it works again");
                }
                failing = true;
                pending = Some(bytes);
            }
        }
        if last {
            return;
        }
    }
}

/// Writes `name` in `dir` through a temporary file, fsync and rename.
pub(crate) fn write_atomic(dir: &Path, name: &str, bytes: &[u8]) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    // Unique per process and call: two daemons sharing a state_dir never share a temp file.
    static SEQ: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let seq = SEQ.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let tmp = dir.join(format!(".{name}.{}.{seq}.tmp", std::process::id()));
    let result = (|| {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        std::fs::rename(&tmp, dir.join(name))?;
        std::fs::File::open(dir)?.sync_all()
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A state_dir that cannot be created (its parent is a regular file: root ignores
    /// permissions) until the test removes the file.
    #[test]
    fn a_failed_write_is_retried_without_a_new_change() {
        let base = std::env::temp_dir().join(format!("payprobe-persist-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&base);
        std::fs::create_dir_all(&base).unwrap_or_else(|e| panic!("{e}"));
        let blocker = base.join("state");
        std::fs::write(&blocker, b"not a directory").unwrap_or_else(|e| panic!("{e}"));
        let dir = blocker.join("inner");
        let metrics = Arc::new(Metrics::new().unwrap_or_else(|e| panic!("{e}")));
        let (tx, rx) = mpsc::channel();
        let d = dir.clone();
        let w = std::thread::spawn(move || {
            writer(d, rx, metrics, std::time::Duration::from_millis(20))
        });
        tx.send(b"{\"version\":1}".to_vec())
            .unwrap_or_else(|e| panic!("{e}"));
        std::thread::sleep(std::time::Duration::from_millis(100));
        assert!(!dir.join(FILE).exists());
        std::fs::remove_file(&blocker).unwrap_or_else(|e| panic!("{e}"));
        let mut written = false;
        for _ in 0..250 {
            if dir.join(FILE).exists() {
                written = true;
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        drop(tx);
        let _ = w.join();
        let _ = std::fs::remove_dir_all(&base);
        assert!(written, "the pending book was written once the disk worked");
    }
}
