//! Where a probe was and what went wrong there: the `phase` and `kind` label values and the
//! `failure` object of the JSON evidence.

closed! {
    /// The phases of a request, in the order they happen. Also the `phase` label values.
    pub enum Phase / EVERY {
        Dns = "dns",
        Connect = "connect",
        /// The HTTP CONNECT exchange with the target's `proxy`, from the proxy's TCP connection
        /// being up to its `200` (only for targets with a proxy; zero otherwise).
        Proxy = "proxy",
        Tls = "tls",
        Processing = "processing",
        Transfer = "transfer",
        /// Judging the body after it arrived: provider codes, API version, schema. Not a timed
        /// phase (not in [`Phase::ALL`]); it ranks above the others when failures are compared.
        Content = "content",
    }
}

impl Phase {
    /// The timed phases, in the order they happen (every phase but `content`): the phase
    /// timings of an HTTP exchange and the `phase` label values of its durations.
    pub const ALL: [Phase; 6] = [
        Phase::Dns,
        Phase::Connect,
        Phase::Proxy,
        Phase::Tls,
        Phase::Processing,
        Phase::Transfer,
    ];
}

closed! {
    /// What went wrong, as a closed set the classifier can match on.
    pub enum FailureKind / ALL {
        // DNS
        DnsNxdomain = "dns_nxdomain",
        DnsServfail = "dns_servfail",
        DnsRefused = "dns_refused",
        DnsNoAddresses = "dns_no_addresses",
        DnsTimeout = "dns_timeout",
        DnsError = "dns_error",
        /// Answers outside `expect_addresses`: hijacking or misrouting.
        DnsUnexpectedAddress = "dns_unexpected_address",
        // TCP
        ConnectRefused = "connect_refused",
        ConnectReset = "connect_reset",
        ConnectTimeout = "connect_timeout",
        HostUnreachable = "host_unreachable",
        NetworkUnreachable = "network_unreachable",
        ConnectError = "connect_error",
        /// The target's `source_address` cannot be bound (not an address of this host).
        SourceAddressUnavailable = "source_address_unavailable",
        // The target's HTTP proxy: on this side of the path.
        /// The proxy refused or reset the connection: nothing listens on its port.
        ProxyRefused = "proxy_refused",
        /// The proxy answered 407: `proxy_auth_file`/`proxy_auth_env` missing or refused.
        ProxyAuthRequired = "proxy_auth_required",
        /// The proxy answered 502/503/504 to CONNECT: it could not reach the target.
        ProxyTargetUnreachable = "proxy_target_unreachable",
        /// The proxy answered CONNECT with another status, or not in HTTP, or hung up.
        ProxyError = "proxy_error",
        /// The proxy did not answer CONNECT before the deadline.
        ProxyTimeout = "proxy_timeout",
        /// More pings lost than `loss_threshold` allows.
        PacketLoss = "packet_loss",
        // TLS
        TlsHandshakeTimeout = "tls_handshake_timeout",
        TlsCertExpired = "tls_cert_expired",
        TlsCertNotYetValid = "tls_cert_not_yet_valid",
        TlsCertUnknownIssuer = "tls_cert_unknown_issuer",
        TlsCertNameMismatch = "tls_cert_name_mismatch",
        TlsCertSelfSigned = "tls_cert_self_signed",
        TlsCertRevoked = "tls_cert_revoked",
        TlsCertInvalid = "tls_cert_invalid",
        TlsProtocolVersion = "tls_protocol_version",
        TlsAlert = "tls_alert",
        /// The server refused the connection for want of a client certificate (mutual TLS): a
        /// client-authentication alert, or nginx's answer saying so.
        TlsClientAuth = "tls_client_auth",
        /// The peer answered with bytes that are not TLS records (e.g. plain HTTP on a TLS port).
        TlsNotTls = "tls_not_tls",
        /// The peer speaks TLS but broke the protocol.
        TlsPeerMisbehaved = "tls_peer_misbehaved",
        /// The handshake ended without a TLS answer (closed or reset).
        TlsError = "tls_error",
        // HTTP, after the connection is up
        /// The request was sent and no response headers came before the deadline.
        ResponseTimeout = "response_timeout",
        /// Headers came, the body did not finish before the deadline.
        BodyTimeout = "body_timeout",
        /// The peer closed or reset the connection mid-exchange.
        ConnectionClosed = "connection_closed",
        HttpProtocolError = "http_protocol_error",
        UnexpectedStatus = "unexpected_status",
        TooManyRedirects = "too_many_redirects",
        BadRedirect = "bad_redirect",
        /// The answer sends the client to a login page (a redirect to `/login`, an OAuth
        /// authorization endpoint) instead of answering: the credentials are missing or expired.
        LoginRedirect = "login_redirect",
        /// The provider's own error code, read by its profile (see `http.profile`).
        ProviderError = "provider_error",
        /// The gateway speaks an API version outside `require`.
        ApiVersionMismatch = "api_version_mismatch",
        /// The version could not be read (header, pointer or regex found nothing usable).
        ApiVersionMissing = "api_version_missing",
        /// The `Sunset` date has passed.
        ApiSunsetPassed = "api_sunset_passed",
        /// `required_fields` are missing or have another type.
        ApiSchemaDrift = "api_schema_drift",
        /// The chain node serves another chain than `chain_id`.
        RpcWrongChain = "rpc_wrong_chain",
        /// The chain node trails its peers by more than `max_block_lag`.
        RpcBehind = "rpc_behind",
        // Payment notifications (`[[notifications]]` channels).
        /// The last notification the callback handler reported came later than `max_delay`
        /// after its payment.
        NotificationLate = "notification_late",
        /// No notification for longer than `max_silence` (within `active_hours`).
        NotificationMissing = "notification_missing",
        /// The answer of a signed call carries no signature, or one that does not verify with
        /// the provider key it names (`[targets.sign]`).
        AnswerSignature = "answer_signature",
        /// The prober itself did not return by its deadline (a payprobe bug, never the gateway).
        DeadlineExceeded = "deadline_exceeded",
        /// payprobe itself failed during the round (a caught panic): never the gateway.
        InternalError = "internal_error",
    }
}
