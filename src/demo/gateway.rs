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
use tokio::net::TcpListener;
use tokio::time::Sleep;

use super::pki::Leaf;

mod body;
mod serve;
pub use body::DelayedBody;
use serve::Shared;

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
        let (reach, reach_rx) = tokio::sync::watch::channel(Reach::Serve);
        let behavior = Arc::new(RwLock::new(b));
        let hits = Arc::new(AtomicU64::new(0));
        let seen = Arc::new(RwLock::new(None));
        let shared = Shared {
            behavior: behavior.clone(),
            hits: hits.clone(),
            seen: seen.clone(),
        };
        let task = tokio::spawn(serve::accept(listener, reach_rx, tls, shared));
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
