//! The demo's config file, written at start: one target per simulated endpoint, signed
//! probes for the Alipay and WeChat Pay gateways (`[targets.sign]`, keys in the demo's
//! directory), a ping and an API-version check on the acquirer, and an alert sink that is
//! the demo's own receiver.

use std::fmt::Write;

use super::gateway::Gateway;
use super::signing;
use super::story::{Kind, Sim};

/// Short intervals so that each act shows within seconds: two failed rounds (1 s apart)
/// make a target unhealthy, two good ones healthy again.
pub(super) fn text(
    listen: &str,
    dir: &std::path::Path,
    gateways: &[(&'static Sim, Gateway)],
) -> String {
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
            Kind::Acquirer => write!(
                c,
                "\n[[targets]]\nname = \"{name}\"\nprovider = \"{provider}\"\n\
url = \"https://127.0.0.1:{port}{path}\"\nchecks = [\"tcp\", \"tls\", \"http\", \"ping\", \"api_version\"]\n\
ca_file = \"demo-ca.pem\"\n\n{ACQUIRER}"
            ),
            _ => {
                let profile = match sim.kind {
                    Kind::Wechatpay => "wechatpay_v3",
                    Kind::Stripe => "stripe",
                    _ => "alipay",
                };
                write!(
                    c,
                    "\n[[targets]]\nname = \"{name}\"\nprovider = \"{provider}\"\nprofile = \"{profile}\"\n\
url = \"https://127.0.0.1:{port}{path}\"\nchecks = [\"tcp\", \"tls\", \"http\"]\nca_file = \"demo-ca.pem\"\n{}",
                    sign(sim.kind)
                )
            }
        };
    }
    c
}

/// The acquirer's checks: a short ping burst (ICMP where this process may, else TCP connects
/// to the port: see src/probe/ping.rs) and its API version with its retirement dates.
const ACQUIRER: &str = r#"[targets.ping]
count = 3
spacing = "100ms"
packet_timeout = "300ms"

[targets.api_version]
header = "X-Api-Version"
require = ">=3.0, <4"
required_fields = { "/status" = "string" }
"#;

/// The `[targets.sign]` table of a credentialed endpoint: Alipay in public-key mode, WeChat
/// Pay in platform-certificate mode, Stripe with a restricted key and a pinned version.
fn sign(kind: Kind) -> String {
    match kind {
        Kind::Alipay | Kind::AlipayRefund => {
            let method = if kind == Kind::AlipayRefund {
                "method = \"alipay.trade.fastpay.refund.query\"\n"
            } else {
                ""
            };
            format!(
                "\n[targets.sign]\nkind = \"alipay\"\napp_id = \"{}\"\n{method}private_key_file = \"{}\"\nalipay_public_key_file = \"{}\"\n",
                signing::APP_ID,
                signing::ALIPAY_APP_KEY_FILE,
                signing::ALIPAY_PUBLIC_KEY_FILE
            )
        }
        Kind::Stripe => format!(
            "\n[targets.sign]\nkind = \"stripe\"\napi_key_file = \"{}\"\nstripe_version = \"{}\"\n",
            signing::STRIPE_KEY_FILE,
            signing::STRIPE_VERSION
        ),
        Kind::Wechatpay => format!(
            "\n[targets.sign]\nkind = \"wechatpay_v3\"\nmchid = \"{}\"\nserial_no = \"{}\"\nprivate_key_file = \"{}\"\napiv3_key_file = \"{}\"\n",
            signing::MCHID,
            signing::MERCHANT_SERIAL,
            signing::WECHAT_KEY_FILE,
            signing::APIV3_KEY_FILE
        ),
        _ => String::new(),
    }
}

/// The demo's alerts go to its own receiver (`group_wait` is the default: what the fastest
/// target needs to turn unhealthy). `payprobe demo --webhook URL` appends a second
/// `[[alerts.sinks]]`.
pub(super) fn alerts(c: &mut String, url: &str) {
    let _ = write!(
        c,
        "\n[alerts]\n\n[[alerts.sinks]]\nname = \"demo-receiver\"\nkind = \"webhook\"\nurl = \"{url}\"\n"
    );
}
