//! `/metrics` as a scraper sees it: gzip when asked (decoded by the system's `gzip`, not by
//! our own code), the same exposition either way, and probes still running during scrapes.

use std::sync::Arc;
use std::time::Duration;

use payprobe::app::Daemon;
use payprobe::probe::Probers;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use payprobe::demo::gateway::{Behavior, Gateway};

use crate::support::{metric, silent_server, wait_for};

/// A raw HTTP/1.0 GET with the given extra header lines; returns the head and the body bytes.
async fn fetch(addr: std::net::SocketAddr, extra: &str) -> (String, Vec<u8>) {
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    let req = format!("GET /metrics HTTP/1.0\r\nHost: test\r\n{extra}\r\n");
    s.write_all(req.as_bytes()).await.unwrap();
    let mut buf = Vec::new();
    tokio::time::timeout(Duration::from_secs(10), s.read_to_end(&mut buf))
        .await
        .unwrap()
        .unwrap();
    let split = buf.windows(4).position(|w| w == b"\r\n\r\n").unwrap();
    let head = String::from_utf8_lossy(&buf[..split]).to_lowercase();
    (head, buf[split + 4..].to_vec())
}

fn gunzip(bytes: &[u8]) -> String {
    use std::io::Write;
    let mut child = std::process::Command::new("gzip")
        .arg("-dc")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("gzip is part of every Debian system");
    child.stdin.take().unwrap().write_all(bytes).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "gzip -dc refused the body");
    String::from_utf8(out.stdout).unwrap()
}

/// `/metrics` fetched by Python's urllib (HTTP/1.1, no `Accept-Encoding: gzip`): the
/// `Transfer-Encoding` it was sent with, and the body.
fn python_get(addr: std::net::SocketAddr) -> (String, String) {
    let script = "import sys, urllib.request\n\
        r = urllib.request.urlopen('http://%s/metrics' % sys.argv[1], timeout=10)\n\
        assert r.headers.get('Content-Encoding') is None, r.headers\n\
        sys.stdout.write((r.headers.get('Transfer-Encoding') or '-') + '\\n')\n\
        sys.stdout.write(r.read().decode())\n";
    let out = std::process::Command::new("python3")
        .args(["-c", script, &addr.to_string()])
        .output()
        .expect("python3 runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = String::from_utf8(out.stdout).unwrap();
    let (encoding, body) = out.split_once('\n').unwrap();
    (encoding.to_string(), body.to_string())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_are_gzipped_when_the_scraper_asks_and_plain_otherwise() {
    let dir = tempfile::tempdir().unwrap();
    let (port, _server) = silent_server().await;
    let slow = Gateway::http(Behavior::ok("{}").delay(Duration::from_millis(60)))
        .await
        .unwrap();
    let src = format!(
        "[server]\nlisten = \"127.0.0.1:0\"\nstate_dir = \"state\"\n[[targets]]\nname = \"quiet\"\nurl = \"tcp://127.0.0.1:{port}\"\ninterval = \"1s\"\ntimeout = \"500ms\"\n\
         [[targets]]\nname = \"slow\"\nprovider = \"p\"\nurl = \"http://127.0.0.1:{}/\"\ninterval = \"1s\"\ntimeout = \"500ms\"\nlatency_slo = \"20ms\"\n",
        slow.port()
    );
    let plan = payprobe::config::parse(&dir.path().join("p.toml"), &src, dir.path()).unwrap();
    let d = Daemon::start(plan, None, Arc::new(Probers::system()))
        .await
        .unwrap();
    let addr = d.addr;
    wait_for(10, "a round of each target", || async move {
        let (_, body) = fetch(addr, "").await;
        let text = String::from_utf8_lossy(&body).into_owned();
        let quiet = "payprobe_target_healthy{provider=\"127.0.0.1\",target=\"quiet\"}";
        let slow = "payprobe_probes_over_slo_total{provider=\"p\",target=\"slow\"}";
        (metric(&text, quiet).is_some() && metric(&text, slow).is_some_and(|n| n >= 1.0))
            .then_some(())
    })
    .await;

    let (head, body) = fetch(addr, "Accept-Encoding: gzip\r\n").await;
    assert!(head.contains("content-encoding: gzip"), "{head}");
    assert!(head.contains("vary: accept-encoding"), "{head}");
    let text = gunzip(&body);
    assert!(
        text.len() > body.len() * 3,
        "{} -> {}",
        body.len(),
        text.len()
    );
    assert_eq!(
        metric(
            &text,
            "payprobe_target_healthy{provider=\"127.0.0.1\",target=\"quiet\"}"
        ),
        Some(1.0),
        "{text}"
    );

    crate::daemon::promtool_check(&text);
    let families: Vec<&str> = text.lines().filter(|l| l.starts_with("# TYPE ")).collect();
    let mut types = families.clone();
    types.sort_unstable();
    types.dedup();
    assert_eq!(
        types.len(),
        families.len(),
        "a family is written twice:\n{text}"
    );

    // A scraper without gzip over HTTP/1.1 (Python's urllib, which decodes the chunks): the
    // render is decompressed as it is sent, whole and well-formed, every family in order.
    let (encoding, plain) = tokio::task::spawn_blocking(move || python_get(addr))
        .await
        .unwrap();
    assert_eq!(encoding, "chunked", "streamed, not sent with a length");
    crate::daemon::promtool_check(&plain);
    let plain_families: Vec<&str> = plain.lines().filter(|l| l.starts_with("# TYPE ")).collect();
    assert_eq!(plain_families, families);
    assert_eq!(
        metric(
            &plain,
            "payprobe_target_healthy{provider=\"127.0.0.1\",target=\"quiet\"}"
        ),
        Some(1.0),
        "{plain}"
    );

    let (head, body) = fetch(addr, "Accept-Encoding: gzip;q=0, br\r\n").await;
    assert!(!head.contains("content-encoding"), "{head}");
    let plain = String::from_utf8(body).unwrap();
    assert!(
        plain.contains("# TYPE payprobe_build_info gauge"),
        "{plain}"
    );
    d.stop();
}
