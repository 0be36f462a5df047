//! The rules table: from one round's evidence to a cause and symptoms.
//!
//! One table, read top to bottom, first match wins (docs/architecture.md, "Design decisions"). The
//! failure that decides is the one at the lowest layer (DNS → connect → TLS → HTTP), ties
//! broken by check order, so the answer never depends on the order evidence arrived in.

use std::collections::BTreeSet;
use std::time::Duration;

use super::{Cause, Symptom};
use crate::config::{Check, Target};
use crate::probe::{Evidence, Failure, FailureKind, HttpEvidence, Phase};

use Symptom::{
    AuthFailure as AF, BalanceAnomaly as BA, NetworkInterruption as NI, PaymentDelay as PD,
    TransactionFailure as TF,
};

/// What a rule matches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum When {
    /// A failure of this kind.
    Kind(FailureKind),
    /// A failure of any of these kinds (kinds that mean the same, e.g. refused and reset).
    Kinds(&'static [FailureKind]),
    /// An unexpected status in this inclusive range.
    Status(u16, u16),
    /// An unexpected status in this range that also carries this response header.
    StatusWithHeader(u16, u16, &'static str),
    /// An unexpected status in this range on a versioned path (`/v1/`, `/v3/…`).
    StatusOnVersionedPath(u16, u16),
    /// A provider code its profile maps to this cause.
    Provider(Cause),
}

/// One row of the table.
#[derive(Debug, Clone, Copy)]
pub struct Rule {
    pub id: &'static str,
    pub when: When,
    pub cause: Cause,
    pub symptoms: &'static [Symptom],
    /// What the evidence means, for the reason line.
    pub means: &'static str,
}

const fn rule(
    id: &'static str,
    when: When,
    cause: Cause,
    symptoms: &'static [Symptom],
    means: &'static str,
) -> Rule {
    Rule {
        id,
        when,
        cause,
        symptoms,
        means,
    }
}

use Cause::{ApiVersion, Network, Security, Server, Unknown, UserInput};
use FailureKind as K;
use When::{Kind, Kinds, Status, StatusOnVersionedPath, StatusWithHeader};

/// The rules. Ids are stable: they appear in the JSON API and in tests.
pub const RULES: &[Rule] = &[
    // payprobe's own failure first: a caught panic or an overrun says nothing about the gateway.
    rule("internal_error", Kinds(&[K::InternalError, K::DeadlineExceeded]), Unknown, &[TF], "payprobe failed, not the gateway (a bug: please report it with this evidence)"),
    // DNS: nothing else can work without a name.
    rule("dns_nxdomain", Kind(K::DnsNxdomain), Network, &[NI, TF], "the name does not exist (NXDOMAIN): DNS hijack, expired domain or a typo"),
    rule("dns_servfail", Kind(K::DnsServfail), Network, &[NI, TF], "the resolver failed (SERVFAIL)"),
    rule("dns_refused", Kind(K::DnsRefused), Network, &[NI, TF], "the resolver refused the query"),
    rule("dns_no_addresses", Kind(K::DnsNoAddresses), Network, &[NI, TF], "the name has no A/AAAA records"),
    rule("dns_timeout", Kind(K::DnsTimeout), Network, &[NI, TF], "no DNS answer in time"),
    rule("dns_error", Kind(K::DnsError), Network, &[NI, TF], "DNS lookup failed"),
    rule("dns_unexpected_address", Kind(K::DnsUnexpectedAddress), Security, &[AF, TF], "the name resolved outside the expected networks: DNS hijacking or misrouting"),
    // TCP: the path, or nothing listening.
    rule("connect_timeout", Kind(K::ConnectTimeout), Network, &[NI, TF], "no answer to the connection attempt: packets are dropped on the way"),
    rule("host_unreachable", Kind(K::HostUnreachable), Network, &[NI, TF], "no route to the host"),
    rule("network_unreachable", Kind(K::NetworkUnreachable), Network, &[NI, TF], "no route to the network"),
    rule("packet_loss", Kind(K::PacketLoss), Network, &[NI, PD], "pings are lost on the way beyond the target's loss_threshold"),
    rule("connect_refused", Kinds(&[K::ConnectRefused, K::ConnectReset]), Server, &[TF], "the host answered but refused the connection: nothing listens on the port, the gateway or its load balancer is down"),
    // TLS: the certificate is a security fact, a stalled handshake is the path.
    rule("tls_handshake_timeout", Kind(K::TlsHandshakeTimeout), Network, &[NI, TF], "the TLS handshake stalled"),
    rule("tls_cert_expired", Kind(K::TlsCertExpired), Security, &[AF, TF], "the certificate has expired"),
    rule("tls_cert_not_yet_valid", Kind(K::TlsCertNotYetValid), Security, &[AF, TF], "the certificate is not valid yet (check this host's clock)"),
    rule("tls_cert_unknown_issuer", Kind(K::TlsCertUnknownIssuer), Security, &[AF, TF], "the certificate is not signed by a trusted CA (self-signed, missing intermediate, or interception)"),
    rule("tls_cert_name_mismatch", Kind(K::TlsCertNameMismatch), Security, &[AF, TF], "the certificate is for another name"),
    rule("tls_cert_self_signed", Kind(K::TlsCertSelfSigned), Security, &[AF, TF], "the certificate is self-signed: nobody vouches for it (a test endpoint, or interception)"),
    rule("tls_cert_revoked", Kind(K::TlsCertRevoked), Security, &[AF, TF], "the certificate is revoked (by the target's crl_file)"),
    rule("tls_cert_invalid", Kind(K::TlsCertInvalid), Security, &[AF, TF], "the certificate is invalid"),
    rule("tls_protocol_version", Kind(K::TlsProtocolVersion), ApiVersion, &[TF], "no TLS version in common: one side requires a version the other refuses"),
    // HTTP, after the request went out.
    rule("response_timeout", Kind(K::ResponseTimeout), Server, &[TF, PD], "the request was sent and no response came in time"),
    rule("body_timeout", Kind(K::BodyTimeout), Server, &[TF, PD], "the response started but did not finish in time"),
    rule("connection_closed", Kind(K::ConnectionClosed), Server, &[TF], "the server closed the connection mid-exchange"),
    rule("too_many_redirects", Kind(K::TooManyRedirects), Server, &[TF], "redirect loop"),
    rule("bad_redirect", Kind(K::BadRedirect), Server, &[TF], "unusable redirect"),
    // A provider's own code beats the bare status (profiles; docs/profiles.md).
    // The API version the gateway speaks (the `api_version` check).
    rule("api_version_mismatch", Kind(K::ApiVersionMismatch), ApiVersion, &[TF], "the gateway's API version is outside the range this client supports"),
    rule("api_sunset_passed", Kind(K::ApiSunsetPassed), ApiVersion, &[TF], "the API is past its Sunset date"),
    rule("api_schema_drift", Kind(K::ApiSchemaDrift), ApiVersion, &[TF], "the response no longer has the fields this client reads"),
    rule("api_version_missing", Kind(K::ApiVersionMissing), ApiVersion, &[TF], "the gateway no longer reports a usable API version"),
    // Chain nodes (the `rpc` check).
    rule("rpc_wrong_chain", Kind(K::RpcWrongChain), UserInput, &[TF], "the endpoint serves another chain than the config says: a wrong URL or chain_id"),
    rule("rpc_behind", Kind(K::RpcBehind), Server, &[BA, TF], "the node trails its peers: balances and confirmations read from it are stale"),
    rule("provider_server", When::Provider(Server), Server, &[TF], "the provider reports a failure on its side"),
    rule("provider_security", When::Provider(Security), Security, &[TF], "the provider refuses the credentials, signature or permission"),
    rule("provider_api_version", When::Provider(ApiVersion), ApiVersion, &[TF], "the provider no longer serves this method or version"),
    rule("provider_user_input", When::Provider(UserInput), UserInput, &[TF], "the provider rejects the request or the account state"),
    rule("provider_unknown", When::Provider(Unknown), Unknown, &[TF], "the provider's answer is not one payprobe can read"),
    rule("status_503_retry_after", StatusWithHeader(503, 503, "retry-after"), Server, &[TF, PD], "503 with Retry-After: planned maintenance or overload"),
    rule("status_5xx", Status(500, 599), Server, &[TF], "server error"),
    rule("status_401", Status(401, 401), Security, &[AF, TF], "authentication refused (credentials, signature or clock)"),
    rule("status_403", Status(403, 403), Security, &[AF, TF], "forbidden: permission, IP allow-list or risk control"),
    rule("status_429", Status(429, 429), Security, &[TF, PD], "rate limited or held by risk control"),
    rule("status_404_versioned", StatusOnVersionedPath(404, 404), ApiVersion, &[TF], "the versioned path no longer exists"),
    rule("status_410_versioned", StatusOnVersionedPath(410, 410), ApiVersion, &[TF], "the versioned path is gone"),
    rule("status_426", Status(426, 426), ApiVersion, &[TF], "the server requires a protocol upgrade"),
    rule("status_406", Status(406, 406), ApiVersion, &[TF], "the server cannot produce the requested format"),
    rule("status_415", Status(415, 415), ApiVersion, &[TF], "the server no longer accepts this request format"),
    rule("status_400", Status(400, 400), UserInput, &[TF], "the request is malformed"),
    rule("status_422", Status(422, 422), UserInput, &[TF], "the request is well-formed but its parameters are invalid"),
    rule("status_423", Status(423, 423), UserInput, &[TF, AF], "the account or resource is locked"),
];

/// The verdict on one round.
#[derive(Debug, Clone, PartialEq)]
pub struct RoundVerdict {
    pub ok: bool,
    pub cause: Cause,
    /// Id of the deciding rule: a row of [`RULES`], `"none"` or `"unmatched"`.
    pub rule: &'static str,
    pub symptoms: BTreeSet<Symptom>,
    pub reason: String,
    /// Passed, but slower than the target's `latency_slo`.
    pub slow: bool,
    /// Things that work now but will not for long (a certificate about to expire).
    pub warnings: Vec<String>,
    pub check: Option<Check>,
    pub phase: Option<Phase>,
}

fn layer(p: Phase) -> u8 {
    match p {
        Phase::Dns => 0,
        Phase::Connect => 1,
        Phase::Tls => 2,
        Phase::Processing => 3,
        Phase::Transfer => 4,
        Phase::Content => 5,
    }
}

/// Judges one round of a target.
pub fn judge_round(t: &Target, round: &[Evidence]) -> RoundVerdict {
    // Lowest layer first, then check order, then table order: a total order, so the
    // verdict never depends on the order evidence arrived in.
    let decisive = round
        .iter()
        .filter_map(|e| {
            let f = e.failure.as_ref()?;
            let idx = RULES
                .iter()
                .position(|r| matches(r.when, f, e.http.as_ref()));
            Some((e, f, idx))
        })
        .min_by(|a, b| {
            let key = |(e, f, idx): &(&Evidence, &Failure, Option<usize>)| {
                (layer(f.phase), e.check, idx.unwrap_or(RULES.len()))
            };
            key(a)
                .cmp(&key(b))
                .then_with(|| a.1.detail.cmp(&b.1.detail))
        });
    let Some((e, f, idx)) = decisive else {
        return passed(t, round);
    };
    let (cause, rule, symptoms, means) = match idx.map(|i| &RULES[i]) {
        Some(r) => (r.cause, r.id, r.symptoms, r.means),
        None => (
            Unknown,
            "unmatched",
            &[TF][..],
            "the evidence matched no rule",
        ),
    };
    // A provider code carries its own symptoms (a lagging chain node: balance_anomaly).
    let extra = e
        .http
        .as_ref()
        .and_then(|h| h.profile.as_ref())
        .filter(|_| f.kind == K::ProviderError)
        .map(|v| v.symptoms.clone())
        .unwrap_or_default();
    RoundVerdict {
        ok: false,
        cause,
        rule,
        symptoms: symptoms.iter().copied().chain(extra).collect(),
        reason: format!(
            "{} check, {} phase: {means} ({})",
            e.check.as_str(),
            f.phase.as_str(),
            f.detail
        ),
        slow: false,
        warnings: Vec::new(),
        check: Some(e.check),
        phase: Some(f.phase),
    }
}

fn matches(when: When, f: &Failure, http: Option<&HttpEvidence>) -> bool {
    let status = || {
        (f.kind == K::UnexpectedStatus)
            .then(|| http.and_then(|h| h.status))
            .flatten()
    };
    match when {
        Kind(k) => f.kind == k,
        Kinds(ks) => ks.contains(&f.kind),
        Status(lo, hi) => status().is_some_and(|s| (lo..=hi).contains(&s)),
        StatusWithHeader(lo, hi, name) => {
            status().is_some_and(|s| (lo..=hi).contains(&s))
                && http.is_some_and(|h| h.headers.contains_key(name))
        }
        When::Provider(cause) => {
            f.kind == K::ProviderError
                && http
                    .and_then(|h| h.profile.as_ref())
                    .is_some_and(|v| v.cause == cause)
        }
        StatusOnVersionedPath(lo, hi) => {
            status().is_some_and(|s| (lo..=hi).contains(&s))
                && http.is_some_and(|h| versioned_path(&h.final_url))
        }
    }
}

/// True when a path segment looks like an API version: `v1`, `v3`, `v2.1`.
pub fn versioned_path(url: &str) -> bool {
    let path = url.split(['?', '#']).next().unwrap_or("");
    let path = path.split_once("://").map_or(path, |(_, rest)| rest);
    path.split('/').skip(1).any(|seg| {
        let Some(rest) = seg.strip_prefix(['v', 'V']) else {
            return false;
        };
        !rest.is_empty()
            && rest.starts_with(|c: char| c.is_ascii_digit())
            && rest.chars().all(|c| c.is_ascii_digit() || c == '.')
    })
}

fn passed(t: &Target, round: &[Evidence]) -> RoundVerdict {
    let mut v = RoundVerdict {
        ok: true,
        cause: Cause::None,
        rule: "none",
        symptoms: BTreeSet::new(),
        reason: String::new(),
        slow: false,
        warnings: expiry_warnings(round),
        check: None,
        phase: None,
    };
    let Some(slo) = t.latency_slo else { return v };
    // The user-facing latency is the HTTP exchange when there is one.
    let measured = round
        .iter()
        .find(|e| e.check == Check::Http)
        .or_else(|| round.iter().max_by_key(|e| e.duration));
    let Some(e) = measured else { return v };
    if e.duration > slo {
        v.slow = true;
        v.symptoms.insert(Symptom::PaymentDelay);
        v.reason = slow_reason(e, slo);
    }
    v
}

/// Warnings of a passing round: certificates about to expire, deprecated or sunsetting APIs.
fn expiry_warnings(round: &[Evidence]) -> Vec<String> {
    let mut out: Vec<String> = round
        .iter()
        .filter_map(|e| e.tls.as_ref())
        .filter(|t| t.expiring_soon)
        .filter_map(|t| t.certificate.as_ref())
        .map(|c| {
            format!(
                "the certificate for {} expires at {}: renew it before then",
                c.subject, c.not_after
            )
        })
        .collect();
    out.extend(
        round
            .iter()
            .filter_map(|e| e.api_version.as_ref())
            .flat_map(|a| a.warnings.iter().cloned()),
    );
    out.dedup();
    out
}

/// Names the phase where the time went: slow connect/TLS is the path, slow processing is
/// the server.
fn slow_reason(e: &Evidence, slo: Duration) -> String {
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    let mut s = format!(
        "{} check took {:.0} ms, over the {:.0} ms latency SLO",
        e.check.as_str(),
        ms(e.duration),
        ms(slo)
    );
    if let Some(h) = &e.http {
        if let Some(p) = Phase::ALL.into_iter().max_by_key(|p| h.phases.get(*p)) {
            let whose = match p {
                Phase::Dns | Phase::Connect | Phase::Tls => "the network path",
                Phase::Processing | Phase::Transfer | Phase::Content => "the server",
            };
            s.push_str(&format!(
                "; most of it in {} ({:.0} ms): {whose} is slow",
                p.as_str(),
                ms(h.phases.get(p))
            ));
        }
    }
    s
}
