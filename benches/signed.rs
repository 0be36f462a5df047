//! What a signed probe costs (issue 19, point 7).
//!
//! `cargo bench --bench signed -- [probes]` (default 300), release build, loopback only. The
//! process's CPU time (getrusage) per probe, probes one after another, for:
//! - an unsigned HTTPS `http` probe of a loopback gateway (the gateway runs in this process
//!   too, so both sides' TLS is counted; it is the same in every row);
//! - the same probe signed as WeChat Pay v3 (public-key mode), its answer's signature
//!   verified (the gateway sends a precomputed valid one);
//! - one RSA-2048 SHA256withRSA signature (ring) and one verification, alone;
//! - `openssl speed -seconds 2 rsa2048`'s sign rate on the same machine, for reference.
//!
//! The two probes alternate, so load drift on a shared machine falls on both alike. The
//! signature is the floor; the signed probe minus the unsigned one minus a signature and
//! a verification is what payprobe adds around them. Never asserted: these machines are noisy.

use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use payprobe::config::Target;
use payprobe::demo::gateway::{Behavior, Gateway};
use payprobe::demo::pki::{Ca, Validity};
use payprobe::probe::Probers;

const PUB_KEY_ID: &str = "PUB_KEY_ID_0100000000000000000000000000000000";
const BODY: &str = r#"{"code":"ORDER_NOT_EXIST","message":"order does not exist"}"#;

/// User plus system CPU of this process, in microseconds.
fn cpu_us() -> f64 {
    // SAFETY: getrusage writes into the struct it is given.
    let mut r: libc::rusage = unsafe { std::mem::zeroed() };
    unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut r) };
    let t = |v: libc::timeval| v.tv_sec as f64 * 1e6 + v.tv_usec as f64;
    t(r.ru_utime) + t(r.ru_stime)
}

fn openssl(dir: &std::path::Path, args: &[&str]) -> Vec<u8> {
    let out = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("openssl");
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

fn target(dir: &std::path::Path, toml: &str) -> Arc<Target> {
    let src = format!("[[targets]]\nname = \"t\"\ninterval = \"10s\"\ntimeout = \"5s\"\nprofile = \"wechatpay_v3\"\nchecks = [\"http\"]\nca_file = \"ca.pem\"\n{toml}\n");
    let plan = payprobe::config::parse(&dir.join("t.toml"), &src, dir)
        .unwrap_or_else(|e| panic!("{e}\n{src}"));
    plan.targets[0].clone()
}

/// CPU per probe of `a` and of `b`, probed alternately so that drift in the machine's load
/// (it is shared) falls on both alike.
async fn per_probe(probers: &Probers, a: &Target, b: &Target, n: usize) -> (f64, f64) {
    let mut spent = [0.0f64; 2];
    for i in 0..=n {
        for (k, t) in [a, b].into_iter().enumerate() {
            let before = cpu_us();
            let ev = probers
                .round(t, tokio::time::Instant::now() + t.timeout)
                .await;
            assert!(
                ev.iter().all(|e| e.failure.is_none()),
                "{:?}",
                ev[0].failure
            );
            // The first round of each warms up (connection config, key caches).
            if i > 0 {
                spent[k] += cpu_us() - before;
            }
        }
    }
    (spent[0] / n as f64, spent[1] / n as f64)
}

fn main() {
    let n: usize = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .find_map(|a| a.parse().ok())
        .unwrap_or(300);
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    openssl(
        d,
        &[
            "genpkey",
            "-algorithm",
            "RSA",
            "-pkeyopt",
            "rsa_keygen_bits:2048",
            "-out",
            "merchant.pem",
        ],
    );
    openssl(
        d,
        &[
            "genpkey",
            "-algorithm",
            "RSA",
            "-pkeyopt",
            "rsa_keygen_bits:2048",
            "-out",
            "platform.pem",
        ],
    );
    openssl(
        d,
        &[
            "pkey",
            "-in",
            "platform.pem",
            "-pubout",
            "-out",
            "platform_pub.pem",
        ],
    );
    let (ts, nonce) = ("1733400000", "0123456789abcdef0123456789abcdef");
    std::fs::write(d.join("answer.txt"), format!("{ts}\n{nonce}\n{BODY}\n")).unwrap();
    let sig = openssl(
        d,
        &["dgst", "-sha256", "-sign", "platform.pem", "answer.txt"],
    );
    let sig = base64::Engine::encode(&base64::engine::general_purpose::STANDARD, sig);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let ca = Ca::new("signed bench CA").unwrap();
        std::fs::write(d.join("ca.pem"), ca.pem()).unwrap();
        let answer = Behavior::ok(BODY)
            .status(404)
            .header("Wechatpay-Serial", PUB_KEY_ID)
            .header("Wechatpay-Timestamp", ts)
            .header("Wechatpay-Nonce", nonce)
            .header("Wechatpay-Signature", &sig);
        let gw = Gateway::https(answer, ca.leaf(&["127.0.0.1"], Validity::Current).unwrap()).await.unwrap();
        let url = format!("url = \"https://127.0.0.1:{}/v3/pay/transactions/out-trade-no/x?mchid=1\"", gw.port());
        let plain = target(d, &url);
        let signed = target(d, &format!("{url}\n[targets.sign]\nkind = \"wechatpay_v3\"\nmchid = \"1\"\nserial_no = \"01\"\nprivate_key_file = \"merchant.pem\"\nwechatpay_public_key_file = \"platform_pub.pem\"\nwechatpay_public_key_id = \"{PUB_KEY_ID}\""));
        let probers = Probers::system();
        println!("payprobe signed-probe benchmark ({n} probes each, release build, loopback)");
        let (a, b) = per_probe(&probers, &plain, &signed, n).await;
        println!("  {:<52} {a:>8.1} us CPU per probe", "unsigned HTTPS probe");
        println!("  {:<52} {b:>8.1} us CPU per probe", "signed WeChat Pay v3 probe, answer verified");
        let key = payprobe::sign::keys::PrivateKey::parse(&std::fs::read(d.join("merchant.pem")).unwrap()).unwrap();
        let public = payprobe::sign::keys::PublicKey::parse(&std::fs::read(d.join("platform_pub.pem")).unwrap()).unwrap();
        let msg = std::fs::read(d.join("answer.txt")).unwrap();
        let before = cpu_us();
        for _ in 0..n {
            key.sign(&msg).unwrap();
        }
        let s = (cpu_us() - before) / n as f64;
        let raw = base64::Engine::decode(&base64::engine::general_purpose::STANDARD, &sig).unwrap();
        let before = cpu_us();
        for _ in 0..n {
            assert!(public.verify(&msg, &raw));
        }
        let v = (cpu_us() - before) / n as f64;
        println!("  {:<52} {s:>8.1} us CPU", "one RSA-2048 signature (ring)");
        println!("  {:<52} {v:>8.1} us CPU", "one RSA-2048 verification (ring)");
        println!("  {:<52} {:>8.1} us CPU per probe", "signed minus unsigned", b - a);
        println!("  {:<52} {:>8.1} us CPU per probe", "... minus one signature and one verification", b - a - s - v);
    });
    drop(rt);
    std::thread::sleep(Duration::from_millis(10));
    let speed = Command::new("openssl")
        .args(["speed", "-seconds", "2", "rsa2048"])
        .output();
    if let Ok(o) = speed {
        let text = String::from_utf8_lossy(&o.stdout);
        if let Some(line) = text
            .lines()
            .find(|l| l.starts_with("rsa 2048") || l.contains("rsa  2048"))
        {
            println!(
                "  openssl speed rsa2048: {}",
                line.split_whitespace().collect::<Vec<_>>().join(" ")
            );
        }
    }
}
