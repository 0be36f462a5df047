//! The rules table test's rows: one evidence per rule, and the rule and cause it must get.

use super::*;

/// A row: the evidence, the rule that must decide, and its cause.
pub(super) type Row = (Checked, &'static str, Cause);

/// One row per rule (several for rules with several shapes), by layer.
pub(super) fn table() -> Vec<Row> {
    let mut rows = answer_rows();
    for more in [
        dns_rows(),
        path_rows(),
        tls_rows(),
        http_rows(),
        status_rows(),
    ] {
        rows.extend(more);
    }
    rows
}

/// What the body, a profile, a verdict or the notification channel said, and payprobe's
/// own failures.
fn answer_rows() -> Vec<Row> {
    use Cause::*;
    use Check::{Http, Tcp};
    vec![
        // The provider's code beats the status it came with (here a 200 or a 503).
        (provider(Server, 200), "provider_server", Server),
        (
            failing(Check::Rpc, Phase::Content, K::RpcWrongChain),
            "rpc_wrong_chain",
            UserInput,
        ),
        (
            failing(Check::Rpc, Phase::Content, K::RpcBehind),
            "rpc_behind",
            Server,
        ),
        (
            failing(Http, Phase::Content, K::AnswerSignature),
            "answer_signature",
            Security,
        ),
        (
            failing(Check::ApiVersion, Phase::Content, K::ApiVersionMismatch),
            "api_version_mismatch",
            ApiVersion,
        ),
        (
            failing(Check::ApiVersion, Phase::Content, K::ApiSunsetPassed),
            "api_sunset_passed",
            ApiVersion,
        ),
        (
            failing(Check::ApiVersion, Phase::Content, K::ApiSchemaDrift),
            "api_schema_drift",
            ApiVersion,
        ),
        (
            failing(Check::ApiVersion, Phase::Content, K::ApiVersionMissing),
            "api_version_missing",
            ApiVersion,
        ),
        (provider(Security, 503), "provider_security", Security),
        (
            provider(ApiVersion, 200),
            "provider_api_version",
            ApiVersion,
        ),
        (provider(UserInput, 500), "provider_user_input", UserInput),
        (provider(Unknown, 200), "provider_unknown", Unknown),
        // Payment notifications: money confirmed late.
        (
            failing(Check::Notification, Phase::Content, K::NotificationLate),
            "notification_late",
            Server,
        ),
        (
            failing(Check::Notification, Phase::Content, K::NotificationMissing),
            "notification_missing",
            Server,
        ),
        (mismatch("not_json"), "provider_format", Server),
        (mismatch("login_page"), "login_page", Security),
        (mismatch("not_provider_format"), "provider_format", Server),
        (
            failing(Http, Phase::Processing, K::DeadlineExceeded),
            "internal_error",
            Unknown,
        ),
        (
            failing(Tcp, Phase::Processing, K::InternalError),
            "internal_error",
            Unknown,
        ),
    ]
}

/// DNS: nothing else can work without a name.
fn dns_rows() -> Vec<Row> {
    use Cause::*;
    use Check::Dns;
    vec![
        (
            failing(Dns, Phase::Dns, K::DnsNxdomain),
            "dns_nxdomain",
            Network,
        ),
        (
            failing(Dns, Phase::Dns, K::DnsServfail),
            "dns_servfail",
            Network,
        ),
        (
            failing(Dns, Phase::Dns, K::DnsRefused),
            "dns_refused",
            Network,
        ),
        (
            failing(Dns, Phase::Dns, K::DnsNoAddresses),
            "dns_no_addresses",
            Network,
        ),
        (
            failing(Dns, Phase::Dns, K::DnsTimeout),
            "dns_timeout",
            Network,
        ),
        (failing(Dns, Phase::Dns, K::DnsError), "dns_error", Network),
        (
            failing(Dns, Phase::Dns, K::DnsUnexpectedAddress),
            "dns_unexpected_address",
            Security,
        ),
    ]
}

/// The path: connect, packet loss and our way out.
fn path_rows() -> Vec<Row> {
    use Cause::*;
    use Check::{Http, Tcp};
    vec![
        (
            failing(Check::Ping, Phase::Connect, K::PacketLoss),
            "packet_loss",
            Network,
        ),
        (
            failing(Tcp, Phase::Connect, K::ConnectTimeout),
            "connect_timeout",
            Network,
        ),
        (
            failing(Tcp, Phase::Connect, K::HostUnreachable),
            "host_unreachable",
            Network,
        ),
        (
            failing(Tcp, Phase::Connect, K::NetworkUnreachable),
            "network_unreachable",
            Network,
        ),
        (
            failing(Tcp, Phase::Connect, K::ConnectRefused),
            "connect_refused",
            Server,
        ),
        (
            failing(Tcp, Phase::Connect, K::ConnectReset),
            "connect_refused",
            Server,
        ),
        (
            failing(Tcp, Phase::Connect, K::ConnectError),
            "connect_error",
            Network,
        ),
        // Our own way out: the proxy and the source address are on this side.
        (
            failing(Tcp, Phase::Connect, K::SourceAddressUnavailable),
            "source_address_unavailable",
            Network,
        ),
        (
            failing(Http, Phase::Connect, K::ProxyRefused),
            "proxy_refused",
            Network,
        ),
        (
            failing(Http, Phase::Proxy, K::ProxyAuthRequired),
            "proxy_auth_required",
            Network,
        ),
        (
            failing(Http, Phase::Proxy, K::ProxyError),
            "proxy_error",
            Network,
        ),
        (
            failing(Http, Phase::Proxy, K::ProxyTargetUnreachable),
            "proxy_target_unreachable",
            Network,
        ),
        (
            failing(Http, Phase::Proxy, K::ProxyTimeout),
            "proxy_timeout",
            Network,
        ),
    ]
}

/// The TLS handshake and what answered instead of TLS.
fn tls_rows() -> Vec<Row> {
    use Cause::*;
    use Check::Tls;
    vec![
        (
            failing(Tls, Phase::Tls, K::TlsCertSelfSigned),
            "tls_cert_self_signed",
            Security,
        ),
        (
            failing(Tls, Phase::Tls, K::TlsCertRevoked),
            "tls_cert_revoked",
            Security,
        ),
        (
            failing(Tls, Phase::Tls, K::TlsHandshakeTimeout),
            "tls_handshake_timeout",
            Network,
        ),
        (
            failing(Tls, Phase::Tls, K::TlsCertExpired),
            "tls_cert_expired",
            Security,
        ),
        (
            failing(Tls, Phase::Tls, K::TlsCertNotYetValid),
            "tls_cert_not_yet_valid",
            Security,
        ),
        (
            failing(Tls, Phase::Tls, K::TlsCertUnknownIssuer),
            "tls_cert_unknown_issuer",
            Security,
        ),
        (
            failing(Tls, Phase::Tls, K::TlsCertNameMismatch),
            "tls_cert_name_mismatch",
            Security,
        ),
        (
            failing(Tls, Phase::Tls, K::TlsCertInvalid),
            "tls_cert_invalid",
            Security,
        ),
        (
            failing(Tls, Phase::Tls, K::TlsProtocolVersion),
            "tls_protocol_version",
            ApiVersion,
        ),
        // A peer that answered in another protocol shows the path works: the server's.
        (failing(Tls, Phase::Tls, K::TlsAlert), "tls_alert", Server),
        (
            failing(Tls, Phase::Tls, K::TlsNotTls),
            "tls_not_tls",
            Server,
        ),
        (
            failing(Tls, Phase::Tls, K::TlsPeerMisbehaved),
            "tls_peer_misbehaved",
            Server,
        ),
        // Closed before any TLS answer: a middlebox or a non-TLS server, said to be unknown.
        (failing(Tls, Phase::Tls, K::TlsError), "tls_closed", Unknown),
    ]
}

/// The HTTP exchange once the connection is up.
fn http_rows() -> Vec<Row> {
    use Cause::*;
    use Check::Http;
    vec![
        (
            failing(Http, Phase::Processing, K::ResponseTimeout),
            "response_timeout",
            Server,
        ),
        (
            failing(Http, Phase::Transfer, K::BodyTimeout),
            "body_timeout",
            Server,
        ),
        (
            failing(Http, Phase::Transfer, K::ConnectionClosed),
            "connection_closed",
            Server,
        ),
        (
            failing(Http, Phase::Processing, K::TooManyRedirects),
            "too_many_redirects",
            Server,
        ),
        (
            failing(Http, Phase::Processing, K::BadRedirect),
            "bad_redirect",
            Server,
        ),
        (
            failing(Http, Phase::Processing, K::HttpProtocolError),
            "http_protocol_error",
            Server,
        ),
    ]
}

/// Unexpected statuses: every status has a row.
fn status_rows() -> Vec<Row> {
    use Cause::*;
    let v = "https://gw.example/v3/pay";
    vec![
        (
            status(503, v, &[("retry-after", "120")]),
            "status_503_retry_after",
            Server,
        ),
        (status(503, v, &[]), "status_5xx", Server),
        (status(502, v, &[]), "status_5xx", Server),
        (status(401, v, &[]), "status_401", Security),
        (status(403, v, &[]), "status_403", Security),
        (status(429, v, &[]), "status_429", Security),
        (status(404, v, &[]), "status_404_versioned", ApiVersion),
        (
            status(410, "https://gw.example/api/v2.1/x", &[]),
            "status_410_versioned",
            ApiVersion,
        ),
        (status(426, v, &[]), "status_426", ApiVersion),
        (status(406, v, &[]), "status_406", ApiVersion),
        (status(415, v, &[]), "status_415", ApiVersion),
        (status(400, v, &[]), "status_400", UserInput),
        (status(422, v, &[]), "status_422", UserInput),
        (status(423, v, &[]), "status_423", UserInput),
        // Every status has a row; only the reserved, unused ones are unknown, said plainly.
        (
            status(404, "https://gw.example/pay", &[]),
            "status_404",
            UserInput,
        ),
        (status(418, v, &[]), "status_unused", Unknown),
        (status(306, v, &[]), "status_unused", Unknown),
        (status(101, v, &[]), "status_1xx", Server),
        (status(204, v, &[]), "status_2xx_unexpected", Server),
        (status(301, v, &[]), "status_3xx_moved", UserInput),
        (status(308, v, &[]), "status_3xx_moved", UserInput),
        (status(304, v, &[]), "status_304", Server),
        (status(305, v, &[]), "status_305", Network),
        (status(302, v, &[]), "status_3xx", Server),
        (status(307, v, &[]), "status_3xx", Server),
        (status(407, v, &[]), "status_407", Network),
        (status(451, v, &[]), "status_451", Network),
        (status(408, v, &[]), "status_408", Network),
        (status(402, v, &[]), "status_402", UserInput),
        (
            status(410, "https://gw.example/pay", &[]),
            "status_410",
            ApiVersion,
        ),
        (status(421, v, &[]), "status_421", Server),
        (status(424, v, &[]), "status_424", Server),
        (status(425, v, &[]), "status_425", Server),
        (status(405, v, &[]), "status_405", UserInput),
        (status(409, v, &[]), "status_409", UserInput),
        (status(413, v, &[]), "status_request_rejected", UserInput),
        (status(431, v, &[]), "status_request_rejected", UserInput),
        (status(499, v, &[]), "status_4xx", UserInput),
        (status(511, v, &[]), "status_511", Network),
        (status(501, v, &[]), "status_501", ApiVersion),
        (status(505, v, &[]), "status_505", ApiVersion),
        (status(510, v, &[]), "status_510", ApiVersion),
        (status(504, v, &[]), "status_504", Server),
        (status(520, v, &[]), "status_5xx", Server),
        (status(600, v, &[]), "status_invalid", Server),
        // Refused credentials in other forms than a bare 401/403 (docs/diagnosis.md).
        (
            failing(Check::Http, Phase::Tls, K::TlsClientAuth),
            "tls_client_auth",
            Security,
        ),
        (
            failing(Check::Http, Phase::Processing, K::LoginRedirect),
            "login_redirect",
            Security,
        ),
        (
            status(
                400,
                v,
                &[("www-authenticate", r#"Bearer error="invalid_token""#)],
            ),
            "bearer_token_refused",
            Security,
        ),
        (
            status(
                403,
                v,
                &[("www-authenticate", "Bearer error=insufficient_scope")],
            ),
            "bearer_token_refused",
            Security,
        ),
        (
            status(
                400,
                v,
                &[("www-authenticate", r#"Bearer error="invalid_request""#)],
            ),
            "status_400",
            UserInput,
        ),
    ]
}
