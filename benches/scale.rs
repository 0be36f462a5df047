//! Scale benchmark: N targets on ONE core (a current-thread runtime), probing loopback
//! gateways that run on another thread. Reports CPU per probe of the probing thread, process
//! memory (steady and at a scrape's peak), `/metrics` size and render time, and the
//! round-start lag: first with no scraper, then while a real Prometheus scrapes the daemon
//! at each interval asked (Debian's `/usr/bin/prometheus`, or `$PROMETHEUS`).
//!
//! Run: `cargo bench --bench scale -- [targets] [seconds] [interval] [scrape intervals]`
//! (default 10000 targets, 60 s per phase, 15 s interval, Prometheus at "15,5" s; "0" for
//! none).

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use payprobe::app::Daemon;
use payprobe::probe::Probers;

mod common;
#[path = "scale/prom.rs"]
mod prom;

/// utime + stime of the calling thread, in seconds.
fn thread_cpu() -> f64 {
    let (u, s) = common::cpu_split("/proc/thread-self/stat");
    u + s
}

/// utime + stime of the whole process.
fn process_cpu() -> f64 {
    let (u, s) = common::cpu_split("/proc/self/stat");
    u + s
}

/// utime + stime of one thread of this process.
fn task_cpu(tid: i64) -> f64 {
    let (u, s) = common::cpu_split(&format!("/proc/self/task/{tid}/stat"));
    u + s
}

fn status_mib(field: &str) -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|kb| kb.parse::<f64>().ok())
        .map_or(0.0, |kb| kb / 1024.0)
}

fn rss_mib() -> f64 {
    status_mib("VmRSS:")
}

/// Resets the kernel's peak-RSS mark (`VmHWM`) to the current RSS (Linux >= 4.0).
fn reset_peak() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

fn peak_mib() -> f64 {
    status_mib("VmHWM:")
}

/// Cumulative bucket counts of the scheduler lag histogram: (upper bound, count).
fn lag_buckets(text: &str) -> Vec<(String, f64)> {
    text.lines()
        .filter(|l| l.starts_with("payprobe_scheduler_lag_seconds_bucket"))
        .filter_map(|l| {
            let le = l.split("le=\"").nth(1)?.split('"').next()?.to_string();
            let n = l.rsplit(' ').next()?.parse().ok()?;
            Some((le, n))
        })
        .collect()
}

/// Upper bound of the bucket holding quantile `q` of the rounds started between two
/// readings of the lag histogram.
fn quantile(before: &[(String, f64)], after: &[(String, f64)], q: f64) -> String {
    let delta: Vec<(&str, f64)> = after
        .iter()
        .map(|(le, n)| {
            let b = before.iter().find(|(l, _)| l == le).map_or(0.0, |x| x.1);
            (le.as_str(), n - b)
        })
        .collect();
    let total = delta.last().map_or(0.0, |b| b.1);
    delta
        .iter()
        .find(|(_, n)| *n >= q * total)
        .map_or("?".into(), |(le, _)| format!("<= {le} s"))
}

/// Renders `/metrics` on the blocking pool, so the bench's own reads never hold the probing
/// thread.
async fn render(d: &Daemon) -> String {
    let m = d.shared.metrics.clone();
    tokio::task::spawn_blocking(move || m.render().unwrap_or_default())
        .await
        .unwrap_or_default()
}

/// What the bench needs of one exposition, so the text itself is not kept (it would count
/// in the memory measured).
struct Reading {
    probes: f64,
    failed: f64,
    lag: Vec<(String, f64)>,
}

async fn reading(d: &Daemon) -> Reading {
    let text = render(d).await;
    Reading {
        probes: count(&text, ""),
        failed: count(&text, "outcome=\"failure\""),
        lag: lag_buckets(&text),
    }
}

/// `GET /metrics` as Prometheus sends it (gzip accepted), over loopback: the body's size
/// and the time from the request to its last byte.
async fn fetch(addr: std::net::SocketAddr) -> (usize, Duration) {
    use std::io::{Read, Write};
    let get = move || {
        let started = Instant::now();
        let mut s = std::net::TcpStream::connect(addr).ok()?;
        let req = "GET /metrics HTTP/1.0\r\nHost: bench\r\nAccept-Encoding: gzip\r\n\r\n";
        s.write_all(req.as_bytes()).ok()?;
        let mut buf = Vec::new();
        s.read_to_end(&mut buf).ok()?;
        Some((buf.len(), started.elapsed()))
    };
    tokio::task::spawn_blocking(get)
        .await
        .ok()
        .flatten()
        .unwrap_or_default()
}

fn count(text: &str, outcome: &str) -> f64 {
    text.lines()
        .filter(|l| l.starts_with("payprobe_probes_total{") && l.contains(outcome))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

/// Sample lines of an exposition.
fn series(text: &str) -> usize {
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .count()
}

struct Args {
    n: usize,
    secs: u64,
    interval: u64,
    scrapes: Vec<u64>,
}

fn args() -> Args {
    let a = common::args();
    let num = |i: usize, d: u64| a.get(i).and_then(|v| v.parse().ok()).unwrap_or(d);
    let scrapes = a.get(3).map_or("15,5", String::as_str);
    Args {
        n: num(0, 10_000) as usize,
        secs: num(1, 60),
        interval: num(2, 15),
        scrapes: scrapes
            .split(',')
            .filter_map(|s| s.parse().ok())
            .filter(|s| *s > 0)
            .collect(),
    }
}

fn config(a: &Args, ports: &[u16]) -> String {
    let mut src = String::from("[server]\nlisten = \"127.0.0.1:0\"\nmax_concurrency = 4096\n");
    src.push_str(&format!(
        "[defaults]\ninterval = \"{}s\"\ntimeout = \"5s\"\n",
        a.interval
    ));
    for i in 0..a.n {
        let port = ports[i % ports.len()];
        src.push_str(&format!("[[targets]]\nname = \"t{i}\"\nprovider = \"p{}\"\nurl = \"http://127.0.0.1:{port}/v1/query/{i}\"\n", i % 50));
    }
    src
}

/// Gateways on their own thread and runtime, so their CPU is not counted as payprobe's.
/// Returns their ports and the thread's id.
fn start_gateways() -> (Vec<u16>, i64) {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        // SAFETY: gettid has no preconditions.
        let tid = i64::from(unsafe { libc::gettid() });
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        rt.block_on(async move {
            let gws = gateways().await;
            let ports: Vec<u16> = gws.iter().map(|g| g.port()).collect();
            tx.send((ports, tid)).expect("send ports");
            std::future::pending::<()>().await;
        });
    });
    rx.recv().expect("gateway ports")
}

fn main() {
    let a = args();
    let (ports, gw_tid) = start_gateways();
    let parse_started = Instant::now();
    let plan =
        payprobe::config::parse(Path::new("bench.toml"), &config(&a, &ports), Path::new("."))
            .expect("bench config");
    let parse_took = parse_started.elapsed();
    println!(
        "payprobe scale benchmark ({} targets, {} s interval, one core, {} s per phase)",
        a.n, a.interval, a.secs
    );
    println!(
        "  config parse + validate    {:>10.0} ms",
        parse_took.as_secs_f64() * 1000.0
    );
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async move {
        let daemon = Daemon::start(plan, None, Arc::new(Probers::system()))
            .await
            .expect("daemon");
        // Skip the first interval (start-up spread), then measure.
        tokio::time::sleep(Duration::from_secs(a.interval)).await;
        scrape_report(&daemon, a.n).await;
        phase(&daemon, &a, None, gw_tid).await;
        for s in &a.scrapes {
            phase(&daemon, &a, Some(*s), gw_tid).await;
        }
        daemon.stop();
    });
}

/// What one scrape costs: bytes (text and gzip), time to serve it, RSS before and at the
/// peak of a gzip scrape (what Prometheus asks for).
async fn scrape_report(d: &Daemon, n: usize) {
    let steady = rss_mib();
    reset_peak();
    let (gz, first) = fetch(d.addr).await;
    let peak = peak_mib();
    let mut best = first;
    for _ in 0..4 {
        best = best.min(fetch(d.addr).await.1);
    }
    let m = d.shared.metrics.clone();
    let plain_took = tokio::task::spawn_blocking(move || {
        let started = Instant::now();
        let _ = m.render_to(&mut std::io::sink());
        started.elapsed()
    })
    .await
    .unwrap_or_default();
    let text = render(d).await;
    if let Some(path) = std::env::var_os("SCALE_DUMP") {
        let _ = std::fs::write(path, &text);
    }
    println!(
        "  /metrics size              {:>10.2} MB of text ({:.2} MiB), {:.2} MB gzipped",
        text.len() as f64 / 1e6,
        text.len() as f64 / 1048576.0,
        gz as f64 / 1e6
    );
    println!(
        "  GET /metrics (gzip)        {:>10.0} ms (best of 5; first {:.0} ms); text alone {:.0} ms",
        best.as_secs_f64() * 1000.0,
        first.as_secs_f64() * 1000.0,
        plain_took.as_secs_f64() * 1000.0
    );
    println!(
        "  series                     {:>10} ({:.1} per target)",
        series(&text),
        series(&text) as f64 / n as f64
    );
    println!(
        "  resident memory            {steady:>10.1} MiB steady, {peak:.1} MiB at a scrape's peak ({:.0} bytes per target)",
        steady * 1048576.0 / n as f64
    );
}

/// CPU is split three ways: the probing thread, the gateways' thread (not payprobe's), and
/// the rest of payprobe (the blocking pool's renders, the listener's other work).
async fn phase(d: &Daemon, a: &Args, scrape: Option<u64>, gw: i64) {
    let p = scrape.and_then(|s| prom::Prometheus::start(d.addr, s));
    if scrape.is_some() && p.is_none() {
        println!("  (no Prometheus: phase skipped)");
        return;
    }
    let r0 = reading(d).await;
    reset_peak();
    let cpu_all = || process_cpu() - task_cpu(gw);
    let (cpu0, all0, started) = (thread_cpu(), cpu_all(), Instant::now());
    tokio::time::sleep(Duration::from_secs(a.secs)).await;
    let cpu = thread_cpu() - cpu0;
    let rest = cpu_all() - all0 - cpu;
    let (wall, peak, rss) = (started.elapsed().as_secs_f64(), peak_mib(), rss_mib());
    let r1 = reading(d).await;
    let (probes, failed) = (r1.probes - r0.probes, r1.failed - r0.failed);
    let (b0, b1) = (r0.lag, r1.lag);
    match scrape {
        None => println!("  -- no scraper"),
        Some(s) => println!("  -- Prometheus 2.42 scraping every {s} s"),
    }
    println!(
        "    probes                   {probes:>10.0} ({:.0}/s), {failed:.0} failed",
        probes / wall
    );
    println!(
        "    CPU per probe            {:>10.1} us (probing thread, {:.1}% of one core); other threads {:.2} s",
        1e6 * cpu / probes.max(1.0),
        100.0 * cpu / wall,
        rest
    );
    println!(
        "    round-start lag          p50 {}, p99 {}",
        quantile(&b0, &b1, 0.5),
        quantile(&b0, &b1, 0.99)
    );
    println!("    resident memory          {rss:>10.1} MiB at the end, {peak:.1} MiB peak");
    if let Some(p) = p {
        let w = a.secs.saturating_sub(5).max(5);
        let q = |f: &str| {
            p.query(&format!(
                "{f}(scrape_duration_seconds{{job=\"payprobe\"}}[{w}s])"
            ))
        };
        let ms = |v: Option<f64>| v.map_or("?".into(), |v| format!("{:.0} ms", v * 1000.0));
        let samples = p.query("scrape_samples_scraped{job=\"payprobe\"}");
        let up = p.query("min_over_time(up{job=\"payprobe\"}[1h])");
        println!(
            "    Prometheus scrape        avg {}, max {} ({} samples, up min {})",
            ms(q("avg_over_time")),
            ms(q("max_over_time")),
            samples.map_or("?".into(), |v| format!("{v:.0}")),
            up.map_or("?".into(), |v| format!("{v:.0}"))
        );
    }
}

/// The loopback gateways the benchmark probes: eight, so probes spread over eight
/// listening ports (and their TIME_WAIT entries over eight destinations).
pub async fn gateways() -> Vec<payprobe::demo::gateway::Gateway> {
    use payprobe::demo::gateway::{Behavior, Gateway};
    let mut gws = Vec::new();
    for _ in 0..8 {
        let b = Behavior::ok(r#"{"code":"10000","msg":"Success"}"#);
        gws.push(Gateway::http(b).await.expect("gateway"));
    }
    gws
}
