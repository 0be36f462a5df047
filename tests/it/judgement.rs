//! Diagnosis that generalises (issue 12), shown with real loopback servers: every registered
//! HTTP status, peers that answer in another protocol, JSON-RPC error shapes, the reason in
//! Chinese, the failure kind and Retry-After in /metrics, and scope that settles at once.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use payprobe::app::Daemon;
use payprobe::classify::status::{INTERIM, REGISTERED};
use payprobe::demo::gateway::{Behavior, Gateway};
use payprobe::demo::pki::{Ca, Validity};
use payprobe::probe::Probers;

use crate::support::{get, metric, raw_server, wait_for};

mod answers;

async fn start(dir: &Path, defaults: &str, targets: &str) -> Daemon {
    let src = format!(
        "[server]\nlisten = \"127.0.0.1:0\"\nstate_dir = \"state\"\n[defaults]\ntimeout = \"2s\"\nfailure_threshold = 1\nsuccess_threshold = 1\n{defaults}\n\n{targets}"
    );
    let plan = payprobe::config::parse(&dir.join("p.toml"), &src, dir)
        .unwrap_or_else(|e| panic!("{e}\n{src}"));
    Daemon::start(plan, None, Arc::new(Probers::system()))
        .await
        .unwrap()
}

async fn api(d: &Daemon, path: &str) -> serde_json::Value {
    let (_, body) = get(d.addr, path).await.unwrap();
    serde_json::from_str(&body).unwrap_or_default()
}

/// Waits (bounded) until every `(target, rule)` holds in the API, then returns what is wrong.
async fn wait_rules(d: &Daemon, want: &[(String, &str, &str)]) -> Vec<String> {
    let addr = d.addr;
    wait_for(30, "every target's first round", || async move {
        matches!(get(addr, "/readyz").await, Ok((200, _))).then_some(())
    })
    .await;
    let mut wrong = Vec::new();
    for _ in 0..40 {
        wrong.clear();
        for (name, rule, cause) in want {
            let v = api(d, &format!("/api/v1/targets/{name}")).await;
            let got = (&v["diagnosis"]["rule"], &v["diagnosis"]["cause"]);
            if got.0 != *rule || got.1 != *cause {
                wrong.push(format!(
                    "{name}: got {} / {}, want {rule} / {cause}; evidence {}",
                    got.0, got.1, v["evidence"]
                ));
            }
        }
        if wrong.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    wrong
}

/// A raw HTTP/1.1 server whose answer the path chooses: `/s/{code}` answers that status,
/// `/i/{code}` sends that interim status first and then 200, `/c/{code}` sends only the
/// interim status and hangs up. Raw bytes, so any code at all can be sent.
async fn status_server() -> u16 {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = l.local_addr().unwrap().port();
    tokio::spawn(async move {
        while let Ok((mut s, _)) = l.accept().await {
            tokio::spawn(async move {
                let mut buf = Vec::new();
                let mut chunk = [0u8; 1024];
                while !buf.windows(4).any(|w| w == b"\r\n\r\n") && buf.len() < 8192 {
                    match tokio::time::timeout(Duration::from_secs(2), s.read(&mut chunk)).await {
                        Ok(Ok(n)) if n > 0 => buf.extend_from_slice(&chunk[..n]),
                        _ => return,
                    }
                }
                let line = String::from_utf8_lossy(&buf);
                let path = line.split(' ').nth(1).unwrap_or("/");
                let mut parts = path.rsplit('/');
                let code = parts.next().unwrap_or("500");
                let mode = parts.next().unwrap_or("s");
                let head = |c: &str| {
                    let extra = match c {
                        "101" => "Connection: upgrade\r\nUpgrade: websocket\r\n",
                        c if c.starts_with('3') => "Location: /elsewhere\r\n",
                        _ => "",
                    };
                    format!("HTTP/1.1 {c} Status\r\n{extra}")
                };
                let reply = match mode {
                    "i" => format!(
                        "{}\r\n{}Content-Length: 2\r\nConnection: close\r\n\r\n{{}}",
                        head(code),
                        head("200")
                    ),
                    "c" => format!("{}\r\n", head(code)),
                    _ if code == "101" => format!("{}\r\n", head(code)),
                    _ => format!(
                        "{}Content-Length: 0\r\nConnection: close\r\n\r\n",
                        head(code)
                    ),
                };
                let _ = s.write_all(reply.as_bytes()).await;
                let _ = s.shutdown().await;
            });
        }
    });
    port
}

/// What payprobe must say for each registered status, written out here (not read from the
/// rules table) so a changed row fails this test; docs/status-codes.md gives the reasoning.
fn expected(code: u16) -> (&'static str, &'static str) {
    match code {
        101 => ("status_1xx", "server"),
        200..=299 => ("none", "none"),
        301 | 308 => ("status_3xx_moved", "user_input"),
        304 => ("status_304", "server"),
        305 => ("status_305", "network"),
        306 | 418 => ("status_unused", "unknown"),
        300..=399 => ("status_3xx", "server"),
        400 => ("status_400", "user_input"),
        401 => ("status_401", "security"),
        402 => ("status_402", "user_input"),
        403 => ("status_403", "security"),
        404 => ("status_404", "user_input"),
        405 => ("status_405", "user_input"),
        406 => ("status_406", "api_version"),
        407 => ("status_407", "network"),
        408 => ("status_408", "network"),
        409 => ("status_409", "user_input"),
        410 => ("status_410", "api_version"),
        411..=414 | 416 | 417 | 428 | 431 => ("status_request_rejected", "user_input"),
        415 => ("status_415", "api_version"),
        421 => ("status_421", "server"),
        422 => ("status_422", "user_input"),
        423 => ("status_423", "user_input"),
        424 => ("status_424", "server"),
        425 => ("status_425", "server"),
        426 => ("status_426", "api_version"),
        429 => ("status_429", "security"),
        451 => ("status_451", "network"),
        501 => ("status_501", "api_version"),
        504 => ("status_504", "server"),
        505 => ("status_505", "api_version"),
        510 => ("status_510", "api_version"),
        511 => ("status_511", "network"),
        500..=599 => ("status_5xx", "server"),
        _ => ("?", "?"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_registered_status_code_gets_its_row_from_a_real_server() {
    let dir = tempfile::tempdir().unwrap();
    let port = status_server().await;
    let url = |path: &str| format!("url = \"http://127.0.0.1:{port}{path}\"");
    let mut targets = String::new();
    let mut want = Vec::new();
    let mut add = |name: String, keys: String, rule: &'static str, cause: &'static str| {
        targets.push_str(&format!(
            "[[targets]]\nname = \"{name}\"\nprovider = \"{name}\"\n{keys}\n\n"
        ));
        want.push((name, rule, cause));
    };
    for &(code, _, _) in REGISTERED {
        if INTERIM.contains(&code) {
            // Interim answers are read past: the final response decides, and none is an
            // exchange that never finished.
            add(
                format!("i{code}"),
                url(&format!("/i/{code}")),
                "none",
                "none",
            );
            add(
                format!("c{code}"),
                url(&format!("/c/{code}")),
                "connection_closed",
                "server",
            );
            continue;
        }
        let (rule, cause) = expected(code);
        add(format!("s{code}"), url(&format!("/s/{code}")), rule, cause);
    }
    // Rows that need more than the bare code.
    add(
        "v404".into(),
        url("/v1/s/404"),
        "status_404_versioned",
        "api_version",
    );
    add(
        "v410".into(),
        url("/api/v2/s/410"),
        "status_410_versioned",
        "api_version",
    );
    add(
        "only-200".into(),
        format!("{}\n[targets.http]\nexpect_status = [200]", url("/s/202")),
        "status_2xx_unexpected",
        "server",
    );
    add("s499".into(), url("/s/499"), "status_4xx", "user_input");
    add("s520".into(), url("/s/520"), "status_5xx", "server");
    add("s600".into(), url("/s/600"), "status_invalid", "server");
    let d = start(dir.path(), "interval = \"5s\"", &targets).await;
    let wrong = wait_rules(&d, &want).await;
    assert!(
        wrong.is_empty(),
        "{} wrong:\n{}",
        wrong.len(),
        wrong.join("\n")
    );
    // The failure kind of each check's last probe, one series per target and check.
    let text = get(d.addr, "/metrics").await.unwrap().1;
    let kind = |t: &str, k: &str| {
        metric(
            &text,
            &format!("payprobe_probe_failure_kind{{check=\"http\",kind=\"{k}\",provider=\"{t}\",target=\"{t}\"}}"),
        )
    };
    assert_eq!(kind("s500", "unexpected_status"), Some(1.0));
    assert_eq!(kind("s200", "none"), Some(1.0));
    assert_eq!(kind("c100", "connection_closed"), Some(1.0));
    assert_eq!(
        text.matches("payprobe_probe_failure_kind{").count(),
        want.len(),
        "one series per target and check"
    );
    // The reason, not only the hint, in Chinese.
    let v = api(&d, "/api/v1/targets/s511?lang=zh-CN").await;
    let reason = v["diagnosis"]["reason"].as_str().unwrap_or("");
    assert!(
        reason.contains("强制门户") && reason.contains("HTTP 检查"),
        "{reason}"
    );
    let v = api(&d, "/api/v1/targets/s511").await;
    assert!(v["diagnosis"]["reason"]
        .as_str()
        .unwrap_or("")
        .contains("captive portal"));
    d.stop();
}

/// Retry-After in /metrics, as delta-seconds and as an HTTP-date; absent when not sent.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retry_after_is_exported_in_seconds() {
    let dir = tempfile::tempdir().unwrap();
    let later = httpdate::fmt_http_date(std::time::SystemTime::now() + Duration::from_secs(3600));
    let maint = Gateway::http(Behavior::ok("{}").status(503).header("retry-after", "120"))
        .await
        .unwrap();
    let limited = Gateway::http(Behavior::ok("{}").status(429).header("retry-after", &later))
        .await
        .unwrap();
    let plain = Gateway::http(Behavior::ok("{}").status(503)).await.unwrap();
    let mut targets = String::new();
    for (n, g) in [("maint", &maint), ("limited", &limited), ("plain", &plain)] {
        targets.push_str(&format!(
            "[[targets]]\nname = \"{n}\"\nprovider = \"{n}\"\nurl = \"http://127.0.0.1:{}/v1/pay\"\n\n",
            g.port()
        ));
    }
    let d = start(dir.path(), "interval = \"5s\"", &targets).await;
    let want = [
        ("maint".to_string(), "status_503_retry_after", "server"),
        ("limited".to_string(), "status_429", "security"),
        ("plain".to_string(), "status_5xx", "server"),
    ];
    assert!(wait_rules(&d, &want).await.is_empty());
    let text = get(d.addr, "/metrics").await.unwrap().1;
    let ra = |t: &str| {
        metric(
            &text,
            &format!("payprobe_http_retry_after_seconds{{provider=\"{t}\",target=\"{t}\"}}"),
        )
    };
    assert_eq!(ra("maint"), Some(120.0));
    let secs = ra("limited").unwrap_or(0.0);
    assert!((3500.0..=3600.0).contains(&secs), "{secs}");
    assert_eq!(ra("plain"), None, "no header, no series");
    d.stop();
}

/// Scope settles at once: when the control turns unhealthy, a failing gateway's scope
/// becomes `local` in the API and /metrics without waiting for the gateway's next round
/// (its interval is two minutes; the test ends long before), and back when it recovers.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_controls_flip_rejudges_a_failing_gateways_scope_before_its_next_round() {
    let dir = tempfile::tempdir().unwrap();
    let egress = Gateway::http(Behavior::ok("{}")).await.unwrap();
    let down = Gateway::http(Behavior::ok("{}").status(502)).await.unwrap();
    let slow = Duration::from_secs(120);
    // A name whose first round comes early in its long interval (the offset is stable).
    let gw = (0..500)
        .map(|i| format!("gw{i}"))
        .find(|n| payprobe::scheduler::start_offset(n, slow) < Duration::from_secs(2))
        .expect("some name starts early");
    let targets = format!(
        "[[targets]]\nname = \"{gw}\"\nprovider = \"{gw}\"\nurl = \"http://127.0.0.1:{}/v1/pay\"\ninterval = \"120s\"\n\n[[controls]]\nname = \"egress\"\nprovider = \"egress\"\nurl = \"http://127.0.0.1:{}/\"\ninterval = \"1s\"\ntimeout = \"800ms\"\n",
        down.port(),
        egress.port()
    );
    let d = start(dir.path(), "", &targets).await;
    let addr = d.addr;
    let scope_is = |want: &'static str| {
        let gw = gw.clone();
        async move {
            let v = api_at(addr, &format!("/api/v1/targets/{gw}")).await;
            let t = get(addr, "/metrics").await.ok()?.1;
            let series =
                format!("payprobe_scope{{provider=\"{gw}\",scope=\"{want}\",target=\"{gw}\"}}");
            (v["diagnosis"]["scope"] == want && metric(&t, &series) == Some(1.0))
                .then(|| v["rounds"].as_u64().unwrap_or(0))
        }
    };
    let rounds = wait_for(15, "endpoint scope while the control is fine", || {
        scope_is("endpoint")
    })
    .await;
    assert_eq!(rounds, 1, "the gateway's first round");
    egress.set(Behavior::ok("{}").status(500));
    let after = wait_for(10, "local scope once the control fails", || {
        scope_is("local")
    })
    .await;
    assert_eq!(after, 1, "re-judged without a round of its own");
    let text = get(addr, "/metrics").await.unwrap().1;
    let kind = |k: &str| {
        metric(
            &text,
            &format!("payprobe_probe_failure_kind{{check=\"http\",kind=\"{k}\",provider=\"egress\",target=\"egress\"}}"),
        )
    };
    assert_eq!(kind("unexpected_status"), Some(1.0));
    assert_eq!(kind("none"), None, "the old kind's series is removed");
    egress.set(Behavior::ok("{}"));
    let back = wait_for(10, "endpoint scope once the control recovers", || {
        scope_is("endpoint")
    })
    .await;
    assert_eq!(back, 1);
    d.stop();
}

async fn api_at(addr: std::net::SocketAddr, path: &str) -> serde_json::Value {
    let (_, body) = get(addr, path).await.unwrap_or_default();
    serde_json::from_str(&body).unwrap_or_default()
}
