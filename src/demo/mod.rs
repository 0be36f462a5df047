//! `payprobe demo`: simulated payment providers on loopback, broken on purpose act after act
//! ([`story`]), probed by the real daemon through a real config file. Needs no internet, no
//! root and no config.
//!
//! Alipay-like, WeChat-Pay-v3-like and Stripe-like gateways over HTTPS (a throw-away CA,
//! [`pki`]), three EVM JSON-RPC nodes and a Solana-like node, each answering in its
//! provider's real shape so that its profile judges it, plus a control on this host's own
//! way out.

pub mod gateway;
pub mod pki;
pub mod story;

use std::fmt::Write;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use gateway::Gateway;
use pki::{Ca, Validity};
use story::{Act, Kind, Sim, ACTS, CAST};

#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    #[error("demo: cannot start a gateway: {0}")]
    Io(#[from] std::io::Error),
    #[error("demo: {0}")]
    Pki(#[from] pki::PkiError),
}

/// The simulated endpoints, by their place in [`CAST`].
pub struct Cast {
    gateways: Vec<(&'static Sim, Gateway)>,
}

impl Cast {
    /// Puts every endpoint in the state `act` gives it. `height` is the chain's best block.
    pub async fn apply(&self, act: &Act, height: u64) {
        if act.everywhere.is_some() {
            // A lost uplink is seen first on the controls, then on everything else.
            let controls = self
                .gateways
                .iter()
                .filter(|(s, _)| s.kind == Kind::Control);
            for (sim, g) in controls {
                g.set_reach(story::reach(act.fault(sim.name))).await;
            }
            tokio::time::sleep(CONTROL_LEAD).await;
        }
        let switches = self.gateways.iter().map(|(sim, g)| async move {
            let fault = act.fault(sim.name);
            g.set(story::answer(sim.kind, fault, height));
            g.set_reach(story::reach(fault)).await;
        });
        futures_util::future::join_all(switches).await;
    }

    /// Updates only the answers (the chains' heights move on between acts).
    pub fn tick(&self, act: &Act, height: u64) {
        for (sim, g) in &self.gateways {
            if matches!(sim.kind, Kind::Evm | Kind::Solana) {
                g.set(story::answer(sim.kind, act.fault(sim.name), height));
            }
        }
    }

    pub fn gateway(&self, name: &str) -> Option<&Gateway> {
        self.gateways
            .iter()
            .find(|(s, _)| s.name == name)
            .map(|(_, g)| g)
    }
}

/// How long the controls fail before everything else when the whole network goes. Short:
/// a failing control means "local" only once the other paths agree (`classify::scope`), and
/// a control failing alone for longer than the other targets need to fail would rightly page
/// as a broken control.
const CONTROL_LEAD: Duration = Duration::from_millis(300);

/// The running gateways (kept alive while the demo runs) and the config that probes them.
pub struct Demo {
    pub config_path: PathBuf,
    pub dir: PathBuf,
    pub cast: Arc<Cast>,
    story: Option<tokio::task::JoinHandle<()>>,
}

impl Drop for Demo {
    fn drop(&mut self) {
        if let Some(s) = self.story.take() {
            s.abort();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// The best block of the simulated EVM chain `elapsed` into the demo: one block a second.
pub fn height_at(elapsed: Duration) -> u64 {
    21_000_000 + elapsed.as_secs()
}

impl Demo {
    /// Plays the story in a loop, one log line per act, until the demo is dropped; or, with
    /// `hold`, puts the endpoints in that act's state and keeps them there.
    pub fn play(&mut self, hold: Option<&'static Act>) {
        let cast = self.cast.clone();
        self.story = Some(tokio::spawn(async move {
            let t0 = tokio::time::Instant::now();
            if let Some(act) = hold {
                tracing::info!(act = act.key, "demo holds one act: {}", act.line);
                cast.apply(act, height_at(t0.elapsed())).await;
                loop {
                    tokio::time::sleep(Duration::from_millis(500)).await;
                    cast.tick(act, height_at(t0.elapsed()));
                }
            }
            let cycle = story::cycle().as_secs();
            for n in 1u64.. {
                for (i, act) in ACTS.iter().enumerate() {
                    tracing::info!(
                        act = act.key,
                        cycle = n,
                        "demo act {}/{} ({} s of a {cycle} s cycle): {}",
                        i + 1,
                        ACTS.len(),
                        act.secs,
                        act.line
                    );
                    cast.apply(act, height_at(t0.elapsed())).await;
                    let end = tokio::time::Instant::now() + Duration::from_secs(act.secs);
                    while tokio::time::Instant::now() < end {
                        tokio::time::sleep(Duration::from_millis(500)).await;
                        cast.tick(act, height_at(t0.elapsed()));
                    }
                }
            }
        }));
    }
}

/// Starts the gateways, healthy, and writes `payprobe-demo.toml` (and the demo CA) to a
/// fresh directory under the system temp dir. [`Demo::play`] starts the story.
pub async fn start(listen: &str) -> Result<Demo, DemoError> {
    let ca = Ca::new("payprobe demo CA")?;
    let first = &ACTS[0];
    let mut gateways = Vec::new();
    for sim in CAST {
        let b = story::answer(sim.kind, first.fault(sim.name), height_at(Duration::ZERO));
        let g = if tls(sim.kind) {
            Gateway::https(b, ca.leaf(&["127.0.0.1", "localhost"], Validity::Current)?).await?
        } else {
            Gateway::http(b).await?
        };
        gateways.push((sim, g));
    }
    // One directory per demo, also within one process (the tests start several at once):
    // a shared one would let one demo's CA replace another's under a running daemon.
    static STARTED: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = STARTED.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let dir = std::env::temp_dir().join(format!("payprobe-demo-{}-{n}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    std::fs::write(dir.join("demo-ca.pem"), ca.pem())?;
    let config = config(listen, &dir, &gateways);
    let config_path = dir.join("payprobe-demo.toml");
    std::fs::write(&config_path, config)?;
    Ok(Demo {
        config_path,
        dir,
        cast: Arc::new(Cast { gateways }),
        story: None,
    })
}

fn tls(kind: Kind) -> bool {
    matches!(
        kind,
        Kind::Alipay | Kind::AlipayRefund | Kind::Wechatpay | Kind::Stripe
    )
}

/// Short intervals so that each act shows within seconds: two failed rounds (1 s apart)
/// make a target unhealthy, two good ones healthy again.
fn config(listen: &str, dir: &std::path::Path, gateways: &[(&'static Sim, Gateway)]) -> String {
    let mut c = format!(
        r#"# Written by `payprobe demo`: simulated payment providers on loopback.
[server]
listen = "{listen}"
state_dir = "{}"
# The demo shows the opt-in per-target latency histograms too (the dashboards' p95 panels).
latency_histograms = true

[defaults]
interval = "1s"
timeout = "900ms"
failure_threshold = 2
success_threshold = 2
latency_slo = "400ms"
# An availability objective: error budgets and burn-rate alerts on every demo target.
slo = 0.999
"#,
        dir.join("state").display()
    );
    for (sim, g) in gateways {
        let port = g.port();
        let (name, provider, path) = (sim.name, sim.provider, sim.path);
        let _ = match sim.kind {
            Kind::Control => write!(
                c,
                "\n[[controls]]\nname = \"{name}\"\nurl = \"tcp://127.0.0.1:{port}\"\n"
            ),
            Kind::Evm | Kind::Solana => {
                let (profile, chain) = if sim.kind == Kind::Evm {
                    ("evm_jsonrpc", "chain = \"ethereum\"\nchain_id = 1")
                } else {
                    ("solana_jsonrpc", "chain = \"solana\"")
                };
                write!(
                    c,
                    "\n[[targets]]\nname = \"{name}\"\nprovider = \"{provider}\"\nprofile = \"{profile}\"\n\
url = \"http://127.0.0.1:{port}{path}\"\nchecks = [\"rpc\"]\n\n[targets.rpc]\n{chain}\n"
                )
            }
            _ => {
                let profile = match sim.kind {
                    Kind::Wechatpay => "wechatpay_v3",
                    Kind::Stripe => "stripe",
                    _ => "alipay",
                };
                write!(
                    c,
                    "\n[[targets]]\nname = \"{name}\"\nprovider = \"{provider}\"\nprofile = \"{profile}\"\n\
url = \"https://127.0.0.1:{port}{path}\"\nchecks = [\"tcp\", \"tls\", \"http\"]\nca_file = \"demo-ca.pem\"\n"
                )
            }
        };
    }
    c
}
