//! The `ping` check: a burst of echo requests giving loss and RTT statistics.
//!
//! Three methods, tried in this order, and always named in the evidence:
//! 1. `icmp_dgram` — an unprivileged ICMP datagram socket, where `net.ipv4.ping_group_range`
//!    lets this process's group use one (the kernel matches replies for us);
//! 2. `icmp_raw` — a raw ICMP socket, with CAP_NET_RAW (root or a granted capability);
//! 3. `tcp` — a TCP connect to the target's port: a SYN answered by SYN-ACK *or* RST is a
//!    reply, so it measures the same round trip without any privilege.
//!
//! `method = "tcp"` forces the last one (useful where ICMP is filtered but the port is not).

use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicU16, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use serde::Serialize;
use socket2::{Domain, Protocol, Socket, Type};
use tokio::net::UdpSocket;
use tokio::time::{timeout_at, Instant};

use super::icmp_raw::RawIcmp;
use super::resolve::Resolvers;
use super::{conn, Evidence, Failure, FailureKind, Gateway, Phase, Prober, Recorder};
use crate::config::{Check, PingMethod, PingSpec, Target};

/// How a ping was sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Method {
    IcmpDgram,
    IcmpRaw,
    Tcp,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PingEvidence {
    pub method: Method,
    pub address: IpAddr,
    /// The TCP port for `tcp` pings.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub port: Option<u16>,
    pub sent: u32,
    pub received: u32,
    /// Echo requests the local stack refused to send (a local firewall, no route); they
    /// count as sent and lost.
    #[serde(skip_serializing_if = "is_zero")]
    pub send_errors: u32,
    pub loss_ratio: f64,
    /// Round-trip statistics in seconds over the replies (absent when none came).
    pub rtt_min: Option<f64>,
    pub rtt_avg: Option<f64>,
    pub rtt_max: Option<f64>,
    pub rtt_stddev: Option<f64>,
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

/// Round-trip times of a burst (`None` = lost) and how many sends the local stack refused.
struct Burst {
    rtts: Vec<Option<Duration>>,
    send_errors: u32,
}

/// The shared raw sockets, opened on first use (`None` inside: not permitted).
#[derive(Default)]
struct RawSockets {
    v4: OnceLock<Option<RawIcmp>>,
    v6: OnceLock<Option<RawIcmp>>,
}

impl RawSockets {
    fn get(&self, ip: IpAddr) -> Option<&RawIcmp> {
        let (cell, v6) = match ip {
            IpAddr::V4(_) => (&self.v4, false),
            IpAddr::V6(_) => (&self.v6, true),
        };
        cell.get_or_init(|| RawIcmp::open(v6)).as_ref()
    }
}

#[derive(Clone)]
pub struct PingProber {
    resolvers: Arc<Resolvers>,
    raw: Arc<RawSockets>,
}

impl PingProber {
    pub fn new(resolvers: Arc<Resolvers>) -> Self {
        PingProber {
            resolvers,
            raw: Arc::default(),
        }
    }
}

impl Prober for PingProber {
    type Spec<'t> = &'t PingSpec;

    fn check(&self) -> Check {
        Check::Ping
    }

    fn spec(t: &Target) -> &PingSpec {
        &t.ping
    }

    async fn probe<'a>(
        &'a self,
        gw: Gateway<'a>,
        spec: &'a PingSpec,
        deadline: Instant,
    ) -> Evidence {
        let mut rec = Recorder::new(gw.name, Check::Ping);
        let steps = async {
            let addrs = conn::resolve(&mut rec, &self.resolvers, gw.host, gw.ip, gw.dns).await?;
            let ip = *addrs.first().ok_or_else(|| {
                Failure::new(
                    Phase::Dns,
                    FailureKind::DnsNoAddresses,
                    format!("{} resolved to no address", gw.host),
                )
            })?;
            let tcp_port = spec.port.unwrap_or(gw.port);
            let icmp = spec.method == PingMethod::Auto;
            let (method, burst) = match icmp.then(|| dgram_socket(ip)).flatten() {
                Some(sock) => (Method::IcmpDgram, dgram_burst(&sock, ip, spec).await),
                None => match self.raw.get(ip).filter(|_| icmp) {
                    Some(raw) => (Method::IcmpRaw, raw_burst(raw, ip, spec).await),
                    None => (
                        Method::Tcp,
                        tcp_burst(SocketAddr::new(ip, tcp_port), spec).await,
                    ),
                },
            };
            rec.ev.ping = Some(stats(method, ip, tcp_port, &burst));
            Ok(())
        };
        let outcome = timeout_at(deadline, steps).await;
        rec.finish(outcome)
    }
}

/// How the evidence names a method ("3 of 5 ICMP pings lost").
pub fn method_name(m: Method) -> &'static str {
    match m {
        Method::IcmpDgram | Method::IcmpRaw => "ICMP",
        Method::Tcp => "TCP",
    }
}
/// Opens an unprivileged ICMP datagram socket, where the kernel allows this process one
/// (`net.ipv4.ping_group_range`). The kernel matches replies to it by identifier.
fn dgram_socket(ip: IpAddr) -> Option<UdpSocket> {
    let (domain, proto) = match ip {
        IpAddr::V4(_) => (Domain::IPV4, Protocol::ICMPV4),
        IpAddr::V6(_) => (Domain::IPV6, Protocol::ICMPV6),
    };
    let sock = Socket::new(domain, Type::DGRAM, Some(proto)).ok()?;
    sock.set_nonblocking(true).ok()?;
    // An ICMP socket is a datagram socket: tokio's UdpSocket drives its send/recv safely.
    let std_sock: std::net::UdpSocket = sock.into();
    UdpSocket::from_std(std_sock).ok()
}

/// Identifiers for raw pings: unique among the probes in flight, so the shared raw socket
/// can tell whose reply is whose.
static NEXT_ID: AtomicU16 = AtomicU16::new(0);

fn next_id() -> u16 {
    NEXT_ID
        .fetch_add(1, Ordering::Relaxed)
        .wrapping_add(std::process::id() as u16)
}

/// Waits until `at`, returning at once when it has come: a timer set for now still waits for
/// the timer wheel's next tick (about 1 ms), which the first echo's probe would pay for.
async fn until(at: Instant) {
    if Instant::now() < at {
        tokio::time::sleep_until(at).await;
    }
}

/// Over the shared raw socket: `count` echo requests `spacing` apart.
async fn raw_burst(raw: &RawIcmp, ip: IpAddr, p: &PingSpec) -> Burst {
    let id = next_id();
    let start = Instant::now();
    let tries = (0..p.count).map(|seq| async move {
        until(start + p.spacing * seq).await;
        raw.ping(ip, id, seq as u16, p.packet_timeout).await
    });
    let results = futures_util::future::join_all(tries).await;
    Burst {
        send_errors: results.iter().filter(|r| r.is_err()).count() as u32,
        rtts: results.into_iter().map(|r| r.ok().flatten()).collect(),
    }
}

/// Over a datagram socket: sends `count` echo requests `spacing` apart; returns each one's
/// RTT (`None` = lost).
async fn dgram_burst(sock: &UdpSocket, ip: IpAddr, p: &PingSpec) -> Burst {
    let id = next_id();
    let n = p.count as usize;
    let mut sent_at: Vec<Option<Instant>> = vec![None; n];
    let mut rtts: Vec<Option<Duration>> = vec![None; n];
    let start = Instant::now();
    let mut next = 0usize;
    let mut send_errors = 0u32;
    let mut buf = [0u8; 1500];
    loop {
        let last_deadline = sent_at
            .iter()
            .flatten()
            .max()
            .map(|s| *s + p.packet_timeout);
        let done = next == n
            && (rtts.iter().all(Option::is_some)
                || last_deadline.is_none_or(|d| Instant::now() >= d));
        if done {
            break;
        }
        let send_at = start + p.spacing * next as u32;
        if next < n && Instant::now() >= send_at {
            // Due now (the first echo at once, without a timer that would wait for the timer
            // wheel's next tick).
            let pkt = echo_request(ip, id, next as u16);
            match sock.send_to(&pkt, SocketAddr::new(ip, 0)).await {
                Ok(_) => sent_at[next] = Some(Instant::now()),
                Err(_) => send_errors += 1,
            }
            next += 1;
            continue;
        }
        let wake = if next < n {
            send_at
        } else {
            last_deadline.unwrap_or(send_at)
        };
        tokio::select! {
            // Woken for the next send (made at the top of the loop) or the last timeout.
            _ = tokio::time::sleep_until(wake), if next < n || last_deadline.is_some() => {}
            r = sock.recv_from(&mut buf) => {
                let Ok((len, _)) = r else { continue };
                // The kernel rewrote our identifier and delivers only our replies.
                if let Some((_, seq)) = echo_reply_id_seq(&buf[..len], ip.is_ipv6(), false) {
                    let i = usize::from(seq);
                    if let (Some(Some(at)), Some(slot)) = (sent_at.get(i), rtts.get_mut(i)) {
                        let rtt = at.elapsed();
                        if slot.is_none() && rtt <= p.packet_timeout {
                            *slot = Some(rtt);
                        }
                    }
                }
            }
        }
    }
    rtts.truncate(next);
    Burst { rtts, send_errors }
}

/// An echo request: type, code, checksum, identifier, sequence, and a short payload.
pub(super) fn echo_request(ip: IpAddr, id: u16, seq: u16) -> Vec<u8> {
    let kind = if ip.is_ipv4() { 8 } else { 128 };
    let mut p = vec![kind, 0, 0, 0];
    p.extend_from_slice(&id.to_be_bytes());
    p.extend_from_slice(&seq.to_be_bytes());
    p.extend_from_slice(b"payprobe-ping-01");
    if ip.is_ipv4() {
        // ICMPv6 checksums cover a pseudo-header; the kernel fills them in for us.
        let c = checksum(&p);
        p[2..4].copy_from_slice(&c.to_be_bytes());
    }
    p
}

/// RFC 1071 Internet checksum.
fn checksum(data: &[u8]) -> u16 {
    let mut sum: u32 = 0;
    for chunk in data.chunks(2) {
        let word = u16::from_be_bytes([chunk[0], *chunk.get(1).unwrap_or(&0)]);
        sum += u32::from(word);
    }
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

/// The identifier and sequence number of an echo reply, if `pkt` is one. Raw IPv4 sockets
/// deliver the IP header too; IPv6 and datagram sockets do not.
pub(super) fn echo_reply_id_seq(pkt: &[u8], v6: bool, raw: bool) -> Option<(u16, u16)> {
    let icmp = if raw && !v6 {
        let ihl = usize::from(pkt.first()? & 0x0f) * 4;
        pkt.get(ihl..)?
    } else {
        pkt
    };
    let reply = if v6 { 129 } else { 0 };
    if icmp.len() < 8 || icmp[0] != reply || icmp[1] != 0 {
        return None;
    }
    Some((
        u16::from_be_bytes([icmp[4], icmp[5]]),
        u16::from_be_bytes([icmp[6], icmp[7]]),
    ))
}

/// TCP "pings": connects `count` times, `spacing` apart; SYN-ACK or RST both count as a reply.
async fn tcp_burst(addr: SocketAddr, p: &PingSpec) -> Burst {
    let start = Instant::now();
    let tries = (0..p.count).map(|i| async move {
        until(start + p.spacing * i).await;
        let sent = Instant::now();
        match tokio::time::timeout(p.packet_timeout, tokio::net::TcpStream::connect(addr)).await {
            Ok(Ok(_)) => Some(sent.elapsed()),
            Ok(Err(e)) if e.kind() == std::io::ErrorKind::ConnectionRefused => Some(sent.elapsed()),
            _ => None,
        }
    });
    Burst {
        rtts: futures_util::future::join_all(tries).await,
        send_errors: 0,
    }
}

fn stats(method: Method, ip: IpAddr, tcp_port: u16, burst: &Burst) -> PingEvidence {
    let got: Vec<f64> = burst
        .rtts
        .iter()
        .flatten()
        .map(Duration::as_secs_f64)
        .collect();
    let sent = burst.rtts.len() as u32;
    let received = got.len() as u32;
    let (min, avg, max, sd) = if got.is_empty() {
        (None, None, None, None)
    } else {
        let n = got.len() as f64;
        let avg = got.iter().sum::<f64>() / n;
        let var = got.iter().map(|r| (r - avg).powi(2)).sum::<f64>() / n;
        let min = got.iter().copied().fold(f64::INFINITY, f64::min);
        let max = got.iter().copied().fold(0.0, f64::max);
        (Some(min), Some(avg), Some(max), Some(var.sqrt()))
    };
    PingEvidence {
        method,
        address: ip,
        port: (method == Method::Tcp).then_some(tcp_port),
        sent,
        received,
        send_errors: burst.send_errors,
        loss_ratio: if sent == 0 {
            1.0
        } else {
            f64::from(sent - received) / f64::from(sent)
        },
        rtt_min: min,
        rtt_avg: avg,
        rtt_max: max,
        rtt_stddev: sd,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checksum_matches_rfc1071_example() {
        // The example from RFC 1071 section 3: 0x0001 f203 f4f5 f6f7 sums to 0xddf2.
        assert_eq!(
            checksum(&[0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7]),
            !0xddf2
        );
        let p = echo_request("127.0.0.1".parse().unwrap(), 7, 3);
        assert_eq!(checksum(&p), 0, "a packet with its checksum sums to zero");
    }

    #[test]
    fn replies_are_read_for_type_id_and_sequence() {
        let ip: IpAddr = "192.0.2.1".parse().unwrap();
        let mut reply = echo_request(ip, 9, 4);
        reply[0] = 0;
        assert_eq!(echo_reply_id_seq(&reply, false, false), Some((9, 4)));
        let mut raw = vec![0x45; 20];
        raw.extend_from_slice(&reply);
        assert_eq!(
            echo_reply_id_seq(&raw, false, true),
            Some((9, 4)),
            "the IPv4 header is skipped"
        );
        let request = echo_request(ip, 9, 4);
        assert_eq!(
            echo_reply_id_seq(&request, false, false),
            None,
            "our own request"
        );
        let mut v6 = echo_request("::1".parse().unwrap(), 3, 2);
        v6[0] = 129;
        assert_eq!(
            echo_reply_id_seq(&v6, true, true),
            Some((3, 2)),
            "raw IPv6 has no header"
        );
    }
}
