//! How exact payprobe's timings are (issue #11, point 5).
//!
//! `cargo bench --bench timing -- [probes]` (default 400), release build, loopback only:
//! - **ping**: a one-echo ping of 127.0.0.1 through the `ping` prober; its duration against
//!   the RTT it measured itself. The gap is what the probe costs around the echo (socket,
//!   timers); the issue asks for ≤ 0.1 ms.
//! - **HTTP processing phase**: the `http` prober's `processing` phase (connection ready →
//!   first response byte) against a direct client that writes the same request on a fresh
//!   connection and times the first byte itself, against the same gateway answering at once.
//!   Idle, then while the same runtime runs 300 HTTPS probes a second of another gateway.
//!
//! Printed as p50 / p90 / p99 in microseconds. Never asserted: these machines are noisy.

#[allow(dead_code)] // the CPU reader is the other benches'
mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use payprobe::config::Target;
use payprobe::demo::gateway::{Behavior, Gateway};
use payprobe::demo::pki::{Ca, Validity};
use payprobe::probe::{Phase, Probers};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

fn target(dir: &std::path::Path, toml: &str) -> Arc<Target> {
    let src = format!("[[targets]]\nname = \"t\"\ninterval = \"10s\"\ntimeout = \"5s\"\n{toml}\n");
    let plan = payprobe::config::parse(&dir.join("t.toml"), &src, dir)
        .unwrap_or_else(|e| panic!("{e}\n{src}"));
    plan.targets[0].clone()
}

fn us(d: Duration) -> f64 {
    d.as_secs_f64() * 1e6
}

fn report(what: &str, mut v: Vec<f64>) {
    v.sort_by(f64::total_cmp);
    let q = |p: f64| {
        v.get(((v.len() as f64 - 1.0) * p) as usize)
            .copied()
            .unwrap_or(f64::NAN)
    };
    println!(
        "  {what:<44} p50 {:>8.1} us   p90 {:>8.1} us   p99 {:>8.1} us   (n={})",
        q(0.5),
        q(0.9),
        q(0.99),
        v.len()
    );
}

async fn ping(probers: &Probers, dir: &std::path::Path, n: usize) {
    let gw = Gateway::http(Behavior::ok("{}")).await.unwrap();
    let t = target(
        dir,
        &format!(
            "url = \"tcp://127.0.0.1:{}\"\nchecks = [\"ping\"]\n[targets.ping]\ncount = 1",
            gw.port()
        ),
    );
    let (mut gap, mut rtt, mut method) = (Vec::new(), Vec::new(), String::new());
    for _ in 0..n {
        let round = probers
            .round(&t, tokio::time::Instant::now() + t.timeout)
            .await;
        let Some(e) = round.first() else { continue };
        let Some(p) = e.ping.as_ref() else { continue };
        let Some(avg) = p.rtt_avg else { continue };
        method = format!("{:?}", p.method);
        rtt.push(avg * 1e6);
        gap.push(us(e.duration) - avg * 1e6);
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    println!("ping of 127.0.0.1, one echo ({method})");
    report("RTT measured", rtt);
    report("probe duration minus its RTT", gap);
}

/// The request payprobe's http prober sends, written by hand on a fresh connection; the time
/// from the write to the first byte back.
async fn direct(port: u16) -> Duration {
    let mut s = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .unwrap();
    s.set_nodelay(true).ok();
    let req = format!(
        "GET / HTTP/1.1\r\nhost: 127.0.0.1:{port}\r\nuser-agent: payprobe\r\naccept: */*\r\n\r\n"
    );
    let start = Instant::now();
    s.write_all(req.as_bytes()).await.unwrap();
    let mut b = [0u8; 1];
    let _ = s.read(&mut b).await;
    start.elapsed()
}

async fn processing(probers: &Probers, t: &Target, port: u16, n: usize, label: &str) {
    let (mut ours, mut theirs) = (Vec::new(), Vec::new());
    for _ in 0..n {
        let round = probers
            .round(t, tokio::time::Instant::now() + t.timeout)
            .await;
        if let Some(h) = round.first().and_then(|e| e.http.as_ref()) {
            ours.push(us(h.phases.get(Phase::Processing)));
        }
        theirs.push(us(direct(port).await));
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    println!("HTTP processing phase, gateway answering at once, {label}");
    report("payprobe http prober", ours);
    report("direct client (write -> first byte)", theirs);
}

/// 300 HTTPS probes a second of another gateway, on the same runtime, until `stop`.
fn https_load(probers: Probers, t: Arc<Target>, stop: Arc<tokio::sync::Notify>) {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_micros(3333));
        loop {
            tokio::select! {
                _ = tick.tick() => {}
                () = stop.notified() => return,
            }
            let (p, t) = (probers.clone(), t.clone());
            tokio::spawn(async move {
                let _ = p.round(&t, tokio::time::Instant::now() + t.timeout).await;
            });
        }
    });
}

fn main() {
    let args = common::args();
    let n: usize = args.first().and_then(|a| a.parse().ok()).unwrap_or(400);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let dir = tempfile::tempdir().unwrap();
        let probers = Probers::system();
        println!("payprobe timing benchmark ({n} probes each, release build, loopback)");
        ping(&probers, dir.path(), n).await;
        let gw = Gateway::http(Behavior::ok("{}")).await.unwrap();
        let t = target(
            dir.path(),
            &format!(
                "url = \"http://127.0.0.1:{}/\"\nchecks = [\"http\"]",
                gw.port()
            ),
        );
        processing(&probers, &t, gw.port(), n, "idle").await;
        let ca = Ca::new("timing bench CA").unwrap();
        std::fs::write(dir.path().join("ca.pem"), ca.pem()).unwrap();
        let tls = Gateway::https(
            Behavior::ok("{}"),
            ca.leaf(&["127.0.0.1"], Validity::Current).unwrap(),
        )
        .await
        .unwrap();
        let load = target(
            dir.path(),
            &format!(
                "url = \"https://127.0.0.1:{}/\"\nchecks = [\"http\"]\nca_file = \"ca.pem\"",
                tls.port()
            ),
        );
        let stop = Arc::new(tokio::sync::Notify::new());
        https_load(probers.clone(), load, stop.clone());
        tokio::time::sleep(Duration::from_secs(1)).await;
        processing(&probers, &t, gw.port(), n, "under 300 HTTPS probes/s").await;
        stop.notify_one();
        println!("  (HTTPS load: {} probes answered)", tls.hits());
    });
}
