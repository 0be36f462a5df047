//! Helpers shared by the integration tests.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
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

/// Plain blocking HTTP/1.0 GET against the daemon; returns (status, body).
pub fn get(addr: SocketAddr, path: &str) -> (u16, String) {
    let mut s =
        TcpStream::connect_timeout(&addr, Duration::from_secs(5)).expect("connect to payprobe");
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    write!(s, "GET {path} HTTP/1.0\r\nHost: test\r\n\r\n").unwrap();
    let mut buf = String::new();
    s.read_to_string(&mut buf).unwrap();
    let status = buf
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .expect("status line");
    let body = buf
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    (status, body)
}

/// Polls `f` every 50 ms until it returns Some, for at most `secs` seconds.
pub fn wait_for<T>(secs: u64, what: &str, mut f: impl FnMut() -> Option<T>) -> T {
    let end = std::time::Instant::now() + Duration::from_secs(secs);
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(
            std::time::Instant::now() < end,
            "timed out waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The value of one series in a text exposition, if present.
pub fn metric(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .find(|l| l.starts_with(series) && l[series.len()..].starts_with(' '))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
}
