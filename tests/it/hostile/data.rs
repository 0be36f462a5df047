//! Dates, numbers and bytes a gateway chooses.

use super::*;

fn api_target(port: u16, extra: &str) -> Arc<payprobe::config::Target> {
    target(&format!(
        "name = \"t\"\nurl = \"http://127.0.0.1:{port}/\"\nchecks = [\"api_version\"]\ninterval = \"10s\"\ntimeout = \"2s\"\n[targets.api_version]\n{extra}"
    ))
}

#[tokio::test]
async fn deprecation_and_sunset_far_in_the_future_are_warnings_not_panics() {
    for (dep, want) in [
        ("@300000000000", "+11476-"),
        ("@9223372036854775807", "+292277026596-"),
        ("@-9223372036854775808", "-292277022657-"),
    ] {
        let gw = Gateway::http(
            Behavior::ok("{}")
                .header("deprecation", dep)
                .header("sunset", "Fri, 31 Dec 9999 23:59:59 GMT"),
        )
        .await
        .unwrap();
        let ev = bounded(&api_target(gw.port(), "")).await;
        let a = ev.readings.api_version.clone().unwrap();
        assert!(a.deprecated);
        let said = crate::support::english(&a.warnings);
        assert!(
            said.iter().any(|w| w.contains(want)),
            "{dep}: {:?}",
            a.warnings
        );
        assert!(
            said.iter().any(|w| w.contains("9999-12-31T23:59:59Z")),
            "{:?}",
            a.warnings
        );
    }
}

#[tokio::test]
async fn numbers_past_i64_invalid_utf8_and_deep_json_are_data() {
    let port = server(|mut s| async move {
        read_request(&mut s).await;
        let body = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
        let head = format!(
            "HTTP/1.1 200 OK\r\nDeprecation: @99999999999999999999999\r\nContent-Length: {}\r\n\r\n",
            body.len()
        );
        let mut out = head.into_bytes();
        out.extend_from_slice(body.as_bytes());
        let _ = s.write_all(&out).await;
    })
    .await;
    let t = api_target(
        port,
        "json_pointer = \"/version\"\n[targets.api_version.required_fields]\n\"/id\" = \"string\"\n[targets.http]\nmax_body_bytes = 300000",
    );
    let ev = bounded(&t).await;
    let a = ev.readings.api_version.clone().unwrap();
    assert!(a.deprecated, "an unreadable date still means deprecated");
    assert_eq!(a.deprecation_unix, None);
    assert_eq!(kind(&ev), Some(FailureKind::ApiVersionMissing), "{ev:?}");
}

#[tokio::test]
async fn invalid_utf8_in_headers_and_body_is_shown_lossily() {
    let port = server(|mut s| async move {
        read_request(&mut s).await;
        let mut out = b"HTTP/1.1 200 OK\r\nX-Api-Version: 3.\xff\xfe\r\nSunset: \xc3\x28\r\nContent-Length: 6\r\n\r\n".to_vec();
        out.extend_from_slice(b"\xff\xfe\xfd{}\x80");
        let _ = s.write_all(&out).await;
    })
    .await;
    let ev = bounded(&api_target(
        port,
        "header = \"X-Api-Version\"\nrequire = \">=3\"",
    ))
    .await;
    assert_eq!(kind(&ev), Some(FailureKind::ApiVersionMissing), "{ev:?}");
    let a = ev.readings.api_version.clone().unwrap();
    assert_eq!(a.sunset_unix, None);
    assert!(a.seen.unwrap().contains('\u{fffd}'));
    assert!(ev.observed.http.unwrap().body_excerpt.contains('\u{fffd}'));
}

#[tokio::test]
async fn a_block_height_past_u64_is_not_a_height() {
    let gw = Gateway::http(Behavior::jsonrpc(&[
        ("eth_chainId", serde_json::json!("0x1")),
        (
            "eth_blockNumber",
            serde_json::json!("0xffffffffffffffffffffffffffffffffffff"),
        ),
    ]))
    .await
    .unwrap();
    let t = target(&format!(
        "name = \"t\"\nurl = \"http://127.0.0.1:{}/\"\nprofile = \"evm_jsonrpc\"\nchecks = [\"rpc\"]\ninterval = \"10s\"\ntimeout = \"2s\"\n[targets.rpc]\nchain = \"ethereum\"",
        gw.port()
    ));
    let ev = bounded(&t).await;
    assert_eq!(kind(&ev), Some(FailureKind::ProviderError), "{ev:?}");
    assert!(ev.failure.unwrap().detail.contains("not a block height"));
}

/// `probe-once` used to panic outright on `Deprecation: @300000000000`.
#[tokio::test]
async fn probe_once_survives_a_far_deprecation_date() {
    let gw = Gateway::http(Behavior::ok("{}").header("deprecation", "@300000000000"))
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("p.toml");
    std::fs::write(
        &f,
        format!(
            "[[targets]]\nname = \"t\"\nurl = \"http://127.0.0.1:{}/\"\nchecks = [\"http\", \"api_version\"]\ntimeout = \"2s\"\n",
            gw.port()
        ),
    )
    .unwrap();
    let out = tokio::task::spawn_blocking(move || {
        std::process::Command::new(env!("CARGO_BIN_EXE_payprobe"))
            .args(["probe-once", f.to_str().unwrap(), "--json"])
            .env("RUST_LOG", "warn")
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("+11476-"), "{stdout}");
}
