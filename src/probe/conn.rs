//! The lower layers every prober shares: resolve, connect, TLS handshake.
//!
//! Each step records its evidence into the [`Recorder`] and turns OS and rustls errors into
//! closed [`FailureKind`]s by walking the error, never by matching message strings.

use std::io;
use std::net::IpAddr;
use std::sync::Mutex;

use rustls::pki_types::ServerName;
use tokio::net::TcpStream;
use tokio::time::Instant;
use tokio_rustls::client::TlsStream;

use super::cert::CertSummary;
use super::resolve::Resolvers;
use super::sniff::{self, Sniff};
pub use super::timed::{IoMarks, TimedIo};
use super::{DnsEvidence, Failure, FailureKind, Phase, Recorder, TlsEvidence};
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

mod tcp;
pub use tcp::connect;

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
    let name = server_name(host, ip)?;
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
            negotiated(&mut ev, stream.get_ref().1);
            Ok(stream)
        }
        Err(e) => {
            ev.certificate = seen.chain().as_deref().and_then(CertSummary::from_chain);
            Err(handshake_failure(&e, &ev, &first))
        }
    };
    rec.ev.tls = Some(ev);
    if out.is_ok() {
        rec.enter(Phase::Processing);
    }
    out
}

/// The name the certificate must carry: the IP literal when the target is one, else the
/// host (one that cannot be a TLS name fails the handshake before a byte is sent).
fn server_name(host: &str, ip: Option<IpAddr>) -> Result<ServerName<'static>, Failure> {
    match ip {
        Some(ip) => Ok(ServerName::IpAddress(ip.into())),
        None => ServerName::try_from(host.to_string()).map_err(|e| {
            Failure::new(
                Phase::Tls,
                FailureKind::TlsError,
                format!("{host}: not a valid TLS server name: {e}"),
            )
        }),
    }
}

/// What the handshake agreed on, as evidence: version, cipher suite, ALPN protocol and the
/// peer's certificate chain.
fn negotiated(ev: &mut TlsEvidence, c: &rustls::ClientConnection) {
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
}

/// The failure of a handshake, told apart with what else was seen: a client certificate
/// asked for, a self-signed chain, the first bytes of a peer that does not speak TLS.
fn handshake_failure(e: &io::Error, ev: &TlsEvidence, first: &Mutex<Vec<u8>>) -> Failure {
    let mut f = tls_failure(e);
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
        let b = crate::sync::lock(first, "sniffed bytes");
        f.detail = format!("{}; the peer sent {}", f.detail, sniff::describe(&b));
    }
    f
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
