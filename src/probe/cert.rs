//! What a certificate says, in evidence form (x509-parser; verification is rustls's job).

use std::net::IpAddr;
use std::time::{Duration, SystemTime};

use rustls::pki_types::CertificateDer;
use serde::Serialize;
use x509_parser::extensions::GeneralName;
use x509_parser::prelude::{FromDer, X509Certificate};

/// The leaf certificate a server presented.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CertSummary {
    pub subject: String,
    pub issuer: String,
    /// DNS names and IP addresses the certificate is valid for.
    pub sans: Vec<String>,
    pub serial: String,
    pub not_before: String,
    pub not_after: String,
    /// `not_after` as Unix seconds (the `payprobe_tls_cert_not_after_timestamp_seconds` value).
    pub not_after_unix: i64,
    /// Subject equals issuer and the server sent no chain: nobody vouches for it.
    pub self_signed: bool,
    /// Certificates the server sent, leaf included.
    pub chain_len: usize,
    /// SHA-256 of the leaf's DER, hex, as `openssl x509 -fingerprint -sha256` shows it.
    pub sha256: String,
}

impl CertSummary {
    /// Parses the leaf of `chain`; `None` when there is none or it does not parse.
    pub fn from_chain(chain: &[CertificateDer<'_>]) -> Option<CertSummary> {
        let leaf = chain.first()?;
        let (_, cert) = X509Certificate::from_der(leaf.as_ref()).ok()?;
        let sans = cert
            .subject_alternative_name()
            .ok()
            .flatten()
            .map(|ext| ext.value.general_names.iter().filter_map(name).collect())
            .unwrap_or_default();
        let v = cert.validity();
        let subject = cert.subject().to_string();
        let issuer = cert.issuer().to_string();
        let digest = ring::digest::digest(&ring::digest::SHA256, leaf.as_ref());
        Some(CertSummary {
            self_signed: subject == issuer && chain.len() == 1,
            subject,
            issuer,
            sans,
            serial: cert.raw_serial_as_string(),
            not_before: rfc3339(v.not_before.timestamp()),
            not_after: rfc3339(v.not_after.timestamp()),
            not_after_unix: v.not_after.timestamp(),
            chain_len: chain.len(),
            sha256: digest
                .as_ref()
                .iter()
                .map(|b| format!("{b:02X}"))
                .collect::<Vec<_>>()
                .join(":"),
        })
    }

    /// Time left before `not_after` (zero if past).
    pub fn remaining(&self, now: SystemTime) -> Duration {
        let now = crate::timefmt::unix_secs(now);
        Duration::from_secs(
            self.not_after_unix
                .saturating_sub(now)
                .max(0)
                .unsigned_abs(),
        )
    }
}

fn name(g: &GeneralName<'_>) -> Option<String> {
    match g {
        GeneralName::DNSName(d) => Some(d.to_string()),
        GeneralName::IPAddress(b) => match b.len() {
            4 => <[u8; 4]>::try_from(*b)
                .ok()
                .map(|a| IpAddr::from(a).to_string()),
            16 => <[u8; 16]>::try_from(*b)
                .ok()
                .map(|a| IpAddr::from(a).to_string()),
            _ => None,
        },
        _ => None,
    }
}

fn rfc3339(unix: i64) -> String {
    crate::timefmt::rfc3339_secs(unix)
}
