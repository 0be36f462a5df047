//! The listener under abuse (issue 15, item 5): a flood of half-open connections, slowloris,
//! request bodies, the `/probe` rate limit and `max_concurrency` on reload.

use std::net::SocketAddr;
use std::time::Duration;

use payprobe::demo::gateway::{Behavior, Gateway};
use payprobe::limits;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::support::{get, get_with, wait_for, Proc};

mod auth;

/// Raises this test process's own soft open-file limit to its hard limit; returns it.
fn raise_own_nofile() -> u64 {
    let mut r = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: plain syscalls on a struct we own.
    unsafe {
        assert_eq!(libc::getrlimit(libc::RLIMIT_NOFILE, &mut r), 0);
        r.rlim_cur = r.rlim_max;
        libc::setrlimit(libc::RLIMIT_NOFILE, &r);
        libc::getrlimit(libc::RLIMIT_NOFILE, &mut r);
    }
    r.rlim_cur
}

fn config(dir: &std::path::Path, port: u16, extra: &str) -> String {
    let path = dir.join("payprobe.toml");
    std::fs::write(
        &path,
        format!("{extra}\n[[targets]]\nname = \"gw\"\nurl = \"http://127.0.0.1:{port}/v1/status\"\ninterval = \"1s\"\ntimeout = \"800ms\"\nfailure_threshold = 1\nsuccess_threshold = 1\n"),
    )
    .unwrap();
    path.to_str().unwrap().to_string()
}

/// Sum of `payprobe_probes_total` series with this outcome.
fn probes(text: &str, outcome: &str) -> f64 {
    text.lines()
        .filter(|l| l.starts_with("payprobe_probes_total{") && l.contains(outcome))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

/// A connection that sends half a request head and then nothing.
async fn half_open(addr: SocketAddr) -> Option<TcpStream> {
    let mut s = tokio::time::timeout(Duration::from_secs(3), TcpStream::connect(addr))
        .await
        .ok()?
        .ok()?;
    s.write_all(b"GET /metrics HTTP/1.1\r\nHost: flood\r\n")
        .await
        .ok()?;
    Some(s)
}

/// 10,000 idle half-open connections against a daemon limited to 1,024 open files (the
/// setup that used to take the listener down): `/metrics` keeps answering and the healthy
/// target fails no probe. The answer times are printed, not asserted (a benchmark).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_thousand_half_open_connections_neither_silence_metrics_nor_fail_probes() {
    let own = raise_own_nofile();
    let flood = 10_000usize.min(own.saturating_sub(1_000) as usize);
    assert!(
        flood >= 2_000,
        "open-file hard limit {own} too low for the test"
    );
    let gw = Gateway::http(Behavior::ok("{\"ok\":true}")).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(dir.path(), gw.port(), "");
    let d = Proc::spawn_limited(&["run", "--config", &cfg], dir.path(), Some(1024));
    d.wait_ready().await;
    let addr = d.addr;
    let before = d.metrics().await;
    let (ok0, failed0) = (
        probes(&before, "\"success\""),
        probes(&before, "\"failure\""),
    );

    let mut held = Vec::with_capacity(flood);
    for chunk in (0..flood).collect::<Vec<_>>().chunks(500) {
        let conns = chunk.iter().map(|_| half_open(addr));
        held.extend(
            futures_util::future::join_all(conns)
                .await
                .into_iter()
                .flatten(),
        );
    }
    eprintln!(
        "{} of {flood} half-open connections established",
        held.len()
    );

    let mut times = Vec::new();
    for _ in 0..20 {
        let t = std::time::Instant::now();
        let (status, body) = get(addr, "/metrics").await.expect("/metrics answers");
        times.push(t.elapsed());
        assert_eq!(status, 200);
        assert!(body.contains("payprobe_probes_total"));
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    eprintln!("/metrics answer times in order: {times:?}");
    times.sort();
    eprintln!(
        "/metrics under the flood: median {:?}, max {:?}",
        times[times.len() / 2],
        times[times.len() - 1]
    );
    // Probes go on during the flood: at least 3 more rounds, every one passing.
    let after = wait_for(20, "three more probe rounds", || async {
        let m = get(addr, "/metrics").await.ok()?.1;
        (probes(&m, "\"success\"") >= ok0 + 3.0).then_some(m)
    })
    .await;
    assert_eq!(
        probes(&after, "\"failure\""),
        failed0,
        "no probe failed during the flood"
    );
    let fds = std::fs::read_dir(format!("/proc/{}/fd", d.child.id()))
        .unwrap()
        .count();
    eprintln!("daemon open files during the flood: {fds}");
    assert!(fds < 1024, "{fds} open files");
    drop(held);
}

/// Slowloris: a client that never finishes its head is closed after the header timeout.
#[tokio::test]
async fn a_head_that_never_ends_is_closed_after_the_header_timeout() {
    let gw = Gateway::http(Behavior::ok("{}")).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(dir.path(), gw.port(), "");
    let d = Proc::spawn(&["run", "--config", &cfg], dir.path());
    let mut s = half_open(d.addr).await.unwrap();
    let start = std::time::Instant::now();
    let mut buf = [0u8; 512];
    let n = tokio::time::timeout(
        limits::HEADER_READ_TIMEOUT + Duration::from_secs(5),
        s.read(&mut buf),
    )
    .await
    .expect("the server closed the connection");
    // hyper answers 408 or just closes; either way the connection ends.
    let text = String::from_utf8_lossy(&buf[..n.unwrap_or(0)]).into_owned();
    assert!(text.is_empty() || text.contains("408"), "{text}");
    assert!(start.elapsed() >= limits::HEADER_READ_TIMEOUT - Duration::from_millis(500));
}

#[tokio::test]
async fn a_request_with_a_body_or_a_huge_head_is_refused() {
    let gw = Gateway::http(Behavior::ok("{}")).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(dir.path(), gw.port(), "");
    let d = Proc::spawn(&["run", "--config", &cfg], dir.path());
    let addr = d.addr;
    let send = |req: Vec<u8>| async move {
        let mut s = TcpStream::connect(addr).await.unwrap();
        let _ = s.write_all(&req).await;
        let mut buf = Vec::new();
        let _ = tokio::time::timeout(Duration::from_secs(10), s.read_to_end(&mut buf)).await;
        String::from_utf8_lossy(&buf).into_owned()
    };
    let r =
        send(b"GET /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n".to_vec()).await;
    assert!(r.starts_with("HTTP/1.1 413"), "{r}");
    let big = format!(
        "GET /metrics HTTP/1.1\r\nHost: x\r\nX-Big: {}\r\n\r\n",
        "a".repeat(limits::MAX_REQUEST_HEAD_BYTES * 2)
    );
    let r = send(big.into_bytes()).await;
    assert!(r.is_empty() || r.starts_with("HTTP/1.1 431"), "{r}");
    let mut many = String::from("GET /metrics HTTP/1.1\r\nHost: x\r\n");
    for i in 0..limits::MAX_REQUEST_HEADERS + 10 {
        many.push_str(&format!("X-{i}: v\r\n"));
    }
    many.push_str("\r\n");
    let r = send(many.into_bytes()).await;
    assert!(r.is_empty() || r.starts_with("HTTP/1.1 431"), "{r}");
    let (status, _) = get(d.addr, "/healthz").await.unwrap();
    assert_eq!(status, 200, "still serving");
}

/// `/probe` has its own rate limit: a burst past it is told when to come back.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_probe_endpoint_is_rate_limited() {
    let gw = Gateway::http(Behavior::ok("{}")).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    // A configured rate and burst (`[server] probe_rate`, `probe_burst`): far below the
    // default, so a burst of 30 requests passes it.
    let cfg = config(
        dir.path(),
        gw.port(),
        "[server]\nprobe_rate = 2\nprobe_burst = 10\n",
    );
    let d = Proc::spawn(&["run", "--config", &cfg], dir.path());
    let addr = d.addr;
    let n = 30;
    let reqs = (0..n).map(|_| async move {
        let mut s = TcpStream::connect(addr).await.unwrap();
        s.write_all(b"GET /probe?target=g%77&module=tcp HTTP/1.0\r\n\r\n")
            .await
            .unwrap();
        let mut buf = Vec::new();
        let _ = tokio::time::timeout(Duration::from_secs(10), s.read_to_end(&mut buf)).await;
        String::from_utf8_lossy(&buf).into_owned()
    });
    let answers = futures_util::future::join_all(reqs).await;
    let ok = answers
        .iter()
        .filter(|a| a.starts_with("HTTP/1.0 200"))
        .count();
    let limited: Vec<_> = answers
        .iter()
        .filter(|a| a.starts_with("HTTP/1.0 429"))
        .collect();
    assert!(ok >= 1, "the percent-encoded name `g%77` is target gw");
    assert!(!limited.is_empty(), "{n} requests at once pass the burst");
    assert!(limited[0].to_ascii_lowercase().contains("retry-after:"));
    assert!(
        limited[0].contains("more than 2 /probe requests a second"),
        "{}",
        limited[0]
    );
    assert!(
        ok <= 12,
        "about the burst of 10 passes, not the default 300: {ok}"
    );
    assert_eq!(ok + limited.len(), n);
}

/// `/probe` holds at most a quarter of the probe slots: with `max_concurrency = 4`, one
/// `/probe` of a slow target is in flight and the others are told 429 at once, so the
/// scheduled rounds keep their slots.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_probe_endpoint_takes_only_its_share_of_the_probe_slots() {
    let gw = Gateway::http(Behavior::ok("{}").delay(Duration::from_millis(1500)))
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(dir.path(), gw.port(), "[server]\nmax_concurrency = 4\n");
    let d = Proc::spawn(&["run", "--config", &cfg], dir.path());
    let addr = d.addr;
    let reqs = (0..3).map(|_| async move {
        let mut s = TcpStream::connect(addr).await.unwrap();
        s.write_all(b"GET /probe?target=gw HTTP/1.0\r\n\r\n")
            .await
            .unwrap();
        let mut buf = Vec::new();
        let _ = tokio::time::timeout(Duration::from_secs(10), s.read_to_end(&mut buf)).await;
        String::from_utf8_lossy(&buf).into_owned()
    });
    let answers = futures_util::future::join_all(reqs).await;
    let in_flight = answers.iter().filter(|a| a.contains("in flight")).count();
    let served = answers
        .iter()
        .filter(|a| a.starts_with("HTTP/1.0 200"))
        .count();
    assert_eq!((served, in_flight), (1, 2), "{answers:#?}");
}

/// `max_concurrency` changes with a reload: the shared cap grows and shrinks.
#[tokio::test]
async fn max_concurrency_applies_on_reload() {
    let gw = Gateway::http(Behavior::ok("{}")).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    // A long interval: no round is in flight while the permits are counted.
    let write = |n: u32| {
        std::fs::write(
            dir.path().join("p.toml"),
            format!("[server]\nlisten = \"127.0.0.1:0\"\nstate_dir = \"state\"\nmax_concurrency = {n}\n[[targets]]\nname = \"quiet-one\"\nurl = \"http://127.0.0.1:{}/\"\ninterval = \"1h\"\n", gw.port()),
        )
        .unwrap();
    };
    write(4);
    let plan = payprobe::config::load(&dir.path().join("p.toml")).unwrap();
    let mut d = payprobe::app::Daemon::start(
        plan,
        None,
        std::sync::Arc::new(payprobe::probe::Probers::system()),
    )
    .await
    .unwrap();
    assert_eq!(d.shared.limit.available_permits(), 4);
    write(9);
    d.reload().unwrap();
    assert_eq!(d.shared.limit.available_permits(), 9);
    write(2);
    d.reload().unwrap();
    assert_eq!(d.shared.limit.available_permits(), 2);
    d.stop();
}
