//! The per-check options: checks per scheme, numbers, HTTP, TLS, profiles, RPC, secrets and
//! sinks.

use super::*;

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

/// A secret on a sink kind without a signing scheme is refused, and the message names as
/// signing exactly the kinds whose secret is accepted (each kind is tried), so the list in
/// the message cannot drift from the kinds.
#[test]
fn the_sinks_named_as_signing_are_the_ones_that_take_a_secret() {
    use crate::vocab::SinkKind;
    let with_secret = |k: SinkKind| {
        parse_str(&format!("{OK}\n[alerts]\n[[alerts.sinks]]\nname = \"x\"\nkind = \"{k}\"\nurl = \"https://hooks.example/a\"\nsecret_env = \"HOME\"\n"))
    };
    let (take, refuse): (Vec<SinkKind>, Vec<SinkKind>) = SinkKind::ALL
        .into_iter()
        .partition(|k| with_secret(*k).is_ok());
    assert!(
        !take.is_empty() && !refuse.is_empty(),
        "{take:?} {refuse:?}"
    );
    let take: Vec<&str> = take.into_iter().map(SinkKind::as_str).collect();
    for k in refuse {
        let m = with_secret(k).unwrap_err().to_string();
        let named = m
            .split_once("secret_file/secret_env (")
            .and_then(|(_, r)| r.split_once(" sign)"))
            .map(|(l, _)| l.replace(" and ", ", "))
            .unwrap_or_default();
        assert_eq!(named.split(", ").collect::<Vec<_>>(), take, "{m}");
    }
}
