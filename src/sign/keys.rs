//! Key material of signed probes, parsed once per config load (issue 19, point 7): RSA
//! private keys (PKCS#8 or PKCS#1, PEM or the bare base64 Alipay's key tool writes), public
//! keys and certificates. PEM is read by rustls-pki-types and DER by x509-parser (never by
//! hand); the RSA operations are ring's. Nothing here prints key bytes: an error says what
//! was expected, never what was found, so a key cannot leak through a config problem.

use std::fmt;

use base64::Engine;
use ring::rand::SystemRandom;
use ring::signature::{self, RsaKeyPair, UnparsedPublicKey};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, SubjectPublicKeyInfoDer};
use x509_parser::prelude::{FromDer, X509Certificate};
use x509_parser::x509::SubjectPublicKeyInfo;

/// Why key material is unusable. The messages name the expected form only.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum KeyError {
    #[error("not an RSA private key (PKCS#8 or PKCS#1, PEM or bare base64)")]
    NotPrivateKey,
    #[error("the RSA private key is refused ({0})")]
    Refused(String),
    #[error("not an RSA public key (PEM `PUBLIC KEY`, or its bare base64)")]
    NotPublicKey,
    #[error("no certificate in the file (PEM `CERTIFICATE`)")]
    NoCertificate,
    #[error("a certificate does not parse: {0}")]
    BadCertificate(String),
    #[error("the RSA signature could not be made")]
    Sign,
}

/// An RSA private key, ready to sign SHA256withRSA (PKCS#1 v1.5), as both Alipay RSA2 and
/// WeChat Pay v3 require.
pub struct PrivateKey(RsaKeyPair);

impl fmt::Debug for PrivateKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PrivateKey(<redacted>)")
    }
}

impl PrivateKey {
    /// PEM (`PRIVATE KEY` or `RSA PRIVATE KEY`), else the bare base64 of PKCS#8 or PKCS#1.
    pub fn parse(bytes: &[u8]) -> Result<PrivateKey, KeyError> {
        let pair = match PrivateKeyDer::from_pem_slice(bytes) {
            Ok(PrivateKeyDer::Pkcs8(k)) => RsaKeyPair::from_pkcs8(k.secret_pkcs8_der()),
            Ok(PrivateKeyDer::Pkcs1(k)) => RsaKeyPair::from_der(k.secret_pkcs1_der()),
            Ok(_) => return Err(KeyError::NotPrivateKey),
            Err(_) => {
                let der = bare_base64(bytes).ok_or(KeyError::NotPrivateKey)?;
                RsaKeyPair::from_pkcs8(&der).or_else(|_| RsaKeyPair::from_der(&der))
            }
        };
        pair.map(PrivateKey)
            .map_err(|e| KeyError::Refused(e.to_string()))
    }

    /// Whether `key` is this key's public half: a merchant certificate issued for another
    /// key would make every signature the provider checks against it fail.
    pub fn pairs_with(&self, key: &PublicKey) -> bool {
        // ring's public key is the DER `RSAPublicKey`, as `PublicKey` holds it.
        self.0.public().as_ref() == key.0.as_slice()
    }

    /// SHA256withRSA over `msg`.
    pub fn sign(&self, msg: &[u8]) -> Result<Vec<u8>, KeyError> {
        let mut sig = vec![0u8; self.0.public().modulus_len()];
        self.0
            .sign(
                &signature::RSA_PKCS1_SHA256,
                &SystemRandom::new(),
                msg,
                &mut sig,
            )
            .map_err(|_| KeyError::Sign)?;
        Ok(sig)
    }
}

/// An RSA public key as ring wants it (PKCS#1 `RSAPublicKey`, unwrapped from its SPKI).
#[derive(Clone, PartialEq, Eq)]
pub struct PublicKey(Vec<u8>);

impl fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PublicKey({} bytes)", self.0.len())
    }
}

impl PublicKey {
    /// PEM `PUBLIC KEY` (SPKI), else its bare base64 (the form Alipay's console shows).
    pub fn parse(bytes: &[u8]) -> Result<PublicKey, KeyError> {
        let spki = match SubjectPublicKeyInfoDer::from_pem_slice(bytes) {
            Ok(k) => k.as_ref().to_vec(),
            Err(_) => bare_base64(bytes).ok_or(KeyError::NotPublicKey)?,
        };
        PublicKey::from_spki(&spki).ok_or(KeyError::NotPublicKey)
    }

    fn from_spki(der: &[u8]) -> Option<PublicKey> {
        let (_, spki) = SubjectPublicKeyInfo::from_der(der).ok()?;
        Some(PublicKey(spki.subject_public_key.data.to_vec()))
    }

    /// SHA256withRSA verification of `sig` over `msg`.
    pub fn verify(&self, msg: &[u8], sig: &[u8]) -> bool {
        UnparsedPublicKey::new(&signature::RSA_PKCS1_2048_8192_SHA256, &self.0)
            .verify(msg, sig)
            .is_ok()
    }
}

/// What a signed probe reads of a certificate: its key, its validity and the serials the
/// providers name it by.
#[derive(Debug, Clone, PartialEq)]
pub struct Cert {
    pub key: PublicKey,
    /// The serial in upper-case hex without separators: WeChat Pay's `serial_no`.
    pub serial_hex: String,
    /// Alipay's certificate SN: MD5 of the issuer (RFC 2253 order) and the decimal serial.
    pub alipay_sn: String,
    pub subject: String,
    pub not_after_unix: i64,
    /// Signed with an RSA algorithm (OID 1.2.840.113549.1.1.*): Alipay's root SN counts only
    /// those.
    pub rsa_signed: bool,
}

impl Cert {
    pub fn from_der(der: &[u8]) -> Result<Cert, KeyError> {
        let (_, c) =
            X509Certificate::from_der(der).map_err(|e| KeyError::BadCertificate(e.to_string()))?;
        let key = PublicKey::from_spki(c.public_key().raw)
            .ok_or_else(|| KeyError::BadCertificate("its public key is not RSA".into()))?;
        let serial = &c.tbs_certificate.serial;
        let issuer = rfc2253_issuer(&c);
        let alipay_sn = hex(&md5(format!("{issuer}{serial}").as_bytes()));
        Ok(Cert {
            key,
            serial_hex: serial.to_str_radix(16).to_ascii_uppercase(),
            alipay_sn,
            subject: c.subject().to_string(),
            not_after_unix: c.validity().not_after.timestamp(),
            rsa_signed: c
                .signature_algorithm
                .algorithm
                .to_id_string()
                .starts_with("1.2.840.113549.1.1."),
        })
    }

    /// Every certificate of a PEM file, in file order.
    pub fn parse_pem(bytes: &[u8]) -> Result<Vec<Cert>, KeyError> {
        let mut out = Vec::new();
        for der in CertificateDer::pem_slice_iter(bytes) {
            let der = der.map_err(|e| KeyError::BadCertificate(e.to_string()))?;
            out.push(Cert::from_der(der.as_ref())?);
        }
        if out.is_empty() {
            return Err(KeyError::NoCertificate);
        }
        Ok(out)
    }
}

/// The attribute keywords RFC 2253 (section 2.3) defines, which Java writes by name; any
/// other attribute is written as its dotted OID.
const RFC2253_KEYWORDS: &[(&str, &str)] = &[
    ("2.5.4.3", "CN"),
    ("2.5.4.7", "L"),
    ("2.5.4.8", "ST"),
    ("2.5.4.10", "O"),
    ("2.5.4.11", "OU"),
    ("2.5.4.6", "C"),
    ("2.5.4.9", "STREET"),
    ("0.9.2342.19200300.100.1.25", "DC"),
    ("0.9.2342.19200300.100.1.1", "UID"),
];

/// The issuer as Java's `X500Principal.getName()` writes it (RFC 2253: the last RDN first,
/// `CN=...,OU=...,O=...,C=...`), which is what Alipay's SDKs hash for a certificate SN.
fn rfc2253_issuer(c: &X509Certificate<'_>) -> String {
    let mut parts: Vec<String> = Vec::new();
    for rdn in c.issuer().iter_rdn() {
        for a in rdn.iter() {
            let oid = a.attr_type().to_id_string();
            let name = RFC2253_KEYWORDS
                .iter()
                .find(|(o, _)| *o == oid)
                .map_or(oid.clone(), |(_, k)| k.to_string());
            let value = a.as_str().unwrap_or_default();
            parts.push(format!("{name}={value}"));
        }
    }
    parts.reverse();
    parts.join(",")
}

/// Alipay's root certificate SN: the SNs of the RSA-signed certificates of the root file,
/// joined with `_` (the file also holds an SM2 root, which is skipped).
pub fn alipay_root_sn(certs: &[Cert]) -> String {
    let sns: Vec<&str> = certs
        .iter()
        .filter(|c| c.rsa_signed)
        .map(|c| c.alipay_sn.as_str())
        .collect();
    sns.join("_")
}

/// The bare base64 of a DER structure, whitespace allowed (Alipay's key tool writes one long
/// line without PEM armour).
fn bare_base64(bytes: &[u8]) -> Option<Vec<u8>> {
    let text: Vec<u8> = bytes
        .iter()
        .copied()
        .filter(|b| !b.is_ascii_whitespace())
        .collect();
    base64::engine::general_purpose::STANDARD.decode(text).ok()
}

/// Lower-case hex.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn md5(bytes: &[u8]) -> [u8; 16] {
    use md5::Digest;
    md5::Md5::digest(bytes).into()
}
