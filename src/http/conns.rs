//! The listener's connection budget: at most a fixed number of connections at once, and a
//! flood of idle or half-sent ones cannot lock out a scraper.
//!
//! When the budget is full, a new connection evicts the oldest connection that has failed to
//! send a request: one still dribbling its head, or idle between keep-alive requests. A
//! connection that has sent its whole head is never evicted, even before its task has read
//! it (under load a real request can wait in the socket's buffer while a flood of slowloris
//! connections arrives: evicting by age alone reset 22 of 43 `/healthz` requests, issue 20).
//! What a connection has sent but nobody has read yet is looked at with a non-blocking
//! `MSG_PEEK`. Only when no connection can be evicted is the new one closed at once. The budget
//! is far below the process's file limit, so a flood on the listener never starves the
//! probes of sockets (which would be reported as a false outage, issue 15).

use std::collections::HashMap;
use std::os::fd::RawFd;
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
    /// The socket, to see whether a whole request head waits in it.
    fd: Option<RawFd>,
}

/// Whether a whole request head (or, on a TLS listener, a whole TLS record) waits unread in
/// the socket `fd`. A look only: `MSG_PEEK | MSG_DONTWAIT` neither consumes nor blocks. The
/// number may name a socket that closed a moment ago (its slot is removed just after); the
/// worst that does is one wrong guess about which idle connection goes first.
fn head_waiting(fd: RawFd) -> bool {
    let mut buf = [0u8; crate::limits::MAX_REQUEST_HEAD_BYTES];
    // SAFETY: recv writes at most `buf.len()` bytes into the buffer we own.
    let n = unsafe {
        libc::recv(
            fd,
            buf.as_mut_ptr().cast(),
            buf.len(),
            libc::MSG_PEEK | libc::MSG_DONTWAIT,
        )
    };
    let Some(got) = usize::try_from(n).ok().and_then(|n| buf.get(..n)) else {
        return false;
    };
    if got.first() == Some(&0x16) && got.len() >= 5 {
        let record = 5 + usize::from(u16::from_be_bytes([got[3], got[4]]));
        return got.len() >= record;
    }
    got.windows(4).any(|w| w == b"\r\n\r\n")
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
        crate::sync::lock(&self.inner, "connections")
    }

    /// A place for a new connection, evicting the oldest idle one if the budget is full;
    /// `None` when every connection is busy serving.
    pub fn admit(self: &Arc<Self>) -> Option<Slot> {
        let mut g = self.lock();
        if g.live.len() >= self.cap {
            let mut idle: Vec<(Instant, u64, Option<RawFd>)> = g
                .live
                .iter()
                .filter(|(_, e)| !e.busy)
                .map(|(id, e)| (e.since, *id, e.fd))
                .collect();
            idle.sort_unstable();
            let oldest = idle
                .iter()
                .find(|(_, _, fd)| !fd.is_some_and(head_waiting))
                .map(|(_, id, _)| *id)?;
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
                fd: None,
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
    /// Names the task serving this connection, so an eviction can end it, and its socket,
    /// so an eviction can see whether a request waits in it.
    pub fn attach(&self, task: AbortHandle, fd: Option<RawFd>) {
        if let Some(e) = self.conns.lock().live.get_mut(&self.id) {
            e.task = Some(task);
            e.fd = fd;
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
    crate::limits::MAX_LISTENER_CONNECTIONS
        .min(quarter)
        .max(crate::limits::MIN_LISTENER_CONNECTIONS)
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
        b.attach(task.abort_handle(), None);
        let third = c.admit().expect("b is idle and makes room");
        assert_eq!(c.len(), 2);
        assert!(task.await.unwrap_err().is_cancelled(), "b's task was ended");
        third.busy(true);
        assert!(c.admit().is_none(), "every connection busy: refused");
        drop(a);
        assert!(c.admit().is_some(), "a freed its place");
        drop(b);
    }

    /// Real sockets: the older connection has sent a whole head its task has not read yet,
    /// the newer one dribbles half a head. The newcomer evicts the dribbler.
    #[tokio::test]
    async fn a_connection_whose_head_waits_unread_is_never_evicted() {
        use std::io::Write;
        use std::os::fd::AsRawFd;
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = l.local_addr().unwrap();
        let mut real = std::net::TcpStream::connect(addr).unwrap();
        let (real_srv, _) = l.accept().unwrap();
        let mut slow = std::net::TcpStream::connect(addr).unwrap();
        let (slow_srv, _) = l.accept().unwrap();
        real.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
            .unwrap();
        slow.write_all(b"GET /metrics HTTP/1.1\r\nHost:").unwrap();
        std::thread::sleep(std::time::Duration::from_millis(50)); // the bytes arrive
        assert!(head_waiting(real_srv.as_raw_fd()));
        assert!(!head_waiting(slow_srv.as_raw_fd()));
        let c = Conns::new(2);
        let (a, b) = (c.admit().unwrap(), c.admit().unwrap());
        let (ta, tb) = (
            tokio::spawn(std::future::pending::<()>()),
            tokio::spawn(std::future::pending::<()>()),
        );
        a.attach(ta.abort_handle(), Some(real_srv.as_raw_fd()));
        b.attach(tb.abort_handle(), Some(slow_srv.as_raw_fd()));
        let newcomer = c.admit().expect("the dribbler makes room");
        assert!(tb.await.unwrap_err().is_cancelled(), "the slowloris went");
        assert!(!ta.is_finished(), "the waiting request stays");
        newcomer.busy(true);
        assert!(
            c.admit().is_none(),
            "one busy, one with its head waiting: none evicted"
        );
        drop((a, b));
    }
}
