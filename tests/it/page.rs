//! The status page in a real browser: Debian's `chromium`, headless, against the demo as a
//! new user runs it. The rendered DOM is checked act by act (every target, every cause,
//! scope and symptom, the local banner and open incidents during the local act, the
//! recovery with every incident resolved), no console error occurs, and screenshots are taken — into `docs/` when `PAYPROBE_SCREENSHOTS=1`,
//! which is how the README's screenshots are made:
//!
//! ```sh
//! PAYPROBE_SCREENSHOTS=1 cargo test --test it status_page_in_chromium -- --nocapture
//! ```

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use payprobe::demo::story::CAST;

use crate::support::{get, Proc};

/// Runs headless chromium with a fresh profile; returns (stdout, stderr). Killed after 90 s.
fn chromium(args: &[String]) -> (String, String) {
    let profile = tempfile::tempdir().unwrap();
    let out_dir = tempfile::tempdir().unwrap();
    let (o, e) = (out_dir.path().join("out"), out_dir.path().join("err"));
    let mut child = Command::new("chromium")
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--enable-logging=stderr",
            "--v=0",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .args(args)
        .stdout(std::fs::File::create(&o).unwrap())
        .stderr(std::fs::File::create(&e).unwrap())
        .stdin(Stdio::null())
        .spawn()
        .expect("chromium is installed (tests/run.sh installs it)");
    let end = Instant::now() + Duration::from_secs(90);
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > end {
            let _ = child.kill();
            let _ = child.wait();
            panic!("chromium {args:?} did not finish in 90 s");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    (
        std::fs::read_to_string(o).unwrap_or_default(),
        std::fs::read_to_string(e).unwrap_or_default(),
    )
}

/// Console messages chromium logged for the page (`CONSOLE(line)] "..."`).
fn console_errors(stderr: &str) -> Vec<&str> {
    stderr
        .lines()
        .filter(|l| l.contains(":CONSOLE") || l.contains("Uncaught"))
        .collect()
}

async fn dom(url: String) -> String {
    let (dom, err) = tokio::task::spawn_blocking(move || chromium(&["--dump-dom".into(), url]))
        .await
        .unwrap();
    let errors = console_errors(&err);
    assert!(errors.is_empty(), "console errors: {errors:#?}");
    assert!(dom.contains("</html>"), "a rendered DOM: {err}");
    dom
}

async fn screenshot(url: String, file: PathBuf, width: u32, height: u32) {
    let args = vec![
        format!("--screenshot={}", file.display()),
        format!("--window-size={width},{height}"),
        "--hide-scrollbars".into(),
        url,
    ];
    let (_, err) = tokio::task::spawn_blocking(move || chromium(&args))
        .await
        .unwrap();
    let png = std::fs::read(&file).unwrap_or_default();
    assert!(
        png.starts_with(b"\x89PNG") && png.len() > 20_000,
        "a screenshot in {}: {err}",
        file.display()
    );
}

/// `attr="value"` for every element carrying `attr`.
fn values(html: &str, attr: &str) -> BTreeSet<String> {
    let pat = format!("{attr}=\"");
    html.split(&pat)
        .skip(1)
        .filter_map(|s| s.split('"').next())
        .map(String::from)
        .collect()
}

/// The rendered row of one target (from its `<tr` to its `</tr>`).
fn row<'a>(dom: &'a str, target: &str) -> &'a str {
    let start = dom
        .find(&format!("data-target=\"{target}\""))
        .unwrap_or_else(|| panic!("no row for {target}"));
    let end = dom[start..].find("</tr>").map_or(dom.len(), |e| start + e);
    &dom[start..end]
}

/// (name, healthy, cause, scope) of every target, from the JSON API.
async fn states(p: &Proc) -> Vec<(String, bool, String, String)> {
    let (_, body) = get(p.addr, "/api/v1/targets").await.unwrap();
    let v: serde_json::Value = serde_json::from_str(&body).unwrap_or_default();
    let list = v.as_array().cloned().unwrap_or_default();
    list.iter()
        .map(|t| {
            let d = &t["diagnosis"];
            (
                t["name"].as_str().unwrap_or("").to_string(),
                d["healthy"].as_bool().unwrap_or(false),
                d["cause"].as_str().unwrap_or("").to_string(),
                d["scope"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_page_in_chromium() {
    // The console check itself can fail: a page with a script error is caught.
    let (_, err) = tokio::task::spawn_blocking(|| {
        chromium(&[
            "--dump-dom".into(),
            "data:text/html,<script>notDefined()</script>".into(),
        ])
    })
    .await
    .unwrap();
    assert!(
        !console_errors(&err).is_empty(),
        "console errors are seen: {err}"
    );

    let dir = tempfile::tempdir().unwrap();
    let shots = if std::env::var_os("PAYPROBE_SCREENSHOTS").is_some() {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("docs")
    } else {
        dir.path().to_path_buf()
    };
    let p = Proc::spawn(&["demo", "--duration", "200s"], dir.path());
    p.wait_ready().await;
    let base = format!("http://{}/", p.addr);
    let (mut causes, mut scopes, mut symptoms) =
        (BTreeSet::new(), BTreeSet::new(), BTreeSet::new());
    let (mut provider_shot, mut local_seen, mut recovered) = (false, false, false);
    let end = Instant::now() + Duration::from_secs(180);
    while !recovered {
        assert!(
            Instant::now() < end,
            "one cycle of the story within 180 s: causes {causes:?}, scopes {scopes:?}, symptoms {symptoms:?}, local {local_seen}"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
        // Every cause, scope and symptom as the page shows it, sampled all along.
        let (_, html) = get(p.addr, "/").await.unwrap();
        causes.extend(values(&html, "data-cause"));
        scopes.extend(values(&html, "data-scope"));
        symptoms.extend(values(&html, "data-symptom"));
        let st = states(&p).await;
        if st.len() < CAST.len() {
            continue;
        }
        let wechat_down = st
            .iter()
            .filter(|s| s.0.starts_with("wechatpay-") && s.3 == "provider")
            .count()
            == 2;
        if wechat_down && !provider_shot {
            provider_shot = true;
            screenshot(base.clone(), shots.join("status-en.png"), 1280, 1900).await;
        }
        let all_local = st
            .iter()
            .all(|s| !s.1 && s.2 == "network" && s.3 == "local");
        if all_local && !local_seen {
            local_seen = true;
            let zh = format!("{base}?lang=zh-CN");
            let (en_dom, zh_dom, ()) = tokio::join!(
                dom(base.clone()),
                dom(zh.clone()),
                screenshot(zh, shots.join("status-zh.png"), 1280, 1900),
            );
            assert!(
                en_dom.contains("The problem is on this side: check your network."),
                "{en_dom}"
            );
            assert!(zh_dom.contains("问题在本端：请检查本机网络。"), "{zh_dom}");
            assert!(zh_dom.contains("lang=\"zh-CN\""));
            let open = en_dom.split("id=\"incidents\"").nth(1).unwrap_or_default();
            let open = open.split("Recently resolved").next().unwrap_or_default();
            for sim in CAST {
                assert!(
                    open.contains(&format!("data-incident=\"{}@", sim.name)),
                    "an open incident for {}: {open}",
                    sim.name
                );
                let r = row(&en_dom, sim.name);
                assert!(
                    r.contains("data-cause=\"network\"") && r.contains(">network<"),
                    "{r}"
                );
                assert!(r.contains("data-scope=\"local\""), "{r}");
                let r = row(&zh_dom, sim.name);
                assert!(r.contains(">网络<") && r.contains(">本端<"), "{r}");
            }
        }
        if local_seen && st.iter().all(|s| s.1) {
            recovered = true;
            let (en_dom, ()) = tokio::join!(
                dom(base.clone()),
                screenshot(base.clone(), dir.path().join("phone.png"), 390, 1400),
            );
            assert!(en_dom.contains("Every target is healthy."), "{en_dom}");
            assert!(
                en_dom.contains("No open incident."),
                "every incident resolves: {en_dom}"
            );
            let resolved = en_dom.split("Recently resolved").nth(1).unwrap_or_default();
            assert!(
                resolved.contains("class=\"inc resolved\""),
                "with durations: {en_dom}"
            );
            for sim in CAST {
                assert!(
                    row(&en_dom, sim.name).contains("<svg"),
                    "history of {}",
                    sim.name
                );
                assert!(
                    row(&en_dom, sim.name).contains("r-fail"),
                    "{}'s failures are marked",
                    sim.name
                );
            }
        }
    }
    assert!(provider_shot, "the provider act was seen");
    let want = |all: &[&str]| all.iter().map(|s| s.to_string()).collect::<BTreeSet<_>>();
    assert_eq!(
        causes,
        want(&[
            "api_version",
            "network",
            "none",
            "security",
            "server",
            "unknown",
            "user_input"
        ])
    );
    assert_eq!(scopes, want(&["endpoint", "local", "none", "provider"]));
    assert_eq!(
        symptoms,
        want(&[
            "auth_failure",
            "balance_anomaly",
            "network_interruption",
            "payment_delay",
            "transaction_failure"
        ])
    );
}
