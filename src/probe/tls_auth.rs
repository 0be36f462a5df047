//! A server refusing TLS client authentication (issue 19, point 3): payprobe never presents
//! a client certificate, so an alert about one (RFC 8446 §6.2 `certificate_required`,
//! `access_denied`, `bad_certificate`, `unknown_ca`, ...) means the server wants mutual TLS
//! this host cannot do, not that its own TLS is broken. TLS 1.3 clients finish their side of
//! the handshake before the server checks the client's (RFC 8446 §4.4.2.4), so that alert
//! arrives with the first read of the answer: it is looked for there too.

use rustls::AlertDescription as A;

use super::{Failure, FailureKind, Phase};

/// The alerts a server sends about the client's certificate, or its absence.
const CLIENT_AUTH_ALERTS: &[A] = &[
    A::CertificateRequired,
    A::AccessDenied,
    A::BadCertificate,
    A::UnsupportedCertificate,
    A::CertificateRevoked,
    A::CertificateExpired,
    A::CertificateUnknown,
    A::UnknownCA,
];

/// The failure a client-authentication alert means, if `err` is one.
pub(super) fn refused(err: &rustls::Error, after_handshake: bool) -> Option<Failure> {
    let rustls::Error::AlertReceived(alert) = err else {
        return None;
    };
    if !CLIENT_AUTH_ALERTS.contains(alert) {
        return None;
    }
    let when = if after_handshake {
        " (after the handshake, as TLS 1.3 servers send it)"
    } else {
        ""
    };
    Some(Failure::new(
        Phase::Tls,
        FailureKind::TlsClientAuth,
        format!("TLS alert {alert:?} received{when}: the server requires a client certificate (mutual TLS) and refused the connection without one"),
    ))
}

/// A handshake the server refused with a generic alert after asking for the client
/// certificate payprobe does not have: RFC 5246 §7.4.6 lets a TLS 1.2 server answer the empty
/// certificate with `handshake_failure` (OpenSSL does), so the request names the cause.
pub(super) fn after_request(f: &mut Failure) {
    if f.kind == FailureKind::TlsAlert {
        f.kind = FailureKind::TlsClientAuth;
        f.detail = format!(
            "{} after the server asked for a client certificate (mutual TLS), which this host does not present",
            f.detail
        );
    }
}

/// A client-authentication alert anywhere in an error's chain (hyper wraps the io::Error
/// that wraps rustls's error; `io::Error::source` skips the wrapped error, so each io::Error
/// is opened by hand).
pub(super) fn in_chain(e: &(dyn std::error::Error + 'static)) -> Option<Failure> {
    let mut next = Some(e);
    // Bounded: error chains are short, but a cyclic `source` must not spin.
    for _ in 0..crate::limits::MAX_ERROR_CHAIN_DEPTH {
        let cur = next?;
        if let Some(r) = cur.downcast_ref::<rustls::Error>() {
            return refused(r, true);
        }
        if let Some(inner) = cur
            .downcast_ref::<std::io::Error>()
            .and_then(|io| io.get_ref())
            .and_then(|i| i.downcast_ref::<rustls::Error>())
        {
            return refused(inner, true);
        }
        next = cur.source();
    }
    None
}
