//! Helpers shared by the integration tests.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use payprobe::checked::Checked;
use payprobe::config::{self, Target};
use payprobe::probe::Probers;

/// A target built through the real config path from a `[[targets]]` body.
pub fn target(body: &str) -> Arc<Target> {
    target_in(body, Path::new("."))
}

pub fn target_in(body: &str, dir: &Path) -> Arc<Target> {
    let src = format!("[[targets]]\n{body}\n");
    let plan = config::parse(Path::new("test.toml"), &src, dir)
        .unwrap_or_else(|e| panic!("test config invalid:\n{e}\n---\n{src}"));
    plan.targets[0].clone()
}

/// Runs one check of a target with its own timeout as the deadline.
pub async fn probe(t: &Target) -> Checked {
    let deadline = tokio::time::Instant::now() + t.timeout;
    let mut round = judged_round(t, deadline).await;
    assert_eq!(round.len(), 1, "one check per test target");
    round.remove(0)
}

/// One round of a target as the daemon judges it: observed by the probers, then held against
/// its conditions by a judge of its own (`Judge::conditions`, as `probe-once` does).
pub async fn judged_round(t: &Target, deadline: tokio::time::Instant) -> Vec<Checked> {
    let observed = Probers::system().round(t, deadline).await;
    payprobe::judge::Judge::default().conditions(t, observed, std::time::SystemTime::now())
}

/// A server that reads one request, writes `reply` as it is (broken HTTP, or not HTTP at
/// all) and hangs up.
pub async fn raw_server(reply: &'static [u8]) -> u16 {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = l.local_addr().unwrap().port();
    tokio::spawn(async move {
        while let Ok((mut s, _)) = l.accept().await {
            let mut buf = [0u8; 2048];
            let _ = s.read(&mut buf).await;
            let _ = s.write_all(reply).await;
        }
    });
    port
}

/// A server that accepts and never speaks (the connections are kept open).
pub async fn silent_server() -> (u16, tokio::task::JoinHandle<()>) {
    payprobe::demo::gateway::silent().await.unwrap()
}

/// A listener whose accept queue is full: the kernel drops further SYNs, so connect()
/// hangs exactly as on a black-holed route. Keep the returned listener and fillers alive.
pub async fn full_backlog() -> (
    tokio::net::TcpListener,
    Vec<tokio::net::TcpStream>,
    SocketAddr,
) {
    let sock = tokio::net::TcpSocket::new_v4().unwrap();
    sock.bind("127.0.0.1:0".parse().unwrap()).unwrap();
    let l = sock.listen(1).unwrap();
    let addr = l.local_addr().unwrap();
    let mut fillers = Vec::new();
    for _ in 0..8 {
        let attempt = tokio::time::timeout(
            Duration::from_millis(200),
            tokio::net::TcpStream::connect(addr),
        );
        if let Ok(Ok(s)) = attempt.await {
            fillers.push(s);
        }
    }
    (l, fillers, addr)
}

/// A port where connections are refused, reserved until the test process ends (bound, not
/// listening), so a server started later in the same test cannot land on it.
pub fn closed_port() -> u16 {
    static HELD: std::sync::Mutex<Vec<socket2::Socket>> = std::sync::Mutex::new(Vec::new());
    let (port, sock) = payprobe::demo::gateway::closed_port().unwrap();
    HELD.lock().unwrap().push(sock);
    port
}

/// HTTP/1.0 GET against the daemon; returns (status, body).
pub async fn get(addr: SocketAddr, path: &str) -> std::io::Result<(u16, String)> {
    let (status, _, body) = get_with(addr, path, &[]).await?;
    Ok((status, body))
}

/// HTTP/1.0 GET with extra request headers; returns (status, head, body).
pub async fn get_with(
    addr: SocketAddr,
    path: &str,
    headers: &[(&str, &str)],
) -> std::io::Result<(u16, String, String)> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut s = tokio::net::TcpStream::connect(addr).await?;
    let extra: String = headers
        .iter()
        .map(|(k, v)| format!("{k}: {v}\r\n"))
        .collect();
    s.write_all(format!("GET {path} HTTP/1.0\r\nHost: test\r\n{extra}\r\n").as_bytes())
        .await?;
    let mut buf = Vec::new();
    tokio::time::timeout(Duration::from_secs(10), s.read_to_end(&mut buf))
        .await
        .map_err(|_| std::io::Error::other("read timed out"))??;
    let text = String::from_utf8_lossy(&buf).into_owned();
    let status = text
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    Ok((status, head.to_string(), body.to_string()))
}

/// Polls `f` every 100 ms until it returns Some, for at most `secs` seconds.
pub async fn wait_for<T, F, Fut>(secs: u64, what: &str, mut f: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let end = std::time::Instant::now() + Duration::from_secs(secs);
    loop {
        if let Some(v) = f().await {
            return v;
        }
        assert!(
            std::time::Instant::now() < end,
            "timed out after {secs} s waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// A payprobe process, killed when dropped.
pub struct Proc {
    pub child: std::process::Child,
    pub addr: SocketAddr,
}

impl Proc {
    /// `payprobe <args> --listen <free addr>`, logs to a file in `dir`.
    /// Listens on port 0 and reads the address it got from its (JSON) log, so no port is
    /// guessed free and then taken by a parallel test.
    pub fn spawn(args: &[&str], dir: &Path) -> Proc {
        Proc::spawn_limited(args, dir, None)
    }

    /// Like [`spawn`](Self::spawn), with the child's open-file limit (soft and hard) set to
    /// `nofile`: the daemon cannot raise it, as on a host with the common 1,024.
    pub fn spawn_limited(args: &[&str], dir: &Path, nofile: Option<u64>) -> Proc {
        Proc::spawn_with(args, dir, nofile, &[])
    }

    /// The most general form: also extra environment variables (applied last, so
    /// `RUST_LOG` can be overridden).
    pub fn spawn_with(
        args: &[&str],
        dir: &Path,
        nofile: Option<u64>,
        env: &[(&str, &str)],
    ) -> Proc {
        use std::os::unix::process::CommandExt;
        let log_path = dir.join("payprobe.log");
        let log = std::fs::File::create(&log_path).unwrap();
        let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_payprobe"));
        if let Some(n) = nofile {
            // SAFETY: setrlimit is async-signal-safe and touches only the child.
            unsafe {
                cmd.pre_exec(move || {
                    let r = libc::rlimit {
                        rlim_cur: n,
                        rlim_max: n,
                    };
                    if libc::setrlimit(libc::RLIMIT_NOFILE, &r) != 0 {
                        return Err(std::io::Error::last_os_error());
                    }
                    Ok(())
                });
            }
        }
        let mut child = cmd
            .arg("--log-format")
            .arg("json")
            .args(args)
            .arg("--listen")
            .arg("127.0.0.1:0")
            .env("RUST_LOG", "info")
            // A config that names no state_dir would share /var/lib/payprobe with every
            // other test (and the machine); systemd's variable gives each its own.
            .env("STATE_DIRECTORY", dir.join("state"))
            .envs(env.iter().copied())
            .stdout(std::process::Stdio::null())
            .stderr(log)
            .spawn()
            .expect("start payprobe");
        let end = std::time::Instant::now() + Duration::from_secs(20);
        loop {
            let text = std::fs::read_to_string(&log_path).unwrap_or_default();
            let addr = text.lines().find_map(|l| {
                let v: serde_json::Value = serde_json::from_str(l).ok()?;
                (v["fields"]["message"] == "payprobe listening")
                    .then(|| v["fields"]["addr"].as_str()?.parse().ok())?
            });
            if let Some(addr) = addr {
                return Proc { child, addr };
            }
            if let Ok(Some(st)) = child.try_wait() {
                panic!("payprobe exited ({st}) before listening:\n{text}");
            }
            assert!(
                std::time::Instant::now() < end,
                "payprobe did not log its address:\n{text}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    pub async fn wait_ready(&self) {
        let addr = self.addr;
        wait_for(30, "/readyz", || async move {
            matches!(get(addr, "/readyz").await, Ok((200, _))).then_some(())
        })
        .await;
    }

    pub async fn metrics(&self) -> String {
        let (status, body) = get(self.addr, "/metrics").await.expect("GET /metrics");
        assert_eq!(status, 200);
        body
    }

    pub fn signal(&self, sig: &str) {
        let ok = std::process::Command::new("kill")
            .args([&format!("-{sig}"), &self.child.id().to_string()])
            .status()
            .expect("run kill")
            .success();
        assert!(ok, "kill -{sig} failed");
    }

    /// Waits for exit (a hang detector, not a speed claim).
    pub async fn wait_exit(&mut self, secs: u64) -> std::process::ExitStatus {
        let end = std::time::Instant::now() + Duration::from_secs(secs);
        loop {
            if let Some(st) = self.child.try_wait().unwrap() {
                return st;
            }
            assert!(
                std::time::Instant::now() < end,
                "payprobe did not exit within {secs} s"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

/// SIGTERM first, so the daemon (and `payprobe demo`, which removes its temporary directory)
/// stops as a service manager would stop it; SIGKILL only if it has not within 5 s.
impl Drop for Proc {
    fn drop(&mut self) {
        if let Ok(pid) = i32::try_from(self.child.id()) {
            // SAFETY: kill(2) on our own child's pid, which `wait` has not reaped yet.
            unsafe { libc::kill(pid, libc::SIGTERM) };
            let end = std::time::Instant::now() + Duration::from_secs(5);
            while std::time::Instant::now() < end {
                if let Ok(Some(_)) = self.child.try_wait() {
                    return;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The value of one series in a text exposition, if present.
pub fn metric(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .find(|l| l.starts_with(series) && l[series.len()..].starts_with(' '))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
}

/// Debian's dnsmasq on a loopback port, serving the names given as extra arguments.
pub struct Dnsmasq {
    child: std::process::Child,
    pub addr: SocketAddr,
}

impl Dnsmasq {
    /// Starts dnsmasq with `args` (e.g. `--address=/good.test/127.0.0.1`). Fails the test with
    /// a clear message when dnsmasq is missing (tests/run.sh installs `dnsmasq-base`).
    pub async fn start(args: &[&str]) -> Dnsmasq {
        // dnsmasq binds the port over UDP *and* TCP, and a port picked free may be taken by
        // the time it starts (tests run in parallel): retry on another port if it exits.
        for _ in 0..5 {
            if let Some(d) = Dnsmasq::try_start(args).await {
                return d;
            }
        }
        panic!("dnsmasq did not start on a free loopback port in 5 tries");
    }

    async fn try_start(args: &[&str]) -> Option<Dnsmasq> {
        let port = free_udp_and_tcp_port();
        let user = String::from_utf8(
            std::process::Command::new("id")
                .arg("-un")
                .output()
                .unwrap()
                .stdout,
        )
        .unwrap();
        let child = std::process::Command::new("dnsmasq")
            .args([
                "--keep-in-foreground",
                "--conf-file=/dev/null",
                "--listen-address=127.0.0.1",
                "--bind-interfaces",
                "--no-resolv",
                "--no-hosts",
                "--pid-file=",
                &format!("--port={port}"),
                &format!("--user={}", user.trim()),
            ])
            .args(args)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap_or_else(|e| {
                panic!("cannot start dnsmasq ({e}); tests/run.sh installs Debian's dnsmasq-base")
            });
        let addr: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
        let mut d = Dnsmasq { child, addr };
        let end = std::time::Instant::now() + Duration::from_secs(10);
        while std::time::Instant::now() < end {
            if d.child.try_wait().ok().flatten().is_some() {
                return None; // exited: most likely the port was taken
            }
            if raw_query(addr, "ready.invalid").await.is_some() {
                return Some(d);
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        None
    }
}

/// A loopback port free for both UDP and TCP at the time of asking.
fn free_udp_and_tcp_port() -> u16 {
    loop {
        let udp = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        let port = udp.local_addr().unwrap().port();
        if std::net::TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
}

impl Drop for Dnsmasq {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Sends one A query and returns the response's rcode, if any came within 500 ms.
pub async fn raw_query(server: SocketAddr, name: &str) -> Option<u8> {
    let s = tokio::net::UdpSocket::bind("127.0.0.1:0").await.ok()?;
    let mut q = vec![0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0];
    for label in name.split('.') {
        q.push(label.len() as u8);
        q.extend_from_slice(label.as_bytes());
    }
    q.extend_from_slice(&[0, 0, 1, 0, 1]);
    s.send_to(&q, server).await.ok()?;
    let mut buf = [0u8; 512];
    let n = tokio::time::timeout(Duration::from_millis(500), s.recv(&mut buf))
        .await
        .ok()?
        .ok()?;
    (n >= 4).then(|| buf[3] & 0x0f)
}

/// A name server that answers every query with SERVFAIL. dnsmasq and the other Debian
/// servers only say SERVFAIL (or NOTIMP) when *their* upstream fails in particular ways, which
/// cannot be arranged offline; these are the DNS behaviours the tests make by hand (a header
/// with QR and the RCODE, and the question echoed back, as RFC 1035 prescribes).
pub async fn servfail_server() -> (SocketAddr, tokio::task::JoinHandle<()>) {
    rcode_server(2).await
}

/// A name server answering every query with this RCODE (2 SERVFAIL, 4 NOTIMP, ...).
pub async fn rcode_server(rcode: u8) -> (SocketAddr, tokio::task::JoinHandle<()>) {
    let s = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let addr = s.local_addr().unwrap();
    let task = tokio::spawn(async move {
        let mut buf = [0u8; 512];
        while let Ok((n, peer)) = s.recv_from(&mut buf).await {
            if n < 12 {
                continue;
            }
            let mut r = buf[..n].to_vec();
            r[2] = 0x80 | (buf[2] & 0x79); // QR=1, keep opcode and RD
            r[3] = 0x80 | (rcode & 0x0f); // RA=1, RCODE
            r[6..12].copy_from_slice(&[0, 0, 0, 0, 0, 0]); // no answer/authority/additional
                                                           // Drop anything after the question (an EDNS OPT record would now be miscounted).
            let mut end = 12;
            while end < n && buf[end] != 0 {
                end += usize::from(buf[end]) + 1;
            }
            r.truncate((end + 5).min(n));
            let _ = s.send_to(&r, peer).await;
        }
    });
    (addr, task)
}

/// A name server that never answers.
pub async fn silent_dns() -> (SocketAddr, tokio::net::UdpSocket) {
    let s = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
    (s.local_addr().unwrap(), s)
}

/// Warnings as English sentences, as the English API and page say them (the catalogue's
/// one function, `payprobe::lang::warning`).
pub fn english(ws: &[payprobe::lang::WarningParts]) -> Vec<String> {
    ws.iter()
        .map(|w| payprobe::lang::warning(w, payprobe::lang::Lang::En))
        .collect()
}
