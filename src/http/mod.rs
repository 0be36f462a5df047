//! The HTTP listener: `/metrics`, `/healthz`, `/readyz`, `/api/v1/targets[/{name}]`,
//! `/api/v1/incidents`, `/`.

mod api;
mod page;
mod probe;
mod scrape;

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, RwLock};

use bytes::Bytes;
use http_body_util::Full;
use hyper::header::{HeaderValue, CONTENT_TYPE};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;

use crate::config::Plan;
use crate::metrics::Metrics;
use crate::state::Store;

/// What the handlers read. The plan is swapped on reload; handlers clone the `Arc` and drop
/// the lock at once.
pub struct Shared {
    pub metrics: Arc<Metrics>,
    pub store: Arc<Store>,
    /// Open and recent closed incidents (`/api/v1/incidents`, the status page).
    pub incidents: Arc<crate::incidents::Incidents>,
    pub plan: RwLock<Arc<Plan>>,
    /// Runs `/probe` requests with the same probers as the scheduler.
    pub runner: Arc<dyn crate::scheduler::Runner>,
}

impl Shared {
    pub fn plan(&self) -> Option<Arc<Plan>> {
        self.plan.read().ok().map(|p| p.clone())
    }
}

pub type Body = Full<Bytes>;

/// Accepts connections until the task is aborted. Each connection is served in its own task.
pub async fn serve(listener: TcpListener, shared: Arc<Shared>) {
    loop {
        let (stream, peer) = match listener.accept().await {
            Ok(c) => c,
            Err(e) => {
                // EMFILE and friends: back off instead of spinning.
                tracing::warn!(error = %e, "accept failed");
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                continue;
            }
        };
        let shared = shared.clone();
        tokio::spawn(async move {
            let svc = service_fn(move |req| {
                let shared = shared.clone();
                async move { Ok::<_, Infallible>(route(&shared, req).await) }
            });
            if let Err(e) = http1::Builder::new()
                .serve_connection(TokioIo::new(stream), svc)
                .await
            {
                tracing::debug!(%peer, error = %e, "connection ended with an error");
            }
        });
    }
}

/// Binds the listener, naming the address in the error.
pub async fn bind(addr: SocketAddr) -> Result<TcpListener, std::io::Error> {
    TcpListener::bind(addr)
        .await
        .map_err(|e| std::io::Error::new(e.kind(), format!("cannot listen on {addr}: {e}")))
}

async fn route(shared: &Shared, req: Request<hyper::body::Incoming>) -> Response<Body> {
    if req.method() != Method::GET && req.method() != Method::HEAD {
        return text(
            StatusCode::METHOD_NOT_ALLOWED,
            "only GET and HEAD are served\n",
        );
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
        "/" => with_type(
            StatusCode::OK,
            page::render(&plan, &shared.store),
            "text/html; charset=utf-8",
        ),
        "/api/v1/targets" => api::list(&plan, &shared.store, query),
        "/api/v1/incidents" => api::incidents(&shared.incidents, query),
        p => match p.strip_prefix("/api/v1/targets/") {
            Some(name) => api::one(&plan, &shared.store, &shared.incidents, name, query),
            None => text(
                StatusCode::NOT_FOUND,
                "not found; try /metrics, /api/v1/targets or /\n",
            ),
        },
    }
}

pub(crate) fn with_type(status: StatusCode, body: String, ctype: &str) -> Response<Body> {
    let mut r = Response::new(Full::new(Bytes::from(body)));
    *r.status_mut() = status;
    if let Ok(v) = HeaderValue::from_str(ctype) {
        r.headers_mut().insert(CONTENT_TYPE, v);
    }
    r
}

pub(crate) fn text(status: StatusCode, body: &str) -> Response<Body> {
    with_type(status, body.to_string(), "text/plain; charset=utf-8")
}
