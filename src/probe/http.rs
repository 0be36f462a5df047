//! The `http` and `api_version` checks: one request over a fresh connection, every phase timed.
//!
//! hyper's low-level `client::conn` is driven over our own connector (resolve → connect →
//! TLS) so that DNS, connect and TLS are measured on every probe, never hidden by a pool.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::sync::Arc;

use bytes::{Bytes, BytesMut};
use http_body_util::{BodyExt, Full};
use hyper::header::{self, HeaderValue};
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::time::{timeout_at, Instant};

use super::conn::{self, IoMarks, TimedIo};
use super::resolve::Resolvers;
use super::Gateway;
use super::{Failure, FailureKind, HttpEvidence, Phase, Prober, Recorder};
use crate::config::{Check, DnsSpec, HttpSpec, Scheme, Target, VersionSource};
use crate::limits;

mod redirect;
mod signed;

use redirect::next_hop;

/// Response headers kept in evidence: the ones later diagnosis reads.
const HEADERS_OF_INTEREST: &[&str] = &[
    "content-type",
    "retry-after",
    "deprecation",
    "sunset",
    "location",
    "server",
    "www-authenticate",
    "x-api-version",
    "api-version",
];
/// How much of the body is shown to humans in the evidence.
const EXCERPT_BYTES: usize = limits::BODY_EXCERPT_BYTES;

/// Serves the `http` check, and the `api_version` check: the same request, whose answer
/// `src/judge/verdict` judges for its version instead of (as well as) its status.
#[derive(Clone)]
pub struct HttpProber {
    check: Check,
    resolvers: Arc<Resolvers>,
}

impl HttpProber {
    pub fn new(resolvers: Arc<Resolvers>) -> Self {
        HttpProber {
            check: Check::Http,
            resolvers,
        }
    }

    /// The same prober, registered for another HTTP-speaking check.
    pub fn serving(&self, check: Check) -> Self {
        HttpProber {
            check,
            resolvers: self.resolvers.clone(),
        }
    }
}

/// What an HTTP exchange reads of a target: its request, and the one extra response header
/// its `api_version` check reads the version from, if any (kept in the evidence).
#[derive(Clone, Copy)]
pub struct Exchange<'t> {
    pub http: &'t HttpSpec,
    pub version_header: Option<&'t str>,
}

impl<'t> Exchange<'t> {
    pub fn of(t: &'t Target) -> Exchange<'t> {
        let version_header = match &t.api_version.source {
            Some(VersionSource::Header(name)) => Some(name.as_str()),
            _ => None,
        };
        Exchange {
            http: &t.http,
            version_header,
        }
    }
}

impl Prober for HttpProber {
    type Spec<'t> = Exchange<'t>;

    fn check(&self) -> Check {
        self.check
    }

    fn spec(t: &Target) -> Exchange<'_> {
        Exchange::of(t)
    }

    async fn probe<'a>(
        &'a self,
        gw: Gateway<'a>,
        spec: Exchange<'a>,
        deadline: Instant,
    ) -> super::Evidence {
        let mut rec = Recorder::new(gw.name, self.check);
        rec.ev.http = Some(HttpEvidence::default());
        let outcome = timeout_at(deadline, self.exchange(gw, spec, &mut rec)).await;
        rec.finish(outcome)
    }
}

/// Where one hop goes.
struct Hop {
    url: url::Url,
    host: String,
    ip: Option<IpAddr>,
    port: u16,
    tls: bool,
    method: Method,
    body: Bytes,
    /// Name servers and expected networks; redirects to another host keep the servers but
    /// not the expectation, which was written for the target's own host.
    dns: DnsSpec,
    /// Headers of a signed request (`[targets.sign]`): this hop only, never a redirect's.
    signed: Vec<(header::HeaderName, HeaderValue)>,
}

impl HttpProber {
    /// One request, following redirects as configured, with the last response's status,
    /// headers and body in the evidence. What the answer *means* is judged later
    /// (`src/judge/verdict/http.rs`).
    pub(crate) async fn exchange(
        &self,
        gw: Gateway<'_>,
        x: Exchange<'_>,
        rec: &mut Recorder,
    ) -> Result<(), Failure> {
        let t = x.http;
        let mut hop = Hop {
            url: gw.url.clone(),
            host: gw.host.to_string(),
            ip: gw.ip,
            port: gw.port,
            tls: gw.scheme == Scheme::Https,
            method: t.method.clone(),
            body: t.body.clone(),
            dns: gw.dns.clone(),
            signed: Vec::new(),
        };
        self.sign_first_hop(gw, x, &mut hop, rec).await?;
        let mut redirects = 0u32;
        let mut answer;
        loop {
            let resp = self.one_hop(gw, x, &hop, rec).await?;
            let status = resp.0.status();
            answer = t
                .sign
                .as_ref()
                .map(|_| resp.0.headers().clone())
                .unwrap_or_default();
            let next = if t.follow_redirects && status.is_redirection() {
                resp.0.headers().get(header::LOCATION).cloned()
            } else {
                None
            };
            read_body(resp, t.max_body_bytes, rec).await?;
            let Some(location) = next else { break };
            redirects += 1;
            if let Some(h) = rec.ev.http.as_mut() {
                h.redirects = redirects;
            }
            if redirects > t.max_redirects {
                return Err(Failure::new(
                    Phase::Processing,
                    FailureKind::TooManyRedirects,
                    format!("more than {} redirects", t.max_redirects),
                ));
            }
            hop = next_hop(&hop, status, &location)?;
            rec.enter(Phase::Dns);
        }
        self.verify_answer(gw, x, &answer, rec).await;
        Ok(())
    }

    /// Connects, sends the request and returns the response head; the body is read by the caller.
    async fn one_hop(
        &self,
        gw: Gateway<'_>,
        x: Exchange<'_>,
        hop: &Hop,
        rec: &mut Recorder,
    ) -> Result<Head, Failure> {
        let next = if hop.tls {
            Phase::Tls
        } else {
            Phase::Processing
        };
        let to = super::egress::Dest {
            host: &hop.host,
            ip: hop.ip,
            port: hop.port,
            dns: &hop.dns,
        };
        let tcp = super::egress::open(rec, &self.resolvers, to, gw.egress, next).await?;
        let marks = IoMarks::new();
        let resp = if hop.tls {
            let stream = conn::handshake(rec, tcp, &hop.host, hop.ip, gw.tls).await?;
            let h2 = stream.get_ref().1.alpn_protocol() == Some(b"h2");
            send(TimedIo::new(stream, marks.clone()), h2, x.http, hop).await
        } else {
            send(TimedIo::new(tcp, marks.clone()), false, x.http, hop).await
        };
        let head = resp?;
        rec.enter_at(
            Phase::Transfer,
            marks.first_byte().unwrap_or_else(Instant::now),
        );
        let h = rec.ev.http.get_or_insert_with(HttpEvidence::default);
        h.status = Some(head.0.status().as_u16());
        h.version = Some(format!("{:?}", head.0.version()));
        h.final_url = hop.url.to_string();
        h.headers = interesting_headers(head.0.headers(), x.version_header);
        Ok(head)
    }
}

/// Aborts the connection task when the probe ends, so a hung server never keeps a socket.
/// It travels with the response: the body still flows through that task.
pub(crate) struct AbortOnDrop(tokio::task::JoinHandle<Option<Failure>>);

impl AbortOnDrop {
    /// Why the request failed: the connection's own failure when it ended with one that
    /// says more than "canceled" (a TLS 1.3 server refusing the client's certificate with
    /// an alert read by the connection task), else the request's.
    async fn why(&mut self, e: hyper::Error) -> Failure {
        let own = tokio::time::timeout(limits::CONN_FAILURE_GRACE, &mut self.0).await;
        own.ok()
            .and_then(Result::ok)
            .flatten()
            .unwrap_or_else(|| hyper_failure(e))
    }
}

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

type Head = (Response<hyper::body::Incoming>, AbortOnDrop);

/// Runs a hyper connection on its own task for as long as the probe keeps the guard.
fn drive<C>(conn: C) -> AbortOnDrop
where
    C: std::future::Future<Output = Result<(), hyper::Error>> + Send + 'static,
{
    AbortOnDrop(tokio::spawn(async move {
        let e = conn.await.err()?;
        super::tls_auth::in_chain(&e)
    }))
}

async fn send<S>(io: TimedIo<S>, h2: bool, t: &HttpSpec, hop: &Hop) -> Result<Head, Failure>
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let io = TokioIo::new(io);
    let req = build_request(t, hop, h2)?;
    if h2 {
        let (mut tx, c) = hyper::client::conn::http2::Builder::new(TokioExecutor::new())
            .max_header_list_size(limits::MAX_H2_HEADER_LIST_BYTES)
            .max_concurrent_reset_streams(limits::MAX_H2_RESET_STREAMS)
            .handshake(io)
            .await
            .map_err(hyper_failure)?;
        let mut guard = drive(c);
        match tx.send_request(req).await {
            Ok(r) => Ok((r, guard)),
            Err(e) => Err(guard.why(e).await),
        }
    } else {
        // Explicit bounds on what a gateway may send as a head (see `src/limits/`).
        let (mut tx, c) = hyper::client::conn::http1::Builder::new()
            .max_headers(limits::MAX_RESPONSE_HEADERS)
            .max_header_size(limits::MAX_RESPONSE_HEAD_BYTES)
            .max_buf_size(limits::PROBE_READ_BUFFER_BYTES)
            .handshake(io)
            .await
            .map_err(hyper_failure)?;
        let mut guard = drive(c);
        match tx.send_request(req).await {
            Ok(r) => Ok((r, guard)),
            Err(e) => Err(guard.why(e).await),
        }
    }
}

fn build_request(t: &HttpSpec, hop: &Hop, h2: bool) -> Result<Request<Full<Bytes>>, Failure> {
    let bad = |e: String| Failure::new(Phase::Processing, FailureKind::HttpProtocolError, e);
    let uri = if h2 {
        hop.url.as_str().to_string()
    } else {
        let mut pq = hop.url.path().to_string();
        if let Some(q) = hop.url.query() {
            pq.push('?');
            pq.push_str(q);
        }
        pq
    };
    let mut req = Request::builder()
        .method(hop.method.clone())
        .uri(uri)
        .body(Full::new(hop.body.clone()))
        .map_err(|e| bad(format!("cannot build request: {e}")))?;
    let h = req.headers_mut();
    if !h2 {
        let authority = match hop.url.port() {
            Some(p) => format!("{}:{p}", host_for_header(&hop.url)),
            None => host_for_header(&hop.url),
        };
        let v =
            HeaderValue::from_str(&authority).map_err(|e| bad(format!("bad Host header: {e}")))?;
        h.insert(header::HOST, v);
    }
    h.insert(
        header::USER_AGENT,
        HeaderValue::from_static(concat!("payprobe/", env!("CARGO_PKG_VERSION"))),
    );
    h.insert(header::ACCEPT, HeaderValue::from_static("*/*"));
    for (k, v) in t.headers.iter().chain(&hop.signed) {
        h.insert(k.clone(), v.clone());
    }
    Ok(req)
}

fn host_for_header(u: &url::Url) -> String {
    match u.host() {
        Some(url::Host::Ipv6(a)) => format!("[{a}]"),
        Some(h) => h.to_string(),
        None => String::new(),
    }
}

/// Maps a hyper error by what it is (walking the source chain down to the io::Error), not
/// by its text.
fn hyper_failure(e: hyper::Error) -> Failure {
    if let Some(f) = super::tls_auth::in_chain(&e) {
        return f;
    }
    let mut source = std::error::Error::source(&e);
    let mut peer_closed = false;
    while let Some(s) = source {
        if let Some(io) = s.downcast_ref::<std::io::Error>() {
            use std::io::ErrorKind as K;
            peer_closed |= matches!(
                io.kind(),
                K::ConnectionReset | K::BrokenPipe | K::UnexpectedEof
            );
        }
        source = s.source();
    }
    let kind = if peer_closed || e.is_incomplete_message() || e.is_canceled() || e.is_closed() {
        FailureKind::ConnectionClosed
    } else if e.is_timeout() {
        FailureKind::ResponseTimeout
    } else {
        FailureKind::HttpProtocolError
    };
    Failure::new(Phase::Processing, kind, format!("HTTP: {e}"))
}

/// Reads the body up to `cap` bytes, recording size and an excerpt.
async fn read_body(head: Head, cap: usize, rec: &mut Recorder) -> Result<(), Failure> {
    let (resp, _guard) = head;
    let mut body = resp.into_body();
    let mut buf = BytesMut::new();
    let mut total: u64 = 0;
    let mut truncated = false;
    let mut failure = None;
    while let Some(frame) = body.frame().await {
        let frame = match frame {
            Ok(f) => f,
            Err(e) => {
                let mut f = hyper_failure(e);
                f.phase = Phase::Transfer;
                failure = Some(f);
                break;
            }
        };
        if let Ok(data) = frame.into_data() {
            total += data.len() as u64;
            let room = cap.saturating_sub(buf.len());
            buf.extend_from_slice(&data[..data.len().min(room)]);
            if total > cap as u64 {
                truncated = true;
                break;
            }
        }
    }
    let body = buf.freeze();
    let h = rec.ev.http.get_or_insert_with(HttpEvidence::default);
    h.body_bytes = total;
    h.body_truncated = truncated;
    h.body_excerpt = String::from_utf8_lossy(&body[..body.len().min(EXCERPT_BYTES)]).into_owned();
    h.body = body;
    failure.map_or(Ok(()), Err)
}

/// The fixed headers of interest, plus the one `[targets.api_version] header` names.
fn interesting_headers(
    h: &hyper::HeaderMap,
    version_header: Option<&str>,
) -> BTreeMap<String, String> {
    let extra = version_header.map(str::to_ascii_lowercase);
    HEADERS_OF_INTEREST
        .iter()
        .map(|n| n.to_string())
        .chain(extra)
        .filter_map(|name| {
            let v = h.get(name.as_str())?;
            let v = String::from_utf8_lossy(v.as_bytes()).into_owned();
            Some((name, v))
        })
        .collect()
}
