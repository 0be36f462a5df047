//! Verdicts: the conditions a round's observations are held against — the expected status
//! and the provider's codes (`http.rs`), the version range, deprecation and schema
//! (`api_version.rs`), the loss threshold (`ping.rs`), the chain and its lag behind peers
//! (`rpc.rs`), a channel's delay and silence (`notify.rs`) — and the readings made on the way
//! (the profile's reading of a body, the certificate and credential expiry windows). Each
//! outcome is one [`Condition`](super::condition::Condition) of the round's
//! [`Judgement`]; the observations are only read.
//!
//! A lower layer explains a higher one: conditions are held only over an answer that came
//! (the version read of a failed answer is still made, so the version a 500 carried is
//! shown). Pure but for the chain heights, which are the peers' own readings; `now` is
//! given.

pub mod api_version;
mod auth;
mod http;
mod notify;
mod ping;
mod rpc;

use std::time::SystemTime;

use super::condition::{Judgement, Which};
use crate::checked::CredentialExpiry;
use crate::config::{Check, Target};
use crate::probe::Evidence;

/// The judging step, shared by every target's rounds (the `rpc` check compares a node with
/// the other nodes of its chain).
#[derive(Default)]
pub struct Verdicts {
    heights: rpc::Heights,
}

impl Verdicts {
    /// Holds each observation of one target's round against the target's conditions.
    pub fn judge_round(&self, t: &Target, round: &[Evidence], now: SystemTime) -> Judgement {
        let mut j = Judgement::default();
        for e in round {
            self.judge(t, e, now, &mut j);
        }
        j
    }

    fn judge(&self, t: &Target, e: &Evidence, now: SystemTime, j: &mut Judgement) {
        expiry(t, e, now, j);
        let observed = e.failure.is_none();
        let c = e.check;
        match c {
            Check::Dns | Check::Tcp | Check::Tls => {}
            Check::Http => {
                if let (Some(h), true) = (&e.http, observed) {
                    http::judge(t, h, c, j);
                }
            }
            Check::ApiVersion => {
                let Some(h) = &e.http else {
                    return;
                };
                if observed {
                    http::judge(t, h, c, j);
                }
                version(t, h, c, now, j);
            }
            Check::Ping => {
                if let (Some(p), true) = (&e.ping, observed) {
                    j.hold(c, Which::LossThreshold, ping::judge(&t.ping, p));
                }
            }
            Check::Rpc => {
                if !observed {
                    return;
                }
                if let Some(h) = &e.http {
                    if !http::judge(t, h, c, j) {
                        return;
                    }
                }
                if let Some(r) = &e.rpc {
                    rpc::judge(&self.heights, t, r, j);
                }
            }
            Check::Notification => {
                if let (Some(n), Some(ch), true) = (&e.notification, &t.channel, observed) {
                    j.hold(c, Which::Notification, notify::judge(ch, n));
                }
            }
        }
    }
}

/// Reads an answer for its version (even a failed answer: the version a 500 carried is
/// still shown) and holds it against `[targets.api_version]`.
fn version(
    t: &Target,
    h: &crate::probe::HttpEvidence,
    c: Check,
    now: SystemTime,
    j: &mut Judgement,
) {
    let (ev, outcome) = api_version::evaluate(&t.api_version, h, now);
    j.read(c).api_version = Some(ev);
    j.hold(c, Which::ApiVersion, outcome);
}

/// The `api_version` observation of a round whose `http` check made the one request: the
/// `http` answer again, with the conditions and readings already judged on it (judged once),
/// then read for its version. A failed answer stays the failure, as in the `ApiVersion` arm
/// of [`Verdicts::judge`].
pub fn api_version_of(t: &Target, http: &Evidence, j: &mut Judgement, now: SystemTime) -> Evidence {
    let mut e = http.clone();
    e.check = Check::ApiVersion;
    j.copy(Check::Http, Check::ApiVersion);
    if let Some(h) = &http.http {
        version(t, h, Check::ApiVersion, now, j);
    }
    e
}

/// A valid certificate expiring within the target's `cert_expiry_warning` is flagged (a
/// warning, not a failure: it still works today), and so are the certificates a signed
/// probe relies on, against `expiry_warning` and `expiry_critical` ([targets.sign]).
fn expiry(t: &Target, e: &Evidence, now: SystemTime, j: &mut Judgement) {
    if let Some(tls) = &e.tls {
        let valid = tls.version.is_some();
        let soon = valid
            && tls
                .certificate
                .as_ref()
                .is_some_and(|c| c.remaining(now) < t.cert_expiry_warning);
        j.read(e.check).cert_expiring = soon;
    }
    let (Some(spec), Some(h)) = (&t.http.sign, &e.http) else {
        return;
    };
    let Some(s) = &h.signature else {
        return;
    };
    let now = crate::timefmt::unix_secs(now);
    let within = |d: std::time::Duration, c: &crate::sign::Credential| {
        c.not_after_unix.saturating_sub(now) < i64::try_from(d.as_secs()).unwrap_or(i64::MAX)
    };
    let flags = s
        .credentials
        .iter()
        .map(|c| CredentialExpiry {
            expiring: within(spec.expiry_warning, c),
            critical: within(spec.expiry_critical, c),
        })
        .collect();
    j.read(e.check).credentials = flags;
}

#[cfg(test)]
mod tests;
