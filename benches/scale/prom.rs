//! A real Prometheus (Debian's `/usr/bin/prometheus`) scraping the daemon under test, in a
//! temporary directory, and the two things the scale bench asks it: how long its scrapes of
//! payprobe took, and how many samples they had.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

pub struct Prometheus {
    child: Child,
    web: SocketAddr,
    _dir: tempfile::TempDir,
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map_or(0, |a| a.port())
}

impl Prometheus {
    /// Starts Prometheus scraping `target`'s `/metrics` every `interval_secs`; `None` when
    /// the binary is missing (the bench then says so and goes on without it).
    pub fn start(target: SocketAddr, interval_secs: u64) -> Option<Prometheus> {
        let bin = std::env::var("PROMETHEUS").unwrap_or_else(|_| "/usr/bin/prometheus".into());
        let dir = tempfile::tempdir().ok()?;
        let timeout = interval_secs.min(10);
        let config = format!(
            "global:\n  scrape_interval: {interval_secs}s\n  scrape_timeout: {timeout}s\n\
             scrape_configs:\n  - job_name: payprobe\n    static_configs:\n      - targets: ['{target}']\n"
        );
        let cfg: PathBuf = dir.path().join("prometheus.yml");
        std::fs::write(&cfg, config).ok()?;
        let web = SocketAddr::from(([127, 0, 0, 1], free_port()));
        let child = Command::new(bin)
            .arg(format!("--config.file={}", cfg.display()))
            .arg(format!(
                "--storage.tsdb.path={}",
                dir.path().join("data").display()
            ))
            .arg(format!("--web.listen-address={web}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| eprintln!("prometheus not started: {e}"))
            .ok()?;
        Some(Prometheus {
            child,
            web,
            _dir: dir,
        })
    }

    /// The value of an instant PromQL query returning one series (None if it has none).
    pub fn query(&self, promql: &str) -> Option<f64> {
        let q: String = promql
            .bytes()
            .map(|b| match b {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'_' | b'.' => (b as char).to_string(),
                _ => format!("%{b:02X}"),
            })
            .collect();
        let mut s = TcpStream::connect_timeout(&self.web, Duration::from_secs(2)).ok()?;
        s.set_read_timeout(Some(Duration::from_secs(10))).ok()?;
        let req = format!(
            "GET /api/v1/query?query={q} HTTP/1.0\r\nHost: {}\r\n\r\n",
            self.web
        );
        s.write_all(req.as_bytes()).ok()?;
        let mut resp = String::new();
        s.read_to_string(&mut resp).ok()?;
        let body = resp.split_once("\r\n\r\n")?.1;
        let v: serde_json::Value = serde_json::from_str(body).ok()?;
        let value = v["data"]["result"].get(0)?["value"][1].as_str()?;
        value.parse().ok()
    }
}

impl Drop for Prometheus {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
