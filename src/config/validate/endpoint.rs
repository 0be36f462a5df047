//! A target's `url` (scheme, host, port) and its list of `checks`, which the scheme limits.

use std::net::IpAddr;

use super::super::error::Problems;
use super::super::raw::{RawTarget, S};
use super::super::{url_host, Check, Scheme};
use crate::profile::Profile;

pub(super) struct Endpoint {
    pub(super) url: url::Url,
    pub(super) scheme: Scheme,
    pub(super) host: String,
    pub(super) ip: Option<IpAddr>,
    pub(super) port: u16,
}

/// Every problem of a URL is reported at the `url` key.
pub(super) fn endpoint(u: &S<String>, p: &mut Problems) -> Option<Endpoint> {
    parse(u.get_ref()).map_err(|why| p.at(u.span(), why)).ok()
}

fn parse(raw: &str) -> Result<Endpoint, String> {
    let url = url::Url::parse(raw).map_err(|e| {
        format!("`url` = {raw:?}: {e}; expected e.g. \"https://api.example.com/v1/status\"")
    })?;
    let scheme = Scheme::from_name(url.scheme()).ok_or_else(|| {
        let names: Vec<&str> = Scheme::ALL.map(Scheme::as_str).to_vec();
        format!(
            "`url` scheme `{}` is not supported; expected {}",
            url.scheme(),
            crate::vocab::or_list(&names)
        )
    })?;
    let host = url_host(&url).ok_or_else(|| format!("`url` = {raw:?} has no host"))?;
    let port = url.port_or_known_default().ok_or_else(|| {
        format!("`url` = {raw:?}: tcp:// needs a port, e.g. \"tcp://resolver.example:53\"")
    })?;
    if !url.username().is_empty() || url.password().is_some() {
        return Err(
            "`url` must not carry credentials: put them in a header read from a file".into(),
        );
    }
    let ip = host.parse().ok();
    Ok(Endpoint {
        url,
        scheme,
        host,
        ip,
        port,
    })
}

/// The listed checks; without a list, `tcp` for a tcp:// URL and `http` otherwise.
pub(super) fn checks(
    t: &RawTarget,
    scheme: Option<Scheme>,
    ip: Option<IpAddr>,
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
        let profile = t
            .profile
            .as_ref()
            .and_then(|s| Profile::from_name(s.get_ref()));
        let names = accepted(scheme, ip, profile).join(", ");
        p.at(
            list.span(),
            format!("`checks` is empty; expected at least one of: {names}"),
        );
        return None;
    }
    let mut out = Vec::new();
    let mut ok = true;
    for c in list.get_ref() {
        match accept(c.get_ref(), scheme, ip, &out) {
            Ok(check) => out.push(check),
            Err(why) => {
                p.at(c.span(), why);
                ok = false;
            }
        }
    }
    ok.then_some(out)
}

/// The names `checks` accepts for this URL, as [`accept`] decides, so the message listing
/// them cannot drift from what is accepted; `rpc` only where the named profile (if any) is
/// a chain's, as `rpc.rs` requires.
fn accepted(
    scheme: Option<Scheme>,
    ip: Option<IpAddr>,
    profile: Option<Profile>,
) -> Vec<&'static str> {
    let rpc_refused = super::rpc::refuses_rpc(profile);
    Check::ALL
        .into_iter()
        .filter(|c| accept(c.as_str(), scheme, ip, &[]).is_ok())
        .filter(|c| !(rpc_refused && *c == Check::Rpc))
        .map(Check::as_str)
        .collect()
}

/// One listed check, or why it is refused: unknown, not for this URL, or listed twice.
fn accept(
    v: &str,
    scheme: Option<Scheme>,
    ip: Option<IpAddr>,
    so_far: &[Check],
) -> Result<Check, String> {
    let check = Check::parse(v).ok_or_else(|| {
        format!(
            "unknown check `{v}`; expected one of: {}",
            Check::listable_names()
        )
    })?;
    let allowed = match (scheme, check) {
        (None, _) => true,
        (Some(_), Check::Dns) if ip.is_some() => {
            return Err("check `dns` needs a host name, but the url has an IP address".into())
        }
        (Some(Scheme::Tcp), Check::Tls | Check::Http | Check::ApiVersion | Check::Rpc) => false,
        (Some(Scheme::Http), Check::Tls) => false,
        _ => true,
    };
    if !allowed {
        return Err(format!(
            "check `{v}` does not apply to a {} url",
            scheme_name(scheme)
        ));
    }
    if so_far.contains(&check) {
        return Err(format!("check `{v}` is listed twice"));
    }
    Ok(check)
}

fn scheme_name(s: Option<Scheme>) -> &'static str {
    match s {
        Some(Scheme::Http) => "http://",
        Some(Scheme::Https) => "https://",
        Some(Scheme::Tcp) => "tcp://",
        None => "",
    }
}
