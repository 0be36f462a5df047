//! Defaults, `[defaults]` merging, controls and shards.

use super::*;

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
fn defaults_cannot_name_a_target() {
    let ps = problems(
        "[defaults]\nname = \"x\"\n[[targets]]\nname = \"a\"\nurl = \"https://x.example\"\n",
    );
    assert_eq!(ps.len(), 1, "{ps:?}");
    assert_eq!((ps[0].0, ps[0].1), (2, 8));
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
