//! The target's URL and its list of checks.

use super::super::error::Problems;
use super::super::raw::{RawTarget, S};
use super::super::{Check, Scheme};
use super::CHECK_NAMES;

pub(super) struct Endpoint {
    pub(super) url: url::Url,
    pub(super) scheme: Scheme,
    pub(super) host: String,
    pub(super) ip: Option<std::net::IpAddr>,
    pub(super) port: u16,
}

pub(super) fn endpoint(u: &S<String>, p: &mut Problems) -> Option<Endpoint> {
    let raw = u.get_ref();
    let url = match url::Url::parse(raw) {
        Ok(url) => url,
        Err(e) => {
            p.at(
                u.span(),
                format!(
                    "`url` = {raw:?}: {e}; expected e.g. \"https://api.example.com/v1/status\""
                ),
            );
            return None;
        }
    };
    let scheme = match url.scheme() {
        "http" => Scheme::Http,
        "https" => Scheme::Https,
        "tcp" => Scheme::Tcp,
        other => {
            p.at(
                u.span(),
                format!("`url` scheme `{other}` is not supported; expected http, https or tcp"),
            );
            return None;
        }
    };
    let host = match super::super::url_host(&url) {
        Some(h) => h,
        None => {
            p.at(u.span(), format!("`url` = {raw:?} has no host"));
            return None;
        }
    };
    let port = match url.port_or_known_default() {
        Some(port) => port,
        None => {
            p.at(
                u.span(),
                format!("`url` = {raw:?}: tcp:// needs a port, e.g. \"tcp://resolver.example:53\""),
            );
            return None;
        }
    };
    if !url.username().is_empty() || url.password().is_some() {
        p.at(
            u.span(),
            "`url` must not carry credentials: put them in a header read from a file",
        );
        return None;
    }
    let ip = host.parse().ok();
    Some(Endpoint {
        url,
        scheme,
        host,
        ip,
        port,
    })
}

pub(super) fn checks(
    t: &RawTarget,
    scheme: Option<Scheme>,
    ip: Option<std::net::IpAddr>,
    p: &mut Problems,
) -> Option<Vec<Check>> {
    let Some(list) = &t.checks else {
        return scheme.map(|s| {
            vec![if s == Scheme::Tcp {
                Check::Tcp
            } else {
                Check::Http
            }]
        });
    };
    if list.get_ref().is_empty() {
        p.at(
            list.span(),
            "`checks` is empty; expected at least one of dns, tcp, tls, http",
        );
        return None;
    }
    let mut out = Vec::new();
    let mut ok = true;
    for c in list.get_ref() {
        let v = c.get_ref().as_str();
        let Some(check) = Check::parse(v) else {
            p.at(
                c.span(),
                format!("unknown check `{v}`; expected one of: {CHECK_NAMES}"),
            );
            ok = false;
            continue;
        };
        let allowed = match (scheme, check) {
            (None, _) => true,
            (Some(_), Check::Dns) if ip.is_some() => {
                p.at(
                    c.span(),
                    "check `dns` needs a host name, but the url has an IP address",
                );
                ok = false;
                continue;
            }
            (Some(Scheme::Tcp), Check::Tls | Check::Http | Check::ApiVersion | Check::Rpc) => false,
            (Some(Scheme::Http), Check::Tls) => false,
            _ => true,
        };
        if !allowed {
            p.at(
                c.span(),
                format!(
                    "check `{v}` does not apply to a {} url",
                    scheme_name(scheme)
                ),
            );
            ok = false;
        } else if out.contains(&check) {
            p.at(c.span(), format!("check `{v}` is listed twice"));
            ok = false;
        } else {
            out.push(check);
        }
    }
    ok.then_some(out)
}

fn scheme_name(s: Option<Scheme>) -> &'static str {
    match s {
        Some(Scheme::Http) => "http://",
        Some(Scheme::Https) => "https://",
        Some(Scheme::Tcp) => "tcp://",
        None => "",
    }
}
