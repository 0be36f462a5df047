//! Merchant-credentialed probes (issue 19): the request a real merchant would send — signed
//! Alipay RSA2, WeChat Pay v3 or a Stripe restricted key — and the verification of the
//! answer's signature, as typed evidence.
//!
//! Keys are parsed once per config load (`src/config/validate/sign.rs`) into a [`SignSpec`]
//! the `http` prober uses each round: it asks for the signed request, sends it, and hands
//! the answer back for verification. Verification is an observation (the signature verified
//! with key X, or did not); `src/judge/verdict/http.rs` judges it. Only query calls can be signed
//! (the allowlists in each provider's module), so a probe cannot move money whatever the
//! config says. Nothing here puts a key, a signature or a bearer token in evidence, errors
//! or `Debug` output.

pub mod alipay;
pub mod keys;
pub mod stripe;
pub mod wechatpay;

use std::sync::Arc;
use std::time::SystemTime;

use bytes::Bytes;
use hyper::header::{HeaderMap, HeaderName, HeaderValue};
use hyper::Method;
use serde::Serialize;

pub use crate::vocab::SignKind;

/// How answers are verified: `public_key`, `certificate` (Alipay certificates, WeChat Pay
/// platform certificates), `both` (WeChat Pay during its move to public keys), `none`
/// (Stripe does not sign its answers; TLS is all there is).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum VerifyMode {
    #[default]
    None,
    PublicKey,
    Certificate,
    Both,
}

impl VerifyMode {
    pub fn as_str(self) -> &'static str {
        match self {
            VerifyMode::None => "none",
            VerifyMode::PublicKey => "public_key",
            VerifyMode::Certificate => "certificate",
            VerifyMode::Both => "both",
        }
    }
}

/// What became of the answer's signature.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AnswerCheck {
    /// No answer was read (the exchange failed before a body came).
    #[default]
    NotChecked,
    /// The provider does not sign answers (Stripe).
    NotSigned,
    Verified,
    /// The answer carries no signature.
    Missing,
    /// The answer names a key payprobe was not given.
    UnknownKey,
    /// The signature does not verify with the key it names.
    Invalid,
}

impl AnswerCheck {
    pub fn as_str(self) -> &'static str {
        match self {
            AnswerCheck::NotChecked => "not_checked",
            AnswerCheck::NotSigned => "not_signed",
            AnswerCheck::Verified => "verified",
            AnswerCheck::Missing => "missing",
            AnswerCheck::UnknownKey => "unknown_key",
            AnswerCheck::Invalid => "invalid",
        }
    }

    /// A signed provider's answer that cannot be trusted.
    pub fn fails(self) -> bool {
        matches!(
            self,
            AnswerCheck::Missing | AnswerCheck::UnknownKey | AnswerCheck::Invalid
        )
    }
}

/// The typed evidence of a signed exchange (in `HttpEvidence::signature`). Its JSON is a
/// judged check's (`src/checked/json.rs`), with each credential's expiry reading.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SignEvidence {
    pub kind: SignKind,
    pub request_signed: bool,
    /// The merchant key the request was signed with, by its public name (Alipay `app_id`
    /// and `app_cert_sn`, WeChat Pay `serial_no`, the Stripe key's type prefix).
    pub request_key: String,
    pub verification_mode: VerifyMode,
    pub answer: AnswerCheck,
    /// The key the answer says signed it (`Wechatpay-Serial`, `alipay_cert_sn`).
    pub answer_serial: Option<String>,
    /// The keys verification tried, or could have.
    pub keys_tried: Vec<String>,
    /// Why the answer is not verified.
    pub problem: Option<String>,
    /// The provider's clock minus payprobe's, seconds (`Wechatpay-Timestamp`, else `Date`).
    pub clock_skew_seconds: Option<i64>,
    /// The certificates the credentials rely on, with their expiry (lifecycle, issue 19
    /// point 4).
    pub credentials: Vec<Credential>,
    /// A WeChat Pay platform serial this probe saw for the first time (a rotation).
    pub new_platform_serial: Option<String>,
}

/// One certificate a signed probe relies on.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Credential {
    /// `app_cert`, `alipay_cert`, `alipay_root_cert`, `apiclient_cert`, `platform_cert`.
    pub credential: &'static str,
    /// Alipay's SN, or WeChat Pay's serial.
    pub serial: String,
    pub not_after_unix: i64,
    /// When payprobe first saw it (WeChat Pay platform certificates).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub first_seen_unix: Option<i64>,
}

impl Credential {
    pub fn new(credential: &'static str, serial: &str, not_after_unix: i64) -> Credential {
        Credential {
            credential,
            serial: serial.to_string(),
            not_after_unix,
            first_seen_unix: None,
        }
    }
}

impl SignEvidence {
    pub(crate) fn answer_fails(&mut self, check: AnswerCheck, why: impl Into<String>) {
        self.answer = check;
        self.problem = Some(why.into());
    }
}

/// Why a request could not be signed (never the gateway's fault).
#[derive(Debug, thiserror::Error)]
pub enum SignError {
    #[error(transparent)]
    Key(#[from] keys::KeyError),
    #[error("no randomness for the nonce")]
    Random,
    #[error("a signed header is not a valid header value")]
    Header,
}

/// What signing adds to a request.
pub struct Signed {
    pub body: Bytes,
    pub content_type: Option<&'static str>,
    pub headers: Vec<(HeaderName, HeaderValue)>,
}

/// A provider's signing setup.
#[derive(Debug)]
pub enum Signer {
    Alipay(alipay::Alipay),
    Wechat(wechatpay::Wechat),
    Stripe(stripe::Stripe),
}

/// `[targets.sign]`, parsed: shared by every round of one config load. Two specs are equal
/// when they were made from the same settings and the same file contents (`digest`), so a
/// reload that changes a key restarts the target and one that changes nothing does not.
#[derive(Debug, Clone)]
pub struct SignSpec {
    pub signer: Arc<Signer>,
    pub digest: [u8; 32],
    /// A certificate expiring within this is a warning (`expiry_warning`, default 30 days).
    pub expiry_warning: std::time::Duration,
    /// ... and within this, a critical one (`expiry_critical`, default 7 days).
    pub expiry_critical: std::time::Duration,
}

impl PartialEq for SignSpec {
    fn eq(&self, other: &Self) -> bool {
        self.digest == other.digest
            && self.expiry_warning == other.expiry_warning
            && self.expiry_critical == other.expiry_critical
    }
}

/// The request to send, signed.
pub struct Prepared {
    pub method: Method,
    pub url: url::Url,
    pub body: Bytes,
    pub headers: Vec<(HeaderName, HeaderValue)>,
    pub evidence: SignEvidence,
}

impl SignSpec {
    pub fn kind(&self) -> SignKind {
        match &*self.signer {
            Signer::Alipay(_) => SignKind::Alipay,
            Signer::Wechat(_) => SignKind::WechatpayV3,
            Signer::Stripe(_) => SignKind::Stripe,
        }
    }

    /// The certificates the credentials rely on now.
    pub fn credentials(&self) -> Vec<Credential> {
        match &*self.signer {
            Signer::Alipay(a) => a.credentials(),
            Signer::Wechat(w) => w.credentials(),
            Signer::Stripe(_) => Vec::new(),
        }
    }

    /// Signs the target's request (`method`, `url`, `body`) at `now`.
    pub fn prepare(
        &self,
        method: &Method,
        url: &url::Url,
        body: &Bytes,
        now: SystemTime,
    ) -> Result<Prepared, SignError> {
        let unix = crate::timefmt::unix_secs(now);
        let mut p = Prepared {
            method: method.clone(),
            url: url.clone(),
            body: body.clone(),
            headers: Vec::new(),
            evidence: SignEvidence {
                kind: self.kind(),
                request_signed: true,
                ..SignEvidence::default()
            },
        };
        match &*self.signer {
            Signer::Alipay(a) => {
                let s = a.sign(unix)?;
                p.method = Method::POST;
                p.url.set_query(None);
                p.body = s.body;
                p.headers = content_type(s.content_type)?;
                p.evidence.request_key = a.request_key();
                p.evidence.verification_mode = a.mode();
            }
            Signer::Wechat(w) => {
                let mut path = url.path().to_string();
                if let Some(q) = url.query() {
                    path.push('?');
                    path.push_str(q);
                }
                let auth = w.authorization(method.as_str(), &path, body, unix)?;
                p.headers
                    .push((hyper::header::AUTHORIZATION, sensitive(&auth)?));
                p.headers.push((
                    hyper::header::ACCEPT,
                    HeaderValue::from_static("application/json"),
                ));
                p.evidence.request_key = format!("mchid {} serial_no {}", w.mchid, w.serial_no);
                p.evidence.verification_mode = w.mode();
            }
            Signer::Stripe(s) => {
                p.headers = s.headers()?;
                p.evidence.request_key = s.key_type();
                p.evidence.answer = AnswerCheck::NotSigned;
            }
        }
        Ok(p)
    }

    /// Verifies the answer (its headers and the body as read), filling `ev`.
    pub fn verify(
        &self,
        headers: &HeaderMap,
        body: &[u8],
        truncated: bool,
        now: SystemTime,
        ev: &mut SignEvidence,
    ) {
        let unix = crate::timefmt::unix_secs(now);
        ev.clock_skew_seconds = date_skew(headers, unix);
        if truncated && !matches!(*self.signer, Signer::Stripe(_)) {
            return ev.answer_fails(
                AnswerCheck::Invalid,
                "the answer is longer than max_body_bytes: its signature cannot be checked",
            );
        }
        match &*self.signer {
            Signer::Alipay(a) => a.verify(body, ev),
            Signer::Wechat(w) => w.verify(&wechat_headers(headers), body, unix, ev),
            Signer::Stripe(_) => ev.answer = AnswerCheck::NotSigned,
        }
        ev.credentials = self.credentials();
    }
}

/// The `Wechatpay-*` answer headers.
pub fn wechat_headers(h: &HeaderMap) -> wechatpay::AnswerHeaders {
    let get = |n: &str| h.get(n).and_then(|v| v.to_str().ok()).map(str::to_string);
    wechatpay::AnswerHeaders {
        serial: get("wechatpay-serial"),
        signature: get("wechatpay-signature"),
        timestamp: get("wechatpay-timestamp"),
        nonce: get("wechatpay-nonce"),
    }
}

/// The `Date` header minus `now`, seconds.
fn date_skew(h: &HeaderMap, now: i64) -> Option<i64> {
    let d = h.get(hyper::header::DATE)?.to_str().ok()?;
    let t = httpdate::parse_http_date(d).ok()?;
    Some(crate::timefmt::unix_secs(t).saturating_sub(now))
}

fn content_type(ct: Option<&'static str>) -> Result<Vec<(HeaderName, HeaderValue)>, SignError> {
    Ok(ct
        .map(|v| (hyper::header::CONTENT_TYPE, HeaderValue::from_static(v)))
        .into_iter()
        .collect())
}

/// A header value marked sensitive (hyper keeps it out of HPACK tables and `Debug`).
pub(crate) fn sensitive(v: &str) -> Result<HeaderValue, SignError> {
    let mut v = HeaderValue::from_str(v).map_err(|_| SignError::Header)?;
    v.set_sensitive(true);
    Ok(v)
}
