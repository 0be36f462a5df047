//! WeChat Pay's platform certificates, as the demo's WeChat-Pay-like gateway publishes them:
//! issued at start and at each rotation, listed at `/v3/certificates` encrypted under the
//! APIv3 key.

use std::sync::Arc;

use ring::aead::{Aad, LessSafeKey, Nonce, UnboundKey, AES_256_GCM};

use super::{b64, demo_keys, random, Keys, KeysError, PLATFORM_CERTS_KEPT};
use crate::sign::keys::{hex, Cert, PrivateKey};

/// One WeChat Pay platform certificate.
pub(super) struct PlatformCert {
    pub serial: String,
    pub pem: String,
    pub not_after: i64,
    pub key: Arc<PrivateKey>,
}

impl Keys {
    /// WeChat Pay publishes a new platform certificate (a new serial, the other key) and
    /// signs with it from now on; the one it replaces stays listed.
    pub fn rotate(&self) -> Result<String, KeysError> {
        use std::sync::atomic::Ordering;
        let n = self.rotations.fetch_add(1, Ordering::Relaxed);
        let key_pem = demo_keys::WECHAT_PLATFORM[n % 2];
        let mut serial = random(20)?;
        serial[0] = (serial[0] & 0x7f) | 0x10; // positive, and 40 hex digits
        let pem = self
            .issuer
            .certificate_for(key_pem, "Tenpay.com Root CA", &serial)?;
        let der = rustls::pki_types::pem::PemObject::from_pem_slice(pem.as_bytes())
            .map_err(|_| crate::sign::keys::KeyError::NoCertificate)?;
        let cert = Cert::from_der(rustls::pki_types::CertificateDer::as_ref(&der))?;
        let serial = cert.serial_hex.clone();
        let mut certs = crate::sync::write(&self.platform, "demo platform certificates");
        certs.push(PlatformCert {
            serial: serial.clone(),
            pem,
            not_after: cert.not_after_unix,
            key: Arc::new(PrivateKey::parse(key_pem.as_bytes())?),
        });
        while certs.len() > PLATFORM_CERTS_KEPT {
            certs.remove(0);
        }
        Ok(serial)
    }

    /// The serial WeChat Pay signs its answers with now.
    pub fn platform_serial(&self) -> String {
        let certs = crate::sync::read(&self.platform, "demo platform certificates");
        certs.last().map(|c| c.serial.clone()).unwrap_or_default()
    }
}

/// `/v3/certificates`: each platform certificate's PEM sealed with AEAD_AES_256_GCM
/// under the APIv3 key (a 12-character nonce, associated data "certificate", the tag
/// after the ciphertext), as WeChat Pay documents it.
pub(super) fn certificates(keys: &Keys) -> String {
    let certs = crate::sync::read(&keys.platform, "demo platform certificates");
    let beijing = |t: i64| {
        let s = crate::timefmt::rfc3339_secs(t.saturating_add(8 * 3600));
        format!("{}+08:00", s.trim_end_matches('Z'))
    };
    let data: Vec<serde_json::Value> = certs
        .iter()
        .filter_map(|c| {
            let nonce = hex(&random(6).ok()?);
            let key = UnboundKey::new(&AES_256_GCM, &keys.apiv3).ok()?;
            let n = Nonce::try_assume_unique_for_key(nonce.as_bytes()).ok()?;
            let mut buf = c.pem.clone().into_bytes();
            LessSafeKey::new(key)
                .seal_in_place_append_tag(n, Aad::from(b"certificate"), &mut buf)
                .ok()?;
            Some(serde_json::json!({
                "serial_no": c.serial,
                "effective_time": beijing(c.not_after - 5 * 365 * 86_400),
                "expire_time": beijing(c.not_after),
                "encrypt_certificate": {
                    "algorithm": "AEAD_AES_256_GCM",
                    "nonce": nonce,
                    "associated_data": "certificate",
                    "ciphertext": b64(&buf),
                }
            }))
        })
        .collect();
    serde_json::json!({ "data": data }).to_string()
}
