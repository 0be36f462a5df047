//! One raw ICMP socket per address family, shared by every ping probe.
//!
//! A raw ICMP socket receives *every* ICMP packet the host gets. One socket per probe would
//! hand each reply to every probe in flight: at thousands of pinged targets, millions of
//! wasted wake-ups a second. Here a single receiver task reads each reply once and passes it
//! to the probe waiting for that (address, identifier, sequence).

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use socket2::{Domain, Protocol, Socket, Type};
use tokio::net::UdpSocket;
use tokio::sync::oneshot;
use tokio::time::Instant;

type Key = (IpAddr, u16, u16);
type Waiters = Arc<Mutex<HashMap<Key, oneshot::Sender<Instant>>>>;

pub struct RawIcmp {
    sock: Arc<UdpSocket>,
    waiting: Waiters,
    receiver: tokio::task::JoinHandle<()>,
}

impl Drop for RawIcmp {
    fn drop(&mut self) {
        self.receiver.abort();
    }
}

impl RawIcmp {
    /// Opens the raw socket (CAP_NET_RAW needed) and starts its receiver on the current
    /// runtime; `None` when this process may not.
    pub fn open(v6: bool) -> Option<RawIcmp> {
        let (domain, proto) = if v6 {
            (Domain::IPV6, Protocol::ICMPV6)
        } else {
            (Domain::IPV4, Protocol::ICMPV4)
        };
        let s = Socket::new(domain, Type::RAW, Some(proto)).ok()?;
        s.set_nonblocking(true).ok()?;
        let std_sock: std::net::UdpSocket = s.into();
        let sock = Arc::new(UdpSocket::from_std(std_sock).ok()?);
        let waiting: Waiters = Arc::default();
        let receiver = tokio::spawn(receive(sock.clone(), waiting.clone(), v6));
        Some(RawIcmp {
            sock,
            waiting,
            receiver,
        })
    }

    /// Sends one echo request and waits up to `timeout` for its reply; the RTT, or `None`.
    /// `Err` when the local stack refused to send it.
    pub async fn ping(
        &self,
        ip: IpAddr,
        id: u16,
        seq: u16,
        timeout: Duration,
    ) -> Result<Option<Duration>, ()> {
        let (tx, rx) = oneshot::channel();
        let key = (ip, id, seq);
        lock(&self.waiting).insert(key, tx);
        // Removes the waiter however this future ends: on its own timeout, or dropped when
        // the probe's deadline cancels it (before, such waiters stayed in the map forever).
        let _waiter = Waiter {
            waiting: &self.waiting,
            key,
        };
        let pkt = super::ping::echo_request(ip, id, seq);
        let sent = Instant::now();
        if self
            .sock
            .send_to(&pkt, SocketAddr::new(ip, 0))
            .await
            .is_err()
        {
            return Err(());
        }
        let got = tokio::time::timeout(timeout, rx).await;
        Ok(match got {
            Ok(Ok(at)) => Some(at.saturating_duration_since(sent)),
            _ => None,
        })
    }

    /// Probes waiting for a reply (for tests of the cancellation path).
    #[cfg(test)]
    fn waiting(&self) -> usize {
        lock(&self.waiting).len()
    }
}

struct Waiter<'a> {
    waiting: &'a Waiters,
    key: Key,
}

impl Drop for Waiter<'_> {
    fn drop(&mut self) {
        lock(self.waiting).remove(&self.key);
    }
}

/// The waiter map stays consistent even if a holder panicked (each operation is a single
/// insert or remove), so a poisoned lock is taken over, and said, instead of silently
/// dropping every later reply.
fn lock(w: &Waiters) -> std::sync::MutexGuard<'_, HashMap<Key, oneshot::Sender<Instant>>> {
    crate::sync::lock(w, "icmp_waiters")
}

async fn receive(sock: Arc<UdpSocket>, waiting: Waiters, v6: bool) {
    let mut buf = [0u8; 1500];
    let mut errors = 0u64;
    loop {
        let (len, from) = match sock.recv_from(&mut buf).await {
            Ok(r) => r,
            Err(e) => {
                // Said once, then every 1,000th time: a failing socket must neither spin
                // the runtime nor flood the log, nor fail silently (every ping would look
                // lost).
                if errors % crate::limits::REPEATED_ERROR_LOG_EVERY == 0 {
                    tracing::error!(error = %e, errors = errors + 1, v6, "raw ICMP receive failed; pings over this socket will look lost");
                }
                errors += 1;
                tokio::time::sleep(crate::limits::ICMP_RECEIVE_ERROR_BACKOFF).await;
                continue;
            }
        };
        let at = Instant::now();
        let Some((id, seq)) = super::ping::echo_reply_id_seq(&buf[..len], v6, true) else {
            continue;
        };
        let tx = lock(&waiting).remove(&(from.ip(), id, seq));
        if let Some(tx) = tx {
            let _ = tx.send(at);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::future::Future;

    /// A ping cancelled mid-wait (the probe's deadline) leaves no waiter behind.
    #[tokio::test]
    async fn a_cancelled_ping_leaves_no_waiter() {
        let Some(raw) = RawIcmp::open(false) else {
            eprintln!("skipped: no CAP_NET_RAW");
            return;
        };
        let ip: IpAddr = "127.0.0.1".parse().unwrap();
        let mut ping = Box::pin(raw.ping(ip, 77, 1, Duration::from_secs(10)));
        // One poll: the waiter is registered and the request sent. On this single-threaded
        // runtime the receiver task cannot run in between, so the ping is now waiting.
        let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
        assert!(ping.as_mut().poll(&mut cx).is_pending());
        assert_eq!(raw.waiting(), 1, "the ping waits for its reply");
        drop(ping);
        assert_eq!(raw.waiting(), 0, "the cancelled ping's waiter is gone");
    }
}
