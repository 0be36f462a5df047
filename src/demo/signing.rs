//! The provider side of signed calls, played by the demo's Alipay- and WeChat-Pay-like
//! gateways (issue 19, point 6): each request's merchant signature is checked as the real
//! gateway checks it, and refused as the provider documents (Alipay `isv.missing-signature`
//! / `isv.invalid-signature`, WeChat Pay `401 SIGN_ERROR`, both unsigned); every other answer
//! is signed (Alipay `sign` over the exact `*_response` text; WeChat Pay `Wechatpay-*`
//! headers), and WeChat Pay serves its platform certificates at `/v3/certificates`, encrypted
//! with AES-256-GCM under the APIv3 key.
//!
//! The demo shows both verification modes: Alipay in public-key mode, WeChat Pay in
//! platform-certificate mode (so that its platform certificate can rotate).
//!
//! The RSA keys are fixed, public, demo-only keys (`src/demo/keys/README.md`): the tree can
//! use RSA keys but not generate them.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::sync::{Arc, RwLock};
use std::time::{Duration, SystemTime};

use base64::Engine;
use bytes::Bytes;
use ring::rand::{SecureRandom, SystemRandom};
use serde_json::value::RawValue;

mod platform;
use platform::PlatformCert;

use super::gateway::Seen;
use super::pki::{Ca, PkiError};
use crate::sign::keys::{hex, PrivateKey, PublicKey};

/// DEMO-ONLY RSA-2048 keys, public in this repository: never use them for anything else.
mod demo_keys {
    pub const ALIPAY_APP: &str = include_str!("keys/alipay_app.pem");
    pub const ALIPAY: &str = include_str!("keys/alipay.pem");
    pub const WECHAT_MERCHANT: &str = include_str!("keys/wechat_merchant.pem");
    pub const WECHAT_PLATFORM: [&str; 2] = [
        include_str!("keys/wechat_platform_a.pem"),
        include_str!("keys/wechat_platform_b.pem"),
    ];
    pub const STRANGER: &str = include_str!("keys/stranger.pem");
}

/// The demo merchant's Alipay application.
pub const APP_ID: &str = "2021000000000001";
/// The demo merchant's WeChat Pay merchant id and its API certificate's serial.
pub const MCHID: &str = "1900000001";
pub const MERCHANT_SERIAL: &str = "3775B6A45ACD588826D15E583A95F5DD21EB1F47";

/// The key files the demo's `[targets.sign]` tables name, in the demo's directory.
pub const ALIPAY_APP_KEY_FILE: &str = "alipay_app_private_key.pem";
pub const ALIPAY_PUBLIC_KEY_FILE: &str = "alipay_public_key.pem";
pub const WECHAT_KEY_FILE: &str = "wechatpay_apiclient_key.pem";
pub const APIV3_KEY_FILE: &str = "wechatpay_apiv3.key";
pub const STRIPE_KEY_FILE: &str = "stripe_restricted.key";
/// The API version the demo merchant pins (`Stripe-Version`).
pub const STRIPE_VERSION: &str = "2024-06-20";

/// WeChat Pay refuses a request whose timestamp is more than 5 minutes from its clock.
const WECHAT_MAX_SKEW_SECS: i64 = 300;
/// 9999-12-31T23:59:59Z, the last instant an HTTP date can name.
const LAST_HTTP_DATE: i64 = 253_402_300_799;
/// Platform certificates listed at once: the current one and the one it replaced.
const PLATFORM_CERTS_KEPT: usize = 2;

/// What a signing gateway does differently during an act.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Twist {
    #[default]
    None,
    /// The provider holds another merchant public key than the one the merchant signs with.
    MerchantKeyChanged,
    /// Answers are signed by a key nobody configured.
    StrangerSigns,
    /// The provider's clock is this many seconds off.
    ClockOffset(i64),
}

/// Which provider a gateway plays.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    Alipay,
    Wechat,
    /// Stripe does not sign: it checks the bearer key and says which version answered.
    Stripe,
}

/// How a gateway signs, attached to its `Behavior`.
#[derive(Clone)]
pub struct Signing {
    pub keys: Arc<Keys>,
    pub side: Side,
    pub twist: Twist,
}

impl std::fmt::Debug for Signing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Signing({:?}, {:?})", self.side, self.twist)
    }
}

/// An answer, before it is sent.
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Bytes,
}

/// Every key of the demo's providers and merchant.
pub struct Keys {
    alipay_merchant: PublicKey,
    alipay: PrivateKey,
    wechat_merchant: PublicKey,
    stranger: PrivateKey,
    stranger_public: PublicKey,
    apiv3: [u8; 32],
    /// The merchant's restricted Stripe key, drawn at start.
    stripe: String,
    /// The platform certificates, newest last.
    platform: RwLock<Vec<PlatformCert>>,
    /// Issues the platform certificates ("Tenpay.com Root CA" plays this part).
    issuer: Ca,
    rotations: std::sync::atomic::AtomicUsize,
}

#[derive(Debug, thiserror::Error)]
pub enum KeysError {
    #[error("demo keys: {0}")]
    Key(#[from] crate::sign::keys::KeyError),
    #[error(transparent)]
    Pki(#[from] PkiError),
    #[error("demo keys: no randomness")]
    Random,
    #[error("demo keys: cannot write {0}: {1}")]
    Write(String, std::io::Error),
}

fn public_of(pem: &str) -> Result<PublicKey, KeysError> {
    let kp = rcgen::KeyPair::from_pkcs8_pem_and_sign_algo(pem, &rcgen::PKCS_RSA_SHA256)
        .map_err(PkiError::from)?;
    Ok(PublicKey::parse(kp.public_key_pem().as_bytes())?)
}

fn random(n: usize) -> Result<Vec<u8>, KeysError> {
    let mut b = vec![0u8; n];
    SystemRandom::new()
        .fill(&mut b)
        .map_err(|_| KeysError::Random)?;
    Ok(b)
}

impl Keys {
    /// The demo's keys, a fresh APIv3 key and a first platform certificate.
    pub fn new() -> Result<Keys, KeysError> {
        let apiv3: [u8; 32] = hex(&random(16)?)
            .into_bytes()
            .try_into()
            .map_err(|_| KeysError::Random)?;
        let keys = Keys {
            alipay_merchant: public_of(demo_keys::ALIPAY_APP)?,
            alipay: PrivateKey::parse(demo_keys::ALIPAY.as_bytes())?,
            wechat_merchant: public_of(demo_keys::WECHAT_MERCHANT)?,
            stranger: PrivateKey::parse(demo_keys::STRANGER.as_bytes())?,
            stranger_public: public_of(demo_keys::STRANGER)?,
            apiv3,
            stripe: format!("rk_test_{}", hex(&random(12)?)),
            platform: RwLock::new(Vec::new()),
            issuer: Ca::new("Tenpay.com Root CA (payprobe demo)")?,
            rotations: std::sync::atomic::AtomicUsize::new(0),
        };
        keys.rotate()?;
        Ok(keys)
    }

    /// Writes the merchant's files the demo's `[targets.sign]` tables name, mode 0600.
    pub fn write_files(&self, dir: &Path) -> Result<(), KeysError> {
        let alipay_public = rcgen::KeyPair::from_pkcs8_pem_and_sign_algo(
            demo_keys::ALIPAY,
            &rcgen::PKCS_RSA_SHA256,
        )
        .map_err(PkiError::from)?
        .public_key_pem();
        let files = [
            (ALIPAY_APP_KEY_FILE, demo_keys::ALIPAY_APP.as_bytes()),
            (ALIPAY_PUBLIC_KEY_FILE, alipay_public.as_bytes()),
            (WECHAT_KEY_FILE, demo_keys::WECHAT_MERCHANT.as_bytes()),
            (APIV3_KEY_FILE, &self.apiv3[..]),
            (STRIPE_KEY_FILE, self.stripe.as_bytes()),
        ];
        for (name, bytes) in files {
            write_private(&dir.join(name), bytes)
                .map_err(|e| KeysError::Write(name.to_string(), e))?;
        }
        Ok(())
    }
}

fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)?;
    f.write_all(bytes)
}

fn b64(b: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(b)
}

fn unb64(s: &str) -> Vec<u8> {
    base64::engine::general_purpose::STANDARD
        .decode(s.trim())
        .unwrap_or_default()
}

fn json_reply(status: u16, body: String) -> Reply {
    Reply {
        status,
        headers: vec![(
            "content-type".into(),
            "application/json;charset=utf-8".into(),
        )],
        body: Bytes::from(body),
    }
}

impl Signing {
    /// The provider's clock now.
    fn now(&self) -> i64 {
        let offset = match self.twist {
            Twist::ClockOffset(s) => s,
            _ => 0,
        };
        crate::timefmt::unix_secs(SystemTime::now()).saturating_add(offset)
    }

    /// The merchant public key the provider holds (Stripe holds none: it is never asked).
    fn merchant(&self) -> &PublicKey {
        match (self.twist, self.side) {
            (Twist::MerchantKeyChanged, _) | (_, Side::Stripe) => &self.keys.stranger_public,
            (_, Side::Alipay) => &self.keys.alipay_merchant,
            (_, Side::Wechat) => &self.keys.wechat_merchant,
        }
    }

    /// Checks `req` and answers it: the refusal the provider documents, or `status`/`body`
    /// signed.
    pub fn answer(&self, req: &Seen, status: u16, body: &Bytes) -> Reply {
        let mut r = match self.side {
            Side::Alipay => self.alipay(req, status, body),
            Side::Wechat => self.wechat(req, status, body),
            Side::Stripe => self.stripe(req, status, body),
        };
        // `Date` has four-digit years: the clock is kept inside them whatever the offset.
        let secs = self.now().clamp(0, LAST_HTTP_DATE) as u64;
        let date = SystemTime::UNIX_EPOCH + Duration::from_secs(secs);
        r.headers
            .push(("date".into(), httpdate::fmt_http_date(date)));
        r
    }

    fn alipay(&self, req: &Seen, status: u16, body: &Bytes) -> Reply {
        let form: BTreeMap<String, String> = url::form_urlencoded::parse(&req.body)
            .into_owned()
            .collect();
        let refuse = |code: &str, msg: &str, sub: &str, sub_msg: &str| {
            json_reply(
                200,
                format!(
                    r#"{{"error_response":{{"code":"{code}","msg":"{msg}","sub_code":"{sub}","sub_msg":"{sub_msg}"}}}}"#
                ),
            )
        };
        let Some(sign) = form.get("sign").filter(|s| !s.is_empty()) else {
            return refuse(
                "40001",
                "Missing Required Arguments",
                "isv.missing-signature",
                "缺少签名参数",
            );
        };
        let params: BTreeMap<&str, String> =
            form.iter().map(|(k, v)| (k.as_str(), v.clone())).collect();
        let content = crate::sign::alipay::signing_content(&params);
        if !self.merchant().verify(content.as_bytes(), &unb64(sign)) {
            return refuse(
                "40002",
                "Invalid Arguments",
                "isv.invalid-signature",
                "验签出错，建议检查签名字符串或签名私钥与应用公钥是否匹配",
            );
        }
        // The `*_response` member, signed over its exact text.
        let top: HashMap<String, Box<RawValue>> = serde_json::from_slice(body).unwrap_or_default();
        let Some((member, text)) = top.iter().find(|(k, _)| k.ends_with("_response")) else {
            return json_reply(status, String::from_utf8_lossy(body).into_owned());
        };
        let key = match self.twist {
            Twist::StrangerSigns => &self.keys.stranger,
            _ => &self.keys.alipay,
        };
        let sig = key.sign(text.get().as_bytes()).map(|s| b64(&s));
        let sign = sig.map(|s| format!(r#","sign":"{s}""#)).unwrap_or_default();
        json_reply(status, format!(r#"{{"{member}":{}{sign}}}"#, text.get()))
    }

    /// Stripe's "Authentication": a missing or wrong key is `401` with an
    /// `invalid_request_error` (the key is never echoed); the answer names its API version.
    fn stripe(&self, req: &Seen, status: u16, body: &Bytes) -> Reply {
        let header = |name: &str| {
            req.headers
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(name))
                .map(|(_, v)| v.as_str())
        };
        let good = match self.twist {
            Twist::MerchantKeyChanged => false,
            _ => header("authorization") == Some(&format!("Bearer {}", self.keys.stripe)),
        };
        let mut r = if good {
            json_reply(status, String::from_utf8_lossy(body).into_owned())
        } else {
            json_reply(401, r#"{"error":{"message":"Invalid API Key provided","type":"invalid_request_error"}}"#.to_string())
        };
        let version = header("stripe-version")
            .unwrap_or(STRIPE_VERSION)
            .to_string();
        r.headers.push(("stripe-version".into(), version));
        r
    }

    /// WeChat Pay API v3: a request not signed by the merchant (or signed too far from
    /// WeChat Pay's clock) is `401 SIGN_ERROR`; every answer is signed with the newest
    /// platform certificate's key.
    fn wechat(&self, req: &Seen, status: u16, body: &Bytes) -> Reply {
        let now = self.now();
        if let Err(why) = self.wechat_authorized(req, now) {
            return json_reply(
                401,
                format!(
                    r#"{{"code":"SIGN_ERROR","message":"签名错误","detail":{{"issue":"{why}"}}}}"#
                ),
            );
        }
        let mut r = if req
            .path_and_query
            .starts_with(crate::sign::wechatpay::CERTIFICATES_PATH)
        {
            json_reply(200, platform::certificates(&self.keys))
        } else {
            json_reply(status, String::from_utf8_lossy(body).into_owned())
        };
        self.wechat_sign(&mut r, now);
        r
    }

    /// The request's `Authorization`, checked as WeChat Pay does: the merchant's `mchid`
    /// and certificate serial, its signature over `METHOD\nURL\ntimestamp\nnonce\nbody\n`,
    /// and a timestamp within five minutes. `Err` is the issue WeChat Pay would name.
    fn wechat_authorized(&self, req: &Seen, now: i64) -> Result<(), &'static str> {
        let auth = req
            .headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case("authorization"))
            .map(|(_, v)| v.as_str())
            .unwrap_or("");
        let Some(params) = auth.strip_prefix("WECHATPAY2-SHA256-RSA2048 ") else {
            return Err("no WECHATPAY2-SHA256-RSA2048 Authorization");
        };
        let kv: HashMap<&str, &str> = params
            .split(',')
            .filter_map(|p| p.split_once('='))
            .map(|(k, v)| (k.trim(), v.trim().trim_matches('"')))
            .collect();
        let field = |k: &str| kv.get(k).copied().unwrap_or("");
        let message = format!(
            "{}\n{}\n{}\n{}\n{}\n",
            req.method,
            req.path_and_query,
            field("timestamp"),
            field("nonce_str"),
            String::from_utf8_lossy(&req.body)
        );
        let signed_ok = field("mchid") == MCHID
            && field("serial_no") == MERCHANT_SERIAL
            && self
                .merchant()
                .verify(message.as_bytes(), &unb64(field("signature")));
        if !signed_ok {
            return Err("sign not match");
        }
        let ts: i64 = field("timestamp").parse().unwrap_or(0);
        if ts.saturating_sub(now).saturating_abs() > WECHAT_MAX_SKEW_SECS {
            return Err("timestamp more than 5 minutes from WeChat Pay's clock");
        }
        Ok(())
    }

    /// Signs an answer as WeChat Pay does (`Wechatpay-*` headers over
    /// `timestamp\nnonce\nbody\n`), with the newest platform certificate's key — or a
    /// stranger's under `StrangerSigns`. With no platform certificate it stays unsigned.
    fn wechat_sign(&self, r: &mut Reply, now: i64) {
        let certs = crate::sync::read(&self.keys.platform, "demo platform certificates");
        let Some(current) = certs.last() else {
            return;
        };
        let key = match self.twist {
            Twist::StrangerSigns => &self.keys.stranger,
            _ => &*current.key,
        };
        let nonce = hex(&random(16).unwrap_or_default()).to_ascii_uppercase();
        let mut msg = format!("{now}\n{nonce}\n").into_bytes();
        msg.extend_from_slice(&r.body);
        msg.push(b'\n');
        if let Ok(sig) = key.sign(&msg) {
            r.headers.extend([
                ("wechatpay-serial".into(), current.serial.clone()),
                ("wechatpay-timestamp".into(), now.to_string()),
                ("wechatpay-nonce".into(), nonce),
                ("wechatpay-signature".into(), b64(&sig)),
                (
                    "wechatpay-signature-type".into(),
                    "WECHATPAY2-SHA256-RSA2048".into(),
                ),
            ]);
        }
    }
}

#[cfg(test)]
mod tests;
