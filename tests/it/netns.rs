//! Real network failures, made with network namespaces, veth pairs and nftables.
//!
//! Each test builds its own namespace ("the far host") joined to this one by a veth pair on
//! a /24 of its own; nothing is sent anywhere but into that namespace. These tests need root
//! (CI runs as root). Where namespaces cannot be made they fail with a clear message, unless
//! PAYPROBE_SKIP_NETNS=1 says to skip them.

use std::net::IpAddr;
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use payprobe::probe::{FailureKind, Phase};

use crate::support::{get, metric, probe, target, wait_for};

static NEXT: AtomicU32 = AtomicU32::new(0);

fn run(cmd: &mut Command) -> Result<Output, String> {
    let out = cmd.output().map_err(|e| format!("{cmd:?}: {e}"))?;
    if out.status.success() {
        Ok(out)
    } else {
        Err(format!(
            "{cmd:?}: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

fn ip(args: &[&str]) -> Result<Output, String> {
    run(Command::new("ip").args(args))
}

/// A network namespace joined to this one by a veth pair: `host_ip` here, `ns_ip` there.
pub struct Netns {
    pub name: String,
    host_if: String,
    pub host_ip: IpAddr,
    pub ns_ip: IpAddr,
    /// An address on the link where no host answers (ARP fails: host unreachable).
    pub vacant_ip: IpAddr,
}

impl Netns {
    /// `None` only when PAYPROBE_SKIP_NETNS is set and namespaces cannot be made.
    pub fn new() -> Option<Netns> {
        match Netns::try_new() {
            Ok(n) => Some(n),
            Err(e) if std::env::var_os("PAYPROBE_SKIP_NETNS").is_some() => {
                eprintln!(
                    "skipping: cannot create a network namespace ({e}); PAYPROBE_SKIP_NETNS is set"
                );
                None
            }
            Err(e) => panic!(
                "this test needs root, iproute2 and nftables to build a network namespace ({e}); \
                 run it as root (CI does) or set PAYPROBE_SKIP_NETNS=1 to skip it"
            ),
        }
    }

    fn try_new() -> Result<Netns, String> {
        let pid = std::process::id() % 100_000;
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let subnet = 10 + (pid % 40) * 5 + n;
        let name = format!("pp{pid}n{n}");
        let host_if = format!("pp{pid}h{n}");
        let peer_if = format!("pp{pid}p{n}");
        let host_ip: IpAddr = format!("10.237.{subnet}.1").parse().unwrap();
        let ns_ip: IpAddr = format!("10.237.{subnet}.2").parse().unwrap();
        let vacant_ip: IpAddr = format!("10.237.{subnet}.99").parse().unwrap();
        ip(&["netns", "add", &name])?;
        let ns = Netns {
            name,
            host_if,
            host_ip,
            ns_ip,
            vacant_ip,
        };
        ip(&[
            "link",
            "add",
            &ns.host_if,
            "type",
            "veth",
            "peer",
            "name",
            &peer_if,
        ])?;
        ip(&["link", "set", &peer_if, "netns", &ns.name])?;
        ip(&["addr", "add", &format!("{host_ip}/24"), "dev", &ns.host_if])?;
        ip(&["link", "set", &ns.host_if, "up"])?;
        ns.exec(&["ip", "addr", "add", &format!("{ns_ip}/24"), "dev", &peer_if])?;
        ns.exec(&["ip", "link", "set", &peer_if, "up"])?;
        ns.exec(&["ip", "link", "set", "lo", "up"])?;
        Ok(ns)
    }

    /// `payprobe run --config CFG` inside the namespace, its stderr (the log) to `log`.
    pub fn run_payprobe(&self, cfg: &std::path::Path, log: std::fs::File) -> std::process::Child {
        Command::new("ip")
            .args([
                "netns",
                "exec",
                &self.name,
                env!("CARGO_BIN_EXE_payprobe"),
                "run",
                "--config",
            ])
            .arg(cfg)
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap()
    }

    pub fn exec(&self, args: &[&str]) -> Result<Output, String> {
        run(Command::new("ip")
            .args(["netns", "exec", &self.name])
            .args(args))
    }

    /// Loads an nftables script inside the namespace.
    pub fn nft(&self, script: &str) {
        use std::io::Write;
        let mut child = Command::new("ip")
            .args(["netns", "exec", &self.name, "nft", "-f", "-"])
            .stdin(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("run nft");
        child
            .stdin
            .take()
            .unwrap()
            .write_all(script.as_bytes())
            .unwrap();
        let out = child.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "nft: {}\n{script}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// Packets counted by the named counter `name` in table `inet pp` (the true number).
    pub fn counter(&self, name: &str) -> u64 {
        let out = self
            .exec(&["nft", "-j", "list", "counter", "inet", "pp", name])
            .unwrap();
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        v["nftables"]
            .as_array()
            .unwrap()
            .iter()
            .find_map(|o| o["counter"]["packets"].as_u64())
            .expect("counter in nft output")
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        // Whatever still runs inside (a daemon started with `ip netns exec`) goes with it.
        if let Ok(out) = ip(&["netns", "pids", &self.name]) {
            for pid in String::from_utf8_lossy(&out.stdout).split_whitespace() {
                let _ = Command::new("kill").args(["-KILL", pid]).status();
            }
        }
        let _ = ip(&["link", "del", &self.host_if]);
        let _ = ip(&["netns", "del", &self.name]);
    }
}

/// Drops a random `percent` of what `matcher` selects, counting every drop.
fn lossy(ns: &Netns, chain_hook: &str, matcher: &str, percent: u32) {
    let chance = if percent >= 100 {
        String::new()
    } else {
        format!("numgen random mod 100 < {percent} ")
    };
    ns.nft(&format!(
        "table inet pp {{\n  counter dropped {{ }}\n  chain c {{\n    type filter hook {chain_hook} priority 0;\n    {matcher} {chance}counter name \"dropped\" drop\n  }}\n}}\n"
    ));
}

fn ping_target(addr: IpAddr, extra: &str) -> std::sync::Arc<payprobe::config::Target> {
    target(&format!(
        "name = \"p\"\nurl = \"tcp://{}:9\"\nchecks = [\"ping\"]\ninterval = \"30s\"\ntimeout = \"10s\"\n[targets.ping]\n{extra}",
        if addr.is_ipv6() { format!("[{addr}]") } else { addr.to_string() }
    ))
}

#[tokio::test]
async fn loopback_pings_over_ipv4_and_ipv6_lose_nothing() {
    for addr in ["127.0.0.1", "::1"] {
        let e = probe(&ping_target(
            addr.parse().unwrap(),
            "count = 5\nspacing = \"20ms\"",
        ))
        .await;
        assert!(e.success(), "{addr}: {e:?}");
        let p = e.observed.ping.as_ref().unwrap();
        assert_eq!((p.sent, p.received, p.loss_ratio), (5, 5, 0.0), "{addr}");
        let (min, avg, max) = (p.rtt_min.unwrap(), p.rtt_avg.unwrap(), p.rtt_max.unwrap());
        assert!(min > 0.0 && min <= avg && avg <= max, "{p:?}");
        assert!(p.rtt_stddev.unwrap() >= 0.0);
    }
    // TCP pings to a closed port: the RST is the reply. Over IPv4 and IPv6.
    for addr in ["127.0.0.1", "::1"] {
        let e = probe(&ping_target(
            addr.parse().unwrap(),
            "count = 3\nspacing = \"10ms\"\nmethod = \"tcp\"",
        ))
        .await;
        let p = e.observed.ping.as_ref().unwrap();
        assert_eq!(
            (p.method, p.received, p.port),
            (payprobe::probe::ping::Method::Tcp, 3, Some(9)),
            "{addr}: {e:?}"
        );
    }
}

#[tokio::test]
async fn icmp_loss_through_a_lossy_link_matches_the_kernel_count() {
    let Some(ns) = Netns::new() else { return };
    lossy(&ns, "input", "icmp type echo-request", 30);
    let e = probe(&ping_target(
        ns.ns_ip,
        "count = 60\nspacing = \"10ms\"\npacket_timeout = \"800ms\"\nloss_threshold = 0.9",
    ))
    .await;
    let p = e.observed.ping.as_ref().expect("ping evidence");
    assert_ne!(
        p.method,
        payprobe::probe::ping::Method::Tcp,
        "as root, ICMP is available"
    );
    let dropped = ns.counter("dropped");
    assert_eq!(p.sent, 60);
    assert_eq!(
        u64::from(p.sent - p.received),
        dropped,
        "measured loss vs nft's counter: {p:?}"
    );
    assert!((p.loss_ratio - dropped as f64 / 60.0).abs() < 1e-9);
    assert!(
        dropped > 0 && dropped < 60,
        "30% random drop should drop some, not all: {dropped}"
    );
}

#[tokio::test]
async fn tcp_ping_loss_matches_the_kernel_count_and_fails_over_threshold() {
    let Some(ns) = Netns::new() else { return };
    lossy(&ns, "input", "tcp dport 9 tcp flags syn", 40);
    let e = probe(&ping_target(
        ns.ns_ip,
        "count = 40\nspacing = \"10ms\"\npacket_timeout = \"500ms\"\nmethod = \"tcp\"\nloss_threshold = 0.05",
    ))
    .await;
    let p = e.observed.ping.as_ref().expect("ping evidence");
    let dropped = ns.counter("dropped");
    assert_eq!(u64::from(p.sent - p.received), dropped, "{p:?}");
    assert!(dropped > 2, "40% of 40 SYNs: {dropped}");
    let f = e
        .failure
        .as_ref()
        .expect("loss over the threshold fails the check");
    assert_eq!((f.kind, f.phase), (FailureKind::PacketLoss, Phase::Connect));
}

#[tokio::test]
async fn tcp_failure_modes_are_told_apart() {
    let Some(ns) = Netns::new() else { return };
    ns.nft("table inet pp {\n  chain c {\n    type filter hook input priority 0;\n    tcp dport 8443 drop\n  }\n}\n");
    let tcp = |addr: IpAddr, port: u16| {
        target(&format!(
            "name = \"t\"\nurl = \"tcp://{addr}:{port}\"\ninterval = \"30s\"\ntimeout = \"6s\""
        ))
    };
    let kind = |e: &payprobe::checked::Checked| e.failure.as_ref().map(|f| f.kind);
    let refused = probe(&tcp(ns.ns_ip, 8080)).await;
    assert_eq!(
        kind(&refused),
        Some(FailureKind::ConnectRefused),
        "{refused:?}"
    );
    let t = target(&format!(
        "name = \"t\"\nurl = \"tcp://{}:8443\"\ninterval = \"30s\"\ntimeout = \"1s\"",
        ns.ns_ip
    ));
    let dropped = probe(&t).await;
    assert_eq!(
        kind(&dropped),
        Some(FailureKind::ConnectTimeout),
        "{dropped:?}"
    );
    let vacant = probe(&tcp(ns.vacant_ip, 443)).await;
    assert_eq!(
        kind(&vacant),
        Some(FailureKind::HostUnreachable),
        "{vacant:?}"
    );

    // Inside the namespace there is no default route: a network is unreachable and nothing
    // leaves the machine. The real binary runs there.
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("p.toml");
    std::fs::write(
        &cfg,
        "[[targets]]\nname = \"far\"\nurl = \"tcp://198.51.100.7:443\"\n",
    )
    .unwrap();
    let out = Command::new("ip")
        .args([
            "netns",
            "exec",
            &ns.name,
            env!("CARGO_BIN_EXE_payprobe"),
            "probe-once",
        ])
        .arg(&cfg)
        .arg("--json")
        .output()
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stderr)));
    assert_eq!(v[0]["failure"]["kind"], "network_unreachable", "{v}");
}

/// The daemon itself inside a namespace: network rows of the rules table, end to end. Every
/// provider it watches is down at the network layer, so the scope is `local`: it is us.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn network_faults_reach_metrics_and_api_as_network_causes() {
    let Some(ns) = Netns::new() else { return };
    // The far side of the link (this namespace) drops every echo request from the daemon.
    lossy(&ns, "output", "icmp type echo-request", 100);
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("p.toml");
    let listen = format!("{}:19{:03}", ns.ns_ip, std::process::id() % 1000);
    std::fs::write(
        &cfg,
        format!(
            "[server]\nlisten = \"{listen}\"\nstate_dir = \"state\"\n[defaults]\ninterval = \"4s\"\ntimeout = \"3500ms\"\nfailure_threshold = 1\n\n\
             [[targets]]\nname = \"lossy\"\nurl = \"tcp://{}:9\"\nchecks = [\"ping\"]\n[targets.ping]\ncount = 5\nspacing = \"50ms\"\npacket_timeout = \"500ms\"\n\n\
             [[targets]]\nname = \"no-route\"\nurl = \"tcp://198.51.100.7:443\"\n\n\
             [[targets]]\nname = \"no-host\"\nurl = \"tcp://{}:443\"\n",
            ns.host_ip, ns.vacant_ip
        ),
    )
    .unwrap();
    let log = std::fs::File::create(dir.path().join("log")).unwrap();
    let mut child = ns.run_payprobe(&cfg, log);
    let addr: std::net::SocketAddr = listen.parse().unwrap();
    let want = [
        ("lossy", "packet_loss", "payment_delay"),
        ("no-route", "network_unreachable", "network_interruption"),
        ("no-host", "host_unreachable", "network_interruption"),
    ];
    let result = tokio::time::timeout(Duration::from_secs(40), async {
        wait_for(35, "network diagnoses", || async {
            let text = get(addr, "/metrics").await.ok()?.1;
            let all = want.iter().all(|(t, _, symptom)| {
                metric(&text, &format!("payprobe_cause{{cause=\"network\",provider=\"{}\",target=\"{t}\"}}", provider(t, &ns))) == Some(1.0)
                    && metric(&text, &format!("payprobe_symptom{{provider=\"{}\",symptom=\"{symptom}\",target=\"{t}\"}}", provider(t, &ns))) == Some(1.0)
            });
            all.then_some(())
        })
        .await;
        for (t, rule, _) in want {
            let (_, body) = get(addr, &format!("/api/v1/targets/{t}")).await.unwrap();
            let v: serde_json::Value = serde_json::from_str(&body).unwrap();
            assert_eq!(v["diagnosis"]["rule"], rule, "{t}: {v}");
            assert_eq!(v["diagnosis"]["scope"], "local", "{t}: {v}");
            assert!(v["diagnosis"]["hint"].as_str().unwrap().contains("switch networks"), "{v}");
        }
    })
    .await;
    let _ = child.kill();
    let _ = child.wait();
    if result.is_err() {
        panic!(
            "timed out; daemon log:\n{}",
            std::fs::read_to_string(dir.path().join("log")).unwrap_or_default()
        );
    }
}

/// Targets without a `provider` key are grouped by their host.
fn provider(target: &str, ns: &Netns) -> String {
    match target {
        "lossy" => ns.host_ip.to_string(),
        "no-route" => "198.51.100.7".to_string(),
        _ => ns.vacant_ip.to_string(),
    }
}

/// Many bursts at once share one raw socket (as root) without taking each other's replies.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_pings_keep_their_own_replies() {
    let probers = payprobe::probe::Probers::system();
    let targets: Vec<_> = (0..12)
        .map(|i| {
            ping_target(
                if i % 2 == 0 { "127.0.0.1" } else { "::1" }
                    .parse()
                    .unwrap(),
                "count = 8\nspacing = \"5ms\"",
            )
        })
        .collect();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(8);
    let rounds =
        futures_util::future::join_all(targets.iter().map(|t| probers.round(t, deadline))).await;
    for r in rounds {
        let p = r[0].ping.as_ref().unwrap();
        assert_eq!((p.sent, p.received), (8, 8), "{p:?}");
    }
}
