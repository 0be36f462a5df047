//! Throw-away certificates for the demo and the tests, made at run time with rcgen.

use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, IsCa, KeyPair};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

#[derive(Debug, thiserror::Error)]
#[error("certificate generation: {0}")]
pub struct PkiError(#[from] rcgen::Error);

/// A certificate chain and its key, ready for a rustls server.
pub struct Leaf {
    pub chain: Vec<CertificateDer<'static>>,
    pub key: PrivateKeyDer<'static>,
}

/// Validity of a generated leaf.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Validity {
    Current,
    Expired,
    NotYetValid,
    /// Valid now, expiring this many days from today (for expiry warnings).
    ExpiresInDays(u32),
}

/// A private CA. Its PEM goes into a target's `ca_file` to make its leaves trusted.
pub struct Ca {
    issuer: CertifiedIssuer<'static, KeyPair>,
}

impl Ca {
    pub fn new(name: &str) -> Result<Ca, PkiError> {
        let mut params = CertificateParams::new(Vec::<String>::new())?;
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, name);
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        let issuer = CertifiedIssuer::self_signed(params, KeyPair::generate()?)?;
        Ok(Ca { issuer })
    }

    pub fn pem(&self) -> String {
        self.issuer.pem()
    }

    /// Signs a leaf with a fresh key; the chain carries the CA certificate too, as servers send it.
    fn sign(&self, params: CertificateParams) -> Result<Leaf, PkiError> {
        let key = KeyPair::generate()?;
        let cert = params.signed_by(&key, &self.issuer)?;
        Ok(Leaf {
            chain: vec![cert.der().clone(), self.issuer.der().clone()],
            key: PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der())),
        })
    }

    /// A leaf for `names` (DNS names or IP addresses) signed by this CA.
    pub fn leaf(&self, names: &[&str], validity: Validity) -> Result<Leaf, PkiError> {
        let params = leaf_params(names, validity)?;
        self.sign(params)
    }
}

impl Ca {
    /// A leaf whose extended key usage allows client authentication only: a certificate
    /// issued for the wrong purpose, which a TLS client must reject.
    pub fn client_only_leaf(&self, names: &[&str]) -> Result<Leaf, PkiError> {
        let mut params = leaf_params(names, Validity::Current)?;
        params.extended_key_usages = vec![rcgen::ExtendedKeyUsagePurpose::ClientAuth];
        self.sign(params)
    }
}

impl Ca {
    /// A leaf with a chosen serial number, so a CRL can revoke it.
    pub fn leaf_with_serial(&self, names: &[&str], serial: u64) -> Result<Leaf, PkiError> {
        let mut params = leaf_params(names, Validity::Current)?;
        params.serial_number = Some(rcgen::SerialNumber::from(serial));
        self.sign(params)
    }

    /// A CRL, signed by this CA, revoking the certificates with these serials (PEM).
    pub fn crl_revoking(&self, serials: &[u64]) -> Result<String, PkiError> {
        let params = rcgen::CertificateRevocationListParams {
            this_update: rcgen::date_time_ymd(2024, 1, 1),
            next_update: rcgen::date_time_ymd(2099, 1, 1),
            crl_number: rcgen::SerialNumber::from(1u64),
            issuing_distribution_point: None,
            revoked_certs: serials
                .iter()
                .map(|s| rcgen::RevokedCertParams {
                    serial_number: rcgen::SerialNumber::from(*s),
                    revocation_time: rcgen::date_time_ymd(2024, 1, 1),
                    reason_code: Some(rcgen::RevocationReason::KeyCompromise),
                    invalidity_date: None,
                })
                .collect(),
            key_identifier_method: rcgen::KeyIdMethod::Sha256,
        };
        Ok(params.signed_by(&self.issuer)?.pem()?)
    }
}

impl Ca {
    /// A certificate for the RSA key `key_pem` (PKCS#8) with `serial`, valid five years from
    /// now (as WeChat Pay's platform certificates are), as PEM: the demo's providers publish
    /// their keys this way (`src/demo/signing.rs`).
    pub fn certificate_for(
        &self,
        key_pem: &str,
        cn: &str,
        serial: &[u8],
    ) -> Result<String, PkiError> {
        let key = KeyPair::from_pkcs8_pem_and_sign_algo(key_pem, &rcgen::PKCS_RSA_SHA256)?;
        let mut params = leaf_params(&[], Validity::ExpiresInDays(5 * 365))?;
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, cn);
        params.serial_number = Some(rcgen::SerialNumber::from_slice(serial));
        Ok(params.signed_by(&key, &self.issuer)?.pem())
    }
}

/// The calendar date `days` from today (UTC).
fn ymd_in_days(days: u32) -> (i32, u8, u8) {
    let t = std::time::SystemTime::now() + std::time::Duration::from_secs(u64::from(days) * 86_400);
    let s = humantime::format_rfc3339_seconds(t).to_string();
    let num = |r: std::ops::Range<usize>| s.get(r).and_then(|v| v.parse::<i32>().ok()).unwrap_or(1);
    (num(0..4), num(5..7) as u8, num(8..10) as u8)
}

/// A self-signed leaf: what an untrusted or intercepting endpoint presents.
pub fn self_signed(names: &[&str]) -> Result<Leaf, PkiError> {
    let params = leaf_params(names, Validity::Current)?;
    let key = KeyPair::generate()?;
    let cert = params.self_signed(&key)?;
    Ok(Leaf {
        chain: vec![cert.der().clone()],
        key: PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der())),
    })
}

fn leaf_params(names: &[&str], validity: Validity) -> Result<CertificateParams, PkiError> {
    let names: Vec<String> = names.iter().map(|s| s.to_string()).collect();
    let mut params = CertificateParams::new(names.clone())?;
    if let Some(first) = names.first() {
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, first.as_str());
    }
    match validity {
        Validity::Current => {}
        Validity::Expired => {
            params.not_before = rcgen::date_time_ymd(2020, 1, 1);
            params.not_after = rcgen::date_time_ymd(2021, 1, 1);
        }
        Validity::NotYetValid => {
            params.not_before = rcgen::date_time_ymd(2090, 1, 1);
            params.not_after = rcgen::date_time_ymd(2091, 1, 1);
        }
        Validity::ExpiresInDays(days) => {
            let (y, m, d) = ymd_in_days(days);
            params.not_before = rcgen::date_time_ymd(2020, 1, 1);
            params.not_after = rcgen::date_time_ymd(y, m, d);
        }
    }
    Ok(params)
}
