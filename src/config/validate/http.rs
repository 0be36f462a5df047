//! Validation of `[targets.http]`, including a profile's safe default request.

use std::path::Path;

use hyper::header::{HeaderName, HeaderValue};
use hyper::Method;

use super::super::error::Problems;
use super::super::raw::RawHttp;
use super::super::{HttpSpec, Scheme};
use super::{int_in, resolve, DEFAULT_MAX_BODY, MAX_BODY_LIMIT};
use crate::profile::Profile;

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
    let method = match &h.method {
        None if safe.is_some() => Some(Method::POST),
        None => Some(Method::GET),
        Some(m) => Method::from_bytes(m.get_ref().to_ascii_uppercase().as_bytes())
            .map_err(|_| {
                p.at(
                    m.span(),
                    format!("`method` = {:?} is not an HTTP method", m.get_ref()),
                )
            })
            .ok(),
    };
    let mut headers = Vec::new();
    for (k, v) in h.headers.iter().flatten() {
        let name = HeaderName::from_bytes(k.get_ref().as_bytes());
        let value = HeaderValue::from_str(v.get_ref());
        match (name, value) {
            (Ok(n), Ok(v)) => headers.push((n, v)),
            (Err(_), _) => p.at(
                k.span(),
                format!("header name {:?} is not valid", k.get_ref()),
            ),
            (_, Err(_)) => p.at(
                v.span(),
                format!(
                    "value of header {:?} is not valid (control characters?)",
                    k.get_ref()
                ),
            ),
        }
    }
    secret_headers(h, base, &mut headers, p);
    let body = match (&h.body, &h.body_file) {
        (Some(b), Some(_)) => {
            p.at(b.span(), "set `body` or `body_file`, not both");
            None
        }
        (Some(b), None) => Some(bytes::Bytes::from(b.get_ref().clone())),
        (None, Some(f)) => {
            let path = resolve(base, f.get_ref());
            std::fs::read(&path)
                .map(bytes::Bytes::from)
                .map_err(|e| {
                    p.at(
                        f.span(),
                        format!("`body_file` {}: cannot read: {e}", path.display()),
                    )
                })
                .ok()
        }
        (None, None) => Some(safe.map_or_else(bytes::Bytes::new, |body| {
            bytes::Bytes::from_static(body.as_bytes())
        })),
    };
    let has_type = headers
        .iter()
        .any(|(k, _)| k == hyper::header::CONTENT_TYPE);
    if safe.is_some() && !has_type {
        headers.push((
            hyper::header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        ));
    }
    let mut expect_status = Vec::new();
    for s in h.expect_status.iter().flat_map(|l| l.get_ref()) {
        match u16::try_from(*s.get_ref()) {
            Ok(code) if (100..=599).contains(&code) => expect_status.push(code),
            _ => p.at(
                s.span(),
                format!(
                    "status {} is not an HTTP status code (100-599)",
                    s.get_ref()
                ),
            ),
        }
    }
    if let Some(l) = &h.expect_status {
        if l.get_ref().is_empty() {
            p.at(
                l.span(),
                "`expect_status` is empty; leave it out to accept any 2xx",
            );
        }
    }
    let max_redirects = int_in(
        &h.max_redirects,
        "max_redirects",
        0,
        crate::limits::MAX_REDIRECTS,
        5,
        p,
    );
    let max_body = int_in(
        &h.max_body_bytes,
        "max_body_bytes",
        1,
        MAX_BODY_LIMIT,
        DEFAULT_MAX_BODY as i64,
        p,
    );
    if p.count() > before {
        return None;
    }
    Some(HttpSpec {
        method: method?,
        headers,
        body: body?,
        expect_status,
        follow_redirects: h
            .follow_redirects
            .as_ref()
            .map(|b| *b.get_ref())
            .unwrap_or(false),
        max_redirects: max_redirects? as u32,
        max_body_bytes: max_body? as usize,
    })
}

/// Headers whose values come from the environment or a file, so a key never sits in the
/// config. Errors name the variable or file, never the value.
fn secret_headers(
    h: &RawHttp,
    base: &Path,
    out: &mut Vec<(HeaderName, HeaderValue)>,
    p: &mut Problems,
) {
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
        let Ok(name) = HeaderName::from_bytes(k.get_ref().as_bytes()) else {
            p.at(
                k.span(),
                format!("header name {:?} is not valid", k.get_ref()),
            );
            continue;
        };
        let raw = if from_env {
            std::env::var(src.get_ref()).map_err(|_| {
                format!(
                    "environment variable {} is not set (or not UTF-8)",
                    src.get_ref()
                )
            })
        } else {
            let path = resolve(base, src.get_ref());
            std::fs::read_to_string(&path)
                .map(|v| v.trim_end_matches(['\n', '\r']).to_string())
                .map_err(|e| format!("cannot read {}: {e}", path.display()))
        };
        match raw {
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
