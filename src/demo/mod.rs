//! `payprobe demo`: simulated payment gateways on loopback, each broken in its own way, probed
//! by the real daemon through a real config file. Needs no internet and no config.
//!
//! Every cause shows: none (healthy, and slow but working), server (503, refused),
//! security (untrusted certificate), api_version (410 on a retired /v1 path), user_input
//! (400), network (a TLS handshake that stalls).

pub mod gateway;
pub mod pki;

use std::path::PathBuf;
use std::time::Duration;

use gateway::{Behavior, Gateway};
use pki::{Ca, Validity};

#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    #[error("demo: cannot start a gateway: {0}")]
    Io(#[from] std::io::Error),
    #[error("demo: {0}")]
    Pki(#[from] pki::PkiError),
}

/// The running gateways (kept alive while the demo runs) and the config that probes them.
pub struct Demo {
    pub config_path: PathBuf,
    pub dir: PathBuf,
    _gateways: Vec<Gateway>,
    _stalled: tokio::task::JoinHandle<()>,
    _refused: socket2::Socket,
}

impl Drop for Demo {
    fn drop(&mut self) {
        self._stalled.abort();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Starts the gateways and writes `payprobe-demo.toml` (and the demo CA) to a fresh
/// directory under the system temp dir.
pub async fn start(listen: &str) -> Result<Demo, DemoError> {
    let ca = Ca::new("payprobe demo CA")?;
    let ok_body = r#"{"code":"10000","msg":"Success","trade_status":"TRADE_NOT_EXIST"}"#;
    let healthy = Gateway::https(
        Behavior::ok(ok_body),
        ca.leaf(&["127.0.0.1", "localhost"], Validity::Current)?,
    )
    .await?;
    let slow = Gateway::http(Behavior::ok(ok_body).delay(Duration::from_millis(1200))).await?;
    let down = Gateway::http(
        Behavior::ok(r#"{"code":"20000","msg":"Service Currently Unavailable"}"#)
            .status(503)
            .header("retry-after", "120"),
    )
    .await?;
    let untrusted =
        Gateway::https(Behavior::ok(ok_body), pki::self_signed(&["127.0.0.1"])?).await?;
    let old_api = Gateway::http(
        Behavior::ok(r#"{"error":"API v1 was retired; use /v3"}"#)
            .status(410)
            .header("sunset", "Sat, 01 Nov 2025 00:00:00 GMT"),
    )
    .await?;
    let bad_request = Gateway::http(
        Behavior::ok(r#"{"code":"PARAM_ERROR","message":"out_trade_no is malformed"}"#).status(400),
    )
    .await?;
    let (stalled, stalled_task) = gateway::silent().await?;
    // A port that was just closed: connecting to it is refused, as for a crashed gateway.
    let (refused_port, refused_hold) = gateway::closed_port()?;

    let dir = std::env::temp_dir().join(format!("payprobe-demo-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    std::fs::write(dir.join("demo-ca.pem"), ca.pem())?;
    let config = format!(
        r#"# Written by `payprobe demo`: simulated gateways on loopback.
[server]
listen = "{listen}"
state_dir = "{state}"
# The demo shows the opt-in per-target latency histograms too (the dashboards' p95 panels).
latency_histograms = true

[defaults]
interval = "3s"
timeout = "2s"
failure_threshold = 2
success_threshold = 2
latency_slo = "800ms"

[[targets]]
name = "wallet-healthy"
provider = "demo-wallet"
url = "https://127.0.0.1:{healthy}/gateway.do?method=alipay.trade.query"
checks = ["tcp", "tls", "http"]
ca_file = "demo-ca.pem"

[[targets]]
name = "wallet-slow"
provider = "demo-wallet"
url = "http://127.0.0.1:{slow}/v3/pay/transactions/out-trade-no/demo-0001"

[[targets]]
name = "acquirer-5xx"
provider = "demo-acquirer"
url = "http://127.0.0.1:{down}/v1/payment_intents/pi_demo"

[[targets]]
name = "wallet-untrusted-cert"
provider = "demo-wallet"
url = "https://127.0.0.1:{untrusted}/gateway.do"

[[targets]]
name = "acquirer-refused"
provider = "demo-acquirer"
url = "http://127.0.0.1:{refused_port}/v1/charges"

[[targets]]
name = "acquirer-retired-api"
provider = "demo-acquirer"
url = "http://127.0.0.1:{old_api}/v1/refunds/re_demo"

[[targets]]
name = "wallet-bad-request"
provider = "demo-wallet"
url = "http://127.0.0.1:{bad_request}/v3/pay/transactions/jsapi"

[[targets]]
name = "bank-stalled-tls"
provider = "demo-bank"
url = "https://127.0.0.1:{stalled}/api/v2/balance"

[[controls]]
name = "control-loopback"
url = "tcp://127.0.0.1:{healthy}"
"#,
        state = dir.join("state").display(),
        healthy = healthy.port(),
        slow = slow.port(),
        down = down.port(),
        untrusted = untrusted.port(),
        old_api = old_api.port(),
        bad_request = bad_request.port(),
    );
    let config_path = dir.join("payprobe-demo.toml");
    std::fs::write(&config_path, config)?;
    Ok(Demo {
        config_path,
        dir,
        _gateways: vec![healthy, slow, down, untrusted, old_api, bad_request],
        _stalled: stalled_task,
        _refused: refused_hold,
    })
}
