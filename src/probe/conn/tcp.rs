//! TCP connect: the addresses raced as RFC 8305 (Happy Eyeballs) says, each attempt recorded.

use std::io;
use std::net::{IpAddr, SocketAddr};

use tokio::net::{TcpSocket, TcpStream};
use tokio::time::Instant;

use super::super::{Failure, FailureKind, Phase, Recorder, TcpEvidence};
use crate::limits::CONNECT_ATTEMPT_DELAY as ATTEMPT_DELAY;

/// Connects to the target, recording TCP evidence; on success the recorder moves to `next`
/// (TLS, or straight to processing for plain HTTP).
///
/// Several addresses are raced the way RFC 8305 (Happy Eyeballs v2) does: address families
/// interleaved, a new attempt started every [`ATTEMPT_DELAY`] while earlier ones go on, the
/// next one at once when an attempt fails, and the first to connect wins. A black-holed
/// address therefore costs 250 ms, not the whole deadline. Every attempt and its outcome go
/// into `connect_attempts`, updated as they happen so a deadline still shows them.
///
/// With a `source` address (the target's `source_address`), each socket is bound to it
/// before connecting, and only addresses of its family are tried.
pub async fn connect(
    rec: &mut Recorder,
    addrs: &[IpAddr],
    port: u16,
    source: Option<IpAddr>,
    next: Phase,
) -> Result<TcpStream, Failure> {
    use futures_util::stream::{FuturesUnordered, StreamExt};
    let order = interleave(&of_source_family(addrs, source)?);
    let mut last = Failure::new(
        Phase::Connect,
        FailureKind::ConnectError,
        "no address to connect to",
    );
    rec.ev.connect_attempts.clear();
    let mut racing: FuturesUnordered<Dial> = FuturesUnordered::new();
    let mut queue = order.into_iter();
    let mut started_any = false;
    loop {
        if let Some(ip) = (!started_any || racing.is_empty())
            .then(|| queue.next())
            .flatten()
        {
            started_any = true;
            racing.push(dial(rec, SocketAddr::new(ip, port), source));
            continue;
        }
        if racing.is_empty() {
            return Err(last);
        }
        let delay = tokio::time::sleep(ATTEMPT_DELAY);
        tokio::pin!(delay);
        let more = queue.len() > 0;
        tokio::select! {
            Some((i, addr, started, res)) = racing.next() => {
                let took = started.elapsed();
                match res {
                    Ok(s) => {
                        connected(rec, i, addr, took, &s, next);
                        return Ok(s);
                    }
                    Err(e) => {
                        let kind = connect_kind(&e);
                        set(rec, i, kind_name(kind), took);
                        last = Failure::new(Phase::Connect, kind, format!("{addr}: {e}"));
                        // Failed fast: the next address at once (the loop's first branch).
                        if let Some(ip) = queue.next() {
                            racing.push(dial(rec, SocketAddr::new(ip, port), source));
                        }
                    }
                }
            }
            () = &mut delay, if more => {
                if let Some(ip) = queue.next() {
                    racing.push(dial(rec, SocketAddr::new(ip, port), source));
                }
            }
        }
    }
}

/// The addresses a socket bound to `source` can reach (its family); all when unbound. None
/// of them is a failure of the config's `source_address`, said as such.
fn of_source_family(addrs: &[IpAddr], source: Option<IpAddr>) -> Result<Vec<IpAddr>, Failure> {
    let Some(src) = source else {
        return Ok(addrs.to_vec());
    };
    let same: Vec<IpAddr> = addrs
        .iter()
        .filter(|a| a.is_ipv4() == src.is_ipv4())
        .copied()
        .collect();
    if same.is_empty() && !addrs.is_empty() {
        return Err(Failure::new(
            Phase::Connect,
            FailureKind::ConnectError,
            format!("no address of source_address {src}'s family among {addrs:?}"),
        ));
    }
    Ok(same)
}

/// Records the attempt that won (the others still racing are abandoned) and enters `next`.
fn connected(
    rec: &mut Recorder,
    i: usize,
    addr: SocketAddr,
    took: std::time::Duration,
    s: &TcpStream,
    next: Phase,
) {
    // Probes send one small request; Nagle would only add latency to measure.
    let _ = s.set_nodelay(true);
    set(rec, i, "connected", took);
    for a in rec
        .ev
        .connect_attempts
        .iter_mut()
        .filter(|a| a.outcome == "pending")
    {
        a.outcome = "abandoned".into();
    }
    rec.ev.tcp = Some(TcpEvidence {
        address: addr,
        duration: took,
    });
    rec.enter(next);
}

/// Address families alternate, starting with the family of the first answer (RFC 8305 4).
fn interleave(addrs: &[IpAddr]) -> Vec<IpAddr> {
    let first_v6 = addrs.first().is_some_and(IpAddr::is_ipv6);
    let (mut a, mut b): (Vec<IpAddr>, Vec<IpAddr>) =
        addrs.iter().partition(|ip| ip.is_ipv6() == first_v6);
    let mut out = Vec::with_capacity(addrs.len());
    a.reverse();
    b.reverse();
    while let Some(x) = a.pop() {
        out.push(x);
        if let Some(y) = b.pop() {
            out.push(y);
        }
    }
    out.extend(b.into_iter().rev());
    out
}

type Dial = std::pin::Pin<
    Box<
        dyn std::future::Future<Output = (usize, SocketAddr, Instant, io::Result<TcpStream>)>
            + Send,
    >,
>;

/// Starts one attempt, noting it as pending in the evidence.
fn dial(rec: &mut Recorder, address: SocketAddr, source: Option<IpAddr>) -> Dial {
    let i = rec.ev.connect_attempts.len();
    rec.ev.connect_attempts.push(super::super::ConnectAttempt {
        address,
        outcome: "pending".to_string(),
        duration: std::time::Duration::ZERO,
    });
    let started = Instant::now();
    Box::pin(async move { (i, address, started, open(address, source).await) })
}

/// One TCP connection, bound first to `source` when there is one (port 0: the OS picks).
async fn open(address: SocketAddr, source: Option<IpAddr>) -> io::Result<TcpStream> {
    let Some(src) = source else {
        return TcpStream::connect(address).await;
    };
    let socket = if address.is_ipv4() {
        TcpSocket::new_v4()?
    } else {
        TcpSocket::new_v6()?
    };
    socket.bind(SocketAddr::new(src, 0))?;
    socket.connect(address).await
}

fn set(rec: &mut Recorder, i: usize, outcome: &str, took: std::time::Duration) {
    if let Some(a) = rec.ev.connect_attempts.get_mut(i) {
        a.outcome = outcome.to_string();
        a.duration = took;
    }
}

/// The name of a connect failure's kind, as it appears in the JSON evidence; any other kind
/// is a `connect_error` here.
fn kind_name(k: FailureKind) -> &'static str {
    use FailureKind::*;
    match k {
        ConnectRefused
        | ConnectReset
        | ConnectTimeout
        | HostUnreachable
        | NetworkUnreachable
        | SourceAddressUnavailable => k.as_str(),
        _ => ConnectError.as_str(),
    }
}

/// Maps a connect error to its kind via the OS error, not its text.
fn connect_kind(e: &io::Error) -> FailureKind {
    match e.kind() {
        io::ErrorKind::ConnectionRefused => FailureKind::ConnectRefused,
        io::ErrorKind::ConnectionReset | io::ErrorKind::ConnectionAborted => {
            FailureKind::ConnectReset
        }
        io::ErrorKind::TimedOut => FailureKind::ConnectTimeout,
        io::ErrorKind::HostUnreachable => FailureKind::HostUnreachable,
        io::ErrorKind::NetworkUnreachable => FailureKind::NetworkUnreachable,
        // bind(): the source address is not one of this host's (EADDRNOTAVAIL).
        io::ErrorKind::AddrNotAvailable => FailureKind::SourceAddressUnavailable,
        _ => FailureKind::ConnectError,
    }
}
