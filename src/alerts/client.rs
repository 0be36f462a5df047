//! One HTTP/1.1 POST to a sink, over the project's own pieces (hyper's `client::conn`,
//! rustls on ring with the system roots, as in `src/probe/http.rs` and `src/tls.rs`).
//! Errors name the sink's URL only redacted ([`crate::config::redact`]).

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::Request;
use hyper_util::rt::TokioIo;
use rustls::pki_types::ServerName;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;

use crate::config::redact;

use crate::limits::SINK_MAX_ANSWER_BYTES as MAX_ANSWER;

#[derive(Debug, thiserror::Error)]
pub enum PostError {
    #[error("{url}: {what}")]
    Failed { url: String, what: String },
    #[error("{url}: no answer within {secs:.1} s")]
    Timeout { url: String, secs: f64 },
}

/// What the sink answered.
#[derive(Debug, Clone)]
pub struct Answer {
    pub status: u16,
    pub body: String,
}

/// POSTs `body` to `url` with `headers`, all within `timeout`.
pub async fn post(
    url: &url::Url,
    headers: &[(String, String)],
    body: Vec<u8>,
    timeout: Duration,
) -> Result<Answer, PostError> {
    let shown = redact(url);
    match tokio::time::timeout(timeout, exchange(url, headers, body)).await {
        Ok(Ok(a)) => Ok(a),
        Ok(Err(what)) => Err(PostError::Failed { url: shown, what }),
        Err(_) => Err(PostError::Timeout {
            url: shown,
            secs: timeout.as_secs_f64(),
        }),
    }
}

async fn exchange(
    url: &url::Url,
    headers: &[(String, String)],
    body: Vec<u8>,
) -> Result<Answer, String> {
    let host = crate::config::url_host(url).ok_or("no host")?;
    let port = url.port_or_known_default().ok_or("no port")?;
    let tcp = TcpStream::connect((host.as_str(), port))
        .await
        .map_err(|e| format!("connect: {e}"))?;
    let _ = tcp.set_nodelay(true);
    if url.scheme() == "https" {
        let tls = crate::tls::client(None, None, crate::tls::TlsVersion::Tls12)
            .map_err(|e| format!("TLS setup: {e}"))?;
        let mut cfg = (*tls.config).clone();
        cfg.alpn_protocols = vec![b"http/1.1".to_vec()];
        let name = ServerName::try_from(host.clone()).map_err(|e| format!("TLS name: {e}"))?;
        let stream = tokio_rustls::TlsConnector::from(Arc::new(cfg))
            .connect(name, tcp)
            .await
            .map_err(|e| format!("TLS: {e}"))?;
        send(stream, url, &host, headers, body).await
    } else {
        send(tcp, url, &host, headers, body).await
    }
}

async fn send<S>(
    io: S,
    url: &url::Url,
    host: &str,
    headers: &[(String, String)],
    body: Vec<u8>,
) -> Result<Answer, String>
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let (mut tx, conn) = hyper::client::conn::http1::handshake(TokioIo::new(io))
        .await
        .map_err(|e| format!("HTTP: {e}"))?;
    let driver = tokio::spawn(async move {
        let _ = conn.await;
    });
    let path = match url.query() {
        Some(q) => format!("{}?{q}", url.path()),
        None => url.path().to_string(),
    };
    // `url_host` drops IPv6 brackets (what a resolver wants); a Host header needs them back.
    let host_part = if host.contains(':') {
        format!("[{host}]")
    } else {
        host.to_string()
    };
    let authority = match url.port() {
        Some(p) => format!("{host_part}:{p}"),
        None => host_part,
    };
    let mut req = Request::post(path)
        .header(hyper::header::HOST, authority)
        .header(hyper::header::CONTENT_TYPE, "application/json")
        .header(
            hyper::header::USER_AGENT,
            format!("payprobe/{}", crate::VERSION),
        );
    for (k, v) in headers {
        req = req.header(k.as_str(), v.as_str());
    }
    let req = req
        .body(Full::new(Bytes::from(body)))
        .map_err(|e| format!("request: {e}"))?;
    let result = async {
        let resp = tx
            .send_request(req)
            .await
            .map_err(|e| format!("HTTP: {e}"))?;
        let status = resp.status().as_u16();
        let bytes = first_bytes(resp.into_body(), MAX_ANSWER).await;
        Ok(Answer {
            status,
            body: String::from_utf8_lossy(&bytes).into_owned(),
        })
    }
    .await;
    driver.abort();
    result
}

/// The first `cap` bytes of an answer. A longer one is cut, not discarded: a robot's
/// `{"errcode":0}` followed by a large page must still read as delivered (an empty body
/// would be judged a failure and the notification re-sent until `max_age`).
async fn first_bytes(mut body: hyper::body::Incoming, cap: usize) -> Bytes {
    let mut out = Vec::new();
    while out.len() < cap {
        let Some(Ok(frame)) = body.frame().await else {
            break;
        };
        if let Some(d) = frame.data_ref() {
            let room = cap - out.len();
            out.extend_from_slice(&d[..d.len().min(room)]);
        }
    }
    Bytes::from(out)
}
