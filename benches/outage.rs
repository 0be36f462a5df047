//! Outage benchmark (issue 20): N healthy HTTP targets and a control behind loopback
//! gateways, a webhook sink; then every gateway is switched off (connections refused, as when
//! the local nginx stops: every target and the control fail, so the scope is local) and on
//! again. Reports what the flip cost: bytes written per incident change, round-start lag,
//! time to the vantage-point alert and to its resolution, any other page, memory, and how
//! fast `/api/v1/incidents` and `/metrics` answered meanwhile.
//!
//! First, while everything is healthy, a readers' attack for `[attack seconds]`: 2,000
//! slowloris connections and 200 expensive reads a second (`/api/v1/targets`, `/metrics`),
//! counting failed probes and unanswered `/healthz`.
//!
//! payprobe runs as it does in production: the release binary (`payprobe run`) in a process
//! of its own, so its memory, disk writes, CPU and log lines are its own; the gateways, the
//! receiver and the attacker stay in this process.
//!
//! Run: `cargo bench --bench outage -- [targets] [interval seconds] [attack seconds]`
//! (default 10000, 15, 30; 0 skips the attack).

use std::sync::Arc;

use daemon::{timed_get, Daemon};
use std::time::{Duration, Instant};

mod common;
#[path = "outage/daemon.rs"]
mod daemon;
#[path = "outage/net.rs"]
mod net;
#[path = "outage/readers.rs"]
mod readers;

/// The readers' attack; see the module doc.
async fn attack(d: &Daemon, secs: u64) {
    use std::sync::atomic::{AtomicBool, Ordering};
    let t0 = d.render().await;
    let stop = Arc::new(AtomicBool::new(false));
    let c = readers::start(d.addr, 2000, 200, stop.clone());
    tokio::time::sleep(Duration::from_secs(2)).await; // the slowloris connections are in
    let (mut answered, mut asked) = (0, 0);
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(secs) {
        asked += 1;
        if tokio::time::timeout(Duration::from_secs(5), timed_get(d.addr, "/healthz"))
            .await
            .ok()
            .flatten()
            .is_some()
        {
            answered += 1;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    stop.store(true, Ordering::Relaxed);
    let t1 = d.render().await;
    let failed = |t: &str| {
        t.lines()
            .filter(|l| {
                l.starts_with("payprobe_probes_total{") && l.contains("outcome=\"failure\"")
            })
            .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
            .sum::<f64>()
    };
    let n = |a: &std::sync::atomic::AtomicU64| a.load(Ordering::Relaxed);
    println!("  readers' attack ({secs} s: 2,000 slowloris, 200 reads/s of /api/v1/targets?limit=500 and /metrics)");
    println!("    /healthz answered        {answered} of {asked}");
    let mut kinds: std::collections::BTreeMap<String, usize> = Default::default();
    for l in t1
        .lines()
        .filter(|l| l.starts_with("payprobe_probe_failure_kind{") && l.ends_with(" 1"))
    {
        if let Some(k) = l.split("kind=\"").nth(1).and_then(|r| r.split('"').next()) {
            *kinds.entry(k.to_string()).or_default() += 1;
        }
    }
    println!("    failing at the end, by kind {kinds:?}");
    println!(
        "    probes failed            {:.0}",
        failed(&t1) - failed(&t0)
    );
    println!(
        "    round-start lag          p50 {}, p99 {}",
        quantile(&lag(&t0), &lag(&t1), 0.5),
        quantile(&lag(&t0), &lag(&t1), 0.99)
    );
    println!(
        "    reads                    {} sent: {} answered 200, {} rate-limited (429), {} reset or timed out; {} slowloris connects",
        n(&c.sent), n(&c.ok), n(&c.limited), n(&c.other), n(&c.slow_connects)
    );
}

/// The sum of every series of a family (`name{...} v` and `name v`).
fn sum(text: &str, name: &str) -> f64 {
    text.lines()
        .filter(|l| l.starts_with(name) && l[name.len()..].starts_with(['{', ' ']))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

fn lag(text: &str) -> Vec<(String, f64)> {
    text.lines()
        .filter(|l| l.starts_with("payprobe_scheduler_lag_seconds_bucket"))
        .filter_map(|l| {
            let le = l.split("le=\"").nth(1)?.split('"').next()?.to_string();
            Some((le, l.rsplit(' ').next()?.parse().ok()?))
        })
        .collect()
}

fn quantile(before: &[(String, f64)], after: &[(String, f64)], q: f64) -> String {
    let d: Vec<(&str, f64)> = after
        .iter()
        .map(|(le, n)| {
            (
                le.as_str(),
                n - before.iter().find(|b| &b.0 == le).map_or(0.0, |b| b.1),
            )
        })
        .collect();
    let total = d.last().map_or(0.0, |b| b.1);
    d.iter()
        .find(|(_, n)| *n >= q * total)
        .map_or("?".into(), |(le, _)| format!("<= {le} s"))
}

fn config(
    n: usize,
    interval: u64,
    ports: &[u16],
    hook: std::net::SocketAddr,
    state: &std::path::Path,
) -> String {
    let timeout = (interval * 1000 / 2).min(5000);
    let mut s = format!(
        "[server]\nmax_concurrency = 4096\nstate_dir = \"{}\"\n[defaults]\ninterval = \"{interval}s\"\ntimeout = \"{timeout}ms\"\nfailure_threshold = 2\nsuccess_threshold = 2\n[alerts]\n[[alerts.sinks]]\nname = \"hook\"\nkind = \"webhook\"\nurl = \"http://{hook}/hook\"\n",
        state.display()
    );
    for i in 0..n {
        let port = ports[i % ports.len()];
        s.push_str(&format!("[[targets]]\nname = \"t{i}\"\nprovider = \"p{}\"\nurl = \"http://127.0.0.1:{port}/v1/query/{i}\"\n", i % 50));
    }
    s.push_str(&format!(
        "[[controls]]\nname = \"egress\"\nurl = \"tcp://127.0.0.1:{}\"\n",
        ports[0]
    ));
    s
}

/// Latencies seen while polling, for the report.
#[derive(Default)]
struct Polls {
    api: Vec<Duration>,
    metrics: Vec<Duration>,
    failed: usize,
}

impl Polls {
    async fn poll(&mut self, d: &Daemon) {
        match timed_get(d.addr, "/api/v1/incidents?limit=100").await {
            Some(t) => self.api.push(t),
            None => self.failed += 1,
        }
        match timed_get(d.addr, "/metrics").await {
            Some(t) => self.metrics.push(t),
            None => self.failed += 1,
        }
    }

    fn say(v: &mut [Duration]) -> String {
        v.sort();
        let ms = |d: Option<&Duration>| {
            d.map_or("?".into(), |d| {
                format!("{:.0} ms", d.as_secs_f64() * 1000.0)
            })
        };
        format!(
            "p50 {}, max {} ({} requests)",
            ms(v.get(v.len() / 2)),
            ms(v.last()),
            v.len()
        )
    }
}

/// Polls until `done` or `limit`; returns when it became true.
async fn until(
    d: &Daemon,
    polls: &mut Polls,
    limit: Duration,
    done: impl AsyncFn() -> bool,
) -> Option<Duration> {
    let started = Instant::now();
    while started.elapsed() < limit {
        if done().await {
            return Some(started.elapsed());
        }
        polls.poll(d).await;
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    None
}

fn main() {
    let a = common::args();
    let n: usize = a.first().and_then(|v| v.parse().ok()).unwrap_or(10_000);
    let interval: u64 = a.get(1).and_then(|v| v.parse().ok()).unwrap_or(15);
    let attack_secs: u64 = a.get(2).and_then(|v| v.parse().ok()).unwrap_or(30);
    // The attack's own sockets need more than the default file limit.
    let _ = payprobe::http::conns::raise_nofile();
    let net = net::start(8);
    let state = tempfile::tempdir().expect("state dir");
    let file = state.path().join("outage.toml");
    std::fs::write(
        &file,
        config(
            n,
            interval,
            &net.ports,
            net.receiver,
            &state.path().join("state"),
        ),
    )
    .expect("config");
    println!("payprobe outage benchmark ({n} targets + 1 control, {interval} s interval, thresholds 2/2; payprobe in its own process)");
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async move {
        let d = Daemon::start(&file, state.path()).await;
        tokio::time::sleep(Duration::from_secs(2 * interval)).await;
        println!("  resident memory, healthy   {:.1} MiB (peak so far {:.1} MiB)", d.mib("VmRSS:"), d.mib("VmHWM:"));
        let opened = async || sum(&d.render().await, "payprobe_incident_open") as usize;
        if attack_secs > 0 {
            attack(&d, attack_secs).await;
            // The outage starts from a healthy vantage point whatever the attack did.
            until(&d, &mut Polls::default(), Duration::from_secs(10 * interval), async || opened().await == 0).await;
            tokio::time::sleep(Duration::from_secs(2 * interval)).await;
        }
        let t0 = d.render().await;
        let (w0, c0, l0) = (d.io("write_bytes:"), d.io("wchar:"), d.log_lines());
        let cpu0 = d.cpu();
        d.clear_peak();
        let got = net.got.clone();
        let vantage = move |status: &str| {
            got.lock().unwrap().iter().any(|g| g.0 == "PaymentProbeVantagePointDown" && g.1 == status)
        };
        let limit = Duration::from_secs(10 * interval);
        let mut down = Polls::default();
        net.set(false);
        let fired = until(&d, &mut down, limit, async || vantage("firing")).await;
        // Hold until every target has its incident.
        until(&d, &mut down, limit, async || opened().await > n).await;
        let t1 = d.render().await;
        let mut up = Polls::default();
        net.set(true);
        let resolved = until(&d, &mut up, limit, async || vantage("resolved")).await;
        until(&d, &mut up, limit, async || opened().await == 0).await;
        tokio::time::sleep(Duration::from_secs(interval)).await;
        let t2 = d.render().await;
        let (w1, c1, l1) = (d.io("write_bytes:"), d.io("wchar:"), d.log_lines());
        let cpu_used = d.cpu() - cpu0;
        let opens = sum(&t2, "payprobe_incidents_total") - sum(&t0, "payprobe_incidents_total");
        let closes = sum(&t2, "payprobe_incident_duration_seconds_count") - sum(&t0, "payprobe_incident_duration_seconds_count");
        let changes = (opens + closes).max(1.0);
        let written = |what: &str| {
            let f = |t: &str| t.lines().filter(|l| l.starts_with("payprobe_state_dir_written_bytes_total{") && l.contains(&format!("what=\"{what}\""))).filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok()).sum::<f64>();
            f(&t2) - f(&t0)
        };
        let secs = |o: Option<Duration>| o.map_or("not within the limit".into(), |d| format!("{:.1} s", d.as_secs_f64()));
        let pages: Vec<String> = net.got.lock().unwrap().iter().filter(|g| g.0 != "PaymentProbeVantagePointDown").map(|g| format!("{} {}", g.0, g.1)).collect();
        let vantage_pages = net.got.lock().unwrap().iter().filter(|g| g.0 == "PaymentProbeVantagePointDown").count();
        println!("  incident changes           {opens:.0} opened, {closes:.0} closed");
        for what in ["incidents", "availability", "history", "outbox"] {
            let w = written(what);
            println!("  written: {what:<17} {:.1} MB ({:.0} bytes per change)", w / 1e6, w / changes);
        }
        println!("  written: whole process     {:.1} MB to disk ({:.0} bytes per change), {:.1} MB through write()", (w1 - w0) as f64 / 1e6, (w1 - w0) as f64 / changes, (c1 - c0) as f64 / 1e6);
        println!("  round-start lag, outage    p50 {}, p99 {}", quantile(&lag(&t0), &lag(&t1), 0.5), quantile(&lag(&t0), &lag(&t1), 0.99));
        println!("  round-start lag, recovery  p50 {}, p99 {}", quantile(&lag(&t1), &lag(&t2), 0.5), quantile(&lag(&t1), &lag(&t2), 0.99));
        println!("  vantage alert              fired after {}, resolved {} after the network came back", secs(fired), secs(resolved));
        println!("  notifications              {vantage_pages} for the vantage point, {} others {:?}", pages.len(), pages.iter().take(5).collect::<Vec<_>>());
        println!("  log lines over the flip    {} ({} warnings or errors)", l1.0 - l0.0, l1.1 - l0.1);
        println!("  CPU of payprobe            {cpu_used:.1} s over the whole flip");
        println!("  resident memory            {:.1} MiB peak over the flip, {:.1} MiB at the end", d.mib("VmHWM:"), d.mib("VmRSS:"));
        println!("  GET /api/v1/incidents      outage {}; recovery {}", Polls::say(&mut down.api), Polls::say(&mut up.api));
        println!("  GET /metrics (gzip)        outage {}; recovery {}", Polls::say(&mut down.metrics), Polls::say(&mut up.metrics));
        println!("  failed reads               {}", down.failed + up.failed);
        d.stop();
    });
}
