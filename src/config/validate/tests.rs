//! Every table's problems, located and in the order they are reported: one config with a
//! problem in each key of each table (`[server]`, `[defaults]`, `[[targets]]` and its
//! `http`, `dns`, `ping`, `api_version`, `rpc`, `sign` tables, TLS keys, `[alerts]` and its sinks),
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

/// The config and, line by line, what `check-config` says about it.
const EVERY_TABLE: &str = include_str!("testdata/every_table.toml");
const EVERY_TABLE_REPORT: &str = include_str!("testdata/every_table.txt");

#[test]
fn a_problem_in_each_table_is_located_and_reported_in_order() {
    std::env::set_var("PAYPROBE_TEST_SET_SECRET", "x");
    assert_lines(
        &rendered("every_table.toml", EVERY_TABLE),
        EVERY_TABLE_REPORT,
    );
}

/// Entries missing keys, repeated, or setting keys that exclude each other.
const ENTRIES: &str = include_str!("testdata/entries.toml");
const ENTRIES_REPORT: &str = include_str!("testdata/entries.txt");

#[test]
fn missing_duplicate_and_conflicting_entries_are_located_in_order() {
    assert_lines(&rendered("entries.toml", ENTRIES), ENTRIES_REPORT);
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
    assert_eq!(s.lang, crate::vocab::Lang::En);
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

/// The way out (`proxy`, `proxy_auth_*`, `source_address`): a bad scheme, an https proxy,
/// credentials in the URL, a path, two credential sources, bad addresses — each at its place.
const EGRESS: &str = include_str!("testdata/egress.toml");
const EGRESS_REPORT: &str = include_str!("testdata/egress.txt");

#[test]
fn egress_problems_are_located() {
    assert_lines(&rendered("egress.toml", EGRESS), EGRESS_REPORT);
}

#[test]
fn egress_defaults_and_labels() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    std::fs::write(dir.path().join("auth"), "probe:s3cret\n").unwrap_or_else(|e| panic!("{e}"));
    let src = "[defaults]\nproxy = \"http://[::1]:3128\"\nproxy_auth_file = \"auth\"\nsource_address = \"::1\"\n\
               [[targets]]\nname = \"a\"\nurl = \"https://x.example\"\n\
               [[targets]]\nname = \"b\"\nurl = \"https://x.example\"\nproxy = \"http://p.example\"\n\
               [[controls]]\nname = \"c\"\nurl = \"tcp://192.0.2.1:53\"\n";
    let plan =
        super::super::parse(Path::new("t.toml"), src, dir.path()).unwrap_or_else(|e| panic!("{e}"));
    let [a, b, c] = &plan.targets[..] else {
        panic!("three entries")
    };
    assert_eq!(a.egress_label, "proxy=[::1]:3128,source=::1");
    let auth = a
        .egress
        .proxy
        .as_ref()
        .and_then(|p| p.authorization.as_ref());
    assert_eq!(auth.map(|s| s.0.as_str()), Some("Basic cHJvYmU6czNjcmV0"));
    assert!(
        !format!("{a:?}").contains("cHJvYmU6czNjcmV0"),
        "Debug hides it"
    );
    // Its own proxy does not take the default proxy's credentials; port 80 by default.
    assert_eq!(b.egress_label, "proxy=p.example:80,source=::1");
    assert!(b
        .egress
        .proxy
        .as_ref()
        .is_some_and(|p| p.authorization.is_none()));
    assert!(c.control && c.egress_label == a.egress_label);
}

/// `[[notifications]]`: missing and bad keys, a weak token, a name taken by a target.
const NOTIFICATIONS: &str = include_str!("testdata/notifications.toml");
const NOTIFICATIONS_REPORT: &str = include_str!("testdata/notifications.txt");

#[test]
fn notification_problems_are_located() {
    assert_lines(
        &rendered("notifications.toml", NOTIFICATIONS),
        NOTIFICATIONS_REPORT,
    );
}

#[test]
fn a_channel_is_a_target_of_its_provider_with_its_defaults() {
    use crate::config::Check;
    use std::time::Duration;
    let src = "[[targets]]\nname = \"api\"\nprovider = \"alipay\"\nurl = \"https://x.example\"\n\
               [[notifications]]\nname = \"n\"\nprovider = \"alipay\"\n\
               token_file = \"src/config/validate/testdata/token.txt\"\n\
               max_silence = \"30m\"\nactive_hours = \"08:00-23:00+08:00\"\n";
    let plan = super::super::parse(Path::new("t.toml"), src, Path::new("."))
        .unwrap_or_else(|e| panic!("{e}"));
    let t = plan
        .target("n")
        .unwrap_or_else(|| panic!("the channel is a target"));
    assert_eq!(
        (t.provider.as_str(), &t.checks[..]),
        ("alipay", &[Check::Notification][..])
    );
    let c = t.channel.as_ref().unwrap_or_else(|| panic!("a channel"));
    assert_eq!(c.max_delay, Duration::from_secs(300));
    assert_eq!(c.max_silence, Some(Duration::from_secs(1800)));
    assert_eq!(c.token.0, b"0123456789abcdef0123456789abcdef");
    assert!(
        !format!("{t:?}").contains("0123456789abcdef"),
        "Debug hides the token"
    );
    // `notification` is not a check a target can list.
    let bad =
        "[[targets]]\nname = \"a\"\nurl = \"https://x.example\"\nchecks = [\"notification\"]\n";
    assert!(super::super::parse(Path::new("t.toml"), bad, Path::new(".")).is_err());
}

/// `[[maintenance]]` windows and `slo`: each problem at its key.
const MAINTENANCE: &str = include_str!("testdata/maintenance.toml");
const MAINTENANCE_REPORT: &str = include_str!("testdata/maintenance.txt");

#[test]
fn maintenance_windows_and_objectives_are_located_in_order() {
    assert_lines(
        &rendered("maintenance.toml", MAINTENANCE),
        MAINTENANCE_REPORT,
    );
}

/// `checks = []` names exactly the checks its URL accepts, found by listing each check name
/// alone and seeing whether it is refused: a hand-written list (it once said "dns, tcp, tls,
/// http" and left out ping, api_version and rpc) cannot pass.
#[test]
fn an_empty_checks_list_names_every_check_its_url_accepts() {
    use crate::vocab::Check;
    let urls = [
        "https://gw.example",
        "http://gw.example",
        "tcp://gw.example:53",
        "https://192.0.2.1",
        "http://192.0.2.1",
        "tcp://192.0.2.1:53",
    ];
    // A chain profile, so that `rpc` is refused only if the URL refuses it; a payment one,
    // which refuses `rpc` whatever the URL.
    for (url, profile) in urls
        .into_iter()
        .flat_map(|u| [(u, "evm_jsonrpc"), (u, "alipay")])
    {
        let config = |checks: &str| {
            format!("[[targets]]\nname = \"a\"\nurl = \"{url}\"\nprofile = \"{profile}\"\nchecks = [{checks}]\n")
        };
        let report = |checks: &str| {
            super::super::parse(Path::new("t.toml"), &config(checks), Path::new("."))
                .err()
                .map(|e| e.to_string())
                .unwrap_or_default()
        };
        let accepted: Vec<&str> = Check::ALL
            .into_iter()
            .map(Check::as_str)
            .filter(|c| !report(&format!("{c:?}")).contains(&format!("check `{c}`")))
            .collect();
        let empty = report("");
        let listed: Vec<&str> = empty
            .trim()
            .rsplit_once("expected at least one of: ")
            .map(|(_, l)| l.split(", ").collect())
            .unwrap_or_default();
        assert!(accepted.len() >= 2, "{url}: {accepted:?}");
        assert_eq!(listed, accepted, "{url} {profile}: {empty}");
    }
    // With a host name, https:// takes every check a target may list (not `notification`).
    let https = rendered(
        "t.toml",
        "[[targets]]\nname = \"a\"\nurl = \"https://gw.example\"\nchecks = []\n",
    );
    let every: Vec<&str> = Check::listable().map(Check::as_str).collect();
    assert!(
        https.contains(&format!("one of: {}", every.join(", "))),
        "{https}"
    );
}
