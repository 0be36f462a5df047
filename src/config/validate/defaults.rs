//! `[defaults]`: what every target and control inherits, key by key. A target's own key
//! always wins; the per-check tables (`http`, `ping`, `dns`) merge key by key too, and
//! headers merge by name, so a default `User-Agent` survives a target that only sets
//! `method`. `rpc` and `api_version` are inherited whole, as they describe one gateway.

use std::collections::BTreeMap;

use super::super::error::Problems;
use super::super::raw::{RawHttp, RawTarget};

/// Fills each listed field of `$mine` that is unset from `$from`.
macro_rules! inherit {
    ($mine:expr, $from:expr; $($f:ident),* $(,)?) => {
        $( if $mine.$f.is_none() { $mine.$f = $from.$f.clone(); } )*
    };
}

/// `name` and `url` say which gateway a target is, and `sign` holds one merchant's
/// credentials: a default for any is refused where it is written.
pub(super) fn refuse_identity(d: &RawTarget, p: &mut Problems) {
    for (key, v) in [("name", &d.name), ("url", &d.url)] {
        if let Some(v) = v {
            p.at(
                v.span(),
                format!("`{key}` cannot be a default: every target needs its own"),
            );
        }
    }
    // Merchant credentials belong to one gateway too (issue 19).
    if let Some(s) = &d.sign {
        p.at(
            s.span(),
            "[defaults.sign] is not allowed: credentials are set per target",
        );
    }
}

/// The entry as written with every key it leaves unset taken from `[defaults]`.
pub(super) fn merged(t: &RawTarget, d: &RawTarget) -> RawTarget {
    let mut merged = with_defaults(t.clone(), d);
    if t.http.is_none() && is_tcp_url(&merged) {
        // `[defaults.http]` is meant for HTTP targets; a tcp:// control just has none.
        merged.http = None;
    }
    merged
}

fn is_tcp_url(t: &RawTarget) -> bool {
    t.url
        .as_ref()
        .is_some_and(|u| u.get_ref().starts_with("tcp://"))
}

fn with_defaults(mut t: RawTarget, d: &RawTarget) -> RawTarget {
    inherit!(t, d;
        provider, profile, profile_ok_codes, checks, interval, timeout, failure_threshold,
        success_threshold, latency_slo, slo, ca_file, crl_file, min_tls_version,
        cert_expiry_warning, rpc, api_version, source_address,
    );
    // The proxy and its credentials go together: an entry with its own `proxy` does not
    // take the default's credentials (they were for the default proxy).
    if t.proxy.is_none() {
        inherit!(t, d; proxy, proxy_auth_file, proxy_auth_env);
    }
    t.ping = table(t.ping.take(), &d.ping, |mine, d| {
        inherit!(mine, d; count, spacing, packet_timeout, loss_threshold, method, port);
    });
    t.dns = table(t.dns.take(), &d.dns, |mine, d| {
        inherit!(mine, d; resolvers, expect_addresses);
    });
    t.http = table(t.http.take(), &d.http, http);
    t
}

/// A table the target and `[defaults]` may both have: whichever exists, or both merged.
fn table<T: Clone>(mine: Option<T>, d: &Option<T>, merge: impl FnOnce(&mut T, &T)) -> Option<T> {
    match (mine, d) {
        (None, d) => d.clone(),
        (Some(mut mine), Some(d)) => {
            merge(&mut mine, d);
            Some(mine)
        }
        (Some(mine), None) => Some(mine),
    }
}

fn http(mine: &mut RawHttp, d: &RawHttp) {
    inherit!(mine, d;
        method, headers_from_env, headers_from_file, body, body_file, expect_status,
        follow_redirects, max_redirects, max_body_bytes,
    );
    if let Some(dh) = &d.headers {
        let headers = mine.headers.get_or_insert_with(BTreeMap::new);
        for (k, v) in dh {
            let taken = headers
                .keys()
                .any(|m| m.get_ref().eq_ignore_ascii_case(k.get_ref()));
            if !taken {
                headers.insert(k.clone(), v.clone());
            }
        }
    }
}
