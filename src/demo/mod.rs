//! `payprobe demo`: simulated payment providers on loopback, broken on purpose act after act
//! ([`story`]), probed by the real daemon through a real config file. Needs no internet, no
//! root and no config.
//!
//! Alipay-like, WeChat-Pay-v3-like and Stripe-like gateways over HTTPS (a throw-away CA,
//! [`pki`]), an acquirer's status API (ping and API version), three EVM JSON-RPC nodes and a
//! Solana-like node, each answering in its provider's real shape so that its profile judges
//! it, plus a control on this host's own way out. The Alipay and WeChat Pay gateways check
//! the probes' merchant signatures and sign their answers ([`signing`]); the demo's alerts
//! go to a receiver of its own ([`receiver`]).

mod config;
pub mod gateway;
pub mod pki;
pub mod receiver;
pub mod signing;
pub mod story;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use gateway::Gateway;
use pki::{Ca, Validity};
use signing::{Keys, Signing};
use story::{Act, Fault, Kind, Sim, ACTS, CAST};

#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    #[error("demo: cannot start a gateway: {0}")]
    Io(#[from] std::io::Error),
    #[error("demo: {0}")]
    Pki(#[from] pki::PkiError),
    #[error(transparent)]
    Keys(#[from] signing::KeysError),
}

/// The simulated endpoints, by their place in [`CAST`].
pub struct Cast {
    gateways: Vec<(&'static Sim, Gateway)>,
    /// The providers' and the merchant's keys, shared by the signing gateways.
    pub keys: Arc<Keys>,
}

/// How `sim` answers under `fault`: its provider's answer, signed if its provider signs.
fn behavior(keys: &Arc<Keys>, sim: &Sim, fault: Option<Fault>, height: u64) -> gateway::Behavior {
    let signing = story::side(sim.kind).map(|side| Signing {
        keys: keys.clone(),
        side,
        twist: story::twist(fault),
    });
    story::answer(sim.kind, fault, height).signed(signing)
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
        if CAST
            .iter()
            .any(|s| act.fault(s.name) == Some(Fault::PlatformRotated))
        {
            match self.keys.rotate() {
                Ok(serial) => tracing::info!(
                    serial,
                    "demo: WeChat Pay signs with a new platform certificate"
                ),
                Err(e) => tracing::warn!("demo: the platform certificate could not rotate: {e}"),
            }
        }
        let switches = self.gateways.iter().map(|(sim, g)| async move {
            let fault = act.fault(sim.name);
            g.set(behavior(&self.keys, sim, fault, height));
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
    /// Where the demo's alerts go.
    pub receiver: receiver::Receiver,
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
    let keys = Arc::new(Keys::new()?);
    let first = &ACTS[0];
    let mut gateways = Vec::new();
    for sim in CAST {
        let b = behavior(&keys, sim, first.fault(sim.name), height_at(Duration::ZERO));
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
    keys.write_files(&dir)?;
    let receiver = receiver::Receiver::start().await?;
    let mut config = config::text(listen, &dir, &gateways);
    config::alerts(&mut config, &receiver.url());
    let config_path = dir.join("payprobe-demo.toml");
    std::fs::write(&config_path, config)?;
    Ok(Demo {
        config_path,
        dir,
        cast: Arc::new(Cast { gateways, keys }),
        receiver,
        story: None,
    })
}

fn tls(kind: Kind) -> bool {
    matches!(
        kind,
        Kind::Alipay | Kind::AlipayRefund | Kind::Wechatpay | Kind::Stripe | Kind::Acquirer
    )
}
