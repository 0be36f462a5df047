//! The lower layers every prober shares: resolve, connect, TLS handshake.
//!
//! Each step records its evidence into the [`Recorder`] and turns OS and rustls errors into
//! closed [`FailureKind`]s by walking the error, never by matching message strings.

use std::io;
use std::net::{IpAddr, SocketAddr};

use rustls::pki_types::ServerName;
use tokio::net::{TcpSocket, TcpStream};
use tokio::time::Instant;
use tokio_rustls::client::TlsStream;

use super::cert::CertSummary;
use super::resolve::Resolvers;
use super::sniff::{self, Sniff};
pub use super::timed::{IoMarks, TimedIo};
use super::{DnsEvidence, Failure, FailureKind, Phase, Recorder, TcpEvidence, TlsEvidence};
use crate::config::DnsSpec;
use crate::tls::TlsClient;

/// Resolves the target's host (skipped for IP literals), recording DNS evidence and checking
/// the answers against `expect_addresses`.
pub async fn resolve(
    rec: &mut Recorder,
    resolvers: &Resolvers,
    host: &str,
    ip: Option<IpAddr>,
    dns: &DnsSpec,
) -> Result<Vec<IpAddr>, Failure> {
    if let Some(ip) = ip {
        rec.enter(Phase::Connect);
        return Ok(vec![ip]);
    }
    let resolver = resolvers.get(&dns.resolvers);
    // Evidence first, so a deadline during the lookup still says which host it was.
    rec.ev.dns = Some(DnsEvidence {
        host: host.to_string(),
        ..Default::default()
    });
    let started = Instant::now();
    let res = resolver.lookup(host).await;
    let mut ev = DnsEvidence {
        host: host.to_string(),
        duration: started.elapsed(),
        ..Default::default()
    };
    let out = match res {
        Ok(a) => {
            // An answer from a name server is a NOERROR; /etc/hosts has no rcode.
            if a.server != "/etc/hosts" {
                ev.rcode = Some("NOERROR".to_string());
            }
            ev.server = Some(a.server);
            ev.addresses = a.addresses.clone();
            ev.unexpected = unexpected(&a.addresses, &dns.expect_addresses);
            if ev.unexpected.is_empty() {
                Ok(a.addresses)
            } else {
                Err(Failure::new(
                    Phase::Dns,
                    FailureKind::DnsUnexpectedAddress,
                    format!(
                        "{host} resolved to {:?}, outside expect_addresses",
                        ev.unexpected
                    ),
                ))
            }
        }
        Err(e) => {
            ev.rcode = e.rcode;
            ev.server = e.server;
            Err(e.failure)
        }
    };
    rec.ev.dns = Some(ev);
    if out.is_ok() {
        rec.enter(Phase::Connect);
    }
    out
}

fn unexpected(addrs: &[IpAddr], expect: &[ipnet::IpNet]) -> Vec<IpAddr> {
    if expect.is_empty() {
        return Vec::new();
    }
    addrs
        .iter()
        .filter(|a| !expect.iter().any(|n| n.contains(*a)))
        .copied()
        .collect()
}

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
    let same_family: Vec<IpAddr> = match source {
        Some(src) => addrs
            .iter()
            .filter(|a| a.is_ipv4() == src.is_ipv4())
            .copied()
            .collect(),
        None => addrs.to_vec(),
    };
    if let (Some(src), true) = (source, same_family.is_empty() && !addrs.is_empty()) {
        return Err(Failure::new(
            Phase::Connect,
            FailureKind::ConnectError,
            format!("no address of source_address {src}'s family among {addrs:?}"),
        ));
    }
    let order = interleave(&same_family);
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
                        // Probes send one small request; Nagle would only add latency to measure.
                        let _ = s.set_nodelay(true);
                        set(rec, i, "connected", took);
                        for a in rec.ev.connect_attempts.iter_mut().filter(|a| a.outcome == "pending") {
                            a.outcome = "abandoned".into();
                        }
                        rec.ev.tcp = Some(TcpEvidence { address: addr, duration: took });
                        rec.enter(next);
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

/// RFC 8305 section 5's recommended "Connection Attempt Delay".
pub const ATTEMPT_DELAY: std::time::Duration = std::time::Duration::from_millis(250);

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
    rec.ev.connect_attempts.push(super::ConnectAttempt {
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
pub fn connect_kind(e: &io::Error) -> FailureKind {
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

/// A TLS stream over TCP whose peer's first bytes are kept (see `src/probe/sniff.rs`).
pub type Tls = TlsStream<Sniff<TcpStream>>;

/// Runs the TLS handshake, recording version, cipher, ALPN and the certificate (also when
/// verification fails: an expired certificate's dates are the evidence).
pub async fn handshake(
    rec: &mut Recorder,
    tcp: TcpStream,
    host: &str,
    ip: Option<IpAddr>,
    tls: &TlsClient,
) -> Result<Tls, Failure> {
    let name = match ip {
        Some(ip) => ServerName::IpAddress(ip.into()),
        None => ServerName::try_from(host.to_string()).map_err(|e| {
            Failure::new(
                Phase::Tls,
                FailureKind::TlsError,
                format!("{host}: not a valid TLS server name: {e}"),
            )
        })?,
    };
    let started = Instant::now();
    let (config, seen) = tls.recording();
    let connector = tokio_rustls::TlsConnector::from(config);
    let tcp = Sniff::new(tcp);
    let first = tcp.first_bytes();
    let res = connector.connect(name, tcp).await;
    let mut ev = TlsEvidence {
        duration: started.elapsed(),
        client_cert_requested: seen.client_cert_requested(),
        ..Default::default()
    };
    let out = match res {
        Ok(stream) => {
            let (_, c) = stream.get_ref();
            ev.version = c.protocol_version().map(|v| match v {
                rustls::ProtocolVersion::TLSv1_3 => "TLSv1.3".to_string(),
                rustls::ProtocolVersion::TLSv1_2 => "TLSv1.2".to_string(),
                other => format!("{other:?}"),
            });
            ev.cipher = c
                .negotiated_cipher_suite()
                .map(|s| format!("{:?}", s.suite()));
            ev.alpn = c
                .alpn_protocol()
                .map(|p| String::from_utf8_lossy(p).into_owned());
            ev.certificate = c.peer_certificates().and_then(CertSummary::from_chain);
            Ok(stream)
        }
        Err(e) => {
            ev.certificate = seen.chain().as_deref().and_then(CertSummary::from_chain);
            let mut f = tls_failure(&e);
            if ev.client_cert_requested {
                super::tls_auth::after_request(&mut f);
            }
            // webpki says "unknown issuer" for a self-signed leaf too; the chain tells them apart.
            let self_signed = ev.certificate.as_ref().is_some_and(|c| c.self_signed);
            if f.kind == FailureKind::TlsCertUnknownIssuer && self_signed {
                f.kind = FailureKind::TlsCertSelfSigned;
            }
            // Another protocol answered: say what it sent.
            if f.kind == FailureKind::TlsNotTls {
                let b = crate::sync::lock(&first, "sniffed bytes");
                f.detail = format!("{}; the peer sent {}", f.detail, sniff::describe(&b));
            }
            Err(f)
        }
    };
    rec.ev.tls = Some(ev);
    if out.is_ok() {
        rec.enter(Phase::Processing);
    }
    out
}

/// Finds the rustls error inside the io::Error tokio-rustls returns.
fn tls_failure(e: &io::Error) -> Failure {
    let Some(err) = e
        .get_ref()
        .and_then(|inner| inner.downcast_ref::<rustls::Error>())
    else {
        // No rustls error inside: the peer closed or reset the socket mid-handshake.
        return Failure::new(
            Phase::Tls,
            FailureKind::TlsError,
            format!("TLS handshake: {e}"),
        );
    };
    if let Some(f) = super::tls_auth::refused(err, false) {
        return f;
    }
    use rustls::{AlertDescription as A, CertificateError as C, Error as E, PeerIncompatible as P};
    let kind = match err {
        E::InvalidCertificate(c) => match c {
            C::Expired | C::ExpiredContext { .. } => FailureKind::TlsCertExpired,
            C::NotValidYet | C::NotValidYetContext { .. } => FailureKind::TlsCertNotYetValid,
            C::UnknownIssuer => FailureKind::TlsCertUnknownIssuer,
            C::Revoked => FailureKind::TlsCertRevoked,
            C::NotValidForName | C::NotValidForNameContext { .. } => {
                FailureKind::TlsCertNameMismatch
            }
            _ => FailureKind::TlsCertInvalid,
        },
        E::AlertReceived(A::ProtocolVersion) => FailureKind::TlsProtocolVersion,
        E::PeerIncompatible(
            P::ServerDoesNotSupportTls12Or13
            | P::ServerTlsVersionIsDisabledByOurConfig
            | P::Tls12NotOffered
            | P::Tls12NotOfferedOrEnabled
            | P::SupportedVersionsExtensionRequired,
        ) => FailureKind::TlsProtocolVersion,
        E::AlertReceived(_) => FailureKind::TlsAlert,
        // The first record's header is not TLS: another protocol answered.
        E::InvalidMessage(
            rustls::InvalidMessage::InvalidContentType
            | rustls::InvalidMessage::UnknownProtocolVersion,
        ) => FailureKind::TlsNotTls,
        E::InvalidMessage(_) | E::PeerMisbehaved(_) | E::DecryptError => {
            FailureKind::TlsPeerMisbehaved
        }
        _ => FailureKind::TlsError,
    };
    let detail = match err {
        E::InvalidCertificate(c) => cert_meaning(c).map(|m| format!("TLS handshake: {m}")),
        _ => None,
    };
    Failure::new(
        Phase::Tls,
        kind,
        detail.unwrap_or_else(|| format!("TLS handshake: {err}")),
    )
}

/// What a certificate refusal means, where rustls's own text is a debug dump
/// (`Other(OtherError(CaUsedAsEndEntity))`) or too terse to act on.
fn cert_meaning(c: &rustls::CertificateError) -> Option<String> {
    use rustls::CertificateError as C;
    match c {
        C::BadEncoding => Some(
            "the server's certificate could not be decoded by the verifier: a malformed field, or a validity date before 1970 (which the verifier cannot represent)".into(),
        ),
        C::Other(o) => match o.0.downcast_ref::<webpki::Error>()? {
            webpki::Error::CaUsedAsEndEntity => Some(
                "the server presents a certificate marked as a CA (basicConstraints CA:TRUE) as its own; TLS clients refuse that. Reissue it as an end-entity certificate, or put exactly this certificate in `ca_file` to trust it as is".into(),
            ),
            webpki::Error::EndEntityUsedAsCa => Some(
                "a certificate in the chain that signs the server's is not marked as a CA; the chain is built wrong".into(),
            ),
            other => Some(format!("the certificate was refused ({other:?})")),
        },
        _ => None,
    }
}
