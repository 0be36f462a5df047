//! The readers' attack of the outage bench: 2,000 slowloris connections and 200 requests a
//! second of the expensive reads (`/api/v1/targets` and `/metrics`), on a thread of their
//! own, while the bench checks that `/healthz` answers and counts failed probes.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};

#[derive(Default)]
pub struct Counts {
    pub sent: AtomicU64,
    pub ok: AtomicU64,
    pub limited: AtomicU64,
    pub other: AtomicU64,
    pub slow_connects: AtomicU64,
}

/// Runs the attack on `addr` until `stop` is set.
pub fn start(
    addr: SocketAddr,
    slowloris: usize,
    per_second: u64,
    stop: Arc<AtomicBool>,
) -> Arc<Counts> {
    let counts = Arc::new(Counts::default());
    let c = counts.clone();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        rt.block_on(async move {
            for _ in 0..slowloris {
                let (stop, c) = (stop.clone(), c.clone());
                tokio::spawn(async move {
                    while !stop.load(Ordering::Relaxed) {
                        c.slow_connects.fetch_add(1, Ordering::Relaxed);
                        let Ok(mut s) = tokio::net::TcpStream::connect(addr).await else {
                            tokio::time::sleep(Duration::from_millis(200)).await;
                            continue;
                        };
                        if s.write_all(b"GET /metrics HTTP/1.1\r\nHost:")
                            .await
                            .is_err()
                        {
                            continue;
                        }
                        // One byte every two seconds until the server hangs up.
                        while !stop.load(Ordering::Relaxed) {
                            tokio::time::sleep(Duration::from_secs(2)).await;
                            if s.write_all(b"x").await.is_err() {
                                break;
                            }
                        }
                    }
                });
            }
            let mut tick =
                tokio::time::interval(Duration::from_micros(1_000_000 / per_second.max(1)));
            let mut n = 0u64;
            while !stop.load(Ordering::Relaxed) {
                tick.tick().await;
                n += 1;
                let path = if n % 2 == 0 {
                    "/api/v1/targets?limit=500"
                } else {
                    "/metrics"
                };
                let c = c.clone();
                tokio::spawn(async move {
                    c.sent.fetch_add(1, Ordering::Relaxed);
                    let got = tokio::time::timeout(Duration::from_secs(10), get(addr, path)).await;
                    let counter = match got {
                        Ok(Some(200)) => &c.ok,
                        Ok(Some(429)) => &c.limited,
                        _ => &c.other,
                    };
                    counter.fetch_add(1, Ordering::Relaxed);
                });
            }
        });
    });
    counts
}

/// The status code of one GET (the body is read and dropped).
async fn get(addr: SocketAddr, path: &str) -> Option<u16> {
    let mut s = tokio::net::TcpStream::connect(addr).await.ok()?;
    let req = format!("GET {path} HTTP/1.0\r\nHost: bench\r\nAccept-Encoding: gzip\r\n\r\n");
    s.write_all(req.as_bytes()).await.ok()?;
    let mut buf = Vec::new();
    s.read_to_end(&mut buf).await.ok()?;
    std::str::from_utf8(buf.get(9..12)?).ok()?.parse().ok()
}
