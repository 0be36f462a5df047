//! `[targets.sign]`: merchant credentials for signed probes (issue 19). Which keys each
//! `kind` takes, the read-only allowlist (a call that could move money is refused at its
//! line and column), credentials only over HTTPS (or to loopback), and the key files read
//! and parsed here, once per load. Messages name files and keys, never their contents.

use std::net::IpAddr;
use std::ops::Range;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use hyper::Method;

use super::super::error::Problems;
use super::super::raw::{RawSign, RawTarget, S};
use super::super::Scheme;
use super::endpoint::Endpoint;
use super::signers::{alipay_signer, stripe_signer, wechat_signer, Digest};
use super::values::{duration, resolve};
use crate::sign::keys::{Cert, PrivateKey, PublicKey};
use crate::sign::{alipay, wechatpay, SignKind, SignSpec, Signer};

/// A merchant or provider certificate expiring within this warns (issue 19: 30 days)...
const DEFAULT_WARNING: Duration = Duration::from_secs(30 * 86_400);
/// ... and within this is critical (7 days).
const DEFAULT_CRITICAL: Duration = Duration::from_secs(7 * 86_400);

/// What validation reads: the table, the target's URL and its `[targets.http]` keys.
pub(super) struct Context<'a> {
    pub(super) t: &'a RawTarget,
    pub(super) endpoint: Option<&'a Endpoint>,
    pub(super) base: &'a Path,
}

/// `None`: a problem was reported; `Some(None)`: no `[targets.sign]`.
pub(super) fn sign(c: &Context<'_>, p: &mut Problems) -> Option<Option<SignSpec>> {
    let Some(table) = &c.t.sign else {
        return Some(None);
    };
    let (span, s) = (table.span(), table.get_ref());
    let before = p.count();
    let Some(kind_v) = &s.kind else {
        p.at(
            span,
            format!(
                "[targets.sign] has no `kind`; expected one of: {}",
                SignKind::names()
            ),
        );
        return None;
    };
    let Some(kind) = SignKind::parse(kind_v.get_ref()) else {
        p.at(
            kind_v.span(),
            format!(
                "unknown sign kind `{}`; expected one of: {}",
                kind_v.get_ref(),
                SignKind::names()
            ),
        );
        return None;
    };
    transport(c, p);
    read_only(c, kind, s, p);
    foreign_keys(kind, s, p);
    let mut d = Digest::new(kind);
    let signer = match kind {
        SignKind::Alipay => alipay_signer(c, s, span, &mut d, p).map(Signer::Alipay),
        SignKind::WechatpayV3 => wechat_signer(c, s, span, &mut d, p).map(Signer::Wechat),
        SignKind::Stripe => stripe_signer(c, s, span, &mut d, p).map(Signer::Stripe),
    };
    let (warning, critical) = expiry(s, p);
    if p.count() > before {
        return None;
    }
    Some(Some(SignSpec {
        signer: Arc::new(signer?),
        digest: d.finish(),
        expiry_warning: warning?,
        expiry_critical: critical?,
    }))
}

/// `expiry_warning` (default 30 days) and `expiry_critical` (default 7 days), the second
/// shorter than the first.
fn expiry(s: &RawSign, p: &mut Problems) -> (Option<Duration>, Option<Duration>) {
    let w = duration(&s.expiry_warning, "expiry_warning", p).map(|d| d.unwrap_or(DEFAULT_WARNING));
    let c =
        duration(&s.expiry_critical, "expiry_critical", p).map(|d| d.unwrap_or(DEFAULT_CRITICAL));
    if let (Some(w), Some(c)) = (w, c) {
        if c >= w {
            let at = s
                .expiry_critical
                .as_ref()
                .or(s.expiry_warning.as_ref())
                .map_or(0..0, |v| v.span());
            p.at(
                at,
                "`expiry_critical` must be shorter than `expiry_warning`",
            );
        }
    }
    (w, c)
}

/// Credentials and signed requests go only over HTTPS, except to loopback (tests, the demo);
/// a redirect would carry them elsewhere, so redirects are not followed.
fn transport(c: &Context<'_>, p: &mut Problems) {
    let (Some(e), Some(u)) = (c.endpoint, &c.t.url) else {
        return;
    };
    let loopback = e.ip.is_some_and(|ip: IpAddr| ip.is_loopback()) || e.host == "localhost";
    if e.scheme != Scheme::Https && !loopback {
        p.at(
            u.span(),
            "a target with [targets.sign] must use https:// (plain http only to a loopback address): credentials never cross a network in clear",
        );
    }
    if let Some(f) = c.t.http.as_ref().and_then(|h| h.follow_redirects.as_ref()) {
        if *f.get_ref() {
            p.at(f.span(), "`follow_redirects` cannot be used with [targets.sign]: a redirect would carry the credentials to another place");
        }
    }
}

/// The allowlist: Alipay trade and refund queries, WeChat Pay GETs of an order, a refund or
/// the certificates, Stripe GETs.
fn read_only(c: &Context<'_>, kind: SignKind, s: &RawSign, p: &mut Problems) {
    if kind == SignKind::Alipay {
        if let Some(m) = &s.method {
            if !alipay::ALLOWED_METHODS.contains(&m.get_ref().as_str()) {
                p.at(
                    m.span(),
                    format!(
                        "`method` = {:?} is not a query: a signed probe may only call {} (probes never move money)",
                        m.get_ref(),
                        alipay::ALLOWED_METHODS.join(", ")
                    ),
                );
            }
        }
        return;
    }
    let http_method = c.t.http.as_ref().and_then(|h| h.method.as_ref());
    if let Some(m) = http_method {
        if Method::from_bytes(m.get_ref().to_ascii_uppercase().as_bytes()).ok() != Some(Method::GET)
        {
            p.at(
                m.span(),
                format!("[targets.http] `method` = {:?}: a signed {} probe may only GET (probes never move money)", m.get_ref(), kind.as_str()),
            );
        }
    }
    if let (SignKind::WechatpayV3, Some(e), Some(u)) = (kind, c.endpoint, &c.t.url) {
        if !wechatpay::allowed_path(e.url.path()) {
            p.at(
                u.span(),
                format!(
                    "`url` path {:?} is not a query a signed WeChat Pay probe may make; allowed: {}",
                    e.url.path(),
                    wechatpay::ALLOWED_PATHS.join(", ")
                ),
            );
        }
    }
}

/// A key's name, its value, and the kinds it applies to.
type KindKey<'a> = (&'static str, &'a Option<S<String>>, &'static [SignKind]);

/// A key of another kind is a mistake worth naming (a copied block, a wrong `kind`).
fn foreign_keys(kind: SignKind, s: &RawSign, p: &mut Problems) {
    let keys: [KindKey<'_>; 17] = {
        use SignKind::{Alipay as A, Stripe as St, WechatpayV3 as W};
        [
            ("private_key_file", &s.private_key_file, &[A, W]),
            ("app_id", &s.app_id, &[A]),
            ("method", &s.method, &[A]),
            ("biz_content", &s.biz_content, &[A]),
            ("alipay_public_key_file", &s.alipay_public_key_file, &[A]),
            ("app_cert_file", &s.app_cert_file, &[A]),
            ("alipay_cert_file", &s.alipay_cert_file, &[A]),
            ("alipay_root_cert_file", &s.alipay_root_cert_file, &[A]),
            ("mchid", &s.mchid, &[W]),
            ("serial_no", &s.serial_no, &[W]),
            (
                "wechatpay_public_key_file",
                &s.wechatpay_public_key_file,
                &[W],
            ),
            ("wechatpay_public_key_id", &s.wechatpay_public_key_id, &[W]),
            ("apiv3_key_file", &s.apiv3_key_file, &[W]),
            ("apiclient_cert_file", &s.apiclient_cert_file, &[W]),
            ("api_key_file", &s.api_key_file, &[St]),
            ("api_key_env", &s.api_key_env, &[St]),
            ("stripe_version", &s.stripe_version, &[St]),
        ]
    };
    for (key, v, kinds) in keys {
        if let Some(v) = v.as_ref().filter(|_| !kinds.contains(&kind)) {
            p.at(
                v.span(),
                format!("`{key}` does not apply to kind = \"{}\"", kind.as_str()),
            );
        }
    }
}

/// A required string key.
pub(super) fn required<'a>(
    v: &'a Option<S<String>>,
    key: &str,
    span: &Range<usize>,
    kind: SignKind,
    p: &mut Problems,
) -> Option<&'a str> {
    match v {
        Some(v) if !v.get_ref().trim().is_empty() => Some(v.get_ref().as_str()),
        Some(v) => {
            p.at(v.span(), format!("`{key}` is empty"));
            None
        }
        None => {
            p.at(
                span.clone(),
                format!("[targets.sign] kind = \"{}\" needs `{key}`", kind.as_str()),
            );
            None
        }
    }
}

/// A key file's bytes; a file others can read is a warning (a merchant key is the money).
pub(super) fn key_file(
    key: &str,
    f: &S<String>,
    c: &Context<'_>,
    d: &mut Digest,
    p: &mut Problems,
) -> Option<Vec<u8>> {
    let path = resolve(c.base, f.get_ref());
    match std::fs::read(&path) {
        Ok(b) => {
            warn_if_shared(key, f, &path, p);
            d.add(key, &b);
            Some(b)
        }
        Err(e) => {
            p.at(
                f.span(),
                format!("`{key}` {}: cannot read: {e}", path.display()),
            );
            None
        }
    }
}

#[cfg(unix)]
fn warn_if_shared(key: &str, f: &S<String>, path: &Path, p: &mut Problems) {
    use std::os::unix::fs::PermissionsExt;
    let secret = matches!(key, "private_key_file" | "apiv3_key_file" | "api_key_file");
    if let (true, Ok(m)) = (secret, std::fs::metadata(path)) {
        let mode = m.permissions().mode();
        if mode & 0o077 != 0 {
            p.warn(
                f.span(),
                format!(
                    "`{key}` {} is readable by other users (mode {:o}): chmod 600 it",
                    path.display(),
                    mode & 0o777
                ),
            );
        }
    }
}

#[cfg(not(unix))]
fn warn_if_shared(_: &str, _: &S<String>, _: &Path, _: &mut Problems) {}

/// Parses what a file holds, reporting the parser's error at the key.
fn parsed<T, E: std::fmt::Display>(
    key: &str,
    f: &S<String>,
    r: Result<T, E>,
    p: &mut Problems,
) -> Option<T> {
    r.map_err(|e| p.at(f.span(), format!("`{key}` {:?}: {e}", f.get_ref())))
        .ok()
}

pub(super) fn private_key(
    s: &RawSign,
    span: &Range<usize>,
    kind: SignKind,
    c: &Context<'_>,
    d: &mut Digest,
    p: &mut Problems,
) -> Option<PrivateKey> {
    let Some(f) = &s.private_key_file else {
        required(&None, "private_key_file", span, kind, p);
        return None;
    };
    let bytes = key_file("private_key_file", f, c, d, p)?;
    parsed("private_key_file", f, PrivateKey::parse(&bytes), p)
}

pub(super) fn public_key(
    key: &str,
    f: &S<String>,
    c: &Context<'_>,
    d: &mut Digest,
    p: &mut Problems,
) -> Option<PublicKey> {
    let bytes = key_file(key, f, c, d, p)?;
    parsed(key, f, PublicKey::parse(&bytes), p)
}

pub(super) fn certs(
    key: &str,
    f: &S<String>,
    c: &Context<'_>,
    d: &mut Digest,
    p: &mut Problems,
) -> Option<Vec<Cert>> {
    let bytes = key_file(key, f, c, d, p)?;
    parsed(key, f, Cert::parse_pem(&bytes), p)
}
