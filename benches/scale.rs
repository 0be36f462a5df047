//! Scale benchmark: N targets on ONE core (a current-thread runtime), probing loopback
//! gateways that run on another thread. Reports CPU per probe of the probing thread,
//! process memory, and scheduler lag.
//!
//! Run: `cargo bench --bench scale -- [targets] [seconds] [interval]`
//! (default 10000 targets, 45 s, 15 s interval: about 667 probes a second).

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use payprobe::app::Daemon;
use payprobe::probe::Probers;

mod common;

/// utime + stime of the calling thread, in seconds.
fn thread_cpu() -> f64 {
    let (u, s) = thread_cpu_split();
    u + s
}

/// (user, system) CPU seconds of the calling thread.
fn thread_cpu_split() -> (f64, f64) {
    common::cpu_split("/proc/thread-self/stat")
}

fn rss_mib() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|kb| kb.parse::<f64>().ok())
        .map_or(0.0, |kb| kb / 1024.0)
}

/// Upper bound of the bucket holding quantile `q` of a histogram in the text output.
fn quantile(text: &str, name: &str, q: f64) -> String {
    let buckets: Vec<(String, f64)> = text
        .lines()
        .filter(|l| l.starts_with(&format!("{name}_bucket")))
        .filter_map(|l| {
            let le = l.split("le=\"").nth(1)?.split('"').next()?.to_string();
            let n = l.rsplit(' ').next()?.parse().ok()?;
            Some((le, n))
        })
        .collect();
    let total = buckets.last().map_or(0.0, |b| b.1);
    buckets
        .iter()
        .find(|(_, n)| *n >= q * total)
        .map_or("?".into(), |(le, _)| format!("<= {le} s"))
}

fn main() {
    let args = common::args();
    let n: usize = args.first().and_then(|v| v.parse().ok()).unwrap_or(10_000);
    let secs: u64 = args.get(1).and_then(|v| v.parse().ok()).unwrap_or(45);
    let interval: u64 = args.get(2).and_then(|v| v.parse().ok()).unwrap_or(15);

    // Gateways on their own thread and runtime, so their CPU is not counted as payprobe's.
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        rt.block_on(async move {
            let gws = gateways().await;
            let ports: Vec<u16> = gws.iter().map(|g| g.port()).collect();
            tx.send(ports).expect("send ports");
            std::future::pending::<()>().await;
        });
    });
    let ports = rx.recv().expect("gateway ports");

    let mut src = String::from("[server]\nlisten = \"127.0.0.1:0\"\nmax_concurrency = 2048\n");
    src.push_str(&format!(
        "[defaults]\ninterval = \"{interval}s\"\ntimeout = \"5s\"\n"
    ));
    for i in 0..n {
        let port = ports[i % ports.len()];
        src.push_str(&format!("[[targets]]\nname = \"t{i}\"\nprovider = \"p{}\"\nurl = \"http://127.0.0.1:{port}/v1/query/{i}\"\n", i % 50));
    }
    let parse_started = Instant::now();
    let plan = payprobe::config::parse(Path::new("bench.toml"), &src, Path::new("."))
        .expect("bench config");
    let parse_took = parse_started.elapsed();

    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async move {
        let daemon = Daemon::start(plan, None, Arc::new(Probers::system()))
            .await
            .expect("daemon");
        // Skip the first interval (start-up spread), then measure.
        tokio::time::sleep(Duration::from_secs(interval)).await;
        let rss_before_render = rss_mib();
        let text0 = daemon.shared.metrics.render().unwrap_or_default();
        let probes0 = count(&text0);
        let cpu0 = thread_cpu();
        let (u0, s0) = thread_cpu_split();
        let t0 = Instant::now();
        tokio::time::sleep(Duration::from_secs(secs)).await;
        let wall = t0.elapsed().as_secs_f64();
        let cpu = thread_cpu() - cpu0;
        let (u1, s1) = thread_cpu_split();
        let render_started = Instant::now();
        let text = daemon.shared.metrics.render().unwrap_or_default();
        let render_took = render_started.elapsed();
        let gzipped = gzip_len(&text);
        let probes = count(&text) - probes0;
        let failed = text
            .lines()
            .filter(|l| {
                l.starts_with("payprobe_probes_total{") && l.contains("outcome=\"failure\"")
            })
            .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
            .sum::<f64>();
        println!("payprobe scale benchmark ({n} targets, {interval}s interval, one core)");
        println!(
            "  config parse + validate    {:>10.0} ms",
            parse_took.as_secs_f64() * 1000.0
        );
        println!(
            "  probes measured            {:>10.0} over {wall:.1} s ({:.0}/s)",
            probes,
            probes / wall
        );
        println!("  failed probes (total)      {:>10.0}", failed);
        println!(
            "  CPU of the probing thread  {:>10.2} s ({:.1}% of one core)",
            cpu,
            100.0 * cpu / wall
        );
        println!(
            "  CPU per probe              {:>10.1} us ({:.1} user, {:.1} kernel)",
            1e6 * cpu / probes.max(1.0),
            1e6 * (u1 - u0) / probes.max(1.0),
            1e6 * (s1 - s0) / probes.max(1.0)
        );
        println!("  resident memory (process)  {:>10.1} MiB ({rss_before_render:.1} MiB before the first /metrics render)", rss_mib());
        println!(
            "  scheduler lag p50          {:>10}",
            quantile(&text, "payprobe_scheduler_lag_seconds", 0.5)
        );
        println!(
            "  scheduler lag p99          {:>10}",
            quantile(&text, "payprobe_scheduler_lag_seconds", 0.99)
        );
        println!(
            "  /metrics size              {:>10.1} MiB ({:.1} MiB gzipped), rendered in {:.0} ms",
            text.len() as f64 / 1048576.0,
            gzipped as f64 / 1048576.0,
            render_took.as_secs_f64() * 1000.0
        );
        println!(
            "  series                     {:>10} ({:.1} per target)",
            series(&text),
            series(&text) as f64 / n as f64
        );
        daemon.stop();
    });
}

/// Sample lines of an exposition.
fn series(text: &str) -> usize {
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .count()
}

/// What the exposition weighs on the wire when the scraper asks for gzip (as Prometheus
/// does), at the same fast level as the `/metrics` handler.
fn gzip_len(text: &str) -> usize {
    use std::io::Write;
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    let _ = enc.write_all(text.as_bytes());
    enc.finish().map_or(0, |v| v.len())
}

fn count(text: &str) -> f64 {
    text.lines()
        .filter(|l| l.starts_with("payprobe_probes_total{"))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
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
