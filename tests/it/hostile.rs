//! The hostile-gateway suite (issue 15): real servers on loopback that misbehave on purpose.
//!
//! Each case asserts the bounded evidence and its cause, that the probe returned within its
//! timeout plus `limits::DEADLINE_SLACK` (the documented slack), and that nothing panicked
//! (a panic would fail the test itself). Memory is bounded by the caps of `src/limits/`:
//! the serialised evidence stays small whatever the server sent.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use payprobe::demo::gateway::{Behavior, Gateway};
use payprobe::limits;
use payprobe::probe::{FailureKind, Phase};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::time::Instant;

use crate::support::{probe, target, target_in};

/// Evidence serialised stays under this: the body cap (64 KiB by default), its excerpt,
/// headers of interest (bounded by the head cap) and a few fields.
const EVIDENCE_BOUND: usize = 256 * 1024;

fn kind(e: &payprobe::checked::Checked) -> Option<FailureKind> {
    e.failure.as_ref().map(|f| f.kind)
}

/// Probes `t` once, asserting the deadline and the size of the evidence.
async fn bounded(t: &payprobe::config::Target) -> payprobe::checked::Checked {
    let started = Instant::now();
    let ev = probe(t).await;
    let took = started.elapsed();
    assert!(
        took <= t.timeout + limits::DEADLINE_SLACK,
        "the probe took {took:?}, past its timeout {:?} + slack {:?}",
        t.timeout,
        limits::DEADLINE_SLACK
    );
    let size = serde_json::to_string(&ev).unwrap().len();
    assert!(size < EVIDENCE_BOUND, "evidence is {size} bytes");
    if let Some(h) = &ev.observed.http {
        assert!(
            h.body.len() <= t.http.max_body_bytes,
            "body kept past the cap"
        );
    }
    ev
}

/// A TCP server running `handle` for every connection.
async fn server<F, Fut>(handle: F) -> u16
where
    F: Fn(TcpStream) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = l.local_addr().unwrap().port();
    let handle = Arc::new(handle);
    tokio::spawn(async move {
        while let Ok((s, _)) = l.accept().await {
            tokio::spawn(handle(s));
        }
    });
    port
}

/// Reads (part of) the request so the probe is past sending it.
async fn read_request(s: &mut TcpStream) {
    let mut buf = [0u8; 4096];
    let _ = s.read(&mut buf).await;
}

fn http_target(port: u16, timeout: &str, extra: &str) -> Arc<payprobe::config::Target> {
    target(&format!(
        "name = \"t\"\nurl = \"http://127.0.0.1:{port}/\"\nchecks = [\"http\"]\ninterval = \"10s\"\ntimeout = \"{timeout}\"\n{extra}"
    ))
}

#[tokio::test]
async fn accept_and_never_answer_is_a_response_timeout() {
    let port = server(|mut s| async move {
        read_request(&mut s).await;
        tokio::time::sleep(Duration::from_secs(60)).await;
    })
    .await;
    let ev = bounded(&http_target(port, "800ms", "")).await;
    assert_eq!(kind(&ev), Some(FailureKind::ResponseTimeout));
    assert_eq!(ev.failure.unwrap().phase, Phase::Processing);
}

#[tokio::test]
async fn headers_one_byte_a_second_end_at_the_deadline() {
    let port = server(|mut s| async move {
        read_request(&mut s).await;
        for b in b"HTTP/1.1 200 OK\r\nX-Slow: aaaaaaaaaaaaaaaaaaaaaa".iter() {
            if s.write_all(&[*b]).await.is_err() {
                return;
            }
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
    })
    .await;
    let ev = bounded(&http_target(port, "1500ms", "")).await;
    assert_eq!(kind(&ev), Some(FailureKind::ResponseTimeout));
}

#[tokio::test]
async fn endless_headers_are_cut_at_the_head_limit() {
    let port = server(|mut s| async move {
        read_request(&mut s).await;
        let _ = s.write_all(b"HTTP/1.1 200 OK\r\n").await;
        let line = format!("X-Pad: {}\r\n", "a".repeat(1000));
        // Bounded on our side too: at most 100 MiB, far past any limit.
        for _ in 0..100_000 {
            if s.write_all(line.as_bytes()).await.is_err() {
                return;
            }
        }
    })
    .await;
    let ev = bounded(&http_target(port, "3s", "")).await;
    assert_eq!(kind(&ev), Some(FailureKind::HttpProtocolError), "{ev:?}");
}

#[tokio::test]
async fn one_mebibyte_of_headers_is_refused() {
    let port = server(|mut s| async move {
        read_request(&mut s).await;
        let big = format!(
            "HTTP/1.1 200 OK\r\nX-Big: {}\r\nContent-Length: 0\r\n\r\n",
            "b".repeat(1 << 20)
        );
        let _ = s.write_all(big.as_bytes()).await;
    })
    .await;
    let ev = bounded(&http_target(port, "3s", "")).await;
    assert_eq!(kind(&ev), Some(FailureKind::HttpProtocolError), "{ev:?}");
    let detail = ev.failure.unwrap().detail;
    assert!(detail.contains("too large"), "{detail}");
}

#[tokio::test]
async fn too_many_headers_are_refused() {
    let n = limits::MAX_RESPONSE_HEADERS + 50;
    let port = server(move |mut s| async move {
        read_request(&mut s).await;
        let mut r = String::from("HTTP/1.1 200 OK\r\n");
        for i in 0..n {
            r.push_str(&format!("X-H{i}: v\r\n"));
        }
        r.push_str("Content-Length: 0\r\n\r\n");
        let _ = s.write_all(r.as_bytes()).await;
    })
    .await;
    let ev = bounded(&http_target(port, "3s", "")).await;
    assert_eq!(kind(&ev), Some(FailureKind::HttpProtocolError), "{ev:?}");
}

#[tokio::test]
async fn an_endless_chunked_body_is_read_up_to_the_cap() {
    let port = server(|mut s| async move {
        read_request(&mut s).await;
        let _ = s
            .write_all(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
            .await;
        let chunk = format!("1000\r\n{}\r\n", "c".repeat(0x1000));
        for _ in 0..100_000 {
            if s.write_all(chunk.as_bytes()).await.is_err() {
                return;
            }
        }
    })
    .await;
    let ev = bounded(&http_target(
        port,
        "3s",
        "[targets.http]\nmax_body_bytes = 10000",
    ))
    .await;
    let h = ev.observed.http.as_ref().unwrap();
    assert!(h.body_truncated, "{ev:?}");
    assert_eq!(h.body.len(), 10_000);
    assert!(h.body_bytes > 10_000 && h.body_bytes < 1_000_000);
    assert!(
        ev.failure.is_none(),
        "a 200 whose body is cut at the cap is still an answer"
    );
}

#[tokio::test]
async fn a_ten_gigabyte_content_length_that_stalls_is_a_body_timeout() {
    let port = server(|mut s| async move {
        read_request(&mut s).await;
        let _ = s
            .write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 10000000000\r\n\r\nfirst-bytes")
            .await;
        tokio::time::sleep(Duration::from_secs(60)).await;
    })
    .await;
    let ev = bounded(&http_target(port, "1s", "")).await;
    assert_eq!(kind(&ev), Some(FailureKind::BodyTimeout), "{ev:?}");
}

#[tokio::test]
async fn a_reset_mid_body_is_a_closed_connection_in_transfer() {
    let port = server(|mut s| async move {
        read_request(&mut s).await;
        let _ = s
            .write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 5000\r\n\r\npartial body")
            .await;
        tokio::time::sleep(Duration::from_millis(50)).await;
        // SO_LINGER 0: close sends RST, not FIN.
        let s = socket2::Socket::from(s.into_std().unwrap());
        let _ = s.set_linger(Some(Duration::ZERO));
        drop(s);
    })
    .await;
    let ev = bounded(&http_target(port, "3s", "")).await;
    let f = ev.failure.clone().unwrap();
    assert_eq!(f.kind, FailureKind::ConnectionClosed, "{ev:?}");
    assert_eq!(f.phase, Phase::Transfer);
}

#[tokio::test]
async fn a_redirect_loop_ends_at_max_redirects() {
    let gw = Gateway::http(Behavior::ok("").status(302).header("location", "/again"))
        .await
        .unwrap();
    let t = http_target(
        gw.port(),
        "3s",
        "[targets.http]\nfollow_redirects = true\nmax_redirects = 4",
    );
    let ev = bounded(&t).await;
    assert_eq!(kind(&ev), Some(FailureKind::TooManyRedirects));
    assert_eq!(ev.observed.http.as_ref().unwrap().redirects, 5);
    assert_eq!(gw.hits(), 5, "the first request and 4 redirects, no more");
}

// ----- TLS -----

mod tls;

// ----- Dates, numbers and bytes a gateway chooses -----

mod data;

// ----- DNS -----

type Answer = fn(&[u8]) -> Vec<u8>;

/// A UDP name server answering each query with `answer(query)`.
async fn dns_server(answer: Answer) -> std::net::SocketAddr {
    let s = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let addr = s.local_addr().unwrap();
    tokio::spawn(async move {
        let mut buf = [0u8; 1500];
        while let Ok((n, peer)) = s.recv_from(&mut buf).await {
            let _ = s.send_to(&answer(&buf[..n]), peer).await;
        }
    });
    addr
}

/// The query turned into an empty reply (QR set) with extra flags in byte 2.
fn reply(q: &[u8], flags: u8) -> Vec<u8> {
    let mut r = q.to_vec();
    if r.len() >= 12 {
        r[2] |= 0x80 | flags;
        r[3] = 0x80;
        r[6..12].fill(0);
    }
    r
}

#[tokio::test]
async fn a_dns_server_answering_truncated_malformed_or_foreign_ids_fails_dns_in_time() {
    let cases: [(&str, Answer); 3] = [
        // TC set: the resolver retries over TCP, where nothing listens.
        ("truncated", |q| reply(q, 0x02)),
        ("malformed", |_| b"\x12\x34\xff\xff garbage".to_vec()),
        ("mismatched id", |q| {
            let mut r = reply(q, 0);
            if r.len() >= 2 {
                r[0] ^= 0x5a;
            }
            r
        }),
    ];
    for (what, answer) in cases {
        let addr = dns_server(answer).await;
        let t = target(&format!(
            "name = \"t\"\nurl = \"http://pay.test:1/\"\nchecks = [\"dns\"]\ninterval = \"10s\"\ntimeout = \"1500ms\"\n[targets.dns]\nresolvers = [\"{addr}\"]"
        ));
        let ev = bounded(&t).await;
        let f = ev
            .failure
            .clone()
            .unwrap_or_else(|| panic!("{what}: {ev:?}"));
        assert_eq!(f.phase, Phase::Dns, "{what}: {ev:?}");
        assert!(
            ev.observed.dns.as_ref().unwrap().addresses.is_empty(),
            "{what}"
        );
    }
}

// ----- Config bounds -----

/// Values past the bounds of `src/limits/` are refused by line and column, so deadline
/// arithmetic never sees them; an absent `[targets.ping]` still has its burst checked.
#[test]
fn config_values_past_their_bounds_are_named_by_line_and_column() {
    let src = "[server]\nmax_concurrency = 1000000\n[[targets]]\nname = \"a\"\nurl = \"https://a.example\"\ninterval = \"9999999999h\"\n[[targets]]\nname = \"b\"\nurl = \"https://b.example\"\ntimeout = \"11m\"\ninterval = \"1h\"\n[[targets]]\nname = \"c\"\nurl = \"https://c.example\"\nchecks = [\"ping\"]\ntimeout = \"1s\"\n";
    let parsed = payprobe::config::parse(
        std::path::Path::new("b.toml"),
        src,
        std::path::Path::new("."),
    );
    let Err(err) = parsed else {
        panic!("the config was accepted")
    };
    let err = err.to_string();
    for want in [
        "b.toml:2:19",
        "`max_concurrency` = 1000000: expected a whole number from 1 to 100000",
        "b.toml:6:12",
        "`interval` = \"9999999999h\" is longer than the largest accepted, 400d",
        "b.toml:10:11",
        "`timeout` = \"11m\" is longer than the largest accepted, 10m",
        "b.toml:16:11",
        "a ping burst takes up to 1s 800ms",
    ] {
        assert!(err.contains(want), "missing {want:?} in:\n{err}");
    }
}

// ----- Several addresses, one black-holed -----

/// A name with a black-holed address and a good one: the black hole costs one connection
/// attempt delay (RFC 8305's 250 ms), not the deadline, and the evidence lists each address
/// tried with its outcome. The black hole is 127.0.0.2:P with a full accept queue (SYNs
/// dropped, as on a dead route); the good server is 127.0.0.1:P.
#[tokio::test]
async fn a_black_holed_address_does_not_eat_the_deadline() {
    use crate::support::Dnsmasq;
    // The same port on two loopback addresses: the black hole first, then the good one.
    let (black, _fillers, port, good) = loop {
        let sock = tokio::net::TcpSocket::new_v4().unwrap();
        sock.bind("127.0.0.2:0".parse().unwrap()).unwrap();
        let black = sock.listen(1).unwrap();
        let addr = black.local_addr().unwrap();
        let mut fillers = Vec::new();
        for _ in 0..8 {
            let c = tokio::time::timeout(Duration::from_millis(200), TcpStream::connect(addr));
            if let Ok(Ok(s)) = c.await {
                fillers.push(s);
            }
        }
        if let Ok(good) = TcpListener::bind(("127.0.0.1", addr.port())).await {
            break (black, fillers, addr.port(), good);
        }
    };
    tokio::spawn(async move {
        while let Ok((mut s, _)) = good.accept().await {
            tokio::spawn(async move {
                read_request(&mut s).await;
                let _ = s
                    .write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}")
                    .await;
            });
        }
    });
    let d = Dnsmasq::start(&[
        // dnsmasq answers the last `--address` first.
        "--address=/pay.test/127.0.0.1",
        "--address=/pay.test/127.0.0.2",
    ])
    .await;
    let t = target(&format!(
        "name = \"t\"\nurl = \"http://pay.test:{port}/\"\nchecks = [\"http\"]\ninterval = \"10s\"\ntimeout = \"3s\"\n[targets.dns]\nresolvers = [\"{}\"]",
        d.addr
    ));
    let mut saw_black_first = false;
    for _ in 0..4 {
        let ev = bounded(&t).await;
        assert!(ev.failure.is_none(), "{ev:?}");
        let tried = &ev.observed.connect_attempts;
        let good = tried.iter().find(|a| a.outcome == "connected").unwrap();
        assert_eq!(good.address.ip().to_string(), "127.0.0.1");
        assert_eq!(ev.observed.tcp.as_ref().unwrap().address, good.address);
        if tried[0].address.ip().to_string() == "127.0.0.2" {
            saw_black_first = true;
            assert_eq!(tried[0].outcome, "abandoned", "{tried:?}");
            let connect = ev.observed.http.as_ref().unwrap().phases.connect;
            assert!(
                connect < Duration::from_millis(1500),
                "connect took {connect:?}"
            );
        }
        let json = serde_json::to_value(&ev).unwrap();
        assert!(json["connect_attempts"]
            .as_array()
            .is_some_and(|a| !a.is_empty()));
    }
    assert!(
        saw_black_first,
        "the resolver never put the black hole first: {:?}",
        bounded(&t).await.observed.dns
    );
    drop(black);
}
