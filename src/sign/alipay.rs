//! Alipay Open Platform RSA2 (SHA256withRSA), as the Open Platform's "自行实现签名" page and
//! its official SDKs (alipay-sdk-java, alipay-sdk-nodejs-all `util.ts` / `antcertutil.ts`)
//! do it: every non-empty parameter except `sign`, sorted by name, joined as `k=v&k=v`
//! (`sign_type` included), signed and base64-encoded; `timestamp` is Beijing time
//! (`yyyy-MM-dd HH:mm:ss`, UTC+8). The answer's `sign` is verified over the exact text of its
//! `<method>_response` (or `error_response`) member, byte for byte as it was received.
//!
//! Certificate mode sends `app_cert_sn` (MD5 of the app certificate's issuer, RFC 2253
//! order, and decimal serial) and `alipay_root_cert_sn` (the same over each RSA-signed
//! certificate of the root file, joined with `_`); the answer names the Alipay certificate
//! that signed it in `alipay_cert_sn`.

use std::collections::{BTreeMap, HashMap};

use base64::Engine;
use serde_json::value::RawValue;

use super::keys::{Cert, PrivateKey, PublicKey};
use super::{AnswerCheck, SignError, SignEvidence, Signed, VerifyMode};

/// Calls a probe may make: queries of a trade and of a refund. Nothing else can be signed,
/// so a probe can never pay, refund, close or cancel (issue 19, point 2).
pub const ALLOWED_METHODS: &[&str] = &["alipay.trade.query", "alipay.trade.fastpay.refund.query"];

/// Beijing time is UTC+8 all year (no daylight saving).
const BEIJING_OFFSET_SECS: i64 = 8 * 3600;

/// How Alipay's answers are verified.
#[derive(Debug)]
pub enum Verify {
    /// `alipay_public_key_file`.
    PublicKey(PublicKey),
    /// `app_cert_file`, `alipay_cert_file`, `alipay_root_cert_file`.
    Cert(Box<CertMode>),
}

/// Certificate mode: the SNs sent with each call and the certificates they name.
#[derive(Debug)]
pub struct CertMode {
    pub app_cert_sn: String,
    pub root_cert_sn: String,
    pub app: Cert,
    pub alipay: Cert,
    pub roots: Vec<Cert>,
}

/// One Alipay merchant's signing setup.
#[derive(Debug)]
pub struct Alipay {
    pub app_id: String,
    pub method: String,
    pub biz_content: String,
    pub key: PrivateKey,
    pub verify: Verify,
}

impl Alipay {
    /// The form body of a signed call at `unix` seconds: the common parameters, the
    /// business content and `sign`.
    pub fn sign(&self, unix: i64) -> Result<Signed, SignError> {
        let mut params: BTreeMap<&str, String> = BTreeMap::new();
        params.insert("app_id", self.app_id.clone());
        params.insert("method", self.method.clone());
        params.insert("format", "JSON".into());
        params.insert("charset", "utf-8".into());
        params.insert("sign_type", "RSA2".into());
        params.insert("timestamp", beijing_time(unix));
        params.insert("version", "1.0".into());
        params.insert("biz_content", self.biz_content.clone());
        if let Verify::Cert(c) = &self.verify {
            params.insert("app_cert_sn", c.app_cert_sn.clone());
            params.insert("alipay_root_cert_sn", c.root_cert_sn.clone());
        }
        let content = signing_content(&params);
        let sig = self.key.sign(content.as_bytes())?;
        let sig = base64::engine::general_purpose::STANDARD.encode(sig);
        let mut form = url::form_urlencoded::Serializer::new(String::new());
        for (k, v) in &params {
            form.append_pair(k, v);
        }
        form.append_pair("sign", &sig);
        Ok(Signed {
            body: form.finish().into_bytes().into(),
            content_type: Some("application/x-www-form-urlencoded;charset=utf-8"),
            headers: Vec::new(),
        })
    }

    /// The certificates of certificate mode, each with its expiry.
    pub fn credentials(&self) -> Vec<super::Credential> {
        use super::Credential;
        let Verify::Cert(c) = &self.verify else {
            return Vec::new();
        };
        let mut out = vec![
            Credential::new("app_cert", &c.app.alipay_sn, c.app.not_after_unix),
            Credential::new("alipay_cert", &c.alipay.alipay_sn, c.alipay.not_after_unix),
        ];
        for r in c.roots.iter().filter(|r| r.rsa_signed) {
            out.push(Credential::new(
                "alipay_root_cert",
                &r.alipay_sn,
                r.not_after_unix,
            ));
        }
        out
    }

    pub fn mode(&self) -> VerifyMode {
        match self.verify {
            Verify::PublicKey(_) => VerifyMode::PublicKey,
            Verify::Cert(_) => VerifyMode::Certificate,
        }
    }

    /// The key the request is signed with, as Alipay names it.
    pub fn request_key(&self) -> String {
        match &self.verify {
            Verify::PublicKey(_) => format!("app_id {}", self.app_id),
            Verify::Cert(c) => format!("app_id {} app_cert_sn {}", self.app_id, c.app_cert_sn),
        }
    }

    /// Verifies an answer's `sign` over its `*_response` member, filling `ev`.
    pub fn verify(&self, body: &[u8], ev: &mut SignEvidence) {
        let member = format!("{}_response", self.method.replace('.', "_"));
        let top: HashMap<String, Box<RawValue>> = match serde_json::from_slice(body) {
            Ok(t) => t,
            Err(_) => {
                return ev.answer_fails(AnswerCheck::Missing, "the answer is not a JSON object")
            }
        };
        let Some(content) = top.get(&member).or_else(|| top.get("error_response")) else {
            return ev.answer_fails(
                AnswerCheck::Missing,
                format!("the answer has no `{member}` member"),
            );
        };
        let field = |k: &str| {
            top.get(k)
                .and_then(|v| serde_json::from_str::<String>(v.get()).ok())
        };
        let (key, name) = match &self.verify {
            Verify::PublicKey(k) => (k, "alipay_public_key_file".to_string()),
            Verify::Cert(c) => (
                &c.alipay.key,
                format!("alipay_cert_sn {}", c.alipay.alipay_sn),
            ),
        };
        ev.keys_tried.push(name.clone());
        let Some(sign) = field("sign") else {
            return ev.answer_fails(AnswerCheck::Missing, "the answer carries no `sign`");
        };
        if let Verify::Cert(c) = &self.verify {
            let alipay = &c.alipay;
            let named = field("alipay_cert_sn");
            ev.answer_serial = named.clone();
            if let Some(sn) = named.filter(|sn| *sn != alipay.alipay_sn) {
                return ev.answer_fails(
                    AnswerCheck::UnknownKey,
                    format!(
                        "the answer is signed by Alipay certificate {sn}, not the configured {} (a rotated Alipay certificate: download the new one)",
                        alipay.alipay_sn
                    ),
                );
            }
        }
        let sig = base64::engine::general_purpose::STANDARD.decode(sign.trim());
        // Alipay's SDK tries again with `\/` read as `/` (a JSON escape some paths add).
        let text = content.get();
        let verifies = |sig: &[u8]| {
            key.verify(text.as_bytes(), sig)
                || (text.contains("\\/") && key.verify(text.replace("\\/", "/").as_bytes(), sig))
        };
        match sig {
            Ok(sig) if verifies(&sig) => {
                ev.answer = AnswerCheck::Verified;
            }
            _ => ev.answer_fails(
                AnswerCheck::Invalid,
                format!("the answer's `sign` does not verify with {name} (a wrong Alipay public key, or the answer was changed on the way)"),
            ),
        }
    }
}

/// `k=v` pairs of the non-empty parameters, sorted by name, joined with `&`; `sign` is never
/// part of it.
pub fn signing_content(params: &BTreeMap<&str, String>) -> String {
    params
        .iter()
        .filter(|(k, v)| **k != "sign" && !v.is_empty())
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("&")
}

/// `unix` seconds as Beijing wall-clock time, `yyyy-MM-dd HH:mm:ss`.
pub fn beijing_time(unix: i64) -> String {
    let s = crate::timefmt::rfc3339_secs(unix.saturating_add(BEIJING_OFFSET_SECS));
    s.trim_end_matches('Z').replacen('T', " ", 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn beijing_time_is_utc_plus_8() {
        // 2024-01-01T00:00:00Z is 08:00 in Beijing.
        assert_eq!(beijing_time(1_704_067_200), "2024-01-01 08:00:00");
        // 16:00 UTC crosses midnight in Beijing.
        assert_eq!(
            beijing_time(1_704_067_200 - 8 * 3600 - 1),
            "2023-12-31 23:59:59"
        );
    }

    #[test]
    fn signing_content_sorts_and_drops_empty_and_sign() {
        let mut p = BTreeMap::new();
        p.insert("method", "alipay.trade.query".to_string());
        p.insert("app_id", "2021".to_string());
        p.insert("sign", "x".to_string());
        p.insert("notify_url", String::new());
        assert_eq!(signing_content(&p), "app_id=2021&method=alipay.trade.query");
    }
}
