//! The DNS check and the resolver every check shares, against Debian's dnsmasq on loopback.

use std::time::Duration;

use payprobe::demo::gateway::{Behavior, Gateway};
use payprobe::probe::FailureKind;

use crate::support::{probe, servfail_server, silent_dns, target, Dnsmasq};

const NAMES: &[&str] = &[
    "--address=/good.test/127.0.0.1",
    "--address=/nx.test/",
    "--local=/nodata.test/",
    "--txt-record=nodata.test,no-addresses-here",
];

fn dns_target(
    host: &str,
    resolvers: &str,
    extra: &str,
) -> std::sync::Arc<payprobe::config::Target> {
    target(&format!(
        "name = \"t\"\nurl = \"https://{host}/\"\nchecks = [\"dns\"]\ninterval = \"10s\"\ntimeout = \"4s\"\n[targets.dns]\nresolvers = [{resolvers}]\n{extra}"
    ))
}

#[tokio::test]
async fn a_good_answer_names_the_server_that_gave_it() {
    let d = Dnsmasq::start(NAMES).await;
    let e = probe(&dns_target("good.test", &format!("\"{}\"", d.addr), "")).await;
    assert!(e.success(), "{e:?}");
    let dns = e.observed.dns.as_ref().unwrap();
    assert_eq!(
        dns.addresses,
        vec!["127.0.0.1".parse::<std::net::IpAddr>().unwrap()]
    );
    assert_eq!(dns.server.as_deref(), Some(d.addr.to_string().as_str()));
    assert_eq!(dns.rcode.as_deref(), Some("NOERROR"));
    assert!(dns.duration > Duration::ZERO);
}

#[tokio::test]
async fn nxdomain_refused_and_nodata_are_told_apart() {
    let d = Dnsmasq::start(NAMES).await;
    let r = format!("\"{}\"", d.addr);
    for (host, kind, rcode) in [
        ("nx.test", FailureKind::DnsNxdomain, "NXDOMAIN"),
        ("unknown.example", FailureKind::DnsRefused, "REFUSED"),
        ("nodata.test", FailureKind::DnsNoAddresses, "NOERROR"),
    ] {
        let e = probe(&dns_target(host, &r, "")).await;
        assert_eq!(
            e.failure.as_ref().map(|f| f.kind),
            Some(kind),
            "{host}: {e:?}"
        );
        let dns = e.observed.dns.as_ref().unwrap();
        assert_eq!(dns.rcode.as_deref(), Some(rcode), "{host}");
        assert_eq!(dns.server.as_deref(), Some(d.addr.to_string().as_str()));
    }
}

#[tokio::test]
async fn servfail_is_reported_as_such() {
    let (addr, _task) = servfail_server().await;
    let e = probe(&dns_target("pay.example", &format!("\"{addr}\""), "")).await;
    assert_eq!(
        e.failure.as_ref().map(|f| f.kind),
        Some(FailureKind::DnsServfail),
        "{e:?}"
    );
    assert_eq!(
        e.observed.dns.as_ref().unwrap().rcode.as_deref(),
        Some("SERVFAIL")
    );
}

#[tokio::test]
async fn a_server_that_never_answers_is_a_timeout() {
    let (addr, _sock) = silent_dns().await;
    let t = target(&format!(
        "name = \"t\"\nurl = \"https://pay.example/\"\nchecks = [\"dns\"]\ninterval = \"10s\"\ntimeout = \"1s\"\n[targets.dns]\nresolvers = [\"{addr}\"]"
    ));
    let e = probe(&t).await;
    let f = e.failure.as_ref().unwrap();
    assert_eq!(
        (f.kind, f.phase),
        (FailureKind::DnsTimeout, payprobe::probe::Phase::Dns),
        "{e:?}"
    );
}

#[tokio::test]
async fn the_next_server_is_asked_when_one_is_silent() {
    let (silent, _sock) = silent_dns().await;
    let d = Dnsmasq::start(NAMES).await;
    let e = probe(&dns_target(
        "good.test",
        &format!("\"{silent}\", \"{}\"", d.addr),
        "",
    ))
    .await;
    assert!(e.success(), "{e:?}");
    assert_eq!(
        e.observed.dns.as_ref().unwrap().server.as_deref(),
        Some(d.addr.to_string().as_str())
    );
}

#[tokio::test]
async fn answers_outside_expect_addresses_are_flagged() {
    let d = Dnsmasq::start(NAMES).await;
    let r = format!("\"{}\"", d.addr);
    let e = probe(&dns_target(
        "good.test",
        &r,
        "expect_addresses = [\"203.0.113.0/24\", \"2001:db8::/32\"]",
    ))
    .await;
    assert_eq!(
        e.failure.as_ref().map(|f| f.kind),
        Some(FailureKind::DnsUnexpectedAddress),
        "{e:?}"
    );
    assert_eq!(
        e.observed.dns.as_ref().unwrap().unexpected,
        vec!["127.0.0.1".parse::<std::net::IpAddr>().unwrap()]
    );
    let ok = probe(&dns_target(
        "good.test",
        &r,
        "expect_addresses = [\"127.0.0.0/8\"]",
    ))
    .await;
    assert!(ok.success(), "{ok:?}");
}

#[tokio::test]
async fn the_http_check_resolves_through_the_same_code() {
    let d = Dnsmasq::start(NAMES).await;
    let gw = Gateway::http(Behavior::ok("{}")).await.unwrap();
    let t = target(&format!(
        "name = \"t\"\nurl = \"http://good.test:{}/v1/ping\"\nchecks = [\"dns\", \"http\"]\n[targets.dns]\nresolvers = [\"{}\"]",
        gw.port(),
        d.addr
    ));
    let deadline = tokio::time::Instant::now() + t.timeout;
    let round = crate::support::judged_round(&t, deadline).await;
    assert!(round.iter().all(|e| e.success()), "{round:?}");
    let (dns, http) = (
        round[0].observed.dns.as_ref().unwrap(),
        round[1].observed.dns.as_ref().unwrap(),
    );
    assert_eq!(dns.addresses, http.addresses);
    assert_eq!(dns.server, http.server);
    let phases = &round[1].observed.http.as_ref().unwrap().phases;
    assert!(phases.dns > Duration::ZERO);
    assert_eq!(
        gw.last_request()
            .unwrap()
            .headers
            .iter()
            .find(|(k, _)| k == "host")
            .unwrap()
            .1,
        format!("good.test:{}", gw.port())
    );
}

#[test]
fn resolver_and_cidr_mistakes_are_config_errors() {
    let src = "[[targets]]\nname = \"a\"\nurl = \"https://x.example\"\n[targets.dns]\nresolvers = [\"dns.google\"]\nexpect_addresses = [\"10.0.0.0/33\"]\n";
    let err = payprobe::config::parse(
        std::path::Path::new("t.toml"),
        src,
        std::path::Path::new("."),
    )
    .unwrap_err();
    let msgs: Vec<String> = err
        .problems()
        .iter()
        .map(|p| format!("{}:{} {}", p.line, p.column, p.message))
        .collect();
    assert_eq!(msgs.len(), 2, "{msgs:?}");
    assert!(
        msgs[0].starts_with("5:14 resolver \"dns.google\": expected IP or IP:PORT"),
        "{msgs:?}"
    );
    assert!(
        msgs[1].starts_with("6:21 expect_addresses \"10.0.0.0/33\""),
        "{msgs:?}"
    );
}
