//! Unit tests, compiled only with #[cfg(test)] (declared at the bottom of mod.rs).

use super::*;

fn parse_str(s: &str) -> Result<Plan, ConfigError> {
    parse(Path::new("test.toml"), s, Path::new("."))
}

/// The problems of a config that must fail, as (line, column, message).
fn problems(s: &str) -> Vec<(usize, usize, String)> {
    match parse_str(s) {
        Ok(_) => panic!("config should have been rejected:\n{s}"),
        Err(e) => e
            .problems()
            .iter()
            .map(|p| (p.line, p.column, p.message.clone()))
            .collect(),
    }
}

/// Asserts exactly one problem, at `line:col`, whose message contains `needle`.
fn one_problem(s: &str, line: usize, col: usize, needle: &str) {
    let ps = problems(s);
    assert_eq!(ps.len(), 1, "expected one problem, got {ps:?}");
    let (l, c, m) = &ps[0];
    assert_eq!((*l, *c), (line, col), "wrong place for {m:?}");
    assert!(m.contains(needle), "{m:?} does not contain {needle:?}");
}

const OK: &str = r#"
[[targets]]
name = "a"
url = "https://api.example.com/v1/status"
"#;

#[test]
fn minimal_config_gets_defaults() {
    let plan = parse_str(OK).expect("valid");
    let t = &plan.targets[0];
    assert_eq!(t.name, "a");
    assert_eq!(t.provider, "api.example.com");
    assert_eq!(t.port, 443);
    assert_eq!(t.checks, vec![Check::Http]);
    assert_eq!(t.interval, Duration::from_secs(15));
    assert_eq!(t.timeout, Duration::from_secs(5));
    assert_eq!((t.failure_threshold, t.success_threshold), (3, 2));
    assert_eq!(t.http.method, Method::GET);
    assert_eq!(t.http.max_body_bytes, 64 * 1024);
    assert!(!t.http.follow_redirects);
    assert!(t.http.status_ok(204) && !t.http.status_ok(301));
    assert_eq!(plan.server.listen.to_string(), DEFAULT_LISTEN);
}

#[test]
fn defaults_apply_and_targets_override_key_by_key() {
    let plan = parse_str(
        r#"
[defaults]
interval = "30s"
timeout = "2s"
[defaults.http]
headers = { User-Agent = "ops-probe", Accept = "application/json" }
expect_status = [200, 401]

[[targets]]
name = "a"
url = "http://127.0.0.1:8080/x"
timeout = "3s"
[targets.http]
method = "post"
headers = { accept = "text/plain" }
"#,
    )
    .expect("valid");
    let t = &plan.targets[0];
    assert_eq!(t.interval, Duration::from_secs(30));
    assert_eq!(t.timeout, Duration::from_secs(3));
    assert_eq!(t.http.method, Method::POST);
    assert_eq!(t.http.expect_status, vec![200, 401]);
    let headers: Vec<(String, String)> = t
        .http
        .headers
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_str().unwrap().to_string()))
        .collect();
    assert!(
        headers.contains(&("accept".into(), "text/plain".into())),
        "{headers:?}"
    );
    assert!(
        headers.contains(&("user-agent".into(), "ops-probe".into())),
        "{headers:?}"
    );
    assert_eq!(
        headers.len(),
        2,
        "the target's Accept replaces the default one: {headers:?}"
    );
}

#[test]
fn unknown_key_names_the_key_and_its_place() {
    one_problem(
        "[[targets]]\nname = \"a\"\nurl = \"https://x.example\"\nintervall = \"5s\"\n",
        4,
        1,
        "unknown field `intervall`",
    );
}

#[test]
fn unknown_key_lists_what_was_expected() {
    let ps = problems("[server]\nlisten = \"127.0.0.1:1\"\nport = 3\n");
    assert!(ps[0].2.contains("expected one of"), "{ps:?}");
    assert!(ps[0].2.contains("`listen`"), "{ps:?}");
}

#[test]
fn wrong_type_is_located() {
    one_problem(
        "[[targets]]\nname = \"a\"\nurl = \"https://x.example\"\ninterval = 15\n",
        4,
        12,
        "invalid type",
    );
}

#[test]
fn toml_syntax_error_is_located() {
    let ps = problems("[[targets]]\nname = \"a\nurl = \"https://x.example\"\n");
    assert_eq!(ps.len(), 1, "{ps:?}");
    assert_eq!(ps[0].0, 2, "{ps:?}");
}

#[test]
fn bad_duration_says_what_a_duration_looks_like() {
    one_problem(
        "[[targets]]\nname = \"a\"\nurl = \"https://x.example\"\ninterval = \"15 parsecs\"\n",
        4,
        12,
        "expected a duration such as",
    );
}

#[test]
fn zero_duration_is_rejected() {
    one_problem(
        "[[targets]]\nname = \"a\"\nurl = \"https://x.example\"\nlatency_slo = \"0s\"\n",
        4,
        15,
        "must be longer than zero",
    );
}

#[test]
fn timeout_must_be_shorter_than_interval() {
    one_problem(
        "[[targets]]\nname = \"a\"\nurl = \"https://x.example\"\ninterval = \"5s\"\ntimeout = \"5s\"\n",
        5,
        11,
        "`timeout` (5s) must be shorter than `interval` (5s)",
    );
}

#[test]
fn duplicate_names_point_at_both() {
    one_problem(
        "[[targets]]\nname = \"a\"\nurl = \"https://x.example\"\n\n[[controls]]\nname = \"a\"\nurl = \"tcp://10.0.0.1:53\"\n",
        6,
        8,
        "duplicate target name `a` (first defined on line 1)",
    );
}

#[test]
fn bad_urls_are_explained() {
    one_problem(
        "[[targets]]\nname = \"a\"\nurl = \"not a url\"\n",
        3,
        7,
        "relative URL without a base",
    );
    one_problem(
        "[[targets]]\nname = \"a\"\nurl = \"ftp://x.example\"\n",
        3,
        7,
        "scheme `ftp` is not supported",
    );
    one_problem(
        "[[targets]]\nname = \"a\"\nurl = \"tcp://x.example\"\n",
        3,
        7,
        "tcp:// needs a port",
    );
    one_problem(
        "[[targets]]\nname = \"a\"\nurl = \"https://u:p@x.example\"\n",
        3,
        7,
        "must not carry credentials",
    );
}

#[test]
fn missing_name_and_url_point_at_the_entry() {
    let ps = problems("[server]\n\n[[targets]]\nprovider = \"p\"\n");
    assert_eq!(ps.len(), 2, "{ps:?}");
    assert!(ps.iter().all(|p| p.0 == 3 || p.0 == 4), "{ps:?}");
    assert!(ps.iter().any(|p| p.2.contains("has no `name`")), "{ps:?}");
    assert!(ps.iter().any(|p| p.2.contains("has no `url`")), "{ps:?}");
}

#[test]
fn bad_names_are_rejected() {
    one_problem(
        "[[targets]]\nname = \"a b\"\nurl = \"https://x.example\"\n",
        2,
        8,
        "expected 1-128 characters",
    );
}

#[test]
fn checks_are_validated_against_the_scheme() {
    one_problem(
        "[[targets]]\nname = \"a\"\nurl = \"https://x.example\"\nchecks = [\"http\", \"smtp\"]\n",
        4,
        19,
        "unknown check `smtp`",
    );
    one_problem(
        "[[targets]]\nname = \"a\"\nurl = \"http://x.example\"\nchecks = [\"tls\"]\n",
        4,
        11,
        "check `tls` does not apply to a http:// url",
    );
    one_problem(
        "[[targets]]\nname = \"a\"\nurl = \"http://10.1.2.3\"\nchecks = [\"dns\"]\n",
        4,
        11,
        "needs a host name",
    );
    one_problem(
        "[[targets]]\nname = \"a\"\nurl = \"http://x.example\"\nchecks = [\"tcp\", \"tcp\"]\n",
        4,
        18,
        "listed twice",
    );
    one_problem(
        "[[targets]]\nname = \"a\"\nurl = \"http://x.example\"\nchecks = []\n",
        4,
        10,
        "`checks` is empty",
    );
}

#[test]
fn numbers_out_of_range_are_rejected() {
    one_problem(
        "[[targets]]\nname = \"a\"\nurl = \"https://x.example\"\nfailure_threshold = 0\n",
        4,
        21,
        "from 1 to 1000",
    );
    one_problem(
        "[[targets]]\nname = \"a\"\nurl = \"https://x.example\"\n[targets.http]\nexpect_status = [200, 999]\n",
        5,
        23,
        "999 is not an HTTP status code",
    );
    one_problem(
        "[server]\nmax_concurrency = 0\n[[targets]]\nname = \"a\"\nurl = \"https://x.example\"\n",
        2,
        19,
        "`max_concurrency` = 0",
    );
}

#[test]
fn http_options_are_checked() {
    one_problem(
        "[[targets]]\nname = \"a\"\nurl = \"https://x.example\"\n[targets.http]\nbody = \"{}\"\nbody_file = \"b.json\"\n",
        5,
        8,
        "not both",
    );
    one_problem(
        "[[targets]]\nname = \"a\"\nurl = \"https://x.example\"\n[targets.http]\nmethod = \"GE T\"\n",
        5,
        10,
        "not an HTTP method",
    );
    one_problem(
        "[[targets]]\nname = \"a\"\nurl = \"https://x.example\"\n[targets.http]\nbody_file = \"/nonexistent/body.json\"\n",
        5,
        13,
        "cannot read",
    );
    one_problem(
        "[[targets]]\nname = \"a\"\nurl = \"tcp://x.example:53\"\n[targets.http]\nmethod = \"GET\"\n",
        5,
        10,
        "does not apply to a tcp:// url",
    );
}

#[test]
fn tls_options_are_checked() {
    one_problem(
        "[[targets]]\nname = \"a\"\nurl = \"https://x.example\"\nmin_tls_version = \"1.0\"\n",
        4,
        19,
        "expected \"1.2\" or \"1.3\"",
    );
    one_problem(
        "[[targets]]\nname = \"a\"\nurl = \"https://x.example\"\nca_file = \"/nonexistent/ca.pem\"\n",
        4,
        11,
        "cannot read",
    );
}

#[test]
fn a_ca_file_without_certificates_is_rejected() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("ca.pem"), "not a certificate\n").unwrap();
    let src = "[[targets]]\nname = \"a\"\nurl = \"https://x.example\"\nca_file = \"ca.pem\"\n";
    let err = parse(Path::new("t.toml"), src, dir.path()).unwrap_err();
    assert_eq!(err.problems().len(), 1);
    assert!(
        err.problems()[0].message.contains("no certificate found"),
        "{err}"
    );
}

#[test]
fn profiles_set_ok_codes_and_safe_requests() {
    one_problem(
        "[[targets]]\nname = \"a\"\nurl = \"https://x.example\"\nprofile = \"paypal\"\n",
        4,
        11,
        "unknown profile `paypal`",
    );
    let plan =
        parse_str("[[targets]]\nname = \"a\"\nurl = \"https://x.example\"\nprofile = \"stripe\"\n")
            .unwrap();
    assert_eq!(
        plan.targets[0].ok_codes,
        vec!["resource_missing".to_string()]
    );
    let plan = parse_str("[[targets]]\nname = \"a\"\nurl = \"https://x.example\"\nprofile = \"alipay\"\nprofile_ok_codes = [\"40001:isv.missing-app-id\"]\n").unwrap();
    assert_eq!(
        plan.targets[0].ok_codes,
        vec!["40001:isv.missing-app-id".to_string()]
    );
    let plan = parse_str(
        "[[targets]]\nname = \"a\"\nurl = \"https://rpc.example\"\nprofile = \"evm_jsonrpc\"\n",
    )
    .unwrap();
    let h = &plan.targets[0].http;
    assert_eq!(h.method, Method::POST);
    assert!(std::str::from_utf8(&h.body)
        .unwrap()
        .contains("eth_blockNumber"));
    assert!(h
        .headers
        .iter()
        .any(|(k, v)| k == "content-type" && v == "application/json"));
    // A target's own request wins over the profile's.
    let plan = parse_str("[[targets]]\nname = \"a\"\nurl = \"https://rpc.example\"\nprofile = \"evm_jsonrpc\"\n[targets.http]\nmethod = \"GET\"\n").unwrap();
    assert_eq!(plan.targets[0].http.method, Method::GET);
    assert!(plan.targets[0].http.body.is_empty());
}

#[test]
fn defaults_cannot_name_a_target() {
    let ps = problems(
        "[defaults]\nname = \"x\"\n[[targets]]\nname = \"a\"\nurl = \"https://x.example\"\n",
    );
    assert_eq!(ps.len(), 1, "{ps:?}");
    assert_eq!((ps[0].0, ps[0].1), (2, 8));
}

#[test]
fn every_problem_is_reported_at_once() {
    let src = r#"[server]
listen = "localhost"

[[targets]]
name = "a"
url = "https://x.example"
interval = "1 fortnight"

[[targets]]
name = "b"
url = "ftp://y.example"
checks = ["nope"]
"#;
    let ps = problems(src);
    let lines: Vec<usize> = ps.iter().map(|p| p.0).collect();
    assert_eq!(lines, vec![2, 7, 11, 12], "{ps:?}");
    let rendered = parse_str(src).unwrap_err().to_string();
    assert!(
        rendered.starts_with("test.toml:2:10: `listen`"),
        "{rendered}"
    );
    assert_eq!(rendered.lines().count(), 4);
}

#[test]
fn no_targets_is_an_error() {
    one_problem("[server]\n", 1, 1, "no [[targets]]");
}

#[test]
fn controls_default_to_a_tcp_check() {
    let plan = parse_str(&format!(
        "{OK}\n[[controls]]\nname = \"gw\"\nurl = \"tcp://192.0.2.1:53\"\n"
    ))
    .unwrap();
    let c = plan.target("gw").unwrap();
    assert!(c.control);
    assert_eq!(c.checks, vec![Check::Tcp]);
}

#[test]
fn shards_split_targets_stably_and_keep_controls() {
    let mut src = String::new();
    for i in 0..300 {
        src.push_str(&format!(
            "[[targets]]\nname = \"t{i}\"\nurl = \"http://10.0.0.1/{i}\"\n"
        ));
    }
    src.push_str("[[controls]]\nname = \"c\"\nurl = \"tcp://10.0.0.1:53\"\n");
    let plan = parse_str(&src).unwrap();
    let mut seen = 0;
    for k in 0..3 {
        let part = plan.clone().shard(Some(Shard { index: k, count: 3 }));
        assert!(part.target("c").is_some(), "every shard keeps the controls");
        let n = part.targets.iter().filter(|t| !t.control).count();
        assert!((70..=130).contains(&n), "shard {k} got {n} of 300");
        seen += n;
    }
    assert_eq!(seen, 300, "every target is in exactly one shard");
    assert!("1/1".parse::<Shard>().is_err());
    assert!("x".parse::<Shard>().is_err());
    assert_eq!("2/3".parse::<Shard>(), Ok(Shard { index: 2, count: 3 }));
    // The hash is part of the interface: pin it.
    assert_eq!(stable_hash("alipay-openapi"), stable_hash("alipay-openapi"));
    assert_eq!(stable_hash(""), 0xcbf2_9ce4_8422_2325);
}

#[test]
fn rpc_needs_a_chain_profile_and_sane_numbers() {
    one_problem(
        "[[targets]]\nname = \"a\"\nurl = \"https://rpc.example\"\nchecks = [\"rpc\"]\n",
        4,
        10,
        "needs `profile = \"evm_jsonrpc\"`",
    );
    one_problem(
        "[[targets]]\nname = \"a\"\nurl = \"https://rpc.example\"\nprofile = \"evm_jsonrpc\"\nchecks = [\"rpc\"]\n[targets.rpc]\nchain_id = 0\n",
        7,
        12,
        "positive chain id",
    );
    let plan = parse_str("[[targets]]\nname = \"a\"\nprovider = \"infura\"\nurl = \"https://rpc.example\"\nprofile = \"solana_jsonrpc\"\nchecks = [\"rpc\"]\n").unwrap();
    let r = &plan.targets[0].rpc;
    assert_eq!(
        (r.chain.as_str(), r.chain_id, r.max_block_lag),
        ("infura", None, 150)
    );
}

#[test]
fn a_bare_host_gets_the_profiles_safe_query() {
    let plan = parse_str(
        "[[targets]]\nname = \"s\"\nurl = \"https://api.stripe.com\"\nprofile = \"stripe\"\n",
    )
    .unwrap();
    assert_eq!(
        plan.targets[0].url.as_str(),
        "https://api.stripe.com/v1/charges/ch_payprobe_nonexistent"
    );
    let plan = parse_str(
        "[[targets]]\nname = \"a\"\nurl = \"https://openapi.alipay.com/\"\nprofile = \"alipay\"\n",
    )
    .unwrap();
    let u = &plan.targets[0].url;
    assert_eq!(u.path(), "/gateway.do");
    assert!(u.query().unwrap().contains("method=alipay.trade.query"));
    assert!(u.query().unwrap().contains("payprobe-nonexistent-order"));
    // A URL with a path of its own is left alone.
    let plan = parse_str("[[targets]]\nname = \"w\"\nurl = \"https://api.mch.weixin.qq.com/v3/certificates\"\nprofile = \"wechatpay_v3\"\n").unwrap();
    assert_eq!(plan.targets[0].url.path(), "/v3/certificates");
}

#[test]
fn secret_headers_come_from_env_or_file_and_never_show() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("key"), "Bearer sk_test_from_file\n").unwrap();
    std::env::set_var("PAYPROBE_TEST_SECRET_HEADER", "secret-from-env");
    let src = "[[targets]]\nname = \"a\"\nurl = \"https://x.example\"\n[targets.http]\nheaders = { Authorization = \"inline\" }\nheaders_from_file = { Authorization = \"key\" }\nheaders_from_env = { X-Api-Key = \"PAYPROBE_TEST_SECRET_HEADER\" }\n";
    let plan = parse(Path::new("t.toml"), src, dir.path()).unwrap();
    let h = &plan.targets[0].http.headers;
    let get = |n: &str| {
        h.iter()
            .find(|(k, _)| k == n)
            .map(|(_, v)| v.clone())
            .unwrap()
    };
    assert_eq!(
        get("authorization"),
        "Bearer sk_test_from_file",
        "the file wins over the inline value"
    );
    assert_eq!(get("x-api-key"), "secret-from-env");
    assert!(get("x-api-key").is_sensitive());
    assert_eq!(h.iter().filter(|(k, _)| k == "authorization").count(), 1);
    // Missing sources are located and never print a value.
    let bad = "[[targets]]\nname = \"a\"\nurl = \"https://x.example\"\n[targets.http]\nheaders_from_env = { X-Key = \"PAYPROBE_TEST_UNSET_VARIABLE\" }\n";
    let err = parse(Path::new("t.toml"), bad, dir.path())
        .unwrap_err()
        .to_string();
    assert!(err.contains("t.toml:5:30: header \"X-Key\": environment variable PAYPROBE_TEST_UNSET_VARIABLE is not set"), "{err}");
}

#[test]
fn a_problem_in_defaults_is_listed_once_however_many_targets_inherit_it() {
    let mut src = String::from("[defaults]\ninterval = \"5s\"\ntimeout = \"5s\"\n");
    for i in 0..50 {
        src.push_str(&format!(
            "[[targets]]\nname = \"t{i}\"\nurl = \"http://10.0.0.1/{i}\"\n"
        ));
    }
    let ps = problems(&src);
    assert_eq!(ps.len(), 1, "{ps:?}");
    assert_eq!((ps[0].0, ps[0].1), (3, 11));
}

#[test]
fn sinks_are_validated_with_their_place_and_secrets_stay_out_of_messages() {
    let base = format!("{OK}\n[alerts]\n");
    one_problem(
        &format!("{base}[[alerts.sinks]]\nname = \"x\"\nkind = \"pager\"\nurl = \"http://h/\"\n"),
        9,
        8,
        "unknown sink kind `pager`",
    );
    let ps = problems(&format!(
        "{base}[[alerts.sinks]]\nname = \"x\"\nkind = \"dingtalk\"\nurl = \"ftp://oapi/robot?access_token=TOPSECRET\"\n"
    ));
    assert_eq!(ps.len(), 1, "{ps:?}");
    assert_eq!((ps[0].0, ps[0].1), (10, 7));
    assert!(!ps[0].2.contains("TOPSECRET"), "{ps:?}");
    one_problem(
        &format!("{base}[[alerts.sinks]]\nname = \"x\"\nkind = \"webhook\"\nurl_env = \"PAYPROBE_TEST_UNSET_URL\"\n"),
        10,
        11,
        "PAYPROBE_TEST_UNSET_URL is not set",
    );
    one_problem(
        &format!("{base}[[alerts.sinks]]\nname = \"x\"\nkind = \"slack\"\nurl = \"https://hooks.slack.com/services/a\"\nsecret_env = \"HOME\"\n"),
        11,
        14,
        "no signing scheme",
    );
    one_problem(
        &format!("{base}group_wait = \"soon\"\n"),
        7,
        14,
        "`group_wait`",
    );
    let dup = format!("{base}[[alerts.sinks]]\nname = \"x\"\nkind = \"webhook\"\nurl = \"http://h/\"\n[[alerts.sinks]]\nname = \"x\"\nkind = \"webhook\"\nurl = \"http://h/\"\n");
    one_problem(&dup, 12, 8, "duplicate sink name `x`");
}

#[test]
fn a_sink_url_from_a_file_is_secret_in_debug_output() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("url"),
        "https://oapi.dingtalk.com/robot/send?access_token=TOPSECRET\n",
    )
    .unwrap();
    std::fs::write(dir.path().join("sec"), "SECxyz\n").unwrap();
    let src = format!("{OK}\n[alerts]\n[[alerts.sinks]]\nname = \"ding\"\nkind = \"dingtalk\"\nurl_file = \"url\"\nsecret_file = \"sec\"\n");
    let plan = parse(Path::new("t.toml"), &src, dir.path()).unwrap();
    let s = &plan.alerts.sinks[0];
    assert_eq!(s.url.0.query(), Some("access_token=TOPSECRET"));
    assert_eq!(s.secret.as_ref().unwrap().0, b"SECxyz");
    let shown = format!("{plan:?} {}", s.shown_url());
    assert!(
        !shown.contains("TOPSECRET") && !shown.contains("SECxyz"),
        "{shown}"
    );
}

/// Adding a replica moves only the targets the new one takes: about 1/(N+1) of them, and
/// none between old replicas (a modulo would move most of them).
#[test]
fn a_new_shard_takes_its_share_and_nothing_else_moves() {
    use super::{jump_hash, stable_hash};
    let names: Vec<String> = (0..10_000).map(|i| format!("gw-{i}")).collect();
    for n in 1..12u32 {
        let mut moved = 0;
        for name in &names {
            let key = stable_hash(name);
            let (before, after) = (jump_hash(key, n), jump_hash(key, n + 1));
            assert!(before < n && after <= n);
            if before != after {
                assert_eq!(
                    after, n,
                    "{name} moved between old shards {before} -> {after}"
                );
                moved += 1;
            }
        }
        let expected = names.len() as f64 / f64::from(n + 1);
        let ratio = f64::from(moved) / expected;
        assert!(
            (0.85..1.15).contains(&ratio),
            "{n} -> {}: moved {moved}, expected about {expected:.0}",
            n + 1
        );
    }
}
