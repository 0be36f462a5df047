//! The signer of each `kind` of `[targets.sign]`: which keys it needs, its files read and
//! parsed (once per load), and a digest of it all (what makes two loads' specs equal).

use std::ops::Range;
use std::sync::Mutex;

use super::super::error::Problems;
use super::super::raw::{RawSign, S};
use super::sign::{certs, key_file, private_key, public_key, required, Context};
use super::values::env_var;
use crate::sign::keys::{alipay_root_sn, Cert, PrivateKey, PublicKey};
use crate::sign::{alipay, stripe, wechatpay, SignKind};

/// `biz_content` when not set: an order that cannot exist, so the answer is "no such
/// trade" from behind the authentication (healthy, see docs/credentialed-probes.md).
const DEFAULT_BIZ_TRADE: &str = r#"{"out_trade_no":"payprobe-nonexistent-order"}"#;
const DEFAULT_BIZ_REFUND: &str = r#"{"out_trade_no":"payprobe-nonexistent-order","out_request_no":"payprobe-nonexistent-refund"}"#;

pub(super) fn alipay_signer(
    c: &Context<'_>,
    s: &RawSign,
    span: Range<usize>,
    d: &mut Digest,
    p: &mut Problems,
) -> Option<alipay::Alipay> {
    let kind = SignKind::Alipay;
    let app_id = required(&s.app_id, "app_id", &span, kind, p).map(str::to_string);
    let key = private_key(s, &span, kind, c, d, p);
    let (method, biz_content) = alipay_call(s);
    let verify = alipay_verify(c, s, span, d, p);
    for (k, v) in [
        ("app_id", &app_id),
        ("method", &Some(method.clone())),
        ("biz_content", &Some(biz_content.clone())),
    ] {
        d.add(k, v.as_deref().unwrap_or("").as_bytes());
    }
    Some(alipay::Alipay {
        app_id: app_id?,
        method,
        biz_content,
        key: key?,
        verify: verify?,
    })
}

/// The read-only call made (`method`, default `alipay.trade.query`) and its `biz_content`:
/// when not set, an order that cannot exist of the shape that method asks for, so the
/// answer is "no such trade" from behind the authentication.
fn alipay_call(s: &RawSign) -> (String, String) {
    let method = s
        .method
        .as_ref()
        .map_or("alipay.trade.query", |m| m.get_ref().as_str())
        .to_string();
    let biz_content = match &s.biz_content {
        Some(b) => b.get_ref().clone(),
        None if method == "alipay.trade.fastpay.refund.query" => DEFAULT_BIZ_REFUND.into(),
        None => DEFAULT_BIZ_TRADE.into(),
    };
    (method, biz_content)
}

/// How Alipay's answers are verified: public-key mode (`alipay_public_key_file` alone) or
/// certificate mode (all three certificate files, whose serials Alipay wants in each
/// request). Any other mix is a problem at the table: half a mode is a typo, not a choice.
fn alipay_verify(
    c: &Context<'_>,
    s: &RawSign,
    span: Range<usize>,
    d: &mut Digest,
    p: &mut Problems,
) -> Option<alipay::Verify> {
    let cert_keys = [
        &s.app_cert_file,
        &s.alipay_cert_file,
        &s.alipay_root_cert_file,
    ];
    match (&s.alipay_public_key_file, cert_keys) {
        (Some(f), [None, None, None]) => {
            public_key("alipay_public_key_file", f, c, d, p).map(alipay::Verify::PublicKey)
        }
        (None, [Some(app), Some(ali), Some(root)]) => {
            let app = certs("app_cert_file", app, c, d, p).and_then(|v| v.into_iter().next());
            let ali = certs("alipay_cert_file", ali, c, d, p).and_then(|v| v.into_iter().next());
            let roots = certs("alipay_root_cert_file", root, c, d, p);
            match (app, ali, roots) {
                (Some(app), Some(alipay), Some(roots)) => {
                    Some(alipay::Verify::Cert(Box::new(alipay::CertMode {
                        app_cert_sn: app.alipay_sn.clone(),
                        root_cert_sn: alipay_root_sn(&roots),
                        app,
                        alipay,
                        roots,
                    })))
                }
                _ => None,
            }
        }
        _ => {
            p.at(span, "kind = \"alipay\" needs either `alipay_public_key_file` (public-key mode) or all of `app_cert_file`, `alipay_cert_file`, `alipay_root_cert_file` (certificate mode)");
            None
        }
    }
}

pub(super) fn wechat_signer(
    c: &Context<'_>,
    s: &RawSign,
    span: Range<usize>,
    d: &mut Digest,
    p: &mut Problems,
) -> Option<wechatpay::Wechat> {
    let kind = SignKind::WechatpayV3;
    let mchid = required(&s.mchid, "mchid", &span, kind, p).map(str::to_string);
    let serial_no = required(&s.serial_no, "serial_no", &span, kind, p).map(str::to_string);
    let key = private_key(s, &span, kind, c, d, p);
    let public_key = wechat_public_key(c, s, d, p);
    let platform = wechat_platform(c, s, d, p);
    let apiclient_cert = match (&s.apiclient_cert_file, &key, &serial_no) {
        (Some(f), Some(k), Some(serial)) => {
            apiclient_cert(f, k, serial, c, d, p).map(|c| Some(Box::new(c)))
        }
        // The key or serial is missing: that problem is reported already.
        (Some(_), _, _) => None,
        (None, _, _) => Some(None),
    };
    if matches!((&public_key, &platform), (Some(None), Some(None))) {
        p.at(span, "kind = \"wechatpay_v3\" needs a way to verify answers: `wechatpay_public_key_file` + `wechatpay_public_key_id` (public-key mode) or `apiv3_key_file` (platform-certificate mode)");
    }
    for (k, v) in [("mchid", &mchid), ("serial_no", &serial_no)] {
        d.add(k, v.as_deref().unwrap_or("").as_bytes());
    }
    Some(wechatpay::Wechat {
        mchid: mchid?,
        serial_no: serial_no?,
        key: key?,
        public_key: public_key?,
        platform: platform?,
        apiclient_cert: apiclient_cert?,
    })
}

/// Public-key mode: `wechatpay_public_key_file` with its `wechatpay_public_key_id`, which
/// come as a pair (WeChat Pay names the key it signed with by that id). `Some(None)` is
/// "not in public-key mode"; `None` is a problem reported.
fn wechat_public_key(
    c: &Context<'_>,
    s: &RawSign,
    d: &mut Digest,
    p: &mut Problems,
) -> Option<Option<(String, PublicKey)>> {
    match (&s.wechatpay_public_key_file, &s.wechatpay_public_key_id) {
        (Some(f), Some(id)) => {
            if !id.get_ref().starts_with("PUB_KEY_ID_") {
                p.at(id.span(), format!("`wechatpay_public_key_id` = {:?}: expected the id WeChat Pay shows, PUB_KEY_ID_...", id.get_ref()));
            }
            d.add("wechatpay_public_key_id", id.get_ref().as_bytes());
            public_key("wechatpay_public_key_file", f, c, d, p)
                .map(|k| Some((id.get_ref().clone(), k)))
        }
        (None, None) => Some(None),
        (Some(f), None) => {
            p.at(
                f.span(),
                "`wechatpay_public_key_file` needs `wechatpay_public_key_id` (PUB_KEY_ID_...)",
            );
            None
        }
        (None, Some(id)) => {
            p.at(
                id.span(),
                "`wechatpay_public_key_id` needs `wechatpay_public_key_file`",
            );
            None
        }
    }
}

/// Platform-certificate mode: `apiv3_key_file`, the key that decrypts the platform
/// certificates WeChat Pay hands out (fetched and cached later, not at load). `Some(None)`
/// is "not in this mode"; `None` is a problem reported.
fn wechat_platform(
    c: &Context<'_>,
    s: &RawSign,
    d: &mut Digest,
    p: &mut Problems,
) -> Option<Option<wechatpay::Platform>> {
    let Some(f) = &s.apiv3_key_file else {
        return Some(None);
    };
    let bytes = key_file("apiv3_key_file", f, c, d, p);
    let key = bytes.and_then(|b| {
        let k = wechatpay::Apiv3Key::parse(&String::from_utf8_lossy(&b));
        if k.is_none() {
            p.at(
                f.span(),
                format!(
                    "`apiv3_key_file` {:?}: expected the 32-character APIv3 key",
                    f.get_ref()
                ),
            );
        }
        k
    });
    key.map(|key| {
        Some(wechatpay::Platform {
            key,
            cache: Mutex::default(),
        })
    })
}

/// `apiclient_cert_file` (apiclient_cert.pem): the certificate of `serial_no`, for its
/// days to expiry. It must be that certificate — its serial is `serial_no` (hex, as WeChat
/// Pay shows it) and its key the one of `private_key_file` — or the expiry watched would be
/// another certificate's.
fn apiclient_cert(
    f: &S<String>,
    key: &PrivateKey,
    serial_no: &str,
    c: &Context<'_>,
    d: &mut Digest,
    p: &mut Problems,
) -> Option<Cert> {
    let cert = certs("apiclient_cert_file", f, c, d, p)?
        .into_iter()
        .next()?;
    let bare = |s: &str| s.trim().trim_start_matches('0').to_ascii_uppercase();
    let mut ok = true;
    if bare(&cert.serial_hex) != bare(serial_no) {
        p.at(
            f.span(),
            format!(
                "`apiclient_cert_file` {:?} is certificate {}, not `serial_no` {serial_no}: the merchant certificate of another key, or a stale file",
                f.get_ref(),
                cert.serial_hex
            ),
        );
        ok = false;
    }
    if !key.pairs_with(&cert.key) {
        p.at(
            f.span(),
            format!(
                "`apiclient_cert_file` {:?} is not the certificate of `private_key_file`: its public key is another key's",
                f.get_ref()
            ),
        );
        ok = false;
    }
    ok.then_some(cert)
}

pub(super) fn stripe_signer(
    c: &Context<'_>,
    s: &RawSign,
    span: Range<usize>,
    d: &mut Digest,
    p: &mut Problems,
) -> Option<stripe::Stripe> {
    let key = match (&s.api_key_file, &s.api_key_env) {
        (Some(f), None) => key_file("api_key_file", f, c, d, p)
            .map(|b| String::from_utf8_lossy(&b).trim().to_string()),
        (None, Some(e)) => env_var(e.get_ref())
            .map_err(|why| p.at(e.span(), format!("`api_key_env`: {why}")))
            .ok(),
        (Some(f), Some(_)) => {
            p.at(f.span(), "set `api_key_file` or `api_key_env`, not both");
            None
        }
        (None, None) => {
            p.at(span.clone(), "kind = \"stripe\" needs `api_key_file` or `api_key_env` (a restricted key, rk_...)");
            None
        }
    };
    let version = s.stripe_version.as_ref().map(|v| {
        if stripe::version_as_semver(v.get_ref()).is_none() {
            p.at(v.span(), format!("`stripe_version` = {:?}: expected a Stripe API version, a date such as \"2024-06-20\" or \"2025-03-31.basil\"", v.get_ref()));
        }
        v.get_ref().clone()
    });
    let key = key?;
    if key.is_empty() || key.contains(char::is_whitespace) {
        let at = s
            .api_key_file
            .as_ref()
            .or(s.api_key_env.as_ref())
            .map_or(span, |v| v.span());
        p.at(at, "the Stripe key is empty or has spaces in it");
        return None;
    }
    d.add("api_key", key.as_bytes());
    d.add(
        "stripe_version",
        version.as_deref().unwrap_or("").as_bytes(),
    );
    Some(stripe::Stripe {
        key: stripe::ApiKey::new(key),
        version,
    })
}

/// SHA-256 over every setting and file content: what makes two loads' specs the same.
pub(super) struct Digest(ring::digest::Context);

impl Digest {
    pub(super) fn new(kind: SignKind) -> Digest {
        let mut c = ring::digest::Context::new(&ring::digest::SHA256);
        c.update(kind.as_str().as_bytes());
        Digest(c)
    }

    pub(super) fn add(&mut self, key: &str, value: &[u8]) {
        for part in [key.as_bytes(), &(value.len() as u64).to_be_bytes(), value] {
            self.0.update(part);
        }
    }

    pub(super) fn finish(self) -> [u8; 32] {
        let mut out = [0u8; 32];
        out.copy_from_slice(self.0.finish().as_ref());
        out
    }
}
