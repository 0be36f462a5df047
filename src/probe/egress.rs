//! The way out: connect directly (bound to the target's `source_address` if it has one) or
//! through its HTTP proxy with `CONNECT host:port` (RFC 9110 9.3.6).
//!
//! Every TCP-based check opens its connection here, so a target's egress applies to the
//! `tcp`, `tls`, `http`, `api_version` and `rpc` checks alike. Through a proxy the target's
//! name is resolved by the proxy; this host only looks up the proxy's own name. The CONNECT
//! exchange is its own phase (`proxy`), and what the proxy answers has its own failure kinds:
//! the proxy is on this side of the path, so its failures are not the provider's.

use std::net::IpAddr;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::Instant;

use super::resolve::Resolvers;
use super::{conn, Failure, FailureKind, Phase, ProxyEvidence, Recorder};
use crate::config::{DnsSpec, Egress, Proxy};
use crate::limits::MAX_PROXY_RESPONSE_BYTES;

/// Where one connection goes: the target's host (or the host of a redirect).
pub struct Dest<'a> {
    pub host: &'a str,
    pub ip: Option<IpAddr>,
    pub port: u16,
    pub dns: &'a DnsSpec,
}

/// Resolves and connects the way `egress` says; on success the recorder is in `next`.
pub async fn open(
    rec: &mut Recorder,
    resolvers: &Resolvers,
    to: Dest<'_>,
    egress: &Egress,
    next: Phase,
) -> Result<TcpStream, Failure> {
    let Some(proxy) = &egress.proxy else {
        let addrs = conn::resolve(rec, resolvers, to.host, to.ip, to.dns).await?;
        return conn::connect(rec, &addrs, to.port, egress.source, next).await;
    };
    // The target's `expect_addresses` are about the target's name, which the proxy resolves.
    let proxy_dns = DnsSpec {
        resolvers: to.dns.resolvers.clone(),
        expect_addresses: Vec::new(),
    };
    let addrs = conn::resolve(rec, resolvers, &proxy.host, proxy.ip, &proxy_dns).await?;
    let tcp = conn::connect(rec, &addrs, proxy.port, egress.source, Phase::Proxy)
        .await
        .map_err(|f| at_proxy(f, proxy))?;
    tunnel(rec, tcp, proxy, &to, next).await
}

/// A failed connect to the proxy is the proxy's: refused means it is down.
fn at_proxy(mut f: Failure, proxy: &Proxy) -> Failure {
    if matches!(
        f.kind,
        FailureKind::ConnectRefused | FailureKind::ConnectReset
    ) {
        f.kind = FailureKind::ProxyRefused;
    }
    f.detail = format!("proxy {}: {}", proxy.authority(), f.detail);
    f
}

/// Asks the proxy for a tunnel and reads its answer head, byte by byte so that nothing of
/// the tunnel's own bytes is consumed (the head is small and bounded).
async fn tunnel(
    rec: &mut Recorder,
    mut tcp: TcpStream,
    proxy: &Proxy,
    to: &Dest<'_>,
    next: Phase,
) -> Result<TcpStream, Failure> {
    let authority = match to.ip {
        Some(IpAddr::V6(ip)) => format!("[{ip}]:{}", to.port),
        _ => format!("{}:{}", to.host, to.port),
    };
    rec.ev.proxy = Some(ProxyEvidence {
        proxy: proxy.authority(),
        authority: authority.clone(),
        status: None,
        duration: Duration::ZERO,
    });
    let started = Instant::now();
    let mut req = format!("CONNECT {authority} HTTP/1.1\r\nHost: {authority}\r\n");
    if let Some(a) = &proxy.authorization {
        req.push_str("Proxy-Authorization: ");
        req.push_str(&a.0);
        req.push_str("\r\n");
    }
    req.push_str("\r\n");
    let head = match tcp.write_all(req.as_bytes()).await {
        Ok(()) => read_head(&mut tcp).await,
        Err(e) => Err(format!("writing CONNECT: {e}")),
    };
    let status = head.as_ref().ok().map(|(s, _)| *s);
    if let Some(ev) = rec.ev.proxy.as_mut() {
        ev.status = status;
        ev.duration = started.elapsed();
    }
    let fail = |kind, why: String| {
        Failure::new(
            Phase::Proxy,
            kind,
            format!("proxy {}, CONNECT {authority}: {why}", proxy.authority()),
        )
    };
    match head {
        Ok((s, _)) if (200..300).contains(&s) => {
            rec.enter(next);
            Ok(tcp)
        }
        Ok((407, line)) => Err(fail(FailureKind::ProxyAuthRequired, line)),
        Ok((502..=504, line)) => Err(fail(FailureKind::ProxyTargetUnreachable, line)),
        Ok((_, line)) => Err(fail(FailureKind::ProxyError, line)),
        Err(why) => Err(fail(FailureKind::ProxyError, why)),
    }
}

/// The status and status line of the proxy's answer, or why there is none.
async fn read_head(tcp: &mut TcpStream) -> Result<(u16, String), String> {
    let mut head = Vec::with_capacity(256);
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") && !head.ends_with(b"\n\n") {
        if head.len() >= MAX_PROXY_RESPONSE_BYTES {
            return Err(format!(
                "the answer head is longer than {MAX_PROXY_RESPONSE_BYTES} bytes"
            ));
        }
        match tcp.read(&mut byte).await {
            Ok(0) if head.is_empty() => {
                return Err("the proxy closed the connection without answering".into())
            }
            Ok(0) => return Err("the proxy closed the connection mid-answer".into()),
            Ok(_) => head.push(byte[0]),
            Err(e) => return Err(format!("reading the answer: {e}")),
        }
    }
    let line = head.split(|b| *b == b'\n').next().unwrap_or_default();
    let line = String::from_utf8_lossy(line).trim_end().to_string();
    let mut words = line.split(' ');
    let status = match (words.next(), words.next()) {
        (Some(v), Some(code)) if v.starts_with("HTTP/1.") && code.len() == 3 => {
            code.parse::<u16>().ok()
        }
        _ => None,
    };
    let shown: String = line
        .chars()
        .take(crate::limits::PROXY_ANSWER_SHOWN_CHARS)
        .collect();
    match status {
        Some(s) => Ok((s, format!("answered {shown:?}"))),
        None => Err(format!("the answer is not HTTP: {shown:?}")),
    }
}
