//! The independent gateway of the signed-probe tests (tests/it/signed_gateway.py, Python and
//! Debian's python3-cryptography) as a process the tests start, and the helpers to probe it.

use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::time::Duration;

use payprobe::checked::Checked;
use payprobe::classify::rules::{judge_round, RoundVerdict};
use payprobe::config;
use payprobe::sign::SignEvidence;
use serde_json::Value;

/// One Python gateway and the directory of keys it wrote.
pub struct Gw {
    child: Child,
    pub dir: tempfile::TempDir,
    pub port: u16,
    pub expected: Value,
}

impl Drop for Gw {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn python() -> &'static str {
    if Path::new("/usr/bin/python3").exists() {
        "/usr/bin/python3"
    } else {
        "python3"
    }
}

impl Gw {
    pub fn start() -> Gw {
        let dir = tempfile::tempdir().unwrap();
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/it/signed_gateway.py");
        let child = Command::new(python())
            .arg(&script)
            .arg(dir.path())
            .stderr(std::fs::File::create(dir.path().join("gateway.log")).unwrap())
            .spawn()
            .expect("python3 (tests/run.sh installs python3-cryptography)");
        let mut gw = Gw {
            child,
            dir,
            port: 0,
            expected: Value::Null,
        };
        let end = std::time::Instant::now() + Duration::from_secs(60);
        while gw.port == 0 {
            if let Ok(p) = std::fs::read_to_string(gw.path("port")) {
                gw.port = p.trim().parse().unwrap();
            } else if let Ok(Some(st)) = gw.child.try_wait() {
                let log = std::fs::read_to_string(gw.path("gateway.log")).unwrap_or_default();
                panic!("signed_gateway.py exited ({st}); python3-cryptography missing?\n{log}");
            } else {
                assert!(std::time::Instant::now() < end, "the gateway did not start");
                std::thread::sleep(Duration::from_millis(50));
            }
        }
        gw.expected =
            serde_json::from_str(&std::fs::read_to_string(gw.path("expected.json")).unwrap())
                .unwrap();
        gw
    }

    pub fn path(&self, f: &str) -> PathBuf {
        self.dir.path().join(f)
    }

    pub fn mode(&self, m: Value) {
        std::fs::write(self.path("mode"), m.to_string()).unwrap();
    }

    /// What the gateway saw of each request, in order.
    pub fn requests(&self) -> Vec<Value> {
        std::fs::read_to_string(self.path("requests.jsonl"))
            .unwrap_or_default()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }

    pub fn exp(&self, k: &str) -> String {
        self.expected[k].as_str().unwrap().to_string()
    }

    /// An Alipay target with `sign` keys (file names relative to the key directory).
    pub fn alipay(&self, sign: &str) -> String {
        format!(
            "name = \"ali\"\nprofile = \"alipay\"\nurl = \"http://127.0.0.1:{}/gateway.do\"\nchecks = [\"http\"]\n[targets.sign]\nkind = \"alipay\"\napp_id = \"2021000000000001\"\n{sign}\n",
            self.port
        )
    }

    pub fn wechat(&self, sign: &str) -> String {
        format!(
            "name = \"wx\"\nprofile = \"wechatpay_v3\"\nurl = \"http://127.0.0.1:{}/v3/pay/transactions/out-trade-no/payprobe-nonexistent-order?mchid=1\"\nchecks = [\"http\"]\n[targets.sign]\nkind = \"wechatpay_v3\"\nmchid = \"{}\"\nserial_no = \"{}\"\nprivate_key_file = \"merchant_pkcs8.pem\"\n{sign}\n",
            self.port,
            self.exp("mchid"),
            self.exp("serial_no")
        )
    }

    pub fn plan(&self, target: &str) -> config::Plan {
        let src = format!("[[targets]]\n{target}");
        config::parse(Path::new("test.toml"), &src, self.dir.path())
            .unwrap_or_else(|e| panic!("config refused:\n{e}\n---\n{src}"))
    }
}

/// One round of the plan's first target, and its verdict.
pub async fn round(plan: &config::Plan) -> (Checked, RoundVerdict) {
    let t = &plan.targets[0];
    let deadline = tokio::time::Instant::now() + t.timeout;
    let ev = crate::support::judged_round(t, deadline).await;
    let v = judge_round(t, &ev);
    (ev.into_iter().next().unwrap(), v)
}

pub fn sig(e: &Checked) -> SignEvidence {
    e.observed
        .http
        .as_ref()
        .and_then(|h| h.signature.clone())
        .expect("signature evidence")
}
