//! Secrets stay secret (issue 15, item 7): one test collects everything payprobe prints or
//! serves — debug-level logs, `/metrics`, the JSON API, the status page, `/probe`,
//! `probe-once` in both formats, config errors and the alert notifications a webhook sink
//! delivers — and asserts that no value from `headers_from_env` or `headers_from_file`, and
//! no part of a sink's secret URL or signing key, appears in any of it. Signed probes
//! (issue 19) add the merchant private keys, the WeChat Pay APIv3 key, the request
//! signatures payprobe made and a Stripe bearer key to what must never show.

use std::time::Duration;

use payprobe::demo::gateway::{Behavior, Gateway};

use crate::support::{get, wait_for, Proc};

const ENV_SECRET: &str = "sk_live_ENVSECRET_4f9a2c7e";
const FILE_SECRET: &str = "Bearer FILESECRET_91b3d0aa";
/// A robot-style webhook URL whose path and query carry tokens, and its signing key (the
/// receiver in tests/it/alerts.rs verifies signatures with this key).
const HOOK_PATH_SECRET: &str = "HOOKPATH_2b7d10e4";
const HOOK_QUERY_SECRET: &str = "HOOKTOKEN_c0ffee51";
const HOOK_KEY: &str = "test-hook-secret";

/// What the webhook sink delivered: every body and every header, as the receiver got them.
fn alert_bodies(rx: &crate::alerts::Receiver) -> Vec<(String, String)> {
    rx.got()
        .iter()
        .map(|g| {
            let headers: String = g
                .headers
                .iter()
                .map(|(k, v)| format!("{k}: {v}\n"))
                .collect();
            (
                format!("alert notification to {}", rx.addr),
                format!("{headers}{}", g.body),
            )
        })
        .collect()
}

fn run(args: &[&str], dir: &std::path::Path, env: &[(&str, &str)]) -> String {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_payprobe"))
        .args(args)
        .current_dir(dir)
        .env("RUST_LOG", "debug")
        .envs(env.iter().copied())
        .output()
        .unwrap();
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_secret_header_value_appears_in_anything_payprobe_prints_or_serves() {
    // One gateway refuses the key (401, echoing nothing), one fails (500), one is fine.
    let refused = Gateway::http(Behavior::ok("{\"error\":\"invalid api key\"}").status(401))
        .await
        .unwrap();
    let failing = Gateway::http(Behavior::ok("oops").status(500))
        .await
        .unwrap();
    let fine = Gateway::http(Behavior::ok("{\"ok\":true}")).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("auth.secret"), format!("{FILE_SECRET}\n")).unwrap();
    let target = |name: &str, port: u16| {
        format!("[[targets]]\nname = \"{name}\"\nurl = \"http://127.0.0.1:{port}/v1/charge?x=1\"\nchecks = [\"http\", \"api_version\"]\n[targets.api_version]\nheader = \"X-Api-Version\"\n[targets.http]\nheaders_from_env = {{ X-Api-Key = \"PP_TEST_KEY\" }}\nheaders_from_file = {{ Authorization = \"auth.secret\" }}\n")
    };
    let rx = crate::alerts::Receiver::up().await;
    let hook_url = format!(
        "http://{}/hooks/{HOOK_PATH_SECRET}/send?access_token={HOOK_QUERY_SECRET}",
        rx.addr
    );
    // Signed targets against the independent gateway: WeChat Pay answers signed by a key
    // nobody configured (so it fails and pages), Alipay and Stripe fine.
    let gw = crate::signed_gw::Gw::start();
    gw.mode(serde_json::json!({"answer": "wrong_key", "wechat_key": "platform"}));
    let k = |f: &str| gw.path(f).display().to_string();
    let ali = gw.alipay(&format!(
        "private_key_file = \"{}\"\nalipay_public_key_file = \"{}\"",
        k("merchant.b64"),
        k("alipay_public.pem")
    ));
    let wx = gw
        .wechat(&format!("apiv3_key_file = \"{}\"", k("apiv3.key")))
        .replace(
            "\"merchant_pkcs8.pem\"",
            &format!("{:?}", k("merchant_pkcs1.pem")),
        );
    let signed = format!(
        "[[targets]]\n{ali}[[targets]]\n{wx}[[targets]]\nname = \"st\"\nprofile = \"stripe\"\nurl = \"http://127.0.0.1:{}/v1/charges/ch_x\"\nchecks = [\"http\"]\n[targets.sign]\nkind = \"stripe\"\napi_key_env = \"PP_STRIPE_KEY\"\n",
        gw.port
    );
    let stripe_key = std::fs::read_to_string(gw.path("stripe.key"))
        .unwrap()
        .trim()
        .to_string();
    let cfg = dir.path().join("p.toml");
    std::fs::write(
        &cfg,
        format!(
            "[server]\nstate_dir = \"state\"\n[alerts]\ngroup_wait = \"1s\"\n[[alerts.sinks]]\nname = \"hook\"\nkind = \"webhook\"\nurl_env = \"PP_HOOK_URL\"\nsecret_env = \"PP_HOOK_KEY\"\n\
             [defaults]\ninterval = \"1s\"\ntimeout = \"800ms\"\nfailure_threshold = 1\n{}{}{}{signed}",
            target("refused", refused.port()),
            target("failing", failing.port()),
            target("fine", fine.port())
        ),
    )
    .unwrap();
    let cfg_s = cfg.to_str().unwrap();
    let env = [
        ("PP_TEST_KEY", ENV_SECRET),
        ("PP_HOOK_URL", hook_url.as_str()),
        ("PP_HOOK_KEY", HOOK_KEY),
        ("PP_STRIPE_KEY", stripe_key.as_str()),
    ];
    let mut seen: Vec<(String, String)> = Vec::new();

    let d = Proc::spawn_with(
        &["run", "--config", cfg_s],
        dir.path(),
        None,
        &[env[0], env[1], env[2], env[3], ("RUST_LOG", "debug")],
    );
    d.wait_ready().await;
    // The secrets are really in play: the gateway received both.
    let req = wait_for(10, "a probe at the gateway", || async {
        refused.last_request()
    })
    .await;
    let sent: String = req
        .headers
        .iter()
        .map(|(k, v)| format!("{k}: {v}\n"))
        .collect();
    assert!(
        sent.contains(ENV_SECRET) && sent.contains(FILE_SECRET),
        "{sent}"
    );
    tokio::time::sleep(Duration::from_millis(1500)).await;
    // The failing targets page through the sink, signed with the key: the sink is in play.
    let delivered = wait_for(20, "an alert at the webhook", || async {
        rx.got().into_iter().find(|g| g.signed)
    })
    .await;
    assert!(
        delivered.path.contains(HOOK_QUERY_SECRET),
        "{}",
        delivered.path
    );

    for path in [
        "/metrics",
        "/api/v1/targets",
        "/api/v1/targets/refused",
        "/api/v1/targets/failing?lang=zh-CN",
        "/",
        "/probe?target=refused",
        "/probe?target=failing&module=http",
        "/readyz",
    ] {
        let (status, body) = get(d.addr, path).await.unwrap();
        seen.push((format!("GET {path} ({status})"), body));
    }
    // A malformed request makes the listener log at debug level (so the filter is proven).
    {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let mut s = tokio::net::TcpStream::connect(d.addr).await.unwrap();
        s.write_all(b"NOT HTTP\r\n\r\n").await.unwrap();
        let mut buf = Vec::new();
        let _ = tokio::time::timeout(Duration::from_secs(5), s.read_to_end(&mut buf)).await;
    }
    d.signal("HUP");
    tokio::time::sleep(Duration::from_millis(500)).await;
    drop(d);
    let log = std::fs::read_to_string(dir.path().join("payprobe.log")).unwrap();
    assert!(log.contains("DEBUG"), "debug logs collected:\n{log}");
    seen.push(("daemon log (debug)".into(), log));

    seen.push((
        "probe-once".into(),
        run(&["probe-once", cfg_s], dir.path(), &env),
    ));
    seen.push((
        "probe-once --json".into(),
        run(&["probe-once", cfg_s, "--json"], dir.path(), &env),
    ));
    seen.push((
        "check-config".into(),
        run(&["check-config", cfg_s], dir.path(), &env),
    ));
    // A config error about the secret itself names the source, never the value: a value
    // with a line break in the middle is not a valid header value.
    std::fs::write(
        dir.path().join("auth.secret"),
        format!("{FILE_SECRET}\nsecond line\n"),
    )
    .unwrap();
    let bad = run(
        &["check-config", cfg_s],
        dir.path(),
        &[
            ("PP_TEST_KEY", "sk_live_ENVSECRET_4f9a2c7e\u{7f}"),
            env[1],
            env[2],
            env[3],
        ],
    );
    assert!(
        bad.contains("auth.secret"),
        "the error names the file: {bad}"
    );
    seen.push(("check-config (bad secret)".into(), bad));
    seen.extend(alert_bodies(&rx));

    let signed_secrets = signing_secrets(&gw, &stripe_key);
    for (what, text) in &seen {
        let all = [
            ENV_SECRET,
            FILE_SECRET,
            "FILESECRET_91b3d0aa",
            HOOK_PATH_SECRET,
            HOOK_QUERY_SECRET,
            HOOK_KEY,
        ];
        for secret in all
            .iter()
            .copied()
            .chain(signed_secrets.iter().map(String::as_str))
        {
            assert!(
                !text.contains(secret),
                "{what} shows the secret {secret:?}:\n{text}"
            );
        }
    }
}

/// What signed probes must never show: pieces of the merchant private key in each form it
/// was given (PEM lines, the bare base64), the APIv3 key, the Stripe key, and every request
/// signature the gateway received from payprobe (proving the probes ran signed).
fn signing_secrets(gw: &crate::signed_gw::Gw, stripe_key: &str) -> Vec<String> {
    let mut out = vec![stripe_key.to_string()];
    out.push(
        std::fs::read_to_string(gw.path("apiv3.key"))
            .unwrap()
            .trim()
            .to_string(),
    );
    for f in ["merchant_pkcs1.pem", "merchant.b64"] {
        let text = std::fs::read_to_string(gw.path(f)).unwrap();
        let body: String = text.lines().filter(|l| !l.starts_with("-----")).collect();
        // Three 40-character pieces from inside the key (past the common ASN.1 header).
        for at in [200, 600, 1000] {
            out.push(body[at..at + 40].to_string());
        }
    }
    let reqs = gw.requests();
    let sigs: Vec<String> = reqs
        .iter()
        .filter_map(|r| {
            r["sig"]
                .as_str()
                .filter(|s| s.len() > 40)
                .map(str::to_string)
        })
        .collect();
    let providers: Vec<&str> = reqs.iter().filter_map(|r| r["provider"].as_str()).collect();
    for p in ["alipay", "wechatpay", "stripe"] {
        assert!(
            providers.contains(&p),
            "the {p} probe reached the gateway: {reqs:?}"
        );
    }
    assert!(sigs.len() >= 2, "signed requests were made: {reqs:?}");
    out.extend(sigs);
    out
}
