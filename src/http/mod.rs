//! The HTTP listener: `/metrics`, `/healthz`, `/readyz`, `/api/v1/targets[/{name}]`,
//! `/api/v1/incidents`, `/api/v1/maintenance`, `/api/v1/availability[/{name}]`,
//! `/badge/{name}.svg`, `/`.

mod api;
/// The listener's TLS and credentials, kept below `config` (which loads them) in `src/webauth.rs`.
pub use crate::webauth as auth;
pub mod conns;
mod lists;
mod notify;
mod page;
mod pages;
mod probe;
mod rate;
pub mod scrape;
mod uptime;

pub use rate::RateLimit;

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, RwLock};

use bytes::Bytes;
use http_body_util::Full;
use hyper::header::{HeaderValue, CONTENT_TYPE};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;

use crate::config::Plan;
use crate::limits;
use crate::metrics::Metrics;
use crate::state::Store;

/// What the handlers read. The plan is swapped on reload; handlers clone the `Arc` and drop
/// the lock at once.
pub struct Shared {
    pub metrics: Arc<Metrics>,
    pub store: Arc<Store>,
    /// Open and recent closed incidents (`/api/v1/incidents`, the status page).
    pub incidents: Arc<crate::incidents::Incidents>,
    /// The last rounds of every target, for the status page.
    pub history: Arc<crate::history::History>,
    /// `[[maintenance]]` windows of the plan in force.
    pub maintenance: Arc<crate::maintenance::Live>,
    /// Availability rollups (`/api/v1/availability`, badges, the page).
    pub availability: Arc<crate::availability::Availability>,
    pub plan: RwLock<Arc<Plan>>,
    /// Runs `/probe` requests with the same probers as the scheduler.
    pub runner: Arc<dyn crate::scheduler::Runner>,
    /// Judges `/probe` rounds with the scheduled rounds' judge (`Judge::conditions`).
    pub judge: Arc<crate::judge::Judge>,
    /// The `max_concurrency` cap the scheduled rounds take too: `/probe` cannot add load
    /// beyond it.
    pub limit: Arc<tokio::sync::Semaphore>,
    /// What keeps readers from hurting probing: rate limits, slots, the render cache.
    pub guards: Guards,
    /// Notifications the sinks rejected for good (`/api/v1/alerts/rejected`).
    pub rejected: Arc<crate::alerts::Rejected>,
}

/// The listener's guards for its expensive readers (issue 20: readers can never hurt
/// probing). `probe_rate` follows `[server] probe_rate` on reload; the rest are fixed at start.
pub struct Guards {
    /// `/probe` requests started per second.
    pub probe_rate: RateLimit,
    /// The last `/metrics` renders (one render at a time; see `scrape.rs`).
    pub renders: scrape::Renders,
    /// `/probe` requests in flight at most ([`limits::PROBE_ENDPOINT_SHARE`] of the probe
    /// slots).
    pub probe_slots: Arc<tokio::sync::Semaphore>,
    /// Credential checks that cost a bcrypt (`src/limits/`, `AUTH_CHECKS_PER_SECOND`).
    pub auth_rate: RateLimit,
    /// List requests (`/api/v1/targets`, `/api/v1/incidents`) started per second.
    pub api_rate: RateLimit,
    /// Notification reports accepted per second, over all channels (`src/http/notify.rs`).
    pub notify_rate: RateLimit,
}

impl Guards {
    pub fn new(server: &crate::config::ServerPlan) -> Guards {
        Guards {
            probe_rate: RateLimit::new(server.probe_rate, server.probe_burst),
            renders: scrape::Renders::default(),
            probe_slots: Arc::new(tokio::sync::Semaphore::new(
                (server.max_concurrency / limits::PROBE_ENDPOINT_SHARE).max(1),
            )),
            auth_rate: RateLimit::new(limits::AUTH_CHECKS_PER_SECOND, limits::AUTH_CHECKS_BURST),
            api_rate: RateLimit::new(limits::API_LISTS_PER_SECOND, limits::API_LISTS_BURST),
            notify_rate: RateLimit::new(
                limits::NOTIFICATIONS_PER_SECOND,
                limits::NOTIFICATIONS_BURST,
            ),
        }
    }
}

impl Shared {
    /// The plan in force. A writer that panicked cannot leave the `Arc` half-written, so a
    /// poisoned lock is recovered (always `Some`; kept an `Option` for the callers).
    pub fn plan(&self) -> Option<Arc<Plan>> {
        let g = crate::sync::read(&self.plan, "plan_lock");
        Some(g.clone())
    }
}

/// Every response's body: whole, or `/metrics` decompressed as it is sent (`scrape.rs`).
pub type Body = http_body_util::Either<Full<Bytes>, scrape::Gunzip>;

/// Accepts connections until the task is aborted. Each connection is served in its own task
/// under the connection budget of `src/http/conns.rs`, with the head limits and the header
/// read timeout of `src/limits/`. The listener and the budget are shared so that a
/// restarted accept loop (`src/supervise.rs`) keeps the socket and the count of open
/// connections.
pub async fn serve(listener: Arc<TcpListener>, shared: Arc<Shared>, conns: Arc<conns::Conns>) {
    let mut refused = 0u64;
    loop {
        let (stream, peer) = match listener.accept().await {
            Ok(c) => c,
            Err(e) => {
                // EMFILE and friends: back off instead of spinning.
                tracing::warn!(error = %e, "accept failed");
                tokio::time::sleep(crate::limits::ACCEPT_ERROR_BACKOFF).await;
                continue;
            }
        };
        let Some(slot) = conns.admit() else {
            // Every connection is mid-request: this one is closed at once (dropped).
            refused += 1;
            if refused % crate::limits::REPEATED_ERROR_LOG_EVERY == 1 {
                tracing::warn!(%peer, refused, cap = conns.cap(), "connection budget full; closing new connections");
            }
            continue;
        };
        let fd = std::os::fd::AsRawFd::as_raw_fd(&stream);
        let slot = Arc::new(slot);
        let shared = shared.clone();
        let task_slot = slot.clone();
        let task = tokio::spawn(async move {
            let web = shared.plan().and_then(|p| p.server.web.clone());
            let tls = web.as_ref().and_then(|w| w.tls.clone());
            match tls {
                None => serve_conn(stream, peer, shared, task_slot).await,
                Some(acceptor) => {
                    // The handshake is part of the head: the same timeout bounds it.
                    let hs =
                        tokio::time::timeout(limits::HEADER_READ_TIMEOUT, acceptor.accept(stream));
                    match hs.await {
                        Ok(Ok(tls)) => serve_conn(tls, peer, shared, task_slot).await,
                        Ok(Err(e)) => tracing::debug!(%peer, error = %e, "TLS handshake failed"),
                        Err(_) => tracing::debug!(%peer, "TLS handshake timed out"),
                    }
                }
            }
        });
        slot.attach(task.abort_handle(), Some(fd));
    }
}

/// Serves HTTP/1 on one accepted connection (plain or TLS) with the head limits and the
/// header-read timeout of `src/limits/`.
async fn serve_conn<S>(stream: S, peer: SocketAddr, shared: Arc<Shared>, slot: Arc<conns::Slot>)
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let svc = service_fn(move |req| {
        let (shared, slot) = (shared.clone(), slot.clone());
        async move {
            slot.busy(true);
            let resp = guarded(&shared, req).await;
            slot.busy(false);
            Ok::<_, Infallible>(resp)
        }
    });
    let conn = http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(limits::HEADER_READ_TIMEOUT)
        .max_headers(limits::MAX_REQUEST_HEADERS)
        .max_header_size(limits::MAX_REQUEST_HEAD_BYTES)
        .max_buf_size(limits::MAX_REQUEST_HEAD_BYTES)
        .serve_connection(TokioIo::new(stream), svc);
    if let Err(e) = conn.await {
        tracing::debug!(%peer, error = %e, "connection ended with an error");
    }
}

/// Credentials first (when `web_config` asks for them), then [`route`]. bcrypt is slow on
/// purpose, so it runs off the async workers; verified pairs are cached briefly
/// (`src/webauth.rs`).
async fn guarded(shared: &Shared, req: Request<hyper::body::Incoming>) -> Response<Body> {
    // A channel's reports carry its own bearer token instead of the listener's credentials.
    if req.uri().path().starts_with(notify::PREFIX) {
        return notify::post(shared, req).await;
    }
    let web = shared.plan().and_then(|p| {
        let open = p.server.metrics_open
            && matches!(req.uri().path(), "/metrics" | "/healthz" | "/readyz");
        p.server.web.clone().filter(|w| w.needs_auth() && !open)
    });
    if let Some(web) = web {
        let header = req
            .headers()
            .get(hyper::header::AUTHORIZATION)
            .map(|v| v.as_bytes().to_vec());
        // Credentials verified within the cache's TTL need no bcrypt, so no blocking thread.
        let ok = web.known(header.as_deref()) || {
            if let Err(wait) = shared.guards.auth_rate.take() {
                return too_many(wait, "too many credential checks; retry later\n");
            }
            tokio::task::spawn_blocking(move || web.authorized(header.as_deref()))
                .await
                .unwrap_or(false)
        };
        if !ok {
            let mut r = text(StatusCode::UNAUTHORIZED, "credentials required\n");
            r.headers_mut().insert(
                hyper::header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Basic realm=\"payprobe\""),
            );
            return r;
        }
    }
    route(shared, req).await
}

/// 429 with `Retry-After` (whole seconds, at least 1) for a rate limit that says `wait`.
pub(crate) fn too_many(wait: f64, why: &str) -> Response<Body> {
    let mut r = text(StatusCode::TOO_MANY_REQUESTS, why);
    let secs = (wait.ceil() as u64).max(1).to_string();
    if let Ok(v) = HeaderValue::from_str(&secs) {
        r.headers_mut().insert(hyper::header::RETRY_AFTER, v);
    }
    r
}

/// The expensive reads (the status page and the two lists): built on the blocking pool, so
/// a large one never holds a worker the probes need, and rate-limited together.
async fn list(shared: &Shared, plan: Arc<Plan>, path: &str, query: &str) -> Response<Body> {
    if let Err(wait) = shared.guards.api_rate.take() {
        let mut r = text(
            StatusCode::TOO_MANY_REQUESTS,
            "too many page or list requests; retry shortly\n",
        );
        if let Ok(v) = HeaderValue::from_str(&format!("{}", wait.ceil().max(1.0))) {
            r.headers_mut().insert(hyper::header::RETRY_AFTER, v);
        }
        return r;
    }
    let (store, incidents) = (shared.store.clone(), shared.incidents.clone());
    let history = shared.history.clone();
    let (availability, maintenance) = (shared.availability.clone(), shared.maintenance.clone());
    let (path, query) = (path.to_string(), query.to_string());
    let built = tokio::task::spawn_blocking(move || match path.as_str() {
        "/api/v1/incidents" => lists::incidents(&incidents, &query),
        "/" => with_type(
            StatusCode::OK,
            page::render_with(
                &plan,
                &store,
                &history,
                &page::incidents(&incidents),
                &uptime::shown(&availability, &maintenance),
                &query,
            ),
            "text/html; charset=utf-8",
        ),
        _ => api::list(&plan, &store, &query),
    });
    built.await.unwrap_or_else(|_| {
        shared.metrics.internal_error("api");
        text(
            StatusCode::INTERNAL_SERVER_ERROR,
            "building the list failed\n",
        )
    })
}

/// Binds the listener, naming the address in the error. The accept queue is
/// [`limits::LISTEN_BACKLOG`] deep, so a burst of connections waits in the kernel instead of
/// having its SYNs dropped (a dropped SYN costs a scraper a one-second retransmit).
pub async fn bind(addr: SocketAddr) -> Result<TcpListener, std::io::Error> {
    let named =
        |e: std::io::Error| std::io::Error::new(e.kind(), format!("cannot listen on {addr}: {e}"));
    let sock = if addr.is_ipv4() {
        tokio::net::TcpSocket::new_v4()
    } else {
        tokio::net::TcpSocket::new_v6()
    }
    .map_err(named)?;
    sock.set_reuseaddr(true).map_err(named)?;
    sock.bind(addr).map_err(named)?;
    sock.listen(limits::LISTEN_BACKLOG).map_err(named)
}

async fn route(shared: &Shared, req: Request<hyper::body::Incoming>) -> Response<Body> {
    if req.method() != Method::GET && req.method() != Method::HEAD {
        return text(
            StatusCode::METHOD_NOT_ALLOWED,
            "only GET and HEAD are served\n",
        );
    }
    if has_body(&req) {
        let mut r = text(
            StatusCode::PAYLOAD_TOO_LARGE,
            "requests carry no body here\n",
        );
        r.headers_mut()
            .insert(hyper::header::CONNECTION, HeaderValue::from_static("close"));
        return r;
    }
    let Some(plan) = shared.plan() else {
        return text(StatusCode::INTERNAL_SERVER_ERROR, "state lock poisoned\n");
    };
    let path = req.uri().path();
    let query = req.uri().query().unwrap_or("");
    match path {
        "/metrics" => scrape::metrics(shared, req.headers()).await,
        "/healthz" => text(StatusCode::OK, "ok\n"),
        "/probe" => probe::probe(shared, query, req.headers()).await,
        "/readyz" => {
            if shared.store.is_ready(&plan) {
                text(StatusCode::OK, "ready\n")
            } else {
                text(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "waiting for the first round of probes\n",
                )
            }
        }
        "/" | "/api/v1/targets" | "/api/v1/incidents" => list(shared, plan, path, query).await,
        "/api/v1/alerts/rejected" => api::rejected(&shared.rejected),
        "/api/v1/maintenance" => uptime::maintenance(shared),
        "/api/v1/availability" => uptime::availability(shared, None),
        p => match p.strip_prefix("/api/v1/targets/") {
            Some(name) => api::one(&plan, &shared.store, &shared.incidents, name, query),
            None => match (
                p.strip_prefix("/api/v1/availability/"),
                p.strip_prefix("/badge/"),
            ) {
                (Some(name), _) => uptime::availability(shared, Some(name)),
                (_, Some(rest)) => uptime::badge(shared, rest, query),
                _ => text(
                    StatusCode::NOT_FOUND,
                    "not found; try /metrics, /api/v1/targets or /\n",
                ),
            },
        },
    }
}

/// The first `key=value` of a query string, percent-decoded (`+` is a space, as HTML forms
/// and Prometheus's `params` send it): `?target=pay%2Dcn` names the target `pay-cn`.
pub(crate) fn param(query: &str, key: &str) -> Option<String> {
    url::form_urlencoded::parse(query.as_bytes())
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.into_owned())
}

/// A request announcing more body than [`limits::MAX_REQUEST_BODY_BYTES`] (none: only GET
/// and HEAD are served).
fn has_body<B>(req: &Request<B>) -> bool {
    let h = req.headers();
    let length = h
        .get(hyper::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok()?.trim().parse::<u64>().ok());
    h.contains_key(hyper::header::TRANSFER_ENCODING)
        || length.is_some_and(|n| n > limits::MAX_REQUEST_BODY_BYTES)
}

pub(crate) fn with_type(status: StatusCode, body: String, ctype: &str) -> Response<Body> {
    let mut r = Response::new(http_body_util::Either::Left(Full::new(Bytes::from(body))));
    *r.status_mut() = status;
    if let Ok(v) = HeaderValue::from_str(ctype) {
        r.headers_mut().insert(CONTENT_TYPE, v);
    }
    r
}

pub(crate) fn text(status: StatusCode, body: &str) -> Response<Body> {
    with_type(status, body.to_string(), "text/plain; charset=utf-8")
}
