//! The outage bench's loopback parts, on their own thread: gateways that can be switched
//! off (the port then refuses connections, as a stopped nginx does) and on again on the same
//! port, and a webhook receiver that notes when each alert arrived.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::mpsc;

/// (alertname, status, when) of every alert the receiver got.
pub type Got = Arc<Mutex<Vec<(String, String, Instant)>>>;

pub struct Net {
    pub ports: Vec<u16>,
    pub receiver: SocketAddr,
    pub got: Got,
    switch: mpsc::UnboundedSender<bool>,
}

impl Net {
    /// Every gateway up (`true`) or down (`false`).
    pub fn set(&self, up: bool) {
        let _ = self.switch.send(up);
    }
}

fn listener(port: u16) -> std::io::Result<tokio::net::TcpListener> {
    let s = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None)?;
    s.set_reuse_address(true)?;
    s.bind(&SocketAddr::from(([127, 0, 0, 1], port)).into())?;
    s.listen(4096)?;
    s.set_nonblocking(true)?;
    tokio::net::TcpListener::from_std(s.into())
}

const BODY: &str = r#"{"code":"10000","msg":"Success"}"#;

fn answer() -> Vec<u8> {
    format!(
        "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{BODY}",
        BODY.len()
    )
    .into_bytes()
}

async fn serve(l: tokio::net::TcpListener) {
    while let Ok((mut s, _)) = l.accept().await {
        tokio::spawn(async move {
            let mut buf = vec![0u8; 8192];
            let mut n = 0;
            while n < buf.len() {
                match s.read(&mut buf[n..]).await {
                    Ok(0) | Err(_) => return,
                    Ok(k) => n += k,
                }
                if buf[..n].windows(4).any(|w| w == b"\r\n\r\n") {
                    break;
                }
            }
            let _ = s.write_all(&answer()).await;
        });
    }
}

async fn receive(l: tokio::net::TcpListener, got: Got) {
    while let Ok((mut s, _)) = l.accept().await {
        let got = got.clone();
        tokio::spawn(async move {
            let mut buf = Vec::new();
            let mut chunk = vec![0u8; 65536];
            // Read the head, then content-length bytes of body.
            loop {
                match s.read(&mut chunk).await {
                    Ok(0) | Err(_) => return,
                    Ok(k) => buf.extend_from_slice(&chunk[..k]),
                }
                let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") else {
                    continue;
                };
                let head = String::from_utf8_lossy(&buf[..end]).to_ascii_lowercase();
                let len: usize = head
                    .lines()
                    .find_map(|l| l.strip_prefix("content-length:"))
                    .and_then(|v| v.trim().parse().ok())
                    .unwrap_or(0);
                if buf.len() >= end + 4 + len {
                    let v: serde_json::Value =
                        serde_json::from_slice(&buf[end + 4..end + 4 + len]).unwrap_or_default();
                    let status = v["status"].as_str().unwrap_or("").to_string();
                    let now = Instant::now();
                    for a in v["alerts"].as_array().into_iter().flatten() {
                        let name = a["labels"]["alertname"].as_str().unwrap_or("").to_string();
                        got.lock().unwrap().push((name, status.clone(), now));
                    }
                    let _ = s
                        .write_all(
                            b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok",
                        )
                        .await;
                    return;
                }
            }
        });
    }
}

/// Starts `n` gateways and the receiver on a thread of their own.
pub fn start(n: usize) -> Net {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        rt.block_on(async move {
            let got: Got = Arc::default();
            let rl = tokio::net::TcpListener::bind("127.0.0.1:0")
                .await
                .expect("receiver");
            let receiver = rl.local_addr().expect("addr");
            tokio::spawn(receive(rl, got.clone()));
            let mut ports = Vec::new();
            let mut tasks = Vec::new();
            for _ in 0..n {
                let l = listener(0).expect("gateway");
                ports.push(l.local_addr().expect("addr").port());
                tasks.push(tokio::spawn(serve(l)));
            }
            let (switch, mut cmds) = mpsc::unbounded_channel::<bool>();
            tx.send(Net {
                ports: ports.clone(),
                receiver,
                got,
                switch,
            })
            .expect("send");
            while let Some(up) = cmds.recv().await {
                for t in tasks.drain(..) {
                    t.abort(); // drops the listener: the port refuses connections
                }
                if up {
                    for p in &ports {
                        tasks.push(tokio::spawn(serve(listener(*p).expect("rebind"))));
                    }
                }
            }
        });
    });
    rx.recv().expect("net")
}
