//! A gateway's accept loop and how it answers each request: the [`Reach`] fault of the
//! listener first, then the [`Behavior`] (JSON-RPC, signing, delays) of each answer.

use std::convert::Infallible;

use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio::io::{AsyncRead, AsyncWrite};

use super::*;

/// What every connection of a gateway shares with the [`Gateway`] handle.
#[derive(Clone)]
pub(super) struct Shared {
    pub(super) behavior: Arc<RwLock<Behavior>>,
    pub(super) hits: Arc<AtomicU64>,
    pub(super) seen: Arc<RwLock<Option<Seen>>>,
}

/// Accepts connections as the current [`Reach`] says, until the listener fails or the
/// gateway is dropped (its `reach` sender with it).
pub(super) async fn accept(
    listener: TcpListener,
    mut reach_rx: tokio::sync::watch::Receiver<Reach>,
    tls: Option<tokio_rustls::TlsAcceptor>,
    shared: Shared,
) {
    let mut held = Vec::new();
    loop {
        let mode = *reach_rx.borrow_and_update();
        if mode == Reach::Unreachable {
            // Not accepting: the queue fills and the kernel drops further SYNs.
            if reach_rx.changed().await.is_err() {
                return;
            }
            continue;
        }
        let tcp = tokio::select! {
            r = listener.accept() => match r {
                Ok((tcp, _)) => tcp,
                Err(_) => return,
            },
            r = reach_rx.changed() => {
                if r.is_err() {
                    return;
                }
                continue;
            }
        };
        if mode == Reach::Stall {
            held.push(tcp);
            // Keep only the newest few: the demo runs for hours.
            if held.len() > 32 {
                held.remove(0);
            }
            continue;
        }
        held.clear();
        tokio::spawn(connection(tcp, tls.clone(), shared.clone()));
    }
}

/// One accepted connection: TLS (h2 or HTTP/1.1, as ALPN picked) or plain HTTP/1.1.
async fn connection(
    tcp: tokio::net::TcpStream,
    tls: Option<tokio_rustls::TlsAcceptor>,
    shared: Shared,
) {
    // Like real API front ends: without it, an h2 body written after its headers
    // waits for the client's delayed ACK (~40 ms) and the demo would lie.
    let _ = tcp.set_nodelay(true);
    match tls {
        None => serve(tcp, false, shared).await,
        Some(acc) => {
            let Ok(s) = acc.accept(tcp).await else { return };
            let h2 = s.get_ref().1.alpn_protocol() == Some(b"h2");
            serve(s, h2, shared).await
        }
    }
}

async fn serve<S>(io: S, h2: bool, shared: Shared)
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let svc = service_fn(move |req: Request<hyper::body::Incoming>| {
        let b = crate::sync::read(&shared.behavior, "demo behavior").clone();
        let shared = shared.clone();
        async move { Ok::<_, Infallible>(answer(req, b, &shared).await) }
    });
    let io = TokioIo::new(io);
    let _ = if h2 {
        hyper::server::conn::http2::Builder::new(TokioExecutor::new())
            .serve_connection(io, svc)
            .await
    } else {
        hyper::server::conn::http1::Builder::new()
            .serve_connection(io, svc)
            .await
    };
}

/// One request answered with `b`, the behavior current when it arrived: counted, kept as
/// the last one seen, answered after the configured delay.
async fn answer(
    req: Request<hyper::body::Incoming>,
    mut b: Behavior,
    shared: &Shared,
) -> Response<DelayedBody> {
    shared.hits.fetch_add(1, Ordering::Relaxed);
    let (head, body) = req.into_parts();
    let body = http_body_util::BodyExt::collect(body)
        .await
        .map(|c| c.to_bytes())
        .unwrap_or_default();
    let seen = seen(&head, body);
    if let Some(methods) = &b.rpc {
        b.body = Bytes::from(rpc_answer(methods, &seen.body).to_string());
    }
    if let Some(signing) = &b.signing {
        let r = signing.answer(&seen, b.status, &b.body);
        (b.status, b.headers, b.body) = (r.status, r.headers, r.body);
    }
    *crate::sync::write(&shared.seen, "demo seen") = Some(seen);
    // A zero sleep still waits for the timer's next tick (about 1 ms): skip it, so
    // "no delay" answers at once.
    if !b.delay.is_zero() {
        tokio::time::sleep(b.delay).await;
    }
    response(&b)
}

/// The request as tests read it back ([`Gateway::last_request`]).
fn seen(head: &hyper::http::request::Parts, body: Bytes) -> Seen {
    Seen {
        method: head.method.to_string(),
        path_and_query: head
            .uri
            .path_and_query()
            .map(|p| p.to_string())
            .unwrap_or_default(),
        version: format!("{:?}", head.version),
        headers: head
            .headers
            .iter()
            .map(|(k, v)| {
                (
                    k.to_string(),
                    String::from_utf8_lossy(v.as_bytes()).into_owned(),
                )
            })
            .collect(),
        body,
    }
}

/// The behavior's status, headers (those HTTP can carry) and body, the body held back by
/// `body_delay`. A status HTTP has no code for is a 500.
fn response(b: &Behavior) -> Response<DelayedBody> {
    let mut resp = Response::new(DelayedBody::new(b.body.clone(), b.body_delay));
    *resp.status_mut() =
        hyper::StatusCode::from_u16(b.status).unwrap_or(hyper::StatusCode::INTERNAL_SERVER_ERROR);
    for (k, v) in &b.headers {
        if let (Ok(k), Ok(v)) = (
            hyper::header::HeaderName::from_bytes(k.as_bytes()),
            hyper::header::HeaderValue::from_str(v),
        ) {
            resp.headers_mut().append(k, v);
        }
    }
    resp
}

/// A JSON-RPC 2.0 answer from the configured results; an unknown method is error -32601.
fn rpc_answer(
    methods: &std::collections::BTreeMap<String, serde_json::Value>,
    request: &[u8],
) -> serde_json::Value {
    let req: serde_json::Value = serde_json::from_slice(request).unwrap_or_default();
    let id = req.get("id").cloned().unwrap_or(serde_json::Value::Null);
    let method = req.get("method").and_then(|m| m.as_str()).unwrap_or("");
    match methods.get(method) {
        Some(result) => serde_json::json!({ "jsonrpc": "2.0", "id": id, "result": result }),
        None => serde_json::json!({
            "jsonrpc": "2.0",
            "id": id,
            "error": { "code": -32601, "message": format!("the method {method} does not exist/is not available") }
        }),
    }
}
