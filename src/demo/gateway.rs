//! Simulated payment gateways on loopback, for `payprobe demo` and the integration tests.
//!
//! A gateway answers every request with one configured [`Behavior`]: status, headers, body,
//! a delay before the response head and one before the body. Over TLS it speaks h2 or
//! HTTP/1.1, whichever ALPN picks, like a real API front end.

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http_body::{Body, Frame};
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpListener;
use tokio::time::Sleep;

use super::pki::Leaf;

mod body;
pub use body::DelayedBody;

/// How a simulated gateway answers.
#[derive(Debug, Clone)]
pub struct Behavior {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Bytes,
    /// Wait before sending the response head (server "thinking").
    pub delay: Duration,
    /// Wait between the head and the body (slow transfer).
    pub body_delay: Duration,
    /// Answer JSON-RPC: method → result (an unknown method gets error -32601).
    pub rpc: Option<std::collections::BTreeMap<String, serde_json::Value>>,
    /// Check the request's merchant signature and sign the answer, as the provider does.
    pub signing: Option<super::signing::Signing>,
}

impl Behavior {
    pub fn ok(body: &str) -> Behavior {
        Behavior {
            status: 200,
            headers: vec![("content-type".into(), "application/json".into())],
            body: Bytes::from(body.to_string()),
            delay: Duration::ZERO,
            body_delay: Duration::ZERO,
            rpc: None,
            signing: None,
        }
    }

    /// A JSON-RPC 2.0 node answering `method` with `result`.
    pub fn jsonrpc(results: &[(&str, serde_json::Value)]) -> Behavior {
        let mut b = Behavior::ok("");
        b.rpc = Some(
            results
                .iter()
                .map(|(m, r)| (m.to_string(), r.clone()))
                .collect(),
        );
        b
    }

    pub fn status(mut self, status: u16) -> Behavior {
        self.status = status;
        self
    }

    pub fn header(mut self, name: &str, value: &str) -> Behavior {
        self.headers.push((name.into(), value.into()));
        self
    }

    pub fn delay(mut self, d: Duration) -> Behavior {
        self.delay = d;
        self
    }

    pub fn signed(mut self, s: Option<super::signing::Signing>) -> Behavior {
        self.signing = s;
        self
    }

    pub fn body_delay(mut self, d: Duration) -> Behavior {
        self.body_delay = d;
        self
    }
}

/// How a gateway's listener treats new connections: the network-layer faults of the demo.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Reach {
    /// Accept and answer with the [`Behavior`].
    #[default]
    Serve,
    /// Accept and never speak: a TLS handshake stalls, as behind a broken middlebox.
    Stall,
    /// Stop accepting and fill the (small) accept queue: the kernel then drops new SYNs,
    /// so a connect times out exactly as when this host's uplink is gone — without root.
    Unreachable,
}

/// The accept queue of a gateway's listener: small, so that [`Reach::Unreachable`] fills it
/// with a handful of connections.
const BACKLOG: u32 = 8;

/// The last request a gateway received, for tests that check what the prober sent.
#[derive(Debug, Clone, Default)]
pub struct Seen {
    pub method: String,
    pub path_and_query: String,
    pub version: String,
    pub headers: Vec<(String, String)>,
    pub body: Bytes,
}

/// A running gateway. Dropping it stops accepting (open connections finish on their own).
pub struct Gateway {
    pub addr: SocketAddr,
    behavior: Arc<RwLock<Behavior>>,
    hits: Arc<AtomicU64>,
    seen: Arc<RwLock<Option<Seen>>>,
    reach: tokio::sync::watch::Sender<Reach>,
    /// Our own connections that fill the accept queue while unreachable.
    fillers: tokio::sync::Mutex<Vec<tokio::net::TcpStream>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Gateway {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Gateway {
    /// Starts a plain-HTTP gateway on 127.0.0.1 with an OS-chosen port.
    pub async fn http(b: Behavior) -> std::io::Result<Gateway> {
        Gateway::start(b, None).await
    }

    /// Starts an HTTPS gateway presenting `leaf`.
    pub async fn https(b: Behavior, leaf: Leaf) -> std::io::Result<Gateway> {
        Gateway::https_with(b, leaf, &[&rustls::version::TLS13, &rustls::version::TLS12]).await
    }

    /// Starts an HTTPS gateway that speaks only the given TLS versions.
    pub async fn https_with(
        b: Behavior,
        leaf: Leaf,
        versions: &[&'static rustls::SupportedProtocolVersion],
    ) -> std::io::Result<Gateway> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut cfg = rustls::ServerConfig::builder_with_provider(provider)
            .with_protocol_versions(versions)
            .and_then(|b| {
                b.with_no_client_auth()
                    .with_single_cert(leaf.chain, leaf.key)
            })
            .map_err(std::io::Error::other)?;
        cfg.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
        Gateway::start(b, Some(tokio_rustls::TlsAcceptor::from(Arc::new(cfg)))).await
    }

    async fn start(
        b: Behavior,
        tls: Option<tokio_rustls::TlsAcceptor>,
    ) -> std::io::Result<Gateway> {
        let sock = tokio::net::TcpSocket::new_v4()?;
        sock.bind(SocketAddr::from(([127, 0, 0, 1], 0)))?;
        let listener = sock.listen(BACKLOG)?;
        let addr = listener.local_addr()?;
        let (reach, mut reach_rx) = tokio::sync::watch::channel(Reach::Serve);
        let behavior = Arc::new(RwLock::new(b));
        let hits = Arc::new(AtomicU64::new(0));
        let seen = Arc::new(RwLock::new(None));
        let shared = Shared {
            behavior: behavior.clone(),
            hits: hits.clone(),
            seen: seen.clone(),
        };
        let task = tokio::spawn(async move {
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
                // Like real API front ends: without it, an h2 body written after its headers
                // waits for the client's delayed ACK (~40 ms) and the demo would lie.
                let _ = tcp.set_nodelay(true);
                let (shared, tls) = (shared.clone(), tls.clone());
                tokio::spawn(async move {
                    match tls {
                        None => serve(tcp, false, shared).await,
                        Some(acc) => {
                            let Ok(s) = acc.accept(tcp).await else { return };
                            let h2 = s.get_ref().1.alpn_protocol() == Some(b"h2");
                            serve(s, h2, shared).await
                        }
                    }
                });
            }
        });
        Ok(Gateway {
            addr,
            behavior,
            hits,
            seen,
            reach,
            fillers: tokio::sync::Mutex::new(Vec::new()),
            task,
        })
    }

    /// Switches how new connections are treated (see [`Reach`]). Going unreachable returns
    /// once the accept queue is full, so the next connect already times out.
    pub async fn set_reach(&self, r: Reach) {
        let mut fillers = self.fillers.lock().await;
        if *self.reach.borrow() == r {
            return;
        }
        let was = self.reach.send_replace(r);
        if r != Reach::Unreachable {
            // Queued fillers are accepted, see EOF and are dropped by the server. Return
            // only once the queue has room again: a SYN dropped now would be retried by
            // the kernel only after a second, longer than a demo probe waits.
            fillers.clear();
            if was == Reach::Unreachable {
                for _ in 0..40 {
                    let attempt = tokio::time::timeout(
                        Duration::from_millis(50),
                        tokio::net::TcpStream::connect(self.addr),
                    );
                    if let Ok(Ok(_)) = attempt.await {
                        break;
                    }
                }
            }
            return;
        }
        // Let the accept loop see the change, then fill the queue until a connect hangs.
        tokio::time::sleep(Duration::from_millis(20)).await;
        for _ in 0..4 * BACKLOG {
            let attempt = tokio::time::timeout(
                Duration::from_millis(100),
                tokio::net::TcpStream::connect(self.addr),
            );
            match attempt.await {
                Ok(Ok(s)) => fillers.push(s),
                _ => break,
            }
        }
    }

    pub fn reach(&self) -> Reach {
        *self.reach.borrow()
    }

    /// Changes how the gateway answers from the next request on (break it on purpose).
    pub fn set(&self, b: Behavior) {
        *crate::sync::write(&self.behavior, "demo behavior") = b;
    }

    /// The last request received.
    pub fn last_request(&self) -> Option<Seen> {
        crate::sync::read(&self.seen, "demo seen").clone()
    }

    /// Requests answered so far.
    pub fn hits(&self) -> u64 {
        self.hits.load(Ordering::Relaxed)
    }

    pub fn port(&self) -> u16 {
        self.addr.port()
    }
}

#[derive(Clone)]
struct Shared {
    behavior: Arc<RwLock<Behavior>>,
    hits: Arc<AtomicU64>,
    seen: Arc<RwLock<Option<Seen>>>,
}

async fn serve<S>(io: S, h2: bool, shared: Shared)
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let svc = service_fn(move |req: Request<hyper::body::Incoming>| {
        let b = crate::sync::read(&shared.behavior, "demo behavior").clone();
        let shared = shared.clone();
        async move {
            shared.hits.fetch_add(1, Ordering::Relaxed);
            let (head, body) = req.into_parts();
            let body = http_body_util::BodyExt::collect(body)
                .await
                .map(|c| c.to_bytes())
                .unwrap_or_default();
            let seen_body = body.clone();
            let seen = Seen {
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
            };
            let mut b = b;
            if let Some(methods) = &b.rpc {
                b.body = Bytes::from(rpc_answer(methods, &seen_body).to_string());
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
            let mut resp = Response::new(DelayedBody::new(b.body.clone(), b.body_delay));
            *resp.status_mut() = hyper::StatusCode::from_u16(b.status)
                .unwrap_or(hyper::StatusCode::INTERNAL_SERVER_ERROR);
            for (k, v) in &b.headers {
                if let (Ok(k), Ok(v)) = (
                    hyper::header::HeaderName::from_bytes(k.as_bytes()),
                    hyper::header::HeaderValue::from_str(v),
                ) {
                    resp.headers_mut().append(k, v);
                }
            }
            Ok::<_, Infallible>(resp)
        }
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

/// A TCP listener on loopback that accepts and never answers: a TLS handshake with it stalls,
/// as behind a broken middlebox. Returns its port and the task holding the connections.
pub async fn silent() -> std::io::Result<(u16, tokio::task::JoinHandle<()>)> {
    let l = TcpListener::bind("127.0.0.1:0").await?;
    let port = l.local_addr()?.port();
    let task = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((s, _)) = l.accept().await {
            held.push(s);
            // Keep only the newest few: the demo runs for hours.
            if held.len() > 16 {
                held.remove(0);
            }
        }
    });
    Ok((port, task))
}

/// A loopback port where connections are refused, held for as long as the returned socket
/// lives: it is bound but never listens, so no one else can take the port meanwhile (a port
/// merely found free could be reused by the next server started).
pub fn closed_port() -> std::io::Result<(u16, socket2::Socket)> {
    let s = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None)?;
    s.bind(&SocketAddr::from(([127, 0, 0, 1], 0)).into())?;
    let port = s
        .local_addr()?
        .as_socket()
        .map(|a| a.port())
        .ok_or_else(|| std::io::Error::other("no local address"))?;
    Ok((port, s))
}

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
