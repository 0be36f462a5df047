//! Properties over generated judged checks and bodies: the verdict never depends on order, and
//! every answer is placed.

use super::*;

fn any_failure() -> impl Strategy<Value = Checked> {
    let kinds = prop_oneof![
        Just((Check::Dns, Phase::Dns, K::DnsNxdomain)),
        Just((Check::Dns, Phase::Dns, K::DnsTimeout)),
        Just((Check::Tcp, Phase::Connect, K::ConnectRefused)),
        Just((Check::Tcp, Phase::Connect, K::ConnectTimeout)),
        Just((Check::Tls, Phase::Tls, K::TlsCertExpired)),
        Just((Check::Tls, Phase::Tls, K::TlsHandshakeTimeout)),
        Just((Check::Http, Phase::Processing, K::ResponseTimeout)),
        Just((Check::Http, Phase::Transfer, K::ConnectionClosed)),
        Just((Check::Http, Phase::Processing, K::UnexpectedStatus)),
    ];
    (kinds, 400u16..600).prop_map(|((c, p, k), code)| {
        if k == K::UnexpectedStatus {
            status(code, "https://gw.example/v1/x", &[])
        } else {
            failing(c, p, k)
        }
    })
}

fn higher_layer_failure() -> impl Strategy<Value = Checked> {
    prop_oneof![
        Just(failing(Check::Http, Phase::Processing, K::ResponseTimeout)),
        Just(failing(Check::Http, Phase::Transfer, K::BodyTimeout)),
        (400u16..600).prop_map(|c| status(c, "https://gw.example/v1/x", &[])),
    ]
}

proptest! {
    #[test]
    fn a_window_of_passing_probes_is_always_none(
        durations in proptest::collection::vec(1u64..5000, 1..30),
        fail_t in 1u32..5,
        ok_t in 1u32..5,
    ) {
        let t = target("latency_slo = \"1s\"");
        let mut w = Window::new(fail_t, ok_t);
        for ms in durations {
            w.push(judge_round(&t, &[passing(Check::Tcp, ms / 2), passing(Check::Http, ms)]));
        }
        let d = classify(&w, &PeerView::default(), SystemTime::UNIX_EPOCH);
        prop_assert_eq!((d.cause, d.scope, d.healthy, d.flapping), (Cause::None, Scope::None, true, false));
    }

    #[test]
    fn the_verdict_does_not_depend_on_evidence_order(
        mut round in proptest::collection::vec(any_failure(), 1..6),
        rot in 0usize..6,
    ) {
        let t = target("");
        let first = judge_round(&t, &round);
        round.reverse();
        prop_assert_eq!(&judge_round(&t, &round), &first);
        let n = round.len();
        round.rotate_left(rot % n);
        prop_assert_eq!(&judge_round(&t, &round), &first);
    }

    #[test]
    fn a_higher_layer_failure_does_not_change_a_lower_layers_cause(
        low in prop_oneof![
            Just(failing(Check::Dns, Phase::Dns, K::DnsServfail)),
            Just(failing(Check::Tcp, Phase::Connect, K::ConnectTimeout)),
            Just(failing(Check::Tcp, Phase::Connect, K::ConnectRefused)),
            Just(failing(Check::Tls, Phase::Tls, K::TlsCertUnknownIssuer)),
            Just(failing(Check::Tls, Phase::Tls, K::TlsProtocolVersion)),
        ],
        high in higher_layer_failure(),
    ) {
        let t = target("");
        let alone = judge_round(&t, std::slice::from_ref(&low));
        let both = judge_round(&t, &[high, low]);
        prop_assert_eq!((both.cause, both.rule), (alone.cause, alone.rule));
    }
}

/// One answer as the judge holds it (`src/judge/verdict/http.rs`): the profile reads the
/// body first, then the status decides.
fn answered(profile: crate::profile::Profile, status: u16, body: &[u8]) -> Checked {
    let verdict = crate::profile::judge(profile, status, body, false, &[]);
    let mut e = Evidence::new("t", Check::Http);
    let failure = match &verdict {
        Some(v) if v.ok => None,
        Some(_) => Some(Failure::new(Phase::Content, K::ProviderError, "provider")),
        None if (200..300).contains(&status) => None,
        None => Some(Failure::new(
            Phase::Processing,
            K::UnexpectedStatus,
            "status",
        )),
    };
    e.http = Some(HttpEvidence {
        status: Some(status),
        final_url: "https://gw.example/pay".into(),
        ..Default::default()
    });
    let mut c = Checked::unconditioned(e);
    c.failure = failure;
    c.readings.profile = verdict;
    c
}

/// The answer itself cannot be placed: a reserved, unused status, or a provider code no
/// source documents (the verdict says so).
fn ambiguous(e: &Checked) -> bool {
    let h = e.observed.http.as_ref().unwrap();
    match &e.readings.profile {
        Some(v)
            if e.failure
                .as_ref()
                .is_some_and(|f| f.kind == K::ProviderError) =>
        {
            v.means.contains("is not in payprobe's table")
        }
        _ => matches!(h.status, Some(306 | 418)),
    }
}

fn any_body() -> impl Strategy<Value = Vec<u8>> {
    let code = prop_oneof![
        Just("-32000".to_string()),
        Just("-32601".to_string()),
        Just("\"-32005\"".to_string()),
        (-33000i64..0).prop_map(|n| n.to_string()),
    ];
    let msg = prop_oneof![
        Just("header not found"),
        Just("nonce too low"),
        Just("rate limit"),
        Just("x"),
    ];
    prop_oneof![
        proptest::collection::vec(any::<u8>(), 0..64),
        Just(b"<!DOCTYPE html><html><title>Down</title></html>".to_vec()),
        Just(b"{\"status\":\"ok\"}".to_vec()),
        Just(b"[]".to_vec()),
        (code.clone(), msg).prop_map(|(c, m)| format!(
            r#"{{"jsonrpc":"2.0","id":null,"error":{{"code":{c},"message":"{m}"}}}}"#
        )
        .into_bytes()),
        code.prop_map(|c| format!(
            r#"[{{"jsonrpc":"2.0","id":1,"result":"0x1"}},{{"jsonrpc":"2.0","id":2,"error":{{"code":{c}}}}}]"#
        )
        .into_bytes()),
        Just(br#"{"alipay_trade_query_response":{"code":"40004","sub_code":"ACQ.SYSTEM_ERROR"}}"#.to_vec()),
        Just(br#"{"code":"SYSTEM_ERROR","message":"busy"}"#.to_vec()),
        Just(br#"{"error":{"type":"api_error","message":"x"}}"#.to_vec()),
    ]
}

proptest! {
    /// A working TCP path with an answer never yields `unknown` unless the answer itself is
    /// ambiguous: any status (registered or not), any body, any profile.
    #[test]
    fn an_answer_over_a_working_path_is_placed_unless_it_is_itself_ambiguous(
        status in 100u16..1000,
        body in any_body(),
        p in proptest::sample::select(crate::profile::Profile::ALL.to_vec()),
    ) {
        let t = target("");
        let e = answered(p, status, &body);
        let v = judge_round(&t, std::slice::from_ref(&e));
        if v.cause == Cause::Unknown {
            prop_assert!(ambiguous(&e), "unknown for {:?} at {status}: {:?}", p, v.reason);
        }
    }

    /// A peer that answered in another protocol (TLS, HTTP) is placed too.
    #[test]
    fn a_protocol_mismatch_is_the_servers(
        kind in proptest::sample::select(vec![K::TlsNotTls, K::TlsPeerMisbehaved, K::TlsAlert, K::HttpProtocolError, K::ConnectionClosed]),
    ) {
        let t = target("");
        let phase = if matches!(kind, K::HttpProtocolError | K::ConnectionClosed) { Phase::Processing } else { Phase::Tls };
        let v = judge_round(&t, &[failing(Check::Http, phase, kind)]);
        prop_assert_eq!(v.cause, Cause::Server);
    }
}
