//! From real faults on loopback servers to cause, scope, symptom and hint, in /metrics and
//! in the JSON API: one row per rule of the rules table that a loopback server can produce.

use std::path::Path;
use std::sync::Arc;

use payprobe::app::Daemon;
use payprobe::demo::gateway::{Behavior, Gateway};
use payprobe::demo::pki::Ca;
use payprobe::probe::Probers;

mod answers;
mod judged;
mod paths;

use crate::support::{closed_port, get, metric, wait_for};
use answers::{chains, profiles, provider_wide, versions};
use judged::{figures, judged, verify};
use paths::{http_path, statuses, tls};

/// One broken (or healthy) endpoint and what payprobe must say about it.
struct Case {
    name: &'static str,
    provider: &'static str,
    /// `[[targets]]` keys after name/provider.
    keys: String,
    rule: &'static str,
    cause: &'static str,
    scope: &'static str,
    symptom: Option<&'static str>,
    hint: &'static str,
}

fn case(
    name: &'static str,
    keys: String,
    rule: &'static str,
    cause: &'static str,
    symptom: Option<&'static str>,
    hint: &'static str,
) -> Case {
    let scope = if cause == "none" { "none" } else { "endpoint" };
    Case {
        name,
        provider: name,
        keys,
        rule,
        cause,
        scope,
        symptom,
        hint,
    }
}

fn http(port: u16, path: &str) -> String {
    format!("url = \"http://127.0.0.1:{port}{path}\"")
}

async fn start(dir: &Path, targets: &str) -> Daemon {
    start_with(dir, targets, "1s").await
}

async fn start_with(dir: &Path, targets: &str, timeout: &str) -> Daemon {
    let src = format!(
        "[server]\nlisten = \"127.0.0.1:0\"\nstate_dir = \"state\"\n[defaults]\ninterval = \"3s\"\ntimeout = \"{timeout}\"\nfailure_threshold = 1\nsuccess_threshold = 1\nlatency_slo = \"300ms\"\n\n{targets}"
    );
    let plan = payprobe::config::parse(&dir.join("p.toml"), &src, dir)
        .unwrap_or_else(|e| panic!("{e}\n{src}"));
    Daemon::start(plan, None, Arc::new(Probers::system()))
        .await
        .unwrap()
}

/// The cases of one table under construction, and the servers that must outlive the daemon.
#[derive(Default)]
struct Table {
    cases: Vec<Case>,
    keep: Vec<Box<dyn std::any::Any + Send>>,
    /// A healthy server's port: the plan's control.
    control: u16,
}

impl Table {
    /// The `[[targets]]` of every case, and the control.
    fn plan(&self) -> String {
        let mut targets = String::new();
        for c in &self.cases {
            targets.push_str(&format!(
                "[[targets]]\nname = \"{}\"\nprovider = \"{}\"\n{}\n\n",
                c.name, c.provider, c.keys
            ));
        }
        targets.push_str(&format!(
            "[[controls]]\nname = \"ctl\"\nurl = \"tcp://127.0.0.1:{}\"\n",
            self.control
        ));
        targets
    }
}

fn status(code: u16) -> Behavior {
    Behavior::ok("{}").status(code)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_loopback_fault_gets_its_cause_scope_symptom_and_hint() {
    let dir = tempfile::tempdir().unwrap();
    let ca = Ca::new("diagnosis CA").unwrap();
    std::fs::write(dir.path().join("ca.pem"), ca.pem()).unwrap();
    let mut t = Table::default();
    statuses(&mut t).await;
    http_path(&mut t).await;
    tls(&mut t, dir.path(), &ca).await;
    profiles(&mut t).await;
    versions(&mut t).await;
    chains(&mut t).await;
    provider_wide(&mut t).await;
    let d = start(dir.path(), &t.plan()).await;
    let mut wrong = judged(&d, &t.cases).await;
    wrong.extend(figures(&d).await);
    d.stop();
    assert!(
        wrong.is_empty(),
        "{} wrong:\n{}",
        wrong.len(),
        wrong.join("\n")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_control_means_the_problem_is_here() {
    let dir = tempfile::tempdir().unwrap();
    let down = Gateway::http(Behavior::ok("{}").status(503)).await.unwrap();
    let targets = format!(
        "[[targets]]\nname = \"gw\"\nprovider = \"gw\"\n{}\n\n[[controls]]\nname = \"egress\"\nurl = \"tcp://127.0.0.1:{}\"\n",
        http(down.port(), "/v1/pay"),
        closed_port()
    );
    let d = start(dir.path(), &targets).await;
    // The target may be judged before the control's first round: wait for its next round.
    let addr = d.addr;
    wait_for(15, "local scope", || async move {
        let t = get(addr, "/metrics").await.ok()?.1;
        (metric(
            &t,
            "payprobe_scope{provider=\"gw\",scope=\"local\",target=\"gw\"}",
        ) == Some(1.0))
        .then_some(())
    })
    .await;
    let (_, body) = get(addr, "/api/v1/targets/egress").await.unwrap();
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["diagnosis"]["scope"], "local");
    d.stop();
}

/// The DNS rows, against Debian's dnsmasq (and a SERVFAIL server and a silent one).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dns_faults_get_their_cause_scope_symptom_and_hint() {
    use crate::support::{rcode_server, servfail_server, silent_dns, Dnsmasq};
    let dir = tempfile::tempdir().unwrap();
    let dm = Dnsmasq::start(&[
        "--address=/good.test/127.0.0.1",
        "--address=/nx.test/",
        "--local=/nodata.test/",
        "--txt-record=nodata.test,none",
    ])
    .await;
    let (sf, _sf_task) = servfail_server().await;
    let (silent, _silent_sock) = silent_dns().await;
    let (notimp, _notimp_task) = rcode_server(4).await;
    let gw = Gateway::http(Behavior::ok("{}")).await.unwrap();
    let via = |host: &str, server: std::net::SocketAddr, extra: &str| {
        format!("url = \"http://{host}:{}/v1/pay\"\nchecks = [\"dns\", \"http\"]\n[targets.dns]\nresolvers = [\"{server}\"]\n{extra}", gw.port())
    };
    let d = dm.addr;
    let cases = vec![
        case(
            "resolves",
            via("good.test", d, ""),
            "none",
            "none",
            None,
            "",
        ),
        case(
            "nxdomain",
            via("nx.test", d, ""),
            "dns_nxdomain",
            "network",
            Some("network_interruption"),
            "network path",
        ),
        case(
            "refused",
            via("elsewhere.example", d, ""),
            "dns_refused",
            "network",
            Some("network_interruption"),
            "network path",
        ),
        case(
            "nodata",
            via("nodata.test", d, ""),
            "dns_no_addresses",
            "network",
            Some("transaction_failure"),
            "network path",
        ),
        case(
            "servfail",
            via("pay.example", sf, ""),
            "dns_servfail",
            "network",
            Some("network_interruption"),
            "network path",
        ),
        case(
            "notimp",
            via("pay.example", notimp, ""),
            "dns_error",
            "network",
            Some("network_interruption"),
            "network path",
        ),
        case(
            "no-answer",
            via("pay.example", silent, ""),
            "dns_timeout",
            "network",
            Some("network_interruption"),
            "network path",
        ),
        case(
            "hijacked",
            via("good.test", d, "expect_addresses = [\"203.0.113.0/24\"]"),
            "dns_unexpected_address",
            "security",
            Some("auth_failure"),
            "interception",
        ),
    ];
    let mut targets = String::new();
    for c in &cases {
        targets.push_str(&format!(
            "[[targets]]\nname = \"{}\"\nprovider = \"{}\"\n{}\n\n",
            c.name, c.provider, c.keys
        ));
    }
    // A silent server costs the resolver its 2 s per-server budget: give the round room.
    let d = start_with(dir.path(), &targets, "2500ms").await;
    verify(&d, &cases).await;
    d.stop();
}
