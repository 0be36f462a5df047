//! The daemon under test: the release `payprobe` binary in a process of its own, so what
//! the bench reports (memory, disk writes, CPU, log lines) is payprobe's alone.

use std::io::{Read, Write};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub struct Daemon {
    pub addr: SocketAddr,
    child: Child,
    log: PathBuf,
}

/// A port nobody listens on now (the kernel's pick; free again once the probe socket closes).
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

impl Daemon {
    /// Starts `payprobe run` on `config`, logging to `dir/payprobe.log`, and waits (at most
    /// a minute) for its `/healthz`.
    pub async fn start(config: &Path, dir: &Path) -> Daemon {
        let addr = SocketAddr::from(([127, 0, 0, 1], free_port()));
        let log = dir.join("payprobe.log");
        let bin = env!("CARGO_BIN_EXE_payprobe");
        // `BENCH_WRAP=heaptrack` (or `perf record -g --`...) runs payprobe under a profiler;
        // the /proc figures are then the wrapper's.
        let mut cmd = match std::env::var("BENCH_WRAP") {
            Ok(w) if !w.is_empty() => {
                let mut parts = w.split_whitespace();
                let mut c = Command::new(parts.next().unwrap_or("env"));
                c.args(parts).arg(bin);
                c
            }
            _ => Command::new(bin),
        };
        // A process group of its own, so a stop reaches payprobe under a wrapper too.
        std::os::unix::process::CommandExt::process_group(&mut cmd, 0);
        let child = cmd
            .args(["run", "--listen", &addr.to_string(), "--config"])
            .arg(config)
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).expect("log file"))
            .spawn()
            .expect("payprobe starts");
        let d = Daemon { addr, child, log };
        let started = Instant::now();
        while timed_get(addr, "/healthz").await.is_none() {
            assert!(
                started.elapsed() < Duration::from_secs(60),
                "payprobe did not answer /healthz within a minute"
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        d
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The whole exposition, or "" when it did not answer. Asked with gzip, as Prometheus
    /// asks: an uncompressed render is the whole text in payprobe's memory at once.
    pub async fn render(&self) -> String {
        get(self.addr, "/metrics").await.unwrap_or_default()
    }

    /// A field of `/proc/PID/io` (`write_bytes:`, `wchar:`).
    pub fn io(&self, name: &str) -> u64 {
        std::fs::read_to_string(format!("/proc/{}/io", self.pid()))
            .unwrap_or_default()
            .lines()
            .find_map(|l| l.strip_prefix(name)?.trim().parse().ok())
            .unwrap_or(0)
    }

    /// A memory field of `/proc/PID/status` (`VmHWM:`, `VmRSS:`), in MiB.
    pub fn mib(&self, field: &str) -> f64 {
        std::fs::read_to_string(format!("/proc/{}/status", self.pid()))
            .unwrap_or_default()
            .lines()
            .find_map(|l| {
                l.strip_prefix(field)?
                    .split_whitespace()
                    .next()?
                    .parse::<f64>()
                    .ok()
            })
            .map_or(0.0, |kb| kb / 1024.0)
    }

    /// User + system CPU seconds of the whole process.
    pub fn cpu(&self) -> f64 {
        let (u, s) = super::common::cpu_split(&format!("/proc/{}/stat", self.pid()));
        u + s
    }

    /// Lines the daemon has logged so far, and how many of them were warnings or errors.
    pub fn log_lines(&self) -> (usize, usize) {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let loud = text
            .lines()
            .filter(|l| l.contains(" WARN ") || l.contains(" ERROR "))
            .count();
        (text.lines().count(), loud)
    }

    /// Resets the peak resident size, so `VmHWM` is the peak of what follows.
    pub fn clear_peak(&self) {
        let _ = std::fs::write(format!("/proc/{}/clear_refs", self.pid()), "5");
    }

    /// SIGTERM to its process group, then SIGKILL if it has not stopped within 5 s.
    pub fn stop(mut self) {
        // SAFETY: kill(2) on the process group of a child this process spawned (it leads
        // it) and has not reaped.
        unsafe { libc::kill(-(self.child.id() as i32), libc::SIGTERM) };
        let started = Instant::now();
        while started.elapsed() < Duration::from_secs(5) {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        // SAFETY: as above.
        unsafe { libc::kill(-(self.child.id() as i32), libc::SIGKILL) };
        let _ = self.child.wait();
    }
}

/// One GET (gzip accepted) over loopback, on a blocking thread: the time to its last byte and
/// the whole answer, if the status was 200.
async fn fetch(addr: SocketAddr, path: &'static str) -> Option<(Duration, Vec<u8>)> {
    tokio::task::spawn_blocking(move || {
        let started = Instant::now();
        let mut s = std::net::TcpStream::connect(addr).ok()?;
        s.set_read_timeout(Some(Duration::from_secs(30))).ok()?;
        let req = format!("GET {path} HTTP/1.0\r\nHost: bench\r\nAccept-Encoding: gzip\r\n\r\n");
        s.write_all(req.as_bytes()).ok()?;
        let mut buf = Vec::new();
        s.read_to_end(&mut buf).ok()?;
        // hyper answers an HTTP/1.0 request in HTTP/1.0.
        (buf.starts_with(b"HTTP/1.") && buf.get(8..13) == Some(b" 200 "))
            .then(|| (started.elapsed(), buf))
    })
    .await
    .ok()
    .flatten()
}

/// The body of a 200 answer to a GET, uncompressed.
async fn get(addr: SocketAddr, path: &'static str) -> Option<String> {
    let (_, buf) = fetch(addr, path).await?;
    let end = buf.windows(4).position(|w| w == b"\r\n\r\n")?;
    let head = std::str::from_utf8(&buf[..end]).ok()?.to_ascii_lowercase();
    let body = &buf[end + 4..];
    let mut text = String::new();
    if head.contains("content-encoding: gzip") {
        flate2::read::GzDecoder::new(body)
            .read_to_string(&mut text)
            .ok()?;
    } else {
        text = String::from_utf8(body.to_vec()).ok()?;
    }
    Some(text)
}

/// The time to the last byte of a 200 answer to a GET.
pub async fn timed_get(addr: SocketAddr, path: &'static str) -> Option<Duration> {
    fetch(addr, path).await.map(|(t, _)| t)
}
