//! Following a redirect: the next hop a `Location` asks for, judged as the HTTP rules say.

use super::*;

/// The request a redirect asks for. 301/302/303 turn a non-GET into a body-less GET (as
/// browsers and curl do); 307/308 repeat the request as it was.
pub(super) fn next_hop(
    prev: &Hop,
    status: StatusCode,
    location: &HeaderValue,
) -> Result<Hop, Failure> {
    let bad = |why: String| Failure::new(Phase::Processing, FailureKind::BadRedirect, why);
    let loc = location
        .to_str()
        .map_err(|_| bad("Location header is not text".into()))?;
    let url = prev
        .url
        .join(loc)
        .map_err(|e| bad(format!("Location {loc:?}: {e}")))?;
    let tls = match url.scheme() {
        "https" => true,
        "http" => false,
        other => return Err(bad(format!("redirect to unsupported scheme {other}"))),
    };
    let host = crate::config::url_host(&url)
        .ok_or_else(|| bad(format!("Location {loc:?} has no host")))?;
    let port = url
        .port_or_known_default()
        .unwrap_or(if tls { 443 } else { 80 });
    let keep = matches!(status.as_u16(), 307 | 308)
        || prev.method == Method::GET
        || prev.method == Method::HEAD;
    Ok(Hop {
        ip: host.parse().ok(),
        host,
        port,
        tls,
        method: if keep {
            prev.method.clone()
        } else {
            Method::GET
        },
        body: if keep {
            prev.body.clone()
        } else {
            Bytes::new()
        },
        signed: Vec::new(),
        dns: DnsSpec {
            resolvers: prev.dns.resolvers.clone(),
            expect_addresses: if url.host_str() == prev.url.host_str() {
                prev.dns.expect_addresses.clone()
            } else {
                Vec::new()
            },
        },
        url,
    })
}
