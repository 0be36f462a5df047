//! Helpers shared by the integration tests.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use payprobe::config::{self, Target};
use payprobe::probe::{Evidence, Probers};

/// A target built through the real config path from a `[[targets]]` body.
pub fn target(body: &str) -> Arc<Target> {
    target_in(body, Path::new("."))
}

pub fn target_in(body: &str, dir: &Path) -> Arc<Target> {
    let src = format!("[[targets]]\n{body}\n");
    let plan = config::parse(Path::new("test.toml"), &src, dir)
        .unwrap_or_else(|e| panic!("test config invalid:\n{e}\n---\n{src}"));
    plan.targets[0].clone()
}

/// Runs one check of a target with its own timeout as the deadline.
pub async fn probe(t: &Target) -> Evidence {
    let deadline = tokio::time::Instant::now() + t.timeout;
    let mut round = Probers::system().round(t, deadline).await;
    assert_eq!(round.len(), 1, "one check per test target");
    round.remove(0)
}

/// A port nothing listens on (bound, then closed).
pub fn closed_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

/// HTTP/1.0 GET against the daemon; returns (status, body).
pub async fn get(addr: SocketAddr, path: &str) -> std::io::Result<(u16, String)> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut s = tokio::net::TcpStream::connect(addr).await?;
    s.write_all(format!("GET {path} HTTP/1.0\r\nHost: test\r\n\r\n").as_bytes())
        .await?;
    let mut buf = Vec::new();
    tokio::time::timeout(Duration::from_secs(10), s.read_to_end(&mut buf))
        .await
        .map_err(|_| std::io::Error::other("read timed out"))??;
    let text = String::from_utf8_lossy(&buf).into_owned();
    let status = text
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let body = text
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    Ok((status, body))
}

/// Polls `f` every 100 ms until it returns Some, for at most `secs` seconds.
pub async fn wait_for<T, F, Fut>(secs: u64, what: &str, mut f: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let end = std::time::Instant::now() + Duration::from_secs(secs);
    loop {
        if let Some(v) = f().await {
            return v;
        }
        assert!(
            std::time::Instant::now() < end,
            "timed out after {secs} s waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// A free loopback address for a daemon to listen on.
pub fn free_addr() -> SocketAddr {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap()
}

/// A payprobe process, killed when dropped.
pub struct Proc {
    pub child: std::process::Child,
    pub addr: SocketAddr,
}

impl Proc {
    /// `payprobe <args> --listen <free addr>`, logs to a file in `dir`.
    pub fn spawn(args: &[&str], dir: &Path) -> Proc {
        let addr = free_addr();
        let log = std::fs::File::create(dir.join("payprobe.log")).unwrap();
        let child = std::process::Command::new(env!("CARGO_BIN_EXE_payprobe"))
            .args(args)
            .arg("--listen")
            .arg(addr.to_string())
            .env("RUST_LOG", "info")
            .stdout(std::process::Stdio::null())
            .stderr(log)
            .spawn()
            .expect("start payprobe");
        Proc { child, addr }
    }

    pub async fn wait_ready(&self) {
        let addr = self.addr;
        wait_for(30, "/readyz", || async move {
            matches!(get(addr, "/readyz").await, Ok((200, _))).then_some(())
        })
        .await;
    }

    pub async fn metrics(&self) -> String {
        let (status, body) = get(self.addr, "/metrics").await.expect("GET /metrics");
        assert_eq!(status, 200);
        body
    }

    pub fn signal(&self, sig: &str) {
        let ok = std::process::Command::new("kill")
            .args([&format!("-{sig}"), &self.child.id().to_string()])
            .status()
            .expect("run kill")
            .success();
        assert!(ok, "kill -{sig} failed");
    }

    /// Waits for exit (a hang detector, not a speed claim).
    pub async fn wait_exit(&mut self, secs: u64) -> std::process::ExitStatus {
        let end = std::time::Instant::now() + Duration::from_secs(secs);
        loop {
            if let Some(st) = self.child.try_wait().unwrap() {
                return st;
            }
            assert!(
                std::time::Instant::now() < end,
                "payprobe did not exit within {secs} s"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The value of one series in a text exposition, if present.
pub fn metric(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .find(|l| l.starts_with(series) && l[series.len()..].starts_with(' '))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
}
