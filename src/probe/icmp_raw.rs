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
        if let Ok(mut w) = self.waiting.lock() {
            w.insert(key, tx);
        }
        let pkt = super::ping::echo_request(ip, id, seq);
        let sent = Instant::now();
        if self
            .sock
            .send_to(&pkt, SocketAddr::new(ip, 0))
            .await
            .is_err()
        {
            self.forget(key);
            return Err(());
        }
        let got = tokio::time::timeout(timeout, rx).await;
        self.forget(key);
        Ok(match got {
            Ok(Ok(at)) => Some(at.saturating_duration_since(sent)),
            _ => None,
        })
    }

    fn forget(&self, key: Key) {
        if let Ok(mut w) = self.waiting.lock() {
            w.remove(&key);
        }
    }
}

async fn receive(sock: Arc<UdpSocket>, waiting: Waiters, v6: bool) {
    let mut buf = [0u8; 1500];
    loop {
        let Ok((len, from)) = sock.recv_from(&mut buf).await else {
            // A failing socket must not spin the runtime.
            tokio::time::sleep(Duration::from_millis(10)).await;
            continue;
        };
        let at = Instant::now();
        let Some((id, seq)) = super::ping::echo_reply_id_seq(&buf[..len], v6, true) else {
            continue;
        };
        let tx = waiting
            .lock()
            .ok()
            .and_then(|mut w| w.remove(&(from.ip(), id, seq)));
        if let Some(tx) = tx {
            let _ = tx.send(at);
        }
    }
}
