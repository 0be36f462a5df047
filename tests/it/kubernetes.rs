//! deploy/kubernetes/: every manifest parses and hangs together (selectors, ports, the shard
//! from the ordinal, the rules as a PrometheusRule), the embedded config passes
//! `payprobe check-config`, and its targets are judged healthy by `payprobe probe-once`
//! against loopback gateways that answer as the providers document (names resolved by a real
//! dnsmasq, certificates from a test CA).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use payprobe::demo::gateway::{Behavior, Gateway};
use payprobe::demo::pki::{Ca, Validity};
use serde_json::Value;

use crate::ops::yaml_docs;
use crate::support::Dnsmasq;

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

/// Stripe's answer to a request without an API key: HTTP 401 and this body
/// (<https://docs.stripe.com/api/errors>, <https://docs.stripe.com/api/authentication>).
const STRIPE_401: &str = r#"{"error": {"message": "You did not provide an API key. You need to provide your API key in the Authorization header, using Bearer auth (e.g. 'Authorization: Bearer YOUR_SECRET_KEY'). See https://stripe.com/docs/api#authentication for details, or we can help at https://support.stripe.com/.", "type": "invalid_request_error"}}"#;
/// Alipay's answer to a gateway call without app_id: HTTP 200, error 40001/isv.missing-app-id.
const ALIPAY_NO_APP: &str = r#"{"error_response":{"code":"40001","msg":"Missing Required Arguments","sub_code":"isv.missing-app-id","sub_msg":"缺少AppID参数"}}"#;

fn manifests() -> Vec<Value> {
    let dir = Path::new(ROOT).join("deploy/kubernetes");
    let mut docs = yaml_docs(&dir.join("payprobe.yaml"));
    docs.extend(yaml_docs(&dir.join("prometheusrule.yaml")));
    docs
}

fn kind<'a>(docs: &'a [Value], k: &str) -> &'a Value {
    docs.iter()
        .find(|d| d["kind"] == k)
        .unwrap_or_else(|| panic!("deploy/kubernetes has no {k}"))
}

fn embedded_config(docs: &[Value]) -> String {
    kind(docs, "ConfigMap")["data"]["payprobe.toml"]
        .as_str()
        .unwrap()
        .to_string()
}

#[test]
fn kubernetes_manifests_hang_together() {
    let docs = manifests();
    let kinds: BTreeSet<&str> = docs.iter().filter_map(|d| d["kind"].as_str()).collect();
    for k in [
        "ConfigMap",
        "StatefulSet",
        "Service",
        "PodDisruptionBudget",
        "ServiceMonitor",
        "PrometheusRule",
    ] {
        assert!(kinds.contains(k), "no {k}: {kinds:?}");
    }
    for d in &docs {
        assert!(
            d["apiVersion"].is_string() && d["metadata"]["name"].is_string(),
            "{d}"
        );
    }
    let sts = kind(&docs, "StatefulSet");
    let pod = &sts["spec"]["template"];
    let labels = &pod["metadata"]["labels"];
    assert_eq!(&sts["spec"]["selector"]["matchLabels"], labels);
    assert_eq!(&kind(&docs, "Service")["spec"]["selector"], labels);
    assert_eq!(
        &kind(&docs, "PodDisruptionBudget")["spec"]["selector"]["matchLabels"],
        labels
    );
    let svc = kind(&docs, "Service");
    assert_eq!(sts["spec"]["serviceName"], svc["metadata"]["name"]);
    let sm = kind(&docs, "ServiceMonitor");
    assert_eq!(
        &sm["spec"]["selector"]["matchLabels"],
        &svc["metadata"]["labels"]
    );
    let port = sm["spec"]["endpoints"][0]["port"].as_str().unwrap();
    assert!(svc["spec"]["ports"]
        .as_array()
        .unwrap()
        .iter()
        .any(|p| p["name"] == port));
    // The job label Prometheus Operator gives is the Service name: the rules' job="payprobe".
    assert_eq!(svc["metadata"]["name"], "payprobe");

    let c = &pod["spec"]["containers"][0];
    let env = |name: &str| {
        c["env"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["name"] == name)
            .cloned()
            .unwrap()
    };
    let replicas = sts["spec"]["replicas"].as_u64().unwrap();
    assert_eq!(
        env("SHARDS")["value"],
        replicas.to_string(),
        "SHARDS must equal replicas"
    );
    assert_eq!(
        env("POD_INDEX")["valueFrom"]["fieldRef"]["fieldPath"],
        "metadata.labels['apps.kubernetes.io/pod-index']"
    );
    let args: Vec<&str> = c["args"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .collect();
    let shard = args
        .iter()
        .position(|a| *a == "--shard")
        .map(|i| args[i + 1]);
    assert_eq!(shard, Some("$(POD_INDEX)/$(SHARDS)"));
    // Every ordinal is a valid shard, and the shards split the targets without overlap.
    let plan = payprobe::config::parse(
        Path::new("cm.toml"),
        &embedded_config(&docs),
        Path::new("."),
    )
    .unwrap();
    let mut owned = 0;
    for k in 0..replicas {
        let s: payprobe::config::Shard = format!("{k}/{replicas}").parse().unwrap();
        owned += plan
            .targets
            .iter()
            .filter(|t| !t.control && s.owns(&t.name))
            .count();
    }
    assert_eq!(owned, plan.targets.iter().filter(|t| !t.control).count());
    let cfg_path = args
        .iter()
        .position(|a| *a == "--config")
        .map(|i| args[i + 1])
        .unwrap();
    let mount = c["volumeMounts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["name"] == "config")
        .unwrap();
    assert_eq!(
        Path::new(cfg_path).parent().unwrap(),
        Path::new(mount["mountPath"].as_str().unwrap())
    );
    let vol = pod["spec"]["volumes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["name"] == "config")
        .unwrap();
    assert_eq!(
        vol["configMap"]["name"],
        kind(&docs, "ConfigMap")["metadata"]["name"]
    );
    let caps = &c["securityContext"]["capabilities"];
    assert_eq!(caps["drop"], serde_json::json!(["ALL"]));
    assert_eq!(caps["add"], serde_json::json!(["NET_RAW"]));

    // The PrometheusRule is the rules file, group for group.
    let rules = &yaml_docs(&Path::new(ROOT).join("deploy/prometheus/payprobe-rules.yml"))[0];
    assert_eq!(
        kind(&docs, "PrometheusRule")["spec"]["groups"], rules["groups"],
        "deploy/kubernetes/prometheusrule.yaml differs from the rules: run deploy/kubernetes/prometheusrule.py"
    );
}

fn payprobe(args: &[&str]) -> (i32, String) {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_payprobe"))
        .args(args)
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.code().unwrap_or(-1), text)
}

/// The embedded config pointed at the loopback gateways: the URL gets the gateway's port,
/// the target the test CA and the dnsmasq resolver. Nothing else changes.
fn localised(config: &str, ports: &[(&str, u16)], resolver: &str) -> String {
    let mut out = String::new();
    for line in config.lines() {
        let mut line = line.to_string();
        for (host, port) in ports {
            line = line.replace(
                &format!("https://{host}/"),
                &format!("https://{host}:{port}/"),
            );
        }
        out.push_str(&line);
        out.push('\n');
        if line.starts_with("url = ") {
            out.push_str(&format!(
                "ca_file = \"ca.pem\"\ndns = {{ resolvers = [\"{resolver}\"] }}\n"
            ));
        }
    }
    out
}

async fn probe_once(dir: &Path, text: &str) -> (i32, String) {
    let path: PathBuf = dir.join("payprobe.toml");
    std::fs::write(&path, text).unwrap();
    let p = path.to_str().unwrap().to_string();
    tokio::task::spawn_blocking(move || payprobe(&["probe-once", &p, "--json"]))
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubernetes_example_passes_check_config_and_is_healthy_when_gateways_answer_as_documented()
{
    let docs = manifests();
    let config = embedded_config(&docs);
    let dir = tempfile::tempdir().unwrap();
    let shipped = dir.path().join("shipped.toml");
    std::fs::write(&shipped, &config).unwrap();
    let (code, out) = payprobe(&["check-config", shipped.to_str().unwrap()]);
    assert_eq!(
        code, 0,
        "check-config of the ConfigMap's payprobe.toml:\n{out}"
    );

    let ca = Ca::new("k8s example CA").unwrap();
    std::fs::write(dir.path().join("ca.pem"), ca.pem()).unwrap();
    let leaf = |host: &str| ca.leaf(&[host], Validity::Current).unwrap();
    let stripe = Gateway::https(
        Behavior::ok(STRIPE_401)
            .status(401)
            .header("www-authenticate", "Basic realm=\"Stripe\""),
        leaf("api.stripe.com"),
    )
    .await
    .unwrap();
    let alipay = Gateway::https(Behavior::ok(ALIPAY_NO_APP), leaf("openapi.alipay.com"))
        .await
        .unwrap();
    let dns = Dnsmasq::start(&[
        "--address=/api.stripe.com/127.0.0.1",
        "--address=/openapi.alipay.com/127.0.0.1",
    ])
    .await;
    let ports = [
        ("api.stripe.com", stripe.port()),
        ("openapi.alipay.com", alipay.port()),
    ];
    let local = localised(&config, &ports, &dns.addr.to_string());
    assert_eq!(
        local.matches("ca_file").count(),
        2,
        "both targets pointed at the test gateways"
    );

    let (code, out) = probe_once(dir.path(), &local).await;
    assert_eq!(
        code, 0,
        "the example's targets should be healthy:\n{out}\n---\n{local}"
    );
    assert!(stripe.hits() >= 1 && alipay.hits() >= 1);
    // The profile still read Stripe's body: its verdict is in the evidence.
    assert!(out.contains("authentication_error"), "{out}");

    // Without the user's expect_status the profile decides, and a keyless 401 is a failure:
    // the precedence (docs/profiles.md) is what makes the example healthy.
    let (code, out) = probe_once(dir.path(), &local.replace("expect_status = [401]\n", "")).await;
    assert_eq!(
        code, 2,
        "without expect_status Stripe's 401 must fail:\n{out}"
    );
    assert!(out.contains("authentication_error"), "{out}");
}
