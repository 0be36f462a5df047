//! The JSON of a judged check: the observation's fields as they are, with the judge's
//! readings and failure put where readers have always found them. Each view is built by
//! destructuring its observation without `..`, so a field added to an observation type and
//! forgotten here is a compile error, not a silent gap in the API.

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime};

use serde::{Serialize, Serializer};

use super::{ApiVersionReading, Checked, Lag};
use crate::config::Check;
use crate::probe::{
    ConnectAttempt, DnsEvidence, Evidence, Failure, HttpEvidence, NotificationEvidence,
    PhaseTimings, ProxyEvidence, TcpEvidence, TlsEvidence,
};
use crate::sign::{AnswerCheck, Credential, SignEvidence, SignKind, VerifyMode};
use crate::timefmt::ser;

impl Serialize for Checked {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        View::of(self).serialize(s)
    }
}

#[derive(Serialize)]
struct View<'a> {
    target: &'a str,
    check: Check,
    #[serde(serialize_with = "ser::rfc3339")]
    started_at: SystemTime,
    #[serde(serialize_with = "ser::secs")]
    duration: Duration,
    /// `failure` is none.
    success: bool,
    failure: &'a Option<Failure>,
    #[serde(skip_serializing_if = "Option::is_none")]
    dns: Option<&'a DnsEvidence>,
    #[serde(skip_serializing_if = "Option::is_none")]
    tcp: Option<&'a TcpEvidence>,
    #[serde(skip_serializing_if = "Option::is_none")]
    proxy: Option<&'a ProxyEvidence>,
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    connect_attempts: &'a [ConnectAttempt],
    #[serde(skip_serializing_if = "Option::is_none")]
    ping: Option<&'a crate::probe::ping::PingEvidence>,
    #[serde(skip_serializing_if = "Option::is_none")]
    tls: Option<TlsView<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    http: Option<HttpView<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    api_version: Option<&'a ApiVersionReading>,
    #[serde(skip_serializing_if = "Option::is_none")]
    rpc: Option<RpcView<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    notification: Option<&'a NotificationEvidence>,
}

impl<'a> View<'a> {
    fn of(c: &'a Checked) -> View<'a> {
        let Evidence {
            target,
            check,
            started_at,
            duration,
            failure: _,
            dns,
            tcp,
            proxy,
            connect_attempts,
            ping,
            tls,
            http,
            rpc,
            notification,
        } = &c.observed;
        let r = &c.readings;
        View {
            target,
            check: *check,
            started_at: *started_at,
            duration: *duration,
            success: c.success(),
            failure: &c.failure,
            dns: dns.as_ref(),
            tcp: tcp.as_ref(),
            proxy: proxy.as_ref(),
            connect_attempts,
            ping: ping.as_ref(),
            tls: tls.as_ref().map(|observed| TlsView {
                observed,
                expiring_soon: r.cert_expiring,
            }),
            http: http.as_ref().map(|h| HttpView::of(h, c)),
            api_version: r.api_version.as_ref(),
            rpc: rpc.as_ref().map(|observed| RpcView {
                observed,
                lag: r.lag.unwrap_or_default().into(),
            }),
            notification: notification.as_ref(),
        }
    }
}

#[derive(Serialize)]
struct TlsView<'a> {
    #[serde(flatten)]
    observed: &'a TlsEvidence,
    /// Valid, but expiring within the target's `cert_expiry_warning`.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    expiring_soon: bool,
}

#[derive(Serialize)]
struct RpcView<'a> {
    #[serde(flatten)]
    observed: &'a crate::probe::rpc::RpcEvidence,
    #[serde(flatten)]
    lag: LagView,
}

#[derive(Serialize)]
struct LagView {
    best_peer_height: Option<u64>,
    lag: Option<u64>,
    peers: usize,
}

impl From<Lag> for LagView {
    fn from(l: Lag) -> LagView {
        LagView {
            best_peer_height: l.best_peer_height,
            lag: l.blocks,
            peers: l.peers,
        }
    }
}

#[derive(Serialize)]
struct HttpView<'a> {
    status: Option<u16>,
    version: &'a Option<String>,
    phases: &'a PhaseTimings,
    headers: &'a BTreeMap<String, String>,
    body_bytes: u64,
    body_truncated: bool,
    body_excerpt: &'a str,
    redirects: u32,
    final_url: &'a str,
    /// What the target's provider profile read in the body.
    #[serde(skip_serializing_if = "Option::is_none")]
    profile: Option<&'a crate::profile::Verdict>,
    #[serde(skip_serializing_if = "Option::is_none")]
    signature: Option<SignView<'a>>,
}

impl<'a> HttpView<'a> {
    fn of(h: &'a HttpEvidence, c: &'a Checked) -> HttpView<'a> {
        let HttpEvidence {
            status,
            version,
            phases,
            headers,
            body_bytes,
            body_truncated,
            body_excerpt,
            redirects,
            final_url,
            signature,
            body: _,
        } = h;
        HttpView {
            status: *status,
            version,
            phases,
            headers,
            body_bytes: *body_bytes,
            body_truncated: *body_truncated,
            body_excerpt,
            redirects: *redirects,
            final_url,
            profile: c.readings.profile.as_ref(),
            signature: signature.as_ref().map(|s| SignView::of(s, c)),
        }
    }
}

#[derive(Serialize)]
struct SignView<'a> {
    kind: SignKind,
    request_signed: bool,
    request_key: &'a str,
    verification_mode: VerifyMode,
    answer: AnswerCheck,
    #[serde(skip_serializing_if = "Option::is_none")]
    answer_serial: &'a Option<String>,
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    keys_tried: &'a [String],
    #[serde(skip_serializing_if = "Option::is_none")]
    problem: &'a Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    clock_skew_seconds: Option<i64>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    credentials: Vec<CredentialView<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    new_platform_serial: &'a Option<String>,
}

impl<'a> SignView<'a> {
    fn of(s: &'a SignEvidence, c: &'a Checked) -> SignView<'a> {
        let SignEvidence {
            kind,
            request_signed,
            request_key,
            verification_mode,
            answer,
            answer_serial,
            keys_tried,
            problem,
            clock_skew_seconds,
            credentials: _, // with their readings, from `Checked::credentials`
            new_platform_serial,
        } = s;
        SignView {
            kind: *kind,
            request_signed: *request_signed,
            request_key,
            verification_mode: *verification_mode,
            answer: *answer,
            answer_serial,
            keys_tried,
            problem,
            clock_skew_seconds: *clock_skew_seconds,
            credentials: c
                .credentials()
                .map(|(observed, x)| CredentialView {
                    observed,
                    expiring: x.expiring,
                    critical: x.critical,
                })
                .collect(),
            new_platform_serial,
        }
    }
}

#[derive(Serialize)]
struct CredentialView<'a> {
    #[serde(flatten)]
    observed: &'a Credential,
    /// Expiring within `expiry_warning` / `expiry_critical`.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    expiring: bool,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    critical: bool,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checked::{CredentialExpiry, Readings};
    use crate::probe::{FailureKind, Phase};

    /// A check whose observation passed and whose condition failed, with every reading set.
    fn judged() -> Checked {
        let mut e = Evidence::new("gw", Check::Http);
        e.tls = Some(TlsEvidence {
            version: Some("TLSv1.3".into()),
            ..Default::default()
        });
        e.http = Some(HttpEvidence {
            status: Some(200),
            body: bytes::Bytes::from_static(b"{\"secret_body\":1}"),
            signature: Some(SignEvidence {
                credentials: vec![
                    Credential::new("app_cert", "A1", 10),
                    Credential::new("alipay_cert", "B2", 20),
                ],
                ..Default::default()
            }),
            ..Default::default()
        });
        e.rpc = Some(crate::probe::rpc::RpcEvidence {
            height: Some(90),
            ..Default::default()
        });
        let failure = Failure::new(Phase::Content, FailureKind::RpcBehind, "10 behind");
        Checked {
            observed: e,
            failure: Some(failure),
            readings: Readings {
                cert_expiring: true,
                credentials: vec![CredentialExpiry {
                    expiring: true,
                    critical: true,
                }],
                api_version: Some(ApiVersionReading {
                    seen: Some("3.1".into()),
                    ..Default::default()
                }),
                lag: Some(Lag {
                    best_peer_height: Some(100),
                    peers: 2,
                    blocks: Some(10),
                }),
                ..Default::default()
            },
        }
    }

    #[test]
    fn readings_and_the_judged_failure_are_where_readers_find_them() {
        let j = serde_json::to_value(judged()).unwrap();
        assert_eq!(j["success"], false);
        assert_eq!(j["failure"]["kind"], "rpc_behind");
        assert_eq!(j["tls"]["expiring_soon"], true);
        assert_eq!(j["tls"]["version"], "TLSv1.3");
        assert_eq!(j["api_version"]["seen"], "3.1");
        assert_eq!(
            (&j["rpc"]["height"], &j["rpc"]["best_peer_height"]),
            (&90.into(), &100.into())
        );
        assert_eq!(
            (&j["rpc"]["lag"], &j["rpc"]["peers"]),
            (&10.into(), &2.into())
        );
        let creds = &j["http"]["signature"]["credentials"];
        assert_eq!(
            (&creds[0]["expiring"], &creds[0]["critical"]),
            (&true.into(), &true.into())
        );
        // The second credential had no reading: shown as inside neither window.
        assert_eq!(creds[1]["serial"], "B2");
        assert!(creds[1].get("expiring").is_none(), "{creds}");
        assert!(
            !j.to_string().contains("secret_body"),
            "bodies are never shown"
        );
    }

    #[test]
    fn an_unjudged_check_shows_its_observation_and_no_readings() {
        let mut c = judged();
        c.readings = Readings::default();
        c.failure = None;
        let j = serde_json::to_value(&c).unwrap();
        assert_eq!(j["success"], true);
        assert!(j["failure"].is_null());
        assert!(j.get("api_version").is_none());
        assert!(j["tls"].get("expiring_soon").is_none());
        assert!(j["http"].get("profile").is_none());
        assert!(j["rpc"]["lag"].is_null() && j["rpc"]["peers"] == 0);
    }
}
