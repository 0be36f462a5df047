//! Every table's problems, located and in the order they are reported: one config with a
//! problem in each key of each table (`[server]`, `[defaults]`, `[[targets]]` and its
//! `http`, `dns`, `ping`, `api_version`, `rpc` tables, TLS keys, `[alerts]` and its sinks),
//! pinned message by message so that moving a validator cannot change what a user reads.

use std::path::Path;

fn rendered(file: &str, src: &str) -> String {
    match super::super::parse(Path::new(file), src, Path::new(".")) {
        Ok(_) => panic!("{file} should have been rejected"),
        Err(e) => e.to_string(),
    }
}

/// Compares line by line so a failure names the first line that moved.
fn assert_lines(got: &str, want: &str) {
    for (i, (g, w)) in got.lines().zip(want.lines()).enumerate() {
        assert_eq!(g, w, "line {} of the report differs", i + 1);
    }
    assert_eq!(got.lines().count(), want.lines().count(), "{got}");
}

const EVERY_TABLE: &str = r#"[server]
listen = "nowhere"
max_concurrency = 0
lang = "fr"
web_config = "/nonexistent/web.yml"

[defaults]
name = "d"
failure_threshold = 0
[defaults.ping]
count = 0

[[targets]]
name = "a b"
url = "ftp://x.example"
interval = "1 fortnight"
timeout = "11m"
latency_slo = "0s"
success_threshold = 1001
profile = "paypal"
min_tls_version = "1.0"
ca_file = "/nonexistent/ca.pem"
cert_expiry_warning = "401d"
checks = ["smtp"]
[targets.http]
method = "GE T"
headers = { "a b" = "x" }
headers_from_env = { X-Key = "PAYPROBE_TEST_UNSET_VARIABLE_2" }
body = "{}"
body_file = "b.json"
expect_status = [99]
max_redirects = 21
max_body_bytes = 0
[targets.dns]
resolvers = ["nope"]
expect_addresses = ["10.0.0.0/99"]
[targets.ping]
spacing = "401d"
loss_threshold = 2.0
method = "udp"
port = 0
[targets.api_version]
header = "x-version"
json_pointer = "x"
require = "!!"
required_fields = { "data" = "string", "/x" = "thing" }
[targets.rpc]
max_block_lag = -1
chain_id = 0

[[targets]]
name = "e"
url = "https://rpc.example"
profile = "stripe"
checks = ["rpc"]

[[controls]]
name = "c"
url = "tcp://10.0.0.1:53"
timeout = "9s"
checks = ["tcp", "ping"]
[controls.ping]
count = 10
spacing = "1s"

[alerts]
group_wait = "soon"
queue_limit = 0
external_url = "ftp://x"
[[alerts.sinks]]
kind = "pager"
url = "x"
[[alerts.sinks]]
name = "s"
kind = "slack"
url = "https://hooks.slack.com/services/a"
url_env = "PAYPROBE_TEST_SET_SECRET"
[[alerts.sinks]]
name = "t"
kind = "slack"
url = "https://hooks.slack.com/services/a"
secret_env = "PAYPROBE_TEST_SET_SECRET"
"#;

const EVERY_TABLE_REPORT: &str = r#"all.toml:2:10: `listen` = "nowhere": expected IP:PORT, e.g. "127.0.0.1:9464"
all.toml:3:19: `max_concurrency` = 0: expected a whole number from 1 to 100000
all.toml:4:8: `lang` = "fr": expected "en" or "zh-CN"
all.toml:5:14: `web_config`: /nonexistent/web.yml: cannot read: No such file or directory (os error 2)
all.toml:8:8: `name` cannot be a default: every target needs its own
all.toml:14:8: `name` = "a b": expected 1-128 characters of letters, digits, '-', '_' or '.'
all.toml:15:7: `url` scheme `ftp` is not supported; expected http, https or tcp
all.toml:16:12: `interval` = "1 fortnight": unknown time unit "fortnight", supported units: ns, us/µs, ms, sec, min, hours, days, weeks, months, years (and few variations); expected a duration such as "15s", "1m30s", "800ms"
all.toml:17:11: `timeout` = "11m" is longer than the largest accepted, 10m
all.toml:18:15: `latency_slo` must be longer than zero
all.toml:9:21: `failure_threshold` = 0: expected a whole number from 1 to 1000
all.toml:19:21: `success_threshold` = 1001: expected a whole number from 1 to 1000
all.toml:20:11: unknown profile `paypal`; expected one of: generic, alipay, wechatpay_v3, stripe, evm_jsonrpc, solana_jsonrpc
all.toml:21:19: `min_tls_version` = "1.0": expected "1.2" or "1.3"
all.toml:22:11: `ca_file` /nonexistent/ca.pem: cannot read: No such file or directory (os error 2)
all.toml:23:23: `cert_expiry_warning` = "401d" is longer than the largest accepted, 400d
all.toml:24:11: unknown check `smtp`; expected one of: dns, tcp, ping, tls, http, api_version, rpc
all.toml:26:10: `method` = "GE T" is not an HTTP method
all.toml:27:13: header name "a b" is not valid
all.toml:28:30: header "X-Key": environment variable PAYPROBE_TEST_UNSET_VARIABLE_2 is not set (or not UTF-8)
all.toml:29:8: set `body` or `body_file`, not both
all.toml:31:18: status 99 is not an HTTP status code (100-599)
all.toml:32:17: `max_redirects` = 21: expected a whole number from 0 to 20
all.toml:33:18: `max_body_bytes` = 0: expected a whole number from 1 to 16777216
all.toml:35:14: resolver "nope": expected IP or IP:PORT, e.g. "127.0.0.53" or "[2001:db8::53]:53"
all.toml:36:21: expect_addresses "10.0.0.0/99": expected a CIDR such as "203.0.113.0/24" or an IP
all.toml:11:9: `count` = 0: expected a whole number from 1 to 100
all.toml:38:11: `spacing` = "401d" is longer than the largest accepted, 400d
all.toml:39:18: `loss_threshold` = 2: expected a fraction from 0.0 to 1.0
all.toml:40:10: `method` = "udp": expected "auto" (ICMP, else TCP) or "tcp"
all.toml:41:8: `port` = 0: expected a whole number from 1 to 65535
all.toml:44:16: set one of `header`, `json_pointer` or `regex`, not several
all.toml:45:11: `require` = "!!": unexpected character '!' while parsing major version number; expected a semver range such as ">=3.0, <4"
all.toml:46:47: type "thing": expected one of string, number, integer, boolean, object, array, null, any
all.toml:46:21: required field "data": a JSON pointer starts with '/'
all.toml:48:17: `max_block_lag` = -1: expected a whole number from 0 to 1000000
all.toml:49:12: `chain_id` = 0: expected a positive chain id, e.g. 1 for Ethereum mainnet
all.toml:55:10: check `rpc` needs `profile = "evm_jsonrpc"` or `"solana_jsonrpc"`
all.toml:63:9: a ping burst takes up to 10s (count x spacing + packet_timeout), longer than the target's `timeout` (9s); lower count or spacing, or raise timeout
all.toml:67:14: `group_wait` = "soon": expected number at 0; expected a duration such as "15s", "1m30s", "800ms"
all.toml:68:15: `queue_limit` = 0: expected a whole number from 1 to 1000000
all.toml:69:16: `external_url` = "ftp://x": expected an http:// or https:// URL
all.toml:70:1: [[alerts.sinks]] entry has no `name`
all.toml:71:8: unknown sink kind `pager`; expected one of: alertmanager, webhook, slack, dingtalk, feishu, wecom
all.toml:72:7: sink URL is not an http:// or https:// URL with a host (value not shown)
all.toml:77:11: give only one of `url`, `url_file`, `url_env`
all.toml:82:14: a `slack` sink has no signing scheme: remove secret_file/secret_env (webhook, dingtalk and feishu sign)"#;

#[test]
fn a_problem_in_each_table_is_located_and_reported_in_order() {
    std::env::set_var("PAYPROBE_TEST_SET_SECRET", "x");
    assert_lines(&rendered("all.toml", EVERY_TABLE), EVERY_TABLE_REPORT);
}

const ENTRIES: &str = r#"[defaults]
url = "https://d.example"
[defaults.http]
max_redirects = 30

[[targets]]
provider = "p"

[[targets]]
name = "a"
url = "tcp://10.0.0.1:53"
[targets.http]
method = "GET"

[[targets]]
name = "a"
url = "https://x.example"

[[targets]]
name = "b"
url = "https://x.example"
interval = "5s"
timeout = "5s"
checks = ["tcp", "tcp", "tls"]
[targets.http]
expect_status = []
headers_from_file = { "x y" = "k", Authorization = "/nonexistent/key" }

[[targets]]
name = "c"
url = "http://10.0.0.1"
checks = []
[targets.api_version]
require = ">=1"

[[targets]]
name = "d"
url = "http://10.0.0.1"
checks = ["dns", "tls"]

[[targets]]
name = "f"
url = "https://u:p@x.example"

[[targets]]
name = "g"
url = "https://x.example"
[targets.api_version]
regex = "("

[alerts]
max_age = "0s"
resend_interval = "401d"
[[alerts.sinks]]
name = "x"
[[alerts.sinks]]
name = "y"
kind = "webhook"
url_file = "/nonexistent/url"
secret_file = "/nonexistent/secret"
[[alerts.sinks]]
name = "z"
kind = "webhook"
url = "http://h/"
timeout = "1 fortnight"
[[alerts.sinks]]
name = "z"
kind = "webhook"
url = "http://h/"
[[alerts.sinks]]
name = "w w"
kind = "webhook"
url = "http://h/"
secret_env = "PAYPROBE_TEST_UNSET_SECRET_2"
"#;

const ENTRIES_REPORT: &str = r#"more.toml:2:7: `url` cannot be a default: every target needs its own
more.toml:6:1: [[targets]] entry has no `name`
more.toml:6:1: [[targets]] entry has no `url`
more.toml:4:17: `max_redirects` = 30: expected a whole number from 0 to 20
more.toml:13:10: [targets.http] does not apply to a tcp:// url
more.toml:16:8: duplicate target name `a` (first defined on line 9); names must be unique
more.toml:23:11: `timeout` (5s) must be shorter than `interval` (5s): a probe must end before the next starts
more.toml:24:18: check `tcp` is listed twice
more.toml:27:52: header "Authorization": cannot read /nonexistent/key: No such file or directory (os error 2)
more.toml:27:23: header name "x y" is not valid
more.toml:26:17: `expect_status` is empty; leave it out to accept any 2xx
more.toml:32:10: `checks` is empty; expected at least one of dns, tcp, tls, http
more.toml:34:11: `require` needs a `header`, `json_pointer` or `regex` to read the version from
more.toml:39:11: check `dns` needs a host name, but the url has an IP address
more.toml:39:18: check `tls` does not apply to a http:// url
more.toml:43:7: `url` must not carry credentials: put them in a header read from a file
more.toml:49:9: `regex`: regex parse error:
    (
    ^
error: unclosed group
more.toml:53:19: `resend_interval` = "401d" is longer than the largest accepted, 400d
more.toml:52:11: `max_age` must be longer than zero
more.toml:54:1: [[alerts.sinks]] entry has no `kind`; expected one of: alertmanager, webhook, slack, dingtalk, feishu, wecom
more.toml:54:1: [[alerts.sinks]] entry needs one of `url`, `url_file`, `url_env`
more.toml:59:12: `url_file` /nonexistent/url: cannot read: No such file or directory (os error 2)
more.toml:60:15: `secret_file` /nonexistent/secret: cannot read: No such file or directory (os error 2)
more.toml:65:11: `timeout` = "1 fortnight": unknown time unit "fortnight", supported units: ns, us/µs, ms, sec, min, hours, days, weeks, months, years (and few variations); expected a duration such as "15s", "1m30s", "800ms"
more.toml:71:8: sink `name` = "w w": expected 1-128 characters of letters, digits, '-', '_' or '.'
more.toml:74:14: `secret_env`: environment variable PAYPROBE_TEST_UNSET_SECRET_2 is not set (or not UTF-8)"#;

#[test]
fn missing_duplicate_and_conflicting_entries_are_located_in_order() {
    assert_lines(&rendered("more.toml", ENTRIES), ENTRIES_REPORT);
}

/// Every default a key falls back to when it is left out, table by table.
#[test]
fn every_default_is_pinned() {
    use crate::config::{Check, PingMethod, Plan, Scheme};
    use std::time::Duration;
    let parse = |src: &str| -> Plan {
        super::super::parse(Path::new("t.toml"), src, Path::new("/etc/payprobe"))
            .unwrap_or_else(|e| panic!("{e}"))
    };
    let src = "[server]\n[defaults]\n[[targets]]\nname = \"a\"\nurl = \"https://x.example\"\n\
               [targets.http]\n[targets.dns]\n[targets.ping]\n[targets.api_version]\n[targets.rpc]\n\
               [[targets]]\nname = \"s\"\nurl = \"https://sol.example/rpc\"\nprofile = \"solana_jsonrpc\"\n\
               [[controls]]\nname = \"c\"\nurl = \"tcp://192.0.2.1:53\"\n";
    let plan = parse(src);
    let s = &plan.server;
    assert_eq!(s.listen.to_string(), "127.0.0.1:9464");
    assert_eq!(s.state_dir, Path::new("/var/lib/payprobe"));
    assert_eq!(s.max_concurrency, 512);
    assert_eq!(s.lang, crate::classify::Lang::En);
    assert!(s.web.is_none() && !s.metrics_open && !s.latency_histograms);
    let t = plan.target("a").expect("a");
    assert_eq!(
        (t.scheme, t.port, t.provider.as_str()),
        (Scheme::Https, 443, "x.example")
    );
    assert_eq!(t.checks, vec![Check::Http]);
    assert_eq!(
        (t.interval, t.timeout),
        (Duration::from_secs(15), Duration::from_secs(5))
    );
    assert_eq!((t.failure_threshold, t.success_threshold), (3, 2));
    assert_eq!(t.latency_slo, None);
    assert_eq!(t.profile, crate::profile::Profile::Generic);
    assert_eq!(t.min_tls_version, crate::tls::TlsVersion::Tls12);
    assert_eq!(t.cert_expiry_warning, Duration::from_secs(14 * 86_400));
    assert!(!t.control);
    let h = &t.http;
    assert_eq!(h.method, hyper::Method::GET);
    assert!(h.headers.is_empty() && h.body.is_empty() && h.expect_status.is_empty());
    assert!(!h.follow_redirects);
    assert_eq!((h.max_redirects, h.max_body_bytes), (5, 64 * 1024));
    assert!(t.dns.resolvers.is_empty() && t.dns.expect_addresses.is_empty());
    let pg = &t.ping;
    assert_eq!((pg.count, pg.spacing), (5, Duration::from_millis(200)));
    assert_eq!(
        (pg.packet_timeout, pg.loss_threshold),
        (Duration::from_secs(1), 0.05)
    );
    assert_eq!((pg.method, pg.port), (PingMethod::Auto, None));
    let v = &t.api_version;
    assert!(v.source.is_none() && v.require.is_none() && v.required_fields.is_empty());
    assert_eq!(
        (t.rpc.chain.as_str(), t.rpc.chain_id, t.rpc.max_block_lag),
        ("x.example", None, 5)
    );
    assert_eq!(plan.target("s").expect("s").rpc.max_block_lag, 150);
    let c = plan.target("c").expect("c");
    assert_eq!((c.checks.clone(), c.control), (vec![Check::Tcp], true));
    for alerts in [plan.alerts, parse(&format!("{src}[alerts]\n")).alerts] {
        assert_eq!(alerts.group_wait, None);
        assert_eq!(alerts.resend_interval, Duration::from_secs(60));
        assert_eq!(alerts.max_age, Duration::from_secs(86_400));
        assert_eq!(
            (alerts.queue_limit, alerts.external_url, alerts.vantage),
            (1000, None, None)
        );
        assert!(alerts.sinks.is_empty());
    }
    let sink = "[[alerts.sinks]]\nname = \"w\"\nkind = \"webhook\"\nurl = \"http://h/\"\n";
    let plan = parse(&format!("{src}[alerts]\n{sink}"));
    assert_eq!(plan.alerts.sinks[0].timeout, Duration::from_secs(10));
    assert!(plan.alerts.sinks[0].secret.is_none());
}
