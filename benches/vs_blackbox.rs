//! payprobe and Prometheus's blackbox_exporter side by side: the same HTTP probes of the same
//! loopback gateways at the same rate, CPU of each process per probe.
//!
//! Run: `cargo bench --bench vs_blackbox -- [probes_per_second] [seconds]` (default 200, 30).
//! Needs Debian's `prometheus-blackbox-exporter` (skipped with a message when missing) and a
//! release build of payprobe (`cargo build --release`; the bench builds it otherwise).
//!
//! blackbox_exporter probes when Prometheus scrapes `/probe?target=...`, so its CPU includes
//! serving that scrape: that is the cost of running it. payprobe schedules its own probes and
//! is scraped separately (not counted here, and once per interval for all targets).

use std::io::Write;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};

mod common;

/// utime + stime of a process, in seconds.
fn process_cpu(pid: u32) -> f64 {
    let (u, s) = common::cpu_split(&format!("/proc/{pid}/stat"));
    u + s
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap_or(0)
}

struct Killed(Child);
impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

async fn http_get(addr: &str, path: &str) -> bool {
    let Ok(mut s) = tokio::net::TcpStream::connect(addr).await else {
        return false;
    };
    if s.write_all(format!("GET {path} HTTP/1.0\r\nHost: x\r\n\r\n").as_bytes())
        .await
        .is_err()
    {
        return false;
    }
    let mut buf = Vec::new();
    s.read_to_end(&mut buf).await.is_ok()
        && String::from_utf8_lossy(&buf).contains("probe_success 1")
}

fn main() {
    let args = common::args();
    let rate: u64 = args.first().and_then(|v| v.parse().ok()).unwrap_or(200);
    let secs: u64 = args.get(1).and_then(|v| v.parse().ok()).unwrap_or(30);
    if Command::new("prometheus-blackbox-exporter")
        .arg("--version")
        .output()
        .is_err()
    {
        println!("vs_blackbox: skipped: install Debian's prometheus-blackbox-exporter to compare");
        return;
    }
    let payprobe = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("target/release/payprobe");
    if !payprobe.exists() {
        let ok = Command::new("cargo")
            .args(["build", "--release", "--locked"])
            .status()
            .map(|s| s.success())
            .unwrap_or(false);
        assert!(ok, "cargo build --release failed");
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async move {
        let gws = common::gateways().await;
        let ports: Vec<u16> = gws.iter().map(|g| g.port()).collect();
        let dir = std::env::temp_dir().join(format!("payprobe-vs-blackbox-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");

        // blackbox_exporter, driven at `rate` probes a second.
        let bb_cfg = dir.join("blackbox.yml");
        std::fs::write(&bb_cfg, "modules:\n  http_2xx:\n    prober: http\n    timeout: 5s\n    http:\n      preferred_ip_protocol: ip4\n").expect("write");
        let bb_port = free_port();
        let bb = Killed(
            Command::new("prometheus-blackbox-exporter")
                .arg(format!("--config.file={}", bb_cfg.display()))
                .arg(format!("--web.listen-address=127.0.0.1:{bb_port}"))
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("start blackbox_exporter"),
        );
        let bb_addr = format!("127.0.0.1:{bb_port}");
        tokio::time::sleep(Duration::from_secs(2)).await;
        let n = rate * secs;
        let cpu0 = process_cpu(bb.0.id());
        let started = Instant::now();
        let mut tasks = Vec::new();
        for i in 0..n {
            tokio::time::sleep_until(tokio::time::Instant::from_std(started + Duration::from_micros(i * 1_000_000 / rate))).await;
            let (addr, port) = (bb_addr.clone(), ports[i as usize % ports.len()]);
            tasks.push(tokio::spawn(async move {
                http_get(&addr, &format!("/probe?module=http_2xx&target=http://127.0.0.1:{port}/v1/query/{i}")).await
            }));
        }
        let mut ok = 0u64;
        for t in tasks {
            ok += u64::from(t.await.unwrap_or(false));
        }
        let bb_cpu = process_cpu(bb.0.id()) - cpu0;
        drop(bb);

        // payprobe, scheduling the same rate itself: targets = rate x interval.
        let interval = 15u64;
        let targets = rate * interval;
        let mut cfg = format!("[server]\nlisten = \"127.0.0.1:{}\"\n[defaults]\ninterval = \"{interval}s\"\ntimeout = \"5s\"\n", free_port());
        for i in 0..targets {
            let port = ports[i as usize % ports.len()];
            cfg.push_str(&format!("[[targets]]\nname = \"t{i}\"\nurl = \"http://127.0.0.1:{port}/v1/query/{i}\"\n"));
        }
        let pp_cfg = dir.join("payprobe.toml");
        std::fs::File::create(&pp_cfg).and_then(|mut f| f.write_all(cfg.as_bytes())).expect("write");
        let pp = Killed(
            Command::new(&payprobe)
                .args(["run", "--config"])
                .arg(&pp_cfg)
                .env("RUST_LOG", "warn")
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("start payprobe"),
        );
        // Let the first (spread) interval pass, then measure.
        tokio::time::sleep(Duration::from_secs(interval + 1)).await;
        let hits0: u64 = gws.iter().map(|g| g.hits()).sum();
        let cpu0 = process_cpu(pp.0.id());
        tokio::time::sleep(Duration::from_secs(secs)).await;
        let pp_cpu = process_cpu(pp.0.id()) - cpu0;
        let pp_probes = gws.iter().map(|g| g.hits()).sum::<u64>() - hits0;
        drop(pp);
        let _ = std::fs::remove_dir_all(&dir);

        println!("HTTP probes of loopback gateways, {rate}/s for {secs} s, CPU of each process");
        println!("  blackbox_exporter  {n:>7} probes ({ok} successful)  {bb_cpu:>6.2} s CPU  {:>7.1} us/probe", 1e6 * bb_cpu / n as f64);
        println!("  payprobe           {pp_probes:>7} probes            {pp_cpu:>6.2} s CPU  {:>7.1} us/probe", 1e6 * pp_cpu / pp_probes.max(1) as f64);
    });
}
