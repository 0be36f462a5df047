//! payprobe and Prometheus's blackbox_exporter side by side: the same probes of the same
//! targets at the same rate, CPU of each process per probe, for every check both have —
//! HTTP, HTTPS with an RSA and with an ECDSA certificate, TCP connect, ICMP echo.
//!
//! Run: `cargo bench --bench vs_blackbox -- [probes_per_second] [seconds]` (default 200, 30).
//! Needs Debian's `prometheus-blackbox-exporter`, `nginx-light` and `openssl` (skipped with
//! a message when one is missing), root for ICMP, and a release build of payprobe
//! (`cargo build --release`; the bench builds it otherwise).
//!
//! The shared targets are one nginx on loopback (plain HTTP, and HTTPS with an RSA-2048 and
//! an ECDSA P-256 leaf, both `basicConstraints=CA:FALSE` from a CA this bench makes with
//! openssl, so both exporters verify them). blackbox_exporter probes when `/probe` is asked,
//! so its CPU includes serving that request: that is the cost of running it. payprobe
//! schedules its own probes; its probe count is read from its own `payprobe_probes_total`.

use std::path::{Path, PathBuf};
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

fn have(cmd: &str, arg: &str) -> bool {
    Command::new(cmd)
        .arg(arg)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok()
}

fn run(cmd: &str, args: &[&str], dir: &Path) {
    let ok = Command::new(cmd)
        .args(args)
        .current_dir(dir)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    assert!(ok, "{cmd} {args:?} failed");
}

/// A CA and two leaves for 127.0.0.1 (RSA and ECDSA), end-entity certificates
/// (`CA:FALSE`) so that both Go's and rustls' verifiers accept them.
fn make_pki(dir: &Path) {
    std::fs::write(
        dir.join("leaf.ext"),
        "basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\nsubjectAltName=IP:127.0.0.1\n",
    )
    .expect("write leaf.ext");
    run(
        "openssl",
        &[
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            "ca.key",
            "-out",
            "ca.pem",
            "-days",
            "30",
            "-subj",
            "/CN=vs_blackbox bench CA",
            "-addext",
            "basicConstraints=critical,CA:TRUE",
        ],
        dir,
    );
    for (name, key) in [
        ("rsa", &["-newkey", "rsa:2048"][..]),
        (
            "ecdsa",
            &["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256"][..],
        ),
    ] {
        let (k, csr, crt) = (
            format!("{name}.key"),
            format!("{name}.csr"),
            format!("{name}.pem"),
        );
        let mut args = vec![
            "req",
            "-nodes",
            "-subj",
            "/CN=127.0.0.1",
            "-keyout",
            &k,
            "-out",
            &csr,
        ];
        args.extend_from_slice(key);
        run("openssl", &args, dir);
        run(
            "openssl",
            &[
                "x509",
                "-req",
                "-in",
                &csr,
                "-CA",
                "ca.pem",
                "-CAkey",
                "ca.key",
                "-CAcreateserial",
                "-days",
                "30",
                "-extfile",
                "leaf.ext",
                "-out",
                &crt,
            ],
            dir,
        );
    }
}

struct Ports {
    http: u16,
    rsa: u16,
    ecdsa: u16,
}

fn start_nginx(dir: &Path, p: &Ports) -> Killed {
    let d = dir.display();
    let conf = format!(
        "worker_processes 1;\npid {d}/nginx.pid;\nerror_log {d}/error.log;\nevents {{ worker_connections 4096; }}\nhttp {{\n  access_log off;\n  client_body_temp_path {d}/body;\n  proxy_temp_path {d}/proxy;\n  fastcgi_temp_path {d}/fcgi;\n  uwsgi_temp_path {d}/uwsgi;\n  scgi_temp_path {d}/scgi;\n  server {{ listen 127.0.0.1:{}; location / {{ return 200 '{{\"ok\":true}}'; }} }}\n  server {{ listen 127.0.0.1:{} ssl; ssl_certificate {d}/rsa.pem; ssl_certificate_key {d}/rsa.key; location / {{ return 200 '{{\"ok\":true}}'; }} }}\n  server {{ listen 127.0.0.1:{} ssl; ssl_certificate {d}/ecdsa.pem; ssl_certificate_key {d}/ecdsa.key; location / {{ return 200 '{{\"ok\":true}}'; }} }}\n}}\n",
        p.http, p.rsa, p.ecdsa
    );
    let path = dir.join("nginx.conf");
    std::fs::write(&path, conf).expect("write nginx.conf");
    Killed(
        Command::new("nginx")
            .arg("-c")
            .arg(&path)
            .args(["-g", "daemon off;"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start nginx"),
    )
}

/// One row of the comparison: a blackbox module, its target, and payprobe's equivalent.
struct Mode {
    name: &'static str,
    module: &'static str,
    bb_target: String,
    payprobe_target: String,
}

fn modes(p: &Ports, dir: &Path) -> Vec<Mode> {
    let ca = dir.join("ca.pem").display().to_string();
    let https = |port: u16| {
        format!("url = \"https://127.0.0.1:{port}/\"\nchecks = [\"http\"]\nca_file = \"{ca}\"\n")
    };
    vec![
        Mode {
            name: "http",
            module: "http_2xx",
            bb_target: format!("http://127.0.0.1:{}/", p.http),
            payprobe_target: format!(
                "url = \"http://127.0.0.1:{}/\"\nchecks = [\"http\"]\n",
                p.http
            ),
        },
        Mode {
            name: "https RSA",
            module: "https_2xx",
            bb_target: format!("https://127.0.0.1:{}/", p.rsa),
            payprobe_target: https(p.rsa),
        },
        Mode {
            name: "https ECDSA",
            module: "https_2xx",
            bb_target: format!("https://127.0.0.1:{}/", p.ecdsa),
            payprobe_target: https(p.ecdsa),
        },
        Mode {
            name: "tcp",
            module: "tcp_connect",
            bb_target: format!("127.0.0.1:{}", p.http),
            payprobe_target: format!("url = \"tcp://127.0.0.1:{}\"\nchecks = [\"tcp\"]\n", p.http),
        },
        Mode {
            name: "icmp",
            module: "icmp",
            bb_target: "127.0.0.1".into(),
            payprobe_target: format!(
                "url = \"tcp://127.0.0.1:{}\"\nchecks = [\"ping\"]\n[targets.ping]\ncount = 1\n",
                p.http
            ),
        },
    ]
}

fn blackbox_config(dir: &Path) -> PathBuf {
    let path = dir.join("blackbox.yml");
    let ca = dir.join("ca.pem");
    let text = format!(
        "modules:\n  http_2xx:\n    prober: http\n    timeout: 5s\n    http:\n      preferred_ip_protocol: ip4\n  https_2xx:\n    prober: http\n    timeout: 5s\n    http:\n      preferred_ip_protocol: ip4\n      tls_config:\n        ca_file: {}\n  tcp_connect:\n    prober: tcp\n    timeout: 5s\n    tcp:\n      preferred_ip_protocol: ip4\n  icmp:\n    prober: icmp\n    timeout: 5s\n    icmp:\n      preferred_ip_protocol: ip4\n",
        ca.display()
    );
    std::fs::write(&path, text).expect("write blackbox.yml");
    path
}

/// GET `path` from `addr`; the whole answer.
async fn http_get(addr: &str, path: &str) -> String {
    let Ok(mut s) = tokio::net::TcpStream::connect(addr).await else {
        return String::new();
    };
    let req = format!("GET {path} HTTP/1.0\r\nHost: x\r\n\r\n");
    if s.write_all(req.as_bytes()).await.is_err() {
        return String::new();
    }
    let mut buf = Vec::new();
    let _ = s.read_to_end(&mut buf).await;
    String::from_utf8_lossy(&buf).into_owned()
}

/// blackbox_exporter driven at `rate` probes a second for `secs`: (probes, successful, CPU s).
async fn blackbox(cfg: &Path, m: &Mode, rate: u64, secs: u64) -> (u64, u64, f64) {
    let port = free_port();
    let bb = Killed(
        Command::new("prometheus-blackbox-exporter")
            .arg(format!("--config.file={}", cfg.display()))
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start blackbox_exporter"),
    );
    let addr = format!("127.0.0.1:{port}");
    tokio::time::sleep(Duration::from_secs(2)).await;
    let n = rate * secs;
    let cpu0 = process_cpu(bb.0.id());
    let started = Instant::now();
    let mut tasks = Vec::new();
    for i in 0..n {
        let at = started + Duration::from_micros(i * 1_000_000 / rate);
        tokio::time::sleep_until(tokio::time::Instant::from_std(at)).await;
        let (addr, path) = (
            addr.clone(),
            format!("/probe?module={}&target={}", m.module, m.bb_target),
        );
        tasks.push(tokio::spawn(async move {
            http_get(&addr, &path).await.contains("probe_success 1")
        }));
    }
    let mut ok = 0u64;
    for t in tasks {
        ok += u64::from(t.await.unwrap_or(false));
    }
    (n, ok, process_cpu(bb.0.id()) - cpu0)
}

/// The sum of `payprobe_probes_total` by outcome: (success, failure).
fn probes_total(metrics: &str) -> (f64, f64) {
    let mut out = (0.0, 0.0);
    for l in metrics
        .lines()
        .filter(|l| l.starts_with("payprobe_probes_total{"))
    {
        let v: f64 = l
            .rsplit(' ')
            .next()
            .and_then(|v| v.parse().ok())
            .unwrap_or(0.0);
        if l.contains("outcome=\"success\"") {
            out.0 += v;
        } else {
            out.1 += v;
        }
    }
    out
}

/// payprobe scheduling the same rate itself (targets = rate x interval): (probes, failed, CPU s).
async fn payprobe(bin: &Path, dir: &Path, m: &Mode, rate: u64, secs: u64) -> (u64, u64, f64) {
    let interval = 15u64;
    let port = free_port();
    let mut cfg = format!("[server]\nlisten = \"127.0.0.1:{port}\"\nmax_concurrency = 4096\n[defaults]\ninterval = \"{interval}s\"\ntimeout = \"5s\"\n");
    for i in 0..rate * interval {
        cfg.push_str(&format!(
            "[[targets]]\nname = \"t{i}\"\n{}",
            m.payprobe_target
        ));
    }
    let path = dir.join("payprobe.toml");
    std::fs::write(&path, cfg).expect("write payprobe.toml");
    let pp = Killed(
        Command::new(bin)
            .args(["run", "--config"])
            .arg(&path)
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start payprobe"),
    );
    let addr = format!("127.0.0.1:{port}");
    // Let the first (spread) interval pass, then measure.
    tokio::time::sleep(Duration::from_secs(interval + 1)).await;
    let before = probes_total(&http_get(&addr, "/metrics").await);
    let cpu0 = process_cpu(pp.0.id());
    tokio::time::sleep(Duration::from_secs(secs)).await;
    let cpu = process_cpu(pp.0.id()) - cpu0;
    let after = probes_total(&http_get(&addr, "/metrics").await);
    let (ok, failed) = (after.0 - before.0, after.1 - before.1);
    ((ok + failed) as u64, failed as u64, cpu)
}

fn release_binary() -> PathBuf {
    let bin = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/release/payprobe");
    if !bin.exists() {
        let ok = Command::new("cargo")
            .args(["build", "--release", "--locked"])
            .status()
            .is_ok_and(|s| s.success());
        assert!(ok, "cargo build --release failed");
    }
    bin
}

fn main() {
    let args = common::args();
    let rate: u64 = args.first().and_then(|v| v.parse().ok()).unwrap_or(200);
    let secs: u64 = args.get(1).and_then(|v| v.parse().ok()).unwrap_or(30);
    for (cmd, arg, pkg) in [
        (
            "prometheus-blackbox-exporter",
            "--version",
            "prometheus-blackbox-exporter",
        ),
        ("nginx", "-v", "nginx-light"),
        ("openssl", "version", "openssl"),
    ] {
        if !have(cmd, arg) {
            println!("vs_blackbox: skipped: install Debian's {pkg} to compare");
            return;
        }
    }
    let bin = release_binary();
    let dir = std::env::temp_dir().join(format!("payprobe-vs-blackbox-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    make_pki(&dir);
    let ports = Ports {
        http: free_port(),
        rsa: free_port(),
        ecdsa: free_port(),
    };
    let nginx = start_nginx(&dir, &ports);
    let bb_cfg = blackbox_config(&dir);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("runtime");
    println!("{rate} probes/s for {secs} s per check, CPU of each process per probe (one nginx on loopback as the target)");
    println!(
        "{:<12} {:>22} {:>22} {:>7}",
        "check", "blackbox_exporter", "payprobe", "ratio"
    );
    rt.block_on(async {
        tokio::time::sleep(Duration::from_millis(500)).await;
        for m in modes(&ports, &dir) {
            let (bn, bok, bcpu) = blackbox(&bb_cfg, &m, rate, secs).await;
            let (pn, pfail, pcpu) = payprobe(&bin, &dir, &m, rate, secs).await;
            let (b, p) = (1e6 * bcpu / bn.max(1) as f64, 1e6 * pcpu / pn.max(1) as f64);
            println!(
                "{:<12} {:>8.1} us ({bok}/{bn} ok) {:>8.1} us ({pn}, {pfail} failed) {:>6.2}x",
                m.name,
                b,
                p,
                p / b
            );
        }
    });
    drop(nginx);
    let _ = std::fs::remove_dir_all(&dir);
}
