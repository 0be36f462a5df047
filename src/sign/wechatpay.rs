//! WeChat Pay API v3 signatures, as pay.weixin.qq.com documents them (签名生成, 签名验证,
//! 证书和回调报文解密) and its SDKs (wechatpay-java, wechatpay-go) do:
//!
//! - request: `Authorization: WECHATPAY2-SHA256-RSA2048 mchid="..",nonce_str="..",
//!   signature="..",timestamp="..",serial_no=".."`, the signature being SHA256withRSA with the
//!   merchant's `apiclient_key.pem` over `METHOD\nURL\ntimestamp\nnonce\nbody\n` (URL: the
//!   absolute path with its query; body empty for a GET);
//! - answer: `Wechatpay-Signature` (base64) over `Wechatpay-Timestamp\nWechatpay-Nonce\n
//!   body\n`, with the key `Wechatpay-Serial` names: the WeChat Pay public key
//!   (`PUB_KEY_ID_...`) or a platform certificate's serial;
//! - platform certificates: `GET /v3/certificates`, each `encrypt_certificate` decrypted
//!   with AEAD_AES_256_GCM (key: the 32-byte APIv3 key; nonce and associated data as given;
//!   the 16-byte tag at the end of the base64 ciphertext).

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Mutex;
use std::time::Instant;

use base64::Engine;
use ring::aead::{Aad, LessSafeKey, Nonce, UnboundKey, AES_256_GCM};
use ring::rand::{SecureRandom, SystemRandom};
use serde::Deserialize;

use super::keys::{hex, Cert, PrivateKey, PublicKey};
use super::{AnswerCheck, SignError, SignEvidence, VerifyMode};

/// Paths a probe may GET: an order (by merchant or WeChat id, direct or partner), a refund,
/// the platform certificates. Each `{}` is one non-empty segment; nothing may follow, so
/// `.../out-trade-no/{}/close` is refused (issue 19, point 2).
pub const ALLOWED_PATHS: &[&str] = &[
    "/v3/pay/transactions/out-trade-no/{}",
    "/v3/pay/transactions/id/{}",
    "/v3/pay/partner/transactions/out-trade-no/{}",
    "/v3/pay/partner/transactions/id/{}",
    "/v3/refund/domestic/refunds/{}",
    "/v3/certificates",
];

/// The platform certificates' path.
pub const CERTIFICATES_PATH: &str = "/v3/certificates";

/// `path` is one of [`ALLOWED_PATHS`].
pub fn allowed_path(path: &str) -> bool {
    ALLOWED_PATHS.iter().any(|pattern| {
        let want: Vec<&str> = pattern.split('/').collect();
        let got: Vec<&str> = path.split('/').collect();
        want.len() == got.len()
            && want
                .iter()
                .zip(&got)
                .all(|(w, g)| if *w == "{}" { !g.is_empty() } else { w == g })
    })
}

/// The APIv3 key: 32 bytes, never printed.
pub struct Apiv3Key([u8; 32]);

impl fmt::Debug for Apiv3Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Apiv3Key(<redacted>)")
    }
}

impl Apiv3Key {
    /// The key as the merchant platform shows it: 32 ASCII characters.
    pub fn parse(text: &str) -> Option<Apiv3Key> {
        text.trim().as_bytes().try_into().ok().map(Apiv3Key)
    }
}

/// Platform certificates fetched from `/v3/certificates`, by serial.
#[derive(Debug, Default)]
pub struct CertCache {
    pub certs: BTreeMap<String, Cert>,
    pub fetched_at: Option<Instant>,
    /// The unknown answer serial the last fetch was made for, if any.
    pub asked_for: Option<String>,
    /// When each serial was first installed (Unix seconds), bounded by
    /// `limits::MAX_PLATFORM_CERTS`.
    pub first_seen: BTreeMap<String, i64>,
    /// A serial the last install added to a set that was not empty (a rotation).
    pub new_serial: Option<String>,
    /// Why the last fetch gave nothing usable.
    pub problem: Option<String>,
}

/// Platform-certificate mode: the APIv3 key and what it decrypted.
#[derive(Debug)]
pub struct Platform {
    pub key: Apiv3Key,
    pub cache: Mutex<CertCache>,
}

/// One WeChat Pay merchant's signing setup.
#[derive(Debug)]
pub struct Wechat {
    pub mchid: String,
    pub serial_no: String,
    pub key: PrivateKey,
    /// `wechatpay_public_key_id` and `wechatpay_public_key_file`.
    pub public_key: Option<(String, PublicKey)>,
    pub platform: Option<Platform>,
    /// `apiclient_cert_file`: the merchant certificate of `serial_no`, watched for expiry.
    pub apiclient_cert: Option<Box<Cert>>,
}

/// The answer headers verification reads.
#[derive(Debug, Default, Clone)]
pub struct AnswerHeaders {
    pub serial: Option<String>,
    pub signature: Option<String>,
    pub timestamp: Option<String>,
    pub nonce: Option<String>,
}

impl Wechat {
    /// The `Authorization` value for `method` on `path_query` with `body` at `unix` seconds.
    pub fn authorization(
        &self,
        method: &str,
        path_query: &str,
        body: &[u8],
        unix: i64,
    ) -> Result<String, SignError> {
        let nonce = nonce()?;
        let body = String::from_utf8_lossy(body);
        let message = format!("{method}\n{path_query}\n{unix}\n{nonce}\n{body}\n");
        let sig = self.key.sign(message.as_bytes())?;
        let sig = base64::engine::general_purpose::STANDARD.encode(sig);
        Ok(format!(
            "WECHATPAY2-SHA256-RSA2048 mchid=\"{}\",nonce_str=\"{nonce}\",signature=\"{sig}\",timestamp=\"{unix}\",serial_no=\"{}\"",
            self.mchid, self.serial_no
        ))
    }

    /// The merchant's own certificate (`apiclient_cert`, when configured) and the platform
    /// certificates held, with their expiry and first sighting.
    pub fn credentials(&self) -> Vec<super::Credential> {
        let mut out: Vec<super::Credential> = self
            .apiclient_cert
            .iter()
            .map(|c| super::Credential::new("apiclient_cert", &c.serial_hex, c.not_after_unix))
            .collect();
        let Some(p) = &self.platform else {
            return out;
        };
        let cache = crate::sync::lock(&p.cache, "wechatpay platform certificates");
        out.extend(cache.certs.iter().map(|(serial, c)| {
            let mut cred = super::Credential::new("platform_cert", serial, c.not_after_unix);
            cred.first_seen_unix = cache.first_seen.get(serial).copied();
            cred
        }));
        out
    }

    pub fn mode(&self) -> VerifyMode {
        match (&self.public_key, &self.platform) {
            (Some(_), None) => VerifyMode::PublicKey,
            (None, _) => VerifyMode::Certificate,
            (Some(_), Some(_)) => VerifyMode::Both,
        }
    }

    /// The key `serial` names, if configured or fetched.
    fn key_for(&self, serial: &str) -> Option<PublicKey> {
        if let Some((id, k)) = &self.public_key {
            if id == serial {
                return Some(k.clone());
            }
        }
        let p = self.platform.as_ref()?;
        let cache = crate::sync::lock(&p.cache, "wechatpay platform certificates");
        cache.certs.get(serial).map(|c| c.key.clone())
    }

    /// What could verify an answer, as the reason names it.
    fn keys_known(&self) -> Vec<String> {
        let mut out: Vec<String> = self.public_key.iter().map(|(id, _)| id.clone()).collect();
        if let Some(p) = &self.platform {
            let cache = crate::sync::lock(&p.cache, "wechatpay platform certificates");
            out.extend(
                cache
                    .certs
                    .keys()
                    .map(|s| format!("platform certificate {s}")),
            );
            if cache.certs.is_empty() {
                out.push("no platform certificate fetched yet".into());
            }
            if let Some(why) = &cache.problem {
                out.push(format!("last /v3/certificates fetch failed: {why}"));
            }
        }
        out
    }

    /// Verifies an answer, filling `ev`; `now` gives the clock skew.
    pub fn verify(&self, h: &AnswerHeaders, body: &[u8], now: i64, ev: &mut SignEvidence) {
        ev.answer_serial = h.serial.clone();
        if let Some(ts) = h
            .timestamp
            .as_deref()
            .and_then(|t| t.trim().parse::<i64>().ok())
        {
            ev.clock_skew_seconds = Some(ts.saturating_sub(now));
        }
        ev.keys_tried = self.keys_known();
        let (Some(serial), Some(sig), Some(ts), Some(nonce)) =
            (&h.serial, &h.signature, &h.timestamp, &h.nonce)
        else {
            return ev.answer_fails(
                AnswerCheck::Missing,
                "the answer has no Wechatpay-Signature (or no Wechatpay-Serial, -Timestamp, -Nonce)",
            );
        };
        let Some(key) = self.key_for(serial) else {
            return ev.answer_fails(
                AnswerCheck::UnknownKey,
                format!("the answer names Wechatpay-Serial {serial}, a key payprobe does not have"),
            );
        };
        let message = [ts.as_bytes(), b"\n", nonce.as_bytes(), b"\n", body, b"\n"].concat();
        match base64::engine::general_purpose::STANDARD.decode(sig.trim()) {
            Ok(s) if key.verify(&message, &s) => ev.answer = AnswerCheck::Verified,
            _ => ev.answer_fails(
                AnswerCheck::Invalid,
                format!("Wechatpay-Signature does not verify with the key of Wechatpay-Serial {serial} (a wrong key, or the answer was changed on the way)"),
            ),
        }
    }

    /// The platform certificates in a `/v3/certificates` answer, decrypted, checked against
    /// their serials, and the answer's own signature verified with them (the SDKs' bootstrap:
    /// only the APIv3 key can have made them).
    pub fn install_certificates(&self, h: &AnswerHeaders, body: &[u8]) -> Result<usize, String> {
        let Some(p) = &self.platform else {
            return Ok(0);
        };
        let certs = decrypt_list(&p.key, body)?;
        verify_bootstrap(h, body, &certs)?;
        let n = certs.len();
        let now = crate::timefmt::unix_secs(std::time::SystemTime::now());
        crate::sync::lock(&p.cache, "wechatpay platform certificates").install(certs, now);
        Ok(n)
    }
}

impl CertCache {
    /// Holds `certs` (verified) from now on, noting each serial's first sighting at `now` and
    /// a serial new to a set that was not empty (a rotation). The sightings stay bounded by
    /// `limits::MAX_PLATFORM_CERTS`, the oldest forgotten first.
    fn install(&mut self, certs: BTreeMap<String, Cert>, now: i64) {
        let had = !self.first_seen.is_empty();
        for serial in certs.keys() {
            if !self.first_seen.contains_key(serial) {
                self.new_serial = had.then(|| serial.clone());
                self.first_seen.insert(serial.clone(), now);
            }
        }
        while self.first_seen.len() > crate::limits::MAX_PLATFORM_CERTS {
            let oldest = self
                .first_seen
                .iter()
                .min_by_key(|(_, t)| **t)
                .map(|(s, _)| s.clone());
            if let Some(s) = oldest {
                self.first_seen.remove(&s);
            }
        }
        self.certs = certs;
        self.problem = None;
    }
}

/// The certificates of a `/v3/certificates` answer, by upper-case serial: at most
/// `limits::MAX_PLATFORM_CERTS`, each decrypted with the APIv3 key and being the serial it
/// is listed as.
fn decrypt_list(key: &Apiv3Key, body: &[u8]) -> Result<BTreeMap<String, Cert>, String> {
    let list: CertList = serde_json::from_slice(body)
        .map_err(|e| format!("/v3/certificates: not the documented answer: {e}"))?;
    if list.data.len() > crate::limits::MAX_PLATFORM_CERTS {
        return Err(format!(
            "/v3/certificates lists {} certificates, more than the {} payprobe keeps",
            list.data.len(),
            crate::limits::MAX_PLATFORM_CERTS
        ));
    }
    let mut certs = BTreeMap::new();
    for item in list.data {
        let cert = decrypt_certificate(key, &item.encrypt_certificate)?;
        if !cert.serial_hex.eq_ignore_ascii_case(&item.serial_no) {
            return Err(format!(
                "/v3/certificates: certificate {} is listed as {}",
                cert.serial_hex, item.serial_no
            ));
        }
        certs.insert(item.serial_no.to_ascii_uppercase(), cert);
    }
    Ok(certs)
}

/// The `/v3/certificates` answer's own signature, verified with the certificate it names
/// among those it carries: certificates that only the APIv3 key could have encrypted, so
/// the signature shows the answer is WeChat Pay's.
fn verify_bootstrap(
    h: &AnswerHeaders,
    body: &[u8],
    certs: &BTreeMap<String, Cert>,
) -> Result<(), String> {
    let serial = h.serial.clone().unwrap_or_default();
    let key = certs
        .get(&serial.to_ascii_uppercase())
        .map(|c| c.key.clone());
    let message = [
        h.timestamp.as_deref().unwrap_or("").as_bytes(),
        b"\n",
        h.nonce.as_deref().unwrap_or("").as_bytes(),
        b"\n",
        body,
        b"\n",
    ]
    .concat();
    let sig = h.signature.as_deref().and_then(|s| {
        base64::engine::general_purpose::STANDARD
            .decode(s.trim())
            .ok()
    });
    let ok = matches!((key, sig), (Some(k), Some(s)) if k.verify(&message, &s));
    if !ok {
        return Err(format!("/v3/certificates: the answer's signature does not verify with the certificates it carries (serial {serial})"));
    }
    Ok(())
}

#[derive(Deserialize)]
struct CertList {
    data: Vec<CertItem>,
}

#[derive(Deserialize)]
struct CertItem {
    serial_no: String,
    encrypt_certificate: Encrypted,
}

#[derive(Deserialize)]
struct Encrypted {
    algorithm: String,
    nonce: String,
    #[serde(default)]
    associated_data: String,
    ciphertext: String,
}

fn decrypt_certificate(key: &Apiv3Key, e: &Encrypted) -> Result<Cert, String> {
    if e.algorithm != "AEAD_AES_256_GCM" {
        return Err(format!(
            "/v3/certificates: unknown algorithm {:?}",
            e.algorithm
        ));
    }
    let pem = decrypt(key, &e.nonce, &e.associated_data, &e.ciphertext)?;
    let certs = Cert::parse_pem(&pem).map_err(|e| format!("/v3/certificates: {e}"))?;
    certs
        .into_iter()
        .next()
        .ok_or_else(|| "/v3/certificates: no certificate".to_string())
}

/// AEAD_AES_256_GCM as WeChat Pay documents it (证书和回调报文解密).
pub fn decrypt(
    key: &Apiv3Key,
    nonce: &str,
    aad: &str,
    ciphertext: &str,
) -> Result<Vec<u8>, String> {
    let bad = |why: &str| format!("/v3/certificates: cannot decrypt: {why}");
    let mut buf = base64::engine::general_purpose::STANDARD
        .decode(ciphertext.trim())
        .map_err(|_| bad("the ciphertext is not base64"))?;
    let nonce = Nonce::try_assume_unique_for_key(nonce.as_bytes())
        .map_err(|_| bad("the nonce is not 12 bytes"))?;
    let k = UnboundKey::new(&AES_256_GCM, &key.0).map_err(|_| bad("bad key"))?;
    let plain = LessSafeKey::new(k)
        .open_in_place(nonce, Aad::from(aad.as_bytes()), &mut buf)
        .map_err(|_| bad("authentication failed (a wrong APIv3 key?)"))?;
    Ok(plain.to_vec())
}

/// 32 random upper-case hex characters.
fn nonce() -> Result<String, SignError> {
    let mut b = [0u8; 16];
    SystemRandom::new()
        .fill(&mut b)
        .map_err(|_| SignError::Random)?;
    Ok(hex(&b).to_ascii_uppercase())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_query_paths_are_allowed() {
        assert!(allowed_path("/v3/pay/transactions/out-trade-no/abc"));
        assert!(allowed_path("/v3/certificates"));
        assert!(allowed_path("/v3/refund/domestic/refunds/r1"));
        assert!(!allowed_path("/v3/pay/transactions/out-trade-no/abc/close"));
        assert!(!allowed_path("/v3/pay/transactions/jsapi"));
        assert!(!allowed_path("/v3/pay/transactions/out-trade-no/"));
        assert!(!allowed_path("/v3/refund/domestic/refunds"));
    }
}
