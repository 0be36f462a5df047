//! Validation of `[targets.http]`, including a profile's safe default request.

use std::path::Path;

use bytes::Bytes;
use hyper::header::{HeaderName, HeaderValue, CONTENT_TYPE};
use hyper::Method;

use super::super::error::Problems;
use super::super::raw::{RawHttp, S};
use super::super::{HttpSpec, Scheme};
use super::values::{env_var, int_in, read_file, resolve};
use crate::limits;
use crate::profile::Profile;

/// Body bytes a probe keeps when `max_body_bytes` is not set.
const DEFAULT_MAX_BODY: i64 = 64 * 1024;

/// Redirects followed when `follow_redirects` is on and `max_redirects` is not set.
const DEFAULT_MAX_REDIRECTS: i64 = 5;

type Headers = Vec<(HeaderName, HeaderValue)>;

pub(super) fn http(
    h: Option<&RawHttp>,
    scheme: Option<Scheme>,
    base: &Path,
    profile: Profile,
    p: &mut Problems,
) -> Option<HttpSpec> {
    let default = RawHttp::default();
    let h = match h {
        Some(h) if scheme == Some(Scheme::Tcp) => {
            let at = h.method.as_ref().map(|m| m.span()).unwrap_or(0..0);
            p.at(at, "[targets.http] does not apply to a tcp:// url");
            return None;
        }
        Some(h) => h,
        None => &default,
    };
    let before = p.count();
    // A profile's safe read-only request, unless the target writes its own.
    let safe = profile
        .safe_request()
        .filter(|_| h.method.is_none() && h.body.is_none() && h.body_file.is_none());
    let method = method(h.method.as_ref(), safe.is_some(), p);
    let mut headers = headers(h, p);
    secret_headers(h, base, &mut headers, p);
    let body = body(h, safe, base, p);
    if safe.is_some() && !headers.iter().any(|(k, _)| k == CONTENT_TYPE) {
        headers.push((CONTENT_TYPE, HeaderValue::from_static("application/json")));
    }
    let expect_status = expect_status(h.expect_status.as_ref(), p);
    let max_redirects = int_in(&h.max_redirects, "max_redirects", limits::REDIRECTS, p);
    let max_body = int_in(&h.max_body_bytes, "max_body_bytes", limits::BODY_BYTES, p);
    if p.count() > before {
        return None;
    }
    Some(HttpSpec {
        method: method?,
        headers,
        body: body?,
        expect_status,
        follow_redirects: h.follow_redirects.as_ref().is_some_and(|b| *b.get_ref()),
        max_redirects: max_redirects?.unwrap_or(DEFAULT_MAX_REDIRECTS) as u32,
        max_body_bytes: max_body?.unwrap_or(DEFAULT_MAX_BODY) as usize,
        sign: None,
    })
}

/// The method as written; else POST for a profile's safe request, else GET.
fn method(m: Option<&S<String>>, safe: bool, p: &mut Problems) -> Option<Method> {
    match m {
        None if safe => Some(Method::POST),
        None => Some(Method::GET),
        Some(m) => Method::from_bytes(m.get_ref().to_ascii_uppercase().as_bytes())
            .map_err(|_| {
                p.at(
                    m.span(),
                    format!("`method` = {:?} is not an HTTP method", m.get_ref()),
                )
            })
            .ok(),
    }
}

fn header_name(k: &S<String>, p: &mut Problems) -> Option<HeaderName> {
    HeaderName::from_bytes(k.get_ref().as_bytes())
        .map_err(|_| {
            p.at(
                k.span(),
                format!("header name {:?} is not valid", k.get_ref()),
            )
        })
        .ok()
}

/// `headers`, written inline.
fn headers(h: &RawHttp, p: &mut Problems) -> Headers {
    let mut out = Vec::new();
    for (k, v) in h.headers.iter().flatten() {
        let Some(name) = header_name(k, p) else {
            continue;
        };
        match HeaderValue::from_str(v.get_ref()) {
            Ok(v) => out.push((name, v)),
            Err(_) => p.at(
                v.span(),
                format!(
                    "value of header {:?} is not valid (control characters?)",
                    k.get_ref()
                ),
            ),
        }
    }
    out
}

/// Headers whose values come from the environment or a file, so a key never sits in the
/// config. They replace an inline header of the same name. Errors name the variable or
/// file, never the value.
fn secret_headers(h: &RawHttp, base: &Path, out: &mut Headers, p: &mut Problems) {
    let sources = h
        .headers_from_env
        .iter()
        .flatten()
        .map(|(k, v)| (k, v, true))
        .chain(
            h.headers_from_file
                .iter()
                .flatten()
                .map(|(k, v)| (k, v, false)),
        );
    for (k, src, from_env) in sources {
        let Some(name) = header_name(k, p) else {
            continue;
        };
        match secret_value(src.get_ref(), from_env, base) {
            Ok(v) => match HeaderValue::from_str(&v) {
                Ok(mut v) => {
                    v.set_sensitive(true);
                    out.retain(|(n, _)| *n != name);
                    out.push((name, v));
                }
                Err(_) => p.at(
                    src.span(),
                    format!(
                        "the value for header {:?} from {:?} is not a valid header value",
                        k.get_ref(),
                        src.get_ref()
                    ),
                ),
            },
            Err(why) => p.at(src.span(), format!("header {:?}: {why}", k.get_ref())),
        }
    }
}

/// A secret header's value: an environment variable, or a file without its final newline.
fn secret_value(src: &str, from_env: bool, base: &Path) -> Result<String, String> {
    if from_env {
        return env_var(src);
    }
    let path = resolve(base, src);
    std::fs::read_to_string(&path)
        .map(|v| v.trim_end_matches(['\n', '\r']).to_string())
        .map_err(|e| format!("cannot read {}: {e}", path.display()))
}

/// `body` or `body_file`; with neither, the profile's safe request body (or none).
fn body(h: &RawHttp, safe: Option<&'static str>, base: &Path, p: &mut Problems) -> Option<Bytes> {
    match (&h.body, &h.body_file) {
        (Some(b), Some(_)) => {
            p.at(b.span(), "set `body` or `body_file`, not both");
            None
        }
        (Some(b), None) => Some(Bytes::from(b.get_ref().clone())),
        (None, Some(f)) => read_file("body_file", f, base, p).map(Bytes::from),
        (None, None) => Some(safe.map_or_else(Bytes::new, |b| Bytes::from_static(b.as_bytes()))),
    }
}

/// The accepted status codes; empty (the key left out) means any 2xx.
fn expect_status(l: Option<&S<Vec<S<i64>>>>, p: &mut Problems) -> Vec<u16> {
    let range = limits::HTTP_STATUS;
    let mut out = Vec::new();
    for s in l.iter().flat_map(|l| l.get_ref()) {
        match u16::try_from(*s.get_ref()) {
            Ok(code) if range.contains(&code) => out.push(code),
            _ => p.at(
                s.span(),
                format!(
                    "status {} is not an HTTP status code ({}-{})",
                    s.get_ref(),
                    range.start(),
                    range.end()
                ),
            ),
        }
    }
    if let Some(l) = l.filter(|l| l.get_ref().is_empty()) {
        p.at(
            l.span(),
            "`expect_status` is empty; leave it out to accept any 2xx",
        );
    }
    out
}
