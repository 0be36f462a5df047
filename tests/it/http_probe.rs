//! The HTTP(S) prober against real servers on loopback.

use std::time::Duration;

use payprobe::demo::gateway::{Behavior, Gateway};
use payprobe::demo::pki::{self, Ca, Validity};
use payprobe::probe::{FailureKind, Phase};

use crate::support::{
    closed_port, full_backlog, probe, raw_server, silent_server, target, target_in,
};

mod tls;

fn kind(e: &payprobe::checked::Checked) -> Option<FailureKind> {
    e.failure.as_ref().map(|f| f.kind)
}

/// A CA written to a temp dir, and a target body fragment trusting it.
struct Trust {
    ca: Ca,
    dir: tempfile::TempDir,
}

impl Trust {
    fn new() -> Trust {
        let ca = Ca::new("test CA").unwrap();
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("ca.pem"), ca.pem()).unwrap();
        Trust { ca, dir }
    }
    fn target(&self, body: &str) -> std::sync::Arc<payprobe::config::Target> {
        target_in(&format!("{body}\nca_file = \"ca.pem\""), self.dir.path())
    }

    /// An HTTPS gateway on 127.0.0.1 presenting a leaf of this CA.
    async fn gateway(&self, validity: Validity) -> Gateway {
        Gateway::https(
            Behavior::ok("{}"),
            self.ca.leaf(&["127.0.0.1"], validity).unwrap(),
        )
        .await
        .unwrap()
    }

    /// A target trusting this CA, for `gw`, with extra keys.
    fn target_for(&self, gw: &Gateway, extra: &str) -> std::sync::Arc<payprobe::config::Target> {
        self.target(&format!(
            "name = \"t\"\nurl = \"https://127.0.0.1:{}/\"\n{extra}",
            gw.port()
        ))
    }
}

#[tokio::test]
async fn processing_covers_the_server_delay_and_phases_add_up() {
    let delay = Duration::from_millis(300);
    let body_delay = Duration::from_millis(150);
    let gw = Gateway::http(Behavior::ok("{}").delay(delay).body_delay(body_delay))
        .await
        .unwrap();
    let t = target(&format!(
        "name = \"t\"\nurl = \"http://127.0.0.1:{}/v1/ping\"",
        gw.port()
    ));
    let e = probe(&t).await;
    assert!(e.success(), "{e:?}");
    let h = e.observed.http.as_ref().unwrap();
    assert_eq!(h.status, Some(200));
    assert!(
        h.phases.processing >= delay,
        "processing {:?} < delay {delay:?}",
        h.phases.processing
    );
    // The server's body delay starts when it *wrote* the head; the client may read the head
    // a little later than that (scheduling), so transfer alone can come out a hair shorter.
    // Together the two phases are a hard bound: nothing can arrive before it was sent.
    assert!(
        h.phases.processing + h.phases.transfer >= delay + body_delay,
        "{:?}",
        h.phases
    );
    assert!(
        h.phases.transfer + Duration::from_millis(50) >= body_delay,
        "transfer {:?} does not show the body delay {body_delay:?}",
        h.phases.transfer
    );
    assert!(
        h.phases.processing < delay + body_delay,
        "the body delay must not count as processing: {:?}",
        h.phases
    );
    assert_eq!(
        h.phases.total(),
        e.observed.duration,
        "phases must add up to the total exactly"
    );
    assert_eq!(h.phases.tls, Duration::ZERO, "no TLS on plain HTTP");
    assert!(e.observed.tcp.is_some());
}

#[tokio::test]
async fn refused_port_is_connect_refused() {
    let t = target(&format!(
        "name = \"t\"\nurl = \"http://127.0.0.1:{}/\"",
        closed_port()
    ));
    let e = probe(&t).await;
    let f = e.failure.as_ref().expect("must fail");
    assert_eq!(
        (f.kind, f.phase),
        (FailureKind::ConnectRefused, Phase::Connect),
        "{e:?}"
    );
    assert!(e.observed.tcp.is_none());
}

#[tokio::test]
async fn the_timeout_is_honoured_and_blamed_on_the_response() {
    let gw = Gateway::http(Behavior::ok("{}").delay(Duration::from_secs(30)))
        .await
        .unwrap();
    let t = target(&format!(
        "name = \"t\"\nurl = \"http://127.0.0.1:{}/\"\ninterval = \"10s\"\ntimeout = \"400ms\"",
        gw.port()
    ));
    let started = std::time::Instant::now();
    let e = probe(&t).await;
    let took = started.elapsed();
    let f = e.failure.as_ref().expect("must time out");
    assert_eq!(
        (f.kind, f.phase),
        (FailureKind::ResponseTimeout, Phase::Processing),
        "{e:?}"
    );
    assert!(
        e.observed.duration >= Duration::from_millis(400),
        "{:?}",
        e.observed.duration
    );
    // A hang detector, not a speed claim: 30 s would mean the deadline was ignored.
    assert!(took < Duration::from_secs(10), "probe took {took:?}");
    assert_eq!(
        gw.hits(),
        1,
        "the request reached the server before the deadline"
    );
}

#[tokio::test]
async fn a_silent_tls_server_is_a_handshake_timeout() {
    // Accepts TCP and never speaks: the handshake stalls.
    let (port, _hold) = silent_server().await;
    let t = target(&format!("name = \"t\"\nurl = \"https://127.0.0.1:{port}/\"\ninterval = \"10s\"\ntimeout = \"300ms\""));
    let e = probe(&t).await;
    let f = e.failure.as_ref().expect("must time out");
    assert_eq!(
        (f.kind, f.phase),
        (FailureKind::TlsHandshakeTimeout, Phase::Tls),
        "{e:?}"
    );
}

#[tokio::test]
async fn a_full_accept_queue_is_a_connect_timeout() {
    let (listener, _fillers, addr) = full_backlog().await;
    let t = target(&format!(
        "name = \"t\"\nurl = \"http://{addr}/\"\ninterval = \"10s\"\ntimeout = \"300ms\""
    ));
    let e = probe(&t).await;
    let f = e.failure.as_ref().expect("must time out");
    assert_eq!(
        (f.kind, f.phase),
        (FailureKind::ConnectTimeout, Phase::Connect),
        "{e:?}"
    );
    drop(listener);
}

#[tokio::test]
async fn unexpected_status_keeps_the_response_evidence() {
    let gw = Gateway::http(
        Behavior::ok(r#"{"code":"20000","msg":"Service Currently Unavailable"}"#)
            .status(503)
            .header("retry-after", "120"),
    )
    .await
    .unwrap();
    let t = target(&format!(
        "name = \"t\"\nurl = \"http://127.0.0.1:{}/gateway.do\"",
        gw.port()
    ));
    let e = probe(&t).await;
    assert_eq!(kind(&e), Some(FailureKind::UnexpectedStatus), "{e:?}");
    let h = e.observed.http.as_ref().unwrap();
    assert_eq!(h.status, Some(503));
    assert_eq!(
        h.headers.get("retry-after").map(String::as_str),
        Some("120")
    );
    assert!(h.body_excerpt.contains("20000"));
}

#[tokio::test]
async fn expect_status_accepts_what_it_lists() {
    let gw = Gateway::http(Behavior::ok("{}").status(401)).await.unwrap();
    let t = target(&format!(
        "name = \"t\"\nurl = \"http://127.0.0.1:{}/\"\n[targets.http]\nexpect_status = [401]",
        gw.port()
    ));
    assert!(probe(&t).await.success());
}

#[tokio::test]
async fn method_headers_and_body_are_sent_as_configured() {
    let gw = Gateway::http(Behavior::ok("{}")).await.unwrap();
    let t = target(&format!(
        "name = \"t\"\nurl = \"http://127.0.0.1:{}/v3/query?id=42\"\n[targets.http]\nmethod = \"POST\"\nbody = '{{\"out_trade_no\":\"probe-nonexistent\"}}'\nheaders = {{ Content-Type = \"application/json\", X-Probe = \"payprobe\" }}",
        gw.port()
    ));
    let e = probe(&t).await;
    assert!(e.success(), "{e:?}");
    let seen = gw.last_request().unwrap();
    assert_eq!(seen.method, "POST");
    assert_eq!(seen.path_and_query, "/v3/query?id=42");
    assert_eq!(&seen.body[..], br#"{"out_trade_no":"probe-nonexistent"}"#);
    let has = |k: &str, v: &str| seen.headers.iter().any(|(a, b)| a == k && b == v);
    assert!(
        has("content-type", "application/json"),
        "{:?}",
        seen.headers
    );
    assert!(has("x-probe", "payprobe"), "{:?}", seen.headers);
    assert!(seen
        .headers
        .iter()
        .any(|(a, b)| a == "user-agent" && b.starts_with("payprobe/")));
    assert!(seen.headers.iter().any(|(a, _)| a == "host"));
}

#[tokio::test]
async fn redirects_are_off_by_default_and_followed_when_enabled() {
    let dest = Gateway::http(Behavior::ok("{\"final\":true}"))
        .await
        .unwrap();
    let hop = Gateway::http(Behavior::ok("").status(302).header(
        "location",
        &format!("http://127.0.0.1:{}/landing", dest.port()),
    ))
    .await
    .unwrap();
    let off = target(&format!(
        "name = \"t\"\nurl = \"http://127.0.0.1:{}/start\"",
        hop.port()
    ));
    let e = probe(&off).await;
    assert_eq!(kind(&e), Some(FailureKind::UnexpectedStatus));
    assert_eq!(e.observed.http.as_ref().unwrap().status, Some(302));
    assert_eq!(dest.hits(), 0);

    let on = target(&format!(
        "name = \"t\"\nurl = \"http://127.0.0.1:{}/start\"\n[targets.http]\nfollow_redirects = true",
        hop.port()
    ));
    let e = probe(&on).await;
    assert!(e.success(), "{e:?}");
    let h = e.observed.http.as_ref().unwrap();
    assert_eq!((h.status, h.redirects), (Some(200), 1));
    assert!(h.final_url.ends_with("/landing"), "{}", h.final_url);
    assert_eq!(
        h.phases.total(),
        e.observed.duration,
        "phases add up across hops too"
    );
}

#[tokio::test]
async fn a_redirect_loop_stops_at_the_limit() {
    let gw = Gateway::http(Behavior::ok("").status(307).header("location", "/again"))
        .await
        .unwrap();
    let t = target(&format!(
        "name = \"t\"\nurl = \"http://127.0.0.1:{}/\"\n[targets.http]\nfollow_redirects = true\nmax_redirects = 3",
        gw.port()
    ));
    let e = probe(&t).await;
    assert_eq!(kind(&e), Some(FailureKind::TooManyRedirects), "{e:?}");
    assert_eq!(gw.hits(), 4, "the first request and three redirects");
}

#[tokio::test]
async fn the_body_read_is_capped() {
    let big = "x".repeat(200_000);
    let gw = Gateway::http(Behavior::ok(&big)).await.unwrap();
    let t = target(&format!(
        "name = \"t\"\nurl = \"http://127.0.0.1:{}/\"\n[targets.http]\nmax_body_bytes = 1024",
        gw.port()
    ));
    let e = probe(&t).await;
    assert!(e.success(), "a long body is not a failure: {e:?}");
    let h = e.observed.http.as_ref().unwrap();
    assert!(h.body_truncated);
    assert_eq!(h.body.len(), 1024);
    assert_eq!(h.body_excerpt.len(), 512);
}

#[tokio::test]
async fn a_connection_closed_mid_body_is_reported_in_transfer() {
    let port = raw_server(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nshort").await;
    let t = target(&format!("name = \"t\"\nurl = \"http://127.0.0.1:{port}/\""));
    let e = probe(&t).await;
    let f = e.failure.as_ref().expect("must fail");
    assert_eq!(
        (f.kind, f.phase),
        (FailureKind::ConnectionClosed, Phase::Transfer),
        "{e:?}"
    );
    assert_eq!(e.observed.http.as_ref().unwrap().status, Some(200));
}

#[tokio::test]
async fn garbage_instead_of_http_is_a_protocol_error() {
    let port = raw_server(b"SSH-2.0-OpenSSH_9.2\r\n\r\n").await;
    let t = target(&format!("name = \"t\"\nurl = \"http://127.0.0.1:{port}/\""));
    let e = probe(&t).await;
    assert_eq!(kind(&e), Some(FailureKind::HttpProtocolError), "{e:?}");
}

#[tokio::test]
async fn host_names_go_through_the_resolver() {
    let gw = Gateway::http(Behavior::ok("{}")).await.unwrap();
    let t = target(&format!(
        "name = \"t\"\nurl = \"http://localhost:{}/\"",
        gw.port()
    ));
    let e = probe(&t).await;
    let dns = e
        .observed
        .dns
        .as_ref()
        .expect("dns evidence for a host name");
    assert_eq!(dns.host, "localhost");
    assert!(dns.addresses.iter().any(|a| a.is_loopback()), "{dns:?}");
    assert!(e.success(), "{e:?}");
}

#[tokio::test]
async fn tcp_and_tls_checks_share_the_connector() {
    let trust = Trust::new();
    let gw = trust.gateway(Validity::Current).await;
    let t = trust.target_for(&gw, "checks = [\"tcp\", \"tls\", \"http\"]");
    let deadline = tokio::time::Instant::now() + t.timeout;
    let round = crate::support::judged_round(&t, deadline).await;
    let checks: Vec<&str> = round.iter().map(|e| e.check().as_str()).collect();
    assert_eq!(checks, ["tcp", "tls", "http"]);
    assert!(round.iter().all(|e| e.success()), "{round:?}");
    assert!(round[0].observed.tls.is_none() && round[1].observed.tls.is_some());
    assert_eq!(gw.hits(), 1, "only the http check sends a request");
}

#[tokio::test]
async fn http_and_api_version_share_one_request() {
    let gw = Gateway::http(Behavior::ok("{\"status\":\"UP\"}").header("x-api-version", "2.4"))
        .await
        .unwrap();
    let t = target(&format!(
        "name = \"t\"\nurl = \"http://127.0.0.1:{}/v2/status\"\nchecks = [\"api_version\", \"http\"]\n[targets.api_version]\nheader = \"X-Api-Version\"\nrequire = \">=3\"",
        gw.port()
    ));
    let deadline = tokio::time::Instant::now() + t.timeout;
    let round = crate::support::judged_round(&t, deadline).await;
    assert_eq!(gw.hits(), 1, "the gateway is asked once per round");
    let checks: Vec<&str> = round.iter().map(|e| e.check().as_str()).collect();
    assert_eq!(checks, ["api_version", "http"], "in the configured order");
    assert!(round[1].success(), "the HTTP exchange itself is fine");
    assert_eq!(kind(&round[0]), Some(FailureKind::ApiVersionMismatch));
    assert_eq!(
        round[0]
            .readings
            .api_version
            .as_ref()
            .unwrap()
            .seen
            .as_deref(),
        Some("2.4")
    );
}
