//! Debian's real Prometheus (2.42) loads deploy/prometheus/ (the same rule files), scrapes a
//! running `payprobe demo` every second, and answers every PromQL expression of the rules
//! and of dashboards/*.json; the demo's failures become alerts with payprobe's labels.
//!
//! Timing of `for:` is proved by `promtool test rules` (deploy/prometheus/payprobe-rules.test.yml);
//! here the short `for: 30s` of PaymentGatewayUnhealthy is waited out for real, and alerts
//! with minutes-long `for:` are checked as active (pending or firing) with their labels.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::support::{get, metric, wait_for, Proc};

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

mod quiet;
mod run;
use quiet::MAY_BE_EMPTY;

/// Debian's `prometheus` on a loopback port with temporary storage, killed when dropped.
struct Prometheus {
    child: std::process::Child,
    addr: SocketAddr,
    log: PathBuf,
}

impl Drop for Prometheus {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

impl Prometheus {
    async fn start(config: &Path, dir: &Path) -> Prometheus {
        let log = dir.join("prometheus.log");
        // A freed port can be taken before Prometheus binds it: try a few.
        for _ in 0..3 {
            let addr: SocketAddr = ([127, 0, 0, 1], free_port()).into();
            let child = std::process::Command::new("prometheus")
                .arg(format!("--config.file={}", config.display()))
                .arg(format!("--storage.tsdb.path={}", dir.join("tsdb").display()))
                .arg(format!("--web.listen-address={addr}"))
                .arg("--log.level=warn")
                .stdout(std::process::Stdio::null())
                .stderr(std::fs::File::create(&log).unwrap())
                .spawn()
                .unwrap_or_else(|e| {
                    panic!("prometheus not runnable ({e}); tests/run.sh installs Debian's `prometheus`")
                });
            let mut p = Prometheus {
                child,
                addr,
                log: log.clone(),
            };
            let end = Instant::now() + Duration::from_secs(30);
            while Instant::now() < end {
                if let Ok(Some(_)) = p.child.try_wait() {
                    break;
                }
                if matches!(get(addr, "/-/ready").await, Ok((200, _))) {
                    return p;
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            let _ = p.child.kill();
        }
        panic!(
            "prometheus did not start:\n{}",
            std::fs::read_to_string(&log).unwrap_or_default()
        );
    }

    /// `GET path?query=…` and the `data` of a successful answer.
    async fn api(&self, path: &str, query: Option<&str>) -> Result<Value, String> {
        let url = match query {
            Some(q) => format!("{path}?query={}", encode(q)),
            None => path.to_string(),
        };
        let (status, body) = get(self.addr, &url).await.map_err(|e| e.to_string())?;
        let v: Value = serde_json::from_str(&body).map_err(|e| format!("{status}: {e}: {body}"))?;
        if v["status"] != "success" {
            return Err(format!("{status}: {} {}", v["errorType"], v["error"]));
        }
        Ok(v["data"].clone())
    }
}

/// Percent-encoding of a query string value (RFC 3986 unreserved characters pass).
fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// A test-local copy of deploy/prometheus/prometheus.yml: the same rule files, scraping
/// `demo` every second. Fails if the shipped file no longer has what is replaced.
fn test_config(demo: SocketAddr, dir: &Path) -> PathBuf {
    let src = Path::new(ROOT).join("deploy/prometheus");
    let text = std::fs::read_to_string(src.join("prometheus.yml")).unwrap();
    let mut out = text.clone();
    for (from, to) in [
        ("scrape_interval: 15s", "scrape_interval: 1s".to_string()),
        (
            "evaluation_interval: 15s",
            "evaluation_interval: 1s".to_string(),
        ),
        ("\"127.0.0.1:9464\"", format!("\"{demo}\"")),
        (
            "- payprobe-rules.yml",
            format!("- {}", src.join("payprobe-rules.yml").display()),
        ),
    ] {
        assert!(
            out.contains(from),
            "deploy/prometheus/prometheus.yml has no `{from}`"
        );
        out = out.replace(from, &to);
    }
    // Alertmanager is not part of this test: Prometheus' own /api/v1/alerts is checked.
    let out: String = out
        .split("\nalerting:")
        .next()
        .map(str::to_string)
        .unwrap_or(out);
    let path = dir.join("prometheus.yml");
    std::fs::write(&path, out).unwrap();
    path
}

/// Every PromQL expression of the dashboards, with a name saying where it is. Grafana's
/// variables are replaced by what "All" selects; label_values(m, l) queries m.
pub fn dashboard_exprs() -> Vec<(String, String)> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(Path::new(ROOT).join("dashboards")).unwrap() {
        let p = e.unwrap().path();
        if p.extension().and_then(|x| x.to_str()) != Some("json") {
            continue;
        }
        let d: Value = serde_json::from_str(&std::fs::read_to_string(&p).unwrap()).unwrap();
        let file = p.file_name().unwrap().to_string_lossy().to_string();
        for v in d["templating"]["list"].as_array().into_iter().flatten() {
            if v["type"] == "query" {
                let q = v["query"]
                    .as_str()
                    .or(v["query"]["query"].as_str())
                    .unwrap_or_default();
                let q = q
                    .strip_prefix("label_values(")
                    .map_or(q.to_string(), |rest| {
                        rest.rsplit_once(',').map_or(rest, |(m, _)| m).to_string()
                    });
                out.push((format!("{file}: variable {}", v["name"]), grafana_vars(&q)));
            }
        }
        for panel in crate::ops::panels(&d) {
            for t in panel["targets"].as_array().into_iter().flatten() {
                if let Some(expr) = t["expr"].as_str() {
                    let name = format!("{file}: {} {}", panel["title"], t["refId"]);
                    out.push((name, grafana_vars(expr)));
                }
            }
        }
    }
    out
}

fn grafana_vars(expr: &str) -> String {
    let mut s = expr
        .replace("$__rate_interval", "1m")
        .replace("$__interval", "15s")
        .replace("$__range", "1h");
    // `$name` or `${name}` of a dashboard variable: every value, as "All" does.
    while let Some(i) = s.find('$') {
        let rest = &s[i + 1..];
        let len = if let Some(r) = rest.strip_prefix('{') {
            r.find('}').map_or(rest.len(), |j| j + 2)
        } else {
            rest.find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .unwrap_or(rest.len())
        };
        s.replace_range(i..i + 1 + len, ".+");
    }
    s
}

/// (target, provider, cause) of every unhealthy target, as payprobe's own /metrics says.
fn unhealthy(text: &str) -> BTreeSet<(String, String, String)> {
    let mut out = BTreeSet::new();
    for l in text
        .lines()
        .filter(|l| l.starts_with("payprobe_cause{") && l.ends_with(" 1"))
    {
        let labels = labels_of(l);
        let (t, p, c) = (&labels["target"], &labels["provider"], &labels["cause"]);
        let healthy = format!("payprobe_target_healthy{{provider=\"{p}\",target=\"{t}\"}}");
        if c != "none" && metric(text, &healthy) == Some(0.0) {
            out.insert((t.clone(), p.clone(), c.clone()));
        }
    }
    out
}

fn labels_of(line: &str) -> HashMap<String, String> {
    let inner = line
        .split_once('{')
        .and_then(|(_, r)| r.split_once('}'))
        .map_or("", |x| x.0);
    inner
        .split("\",")
        .filter_map(|kv| kv.split_once("=\""))
        .map(|(k, v)| (k.to_string(), v.trim_end_matches('"').to_string()))
        .collect()
}

/// (alertname, state, labels) of every alert Prometheus holds.
async fn alerts(prom: &Prometheus) -> Vec<(String, String, BTreeMap<String, String>)> {
    let data = prom.api("/api/v1/alerts", None).await.unwrap();
    let mut out = Vec::new();
    for a in data["alerts"].as_array().into_iter().flatten() {
        let labels: BTreeMap<String, String> = a["labels"]
            .as_object()
            .into_iter()
            .flatten()
            .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_string()))
            .collect();
        let name = labels.get("alertname").cloned().unwrap_or_default();
        out.push((
            name,
            a["state"].as_str().unwrap_or_default().to_string(),
            labels,
        ));
    }
    out
}

/// Firing PaymentGatewayUnhealthy alerts for this instance: (target, provider, cause).
async fn firing_unhealthy(prom: &Prometheus, instance: &str) -> BTreeSet<(String, String, String)> {
    alerts(prom)
        .await
        .into_iter()
        .filter(|(n, s, l)| {
            n == "PaymentGatewayUnhealthy"
                && s == "firing"
                && l.get("instance").map(String::as_str) == Some(instance)
                && l.get("job").map(String::as_str) == Some("payprobe")
                && l.get("severity").map(String::as_str) == Some("page")
        })
        .map(|(_, _, l)| {
            (
                l["target"].clone(),
                l["provider"].clone(),
                l["cause"].clone(),
            )
        })
        .collect()
}

/// Every target payprobe has judged unhealthy (same cause) for longer than the rule's
/// `for: 30s` fires PaymentGatewayUnhealthy with that cause, and no other target does.
/// Alerts with minutes of `for:` are active (pending or firing) with the right labels.
async fn demo_failures_fire(demo: &Proc, prom: &Prometheus) {
    let instance = demo.addr.to_string();
    let mut first_seen: HashMap<(String, String, String), Instant> = HashMap::new();
    let end = Instant::now() + Duration::from_secs(120);
    loop {
        let now = unhealthy(&demo.metrics().await);
        first_seen.retain(|k, _| now.contains(k));
        for k in &now {
            first_seen.entry(k.clone()).or_insert_with(Instant::now);
        }
        let settled: BTreeSet<_> = first_seen
            .iter()
            .filter(|(_, t)| t.elapsed() > Duration::from_secs(40))
            .map(|(k, _)| k.clone())
            .collect();
        let firing = firing_unhealthy(prom, &instance).await;
        let causes: BTreeSet<_> = settled.iter().map(|k| k.2.clone()).collect();
        if settled.len() >= 3
            && causes.len() >= 2
            && firing.iter().all(|k| now.contains(k))
            && settled.iter().all(|k| firing.contains(k))
        {
            break;
        }
        assert!(
            Instant::now() < end,
            "alerts never matched payprobe's view:\nunhealthy for 40 s: {settled:?}\nfiring: {firing:?}"
        );
        tokio::time::sleep(Duration::from_secs(1)).await;
    }

    let text = demo.metrics().await;
    let active = alerts(prom).await;
    let has = |alert: &str, key: &str, value: &str| {
        active.iter().any(|(n, s, l)| {
            n == alert
                && (s == "pending" || s == "firing")
                && l.get(key).map(String::as_str) == Some(value)
                && l.get("instance") == Some(&instance)
        })
    };
    let with = |prefix: &str, pair: &str, key: &str| -> BTreeSet<String> {
        text.lines()
            .filter(|l| l.starts_with(prefix) && l.contains(pair) && l.ends_with(" 1"))
            .map(|l| labels_of(l)[key].clone())
            .collect()
    };
    // The providers the showcase takes down as a whole: payprobe says so, and the alert is
    // active. (On a loaded machine another provider may look provider-wide for a moment,
    // too briefly for the rule's `for:`; only the held outage is asked for.)
    let scoped = with("payprobe_scope{", "scope=\"provider\"", "provider");
    let providers: BTreeSet<String> = payprobe::demo::story::SHOWCASE
        .expect
        .iter()
        .filter(|e| e.scope == payprobe::classify::Scope::Provider)
        .filter_map(|e| {
            payprobe::demo::story::CAST
                .iter()
                .find(|s| s.name == e.target)
        })
        .map(|s| s.provider.to_string())
        .collect();
    assert!(
        !providers.is_empty(),
        "the showcase has a provider-wide outage"
    );
    for p in &providers {
        assert!(
            scoped.contains(p),
            "payprobe does not say {p} is down as a whole: {scoped:?}"
        );
        assert!(
            has("PaymentProviderDown", "provider", p),
            "no PaymentProviderDown for {p}: {active:?}"
        );
    }
    let delayed: BTreeSet<String> = text
        .lines()
        .filter(|l| l.starts_with("payprobe_probes_over_slo_total{") && !l.ends_with(" 0"))
        .map(|l| labels_of(l)["target"].clone())
        .collect();
    assert!(
        delayed
            .iter()
            .any(|t| has("PaymentGatewayLatencySLOBurn", "target", t)),
        "no latency SLO burn for {delayed:?}: {active:?}"
    );
}
