//! The listener's connection budget: at most a fixed number of connections at once, and a
//! flood of idle or half-sent ones cannot lock out a scraper.
//!
//! When the budget is full, a new connection evicts the oldest connection that is not in the
//! middle of a request (still sending its head, or idle between keep-alive requests). A
//! slowloris client is therefore pushed out by the next real request instead of starving
//! it; only when every connection is busy serving is the new one closed at once. The budget
//! is far below the process's file limit, so a flood on the listener never starves the
//! probes of sockets (which would be reported as a false outage, issue 15).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

use tokio::task::AbortHandle;
use tokio::time::Instant;

pub struct Conns {
    cap: usize,
    inner: Mutex<Inner>,
}

#[derive(Default)]
struct Inner {
    next: u64,
    live: HashMap<u64, Entry>,
}

struct Entry {
    /// In the middle of a request: not evicted.
    busy: bool,
    /// When it last became evictable (accepted, or finished a response).
    since: Instant,
    task: Option<AbortHandle>,
}

/// One admitted connection; dropping it frees the place.
pub struct Slot {
    id: u64,
    conns: Arc<Conns>,
}

impl Conns {
    pub fn new(cap: usize) -> Arc<Conns> {
        Arc::new(Conns {
            cap: cap.max(1),
            inner: Mutex::default(),
        })
    }

    /// The map is consistent after any panic (single inserts and removes), so a poisoned
    /// lock is taken over.
    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| {
            self.inner.clear_poison();
            p.into_inner()
        })
    }

    /// A place for a new connection, evicting the oldest idle one if the budget is full;
    /// `None` when every connection is busy serving.
    pub fn admit(self: &Arc<Self>) -> Option<Slot> {
        let mut g = self.lock();
        if g.live.len() >= self.cap {
            let oldest = g
                .live
                .iter()
                .filter(|(_, e)| !e.busy)
                .min_by_key(|(_, e)| e.since)
                .map(|(id, _)| *id)?;
            if let Some(e) = g.live.remove(&oldest) {
                if let Some(t) = e.task {
                    t.abort();
                }
            }
        }
        g.next += 1;
        let id = g.next;
        g.live.insert(
            id,
            Entry {
                busy: false,
                since: Instant::now(),
                task: None,
            },
        );
        Some(Slot {
            id,
            conns: self.clone(),
        })
    }

    pub fn len(&self) -> usize {
        self.lock().live.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn cap(&self) -> usize {
        self.cap
    }
}

impl Slot {
    /// Names the task serving this connection, so an eviction can end it.
    pub fn attach(&self, task: AbortHandle) {
        if let Some(e) = self.conns.lock().live.get_mut(&self.id) {
            e.task = Some(task);
        }
    }

    /// Marks the connection as serving a request (`true`) or idle again (`false`).
    pub fn busy(&self, busy: bool) {
        if let Some(e) = self.conns.lock().live.get_mut(&self.id) {
            e.busy = busy;
            e.since = Instant::now();
        }
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        self.conns.lock().live.remove(&self.id);
    }
}

/// The connection budget for this process: [`MAX_LISTENER_CONNECTIONS`], or a quarter of the
/// open-file limit when that is lower (the rest is for probes).
///
/// [`MAX_LISTENER_CONNECTIONS`]: crate::limits::MAX_LISTENER_CONNECTIONS
pub fn budget() -> usize {
    let quarter = nofile_limit().map_or(usize::MAX, |n| (n / 4) as usize);
    crate::limits::MAX_LISTENER_CONNECTIONS.min(quarter).max(16)
}

/// The soft open-file limit, if it can be read.
pub fn nofile_limit() -> Option<u64> {
    let mut r = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit writes into the struct we own; no other memory is touched.
    let ok = unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut r) } == 0;
    ok.then_some(r.rlim_cur)
}

/// Raises the soft open-file limit towards [`DESIRED_NOFILE`] (never past the hard limit);
/// returns the limit now in force.
///
/// [`DESIRED_NOFILE`]: crate::limits::DESIRED_NOFILE
pub fn raise_nofile() -> Option<u64> {
    let mut r = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: as above; setrlimit only reads the struct.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut r) != 0 {
            return None;
        }
        let want = crate::limits::DESIRED_NOFILE.min(r.rlim_max);
        if r.rlim_cur < want {
            let new = libc::rlimit {
                rlim_cur: want,
                rlim_max: r.rlim_max,
            };
            if libc::setrlimit(libc::RLIMIT_NOFILE, &new) == 0 {
                return Some(want);
            }
        }
    }
    Some(r.rlim_cur)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_full_budget_evicts_the_oldest_idle_connection_not_a_busy_one() {
        let c = Conns::new(2);
        let a = c.admit().unwrap();
        let b = c.admit().unwrap();
        a.busy(true);
        let task = tokio::spawn(std::future::pending::<()>());
        b.attach(task.abort_handle());
        let third = c.admit().expect("b is idle and makes room");
        assert_eq!(c.len(), 2);
        assert!(task.await.unwrap_err().is_cancelled(), "b's task was ended");
        third.busy(true);
        assert!(c.admit().is_none(), "every connection busy: refused");
        drop(a);
        assert!(c.admit().is_some(), "a freed its place");
        drop(b);
    }
}
