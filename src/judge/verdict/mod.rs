//! Verdicts: the one judging step between observation (`src/probe`) and diagnosis
//! (`src/classify`). A prober says what it saw; here a round's evidence is held against the
//! target's conditions — the expected status and the provider's codes (`http.rs`), the
//! version range, deprecation and schema (`api_version.rs`), the loss threshold (`ping.rs`),
//! the chain and its lag behind peers (`rpc.rs`), and the certificate expiry warning — and a
//! broken condition becomes the evidence's `failure`.
//!
//! A lower layer explains a higher one: evidence that already failed while being observed
//! (no connection, a timeout) keeps that failure; conditions are judged only over an answer
//! that came. Pure but for the chain heights, which are the peers' own evidence; `now` is
//! given.

pub mod api_version;
mod http;
mod notify;
mod ping;
mod rpc;

use std::time::SystemTime;

use crate::config::{Check, Target};
use crate::probe::{Evidence, Failure};

/// The judging step, shared by every target's rounds (the `rpc` check compares a node with
/// the other nodes of its chain).
#[derive(Default)]
pub struct Verdicts {
    heights: rpc::Heights,
}

impl Verdicts {
    /// Judges each evidence of one target's round in place, setting `failure` and `success`.
    pub fn apply(&self, t: &Target, round: &mut [Evidence], now: SystemTime) {
        for e in round.iter_mut() {
            let verdict = self.judge(t, e, now);
            if e.failure.is_none() {
                e.failure = verdict.err();
            }
            e.success = e.failure.is_none();
        }
    }

    fn judge(&self, t: &Target, e: &mut Evidence, now: SystemTime) -> Result<(), Failure> {
        cert_expiry(t, e, now);
        let observed = e.failure.is_none();
        match e.check {
            Check::Dns | Check::Tcp | Check::Tls => Ok(()),
            Check::Http => match e.http.as_mut() {
                Some(h) if observed => http::judge(t, h),
                _ => Ok(()),
            },
            Check::ApiVersion => {
                let Some(h) = e.http.as_mut() else {
                    return Ok(());
                };
                let answer = if observed { http::judge(t, h) } else { Ok(()) };
                // Read even from a failed answer: the version a 500 carried is still shown.
                let (ev, version) = api_version::evaluate(&t.api_version, h, now);
                e.api_version = Some(ev);
                answer.and(version)
            }
            Check::Ping => match &e.ping {
                Some(p) if observed => ping::judge(&t.ping, p),
                _ => Ok(()),
            },
            Check::Rpc => {
                if !observed {
                    return Ok(());
                }
                if let Some(h) = e.http.as_mut() {
                    http::judge(t, h)?;
                }
                match e.rpc.as_mut() {
                    Some(r) => rpc::judge(&self.heights, t, r),
                    None => Ok(()),
                }
            }
            Check::Notification => match (&e.notification, &t.channel) {
                (Some(n), Some(c)) if observed => notify::judge(c, n),
                _ => Ok(()),
            },
        }
    }
}

/// The `api_version` evidence of a round whose `http` check made the one request
/// (`Judge::conditions`): the already judged `http` answer, read for its version. A failed
/// answer stays the failure, as in the `ApiVersion` arm of [`Verdicts::judge`].
pub fn api_version_of(t: &Target, http: &Evidence, now: SystemTime) -> Evidence {
    let mut e = http.clone();
    e.check = Check::ApiVersion;
    if let Some(h) = &e.http {
        let (ev, version) = api_version::evaluate(&t.api_version, h, now);
        e.api_version = Some(ev);
        if e.failure.is_none() {
            e.failure = version.err();
        }
    }
    e.success = e.failure.is_none();
    e
}

/// A valid certificate expiring within the target's `cert_expiry_warning` is flagged (a
/// warning, not a failure: it still works today).
fn cert_expiry(t: &Target, e: &mut Evidence, now: SystemTime) {
    credential_expiry(t, e, now);
    if let Some(tls) = e.tls.as_mut() {
        let valid = tls.version.is_some();
        tls.expiring_soon = valid
            && tls
                .certificate
                .as_ref()
                .is_some_and(|c| c.remaining(now) < t.cert_expiry_warning);
    }
}

/// The certificates a signed probe relies on, held against `expiry_warning` and
/// `expiry_critical` ([targets.sign]).
fn credential_expiry(t: &Target, e: &mut Evidence, now: SystemTime) {
    let (Some(spec), Some(h)) = (&t.http.sign, e.http.as_mut()) else {
        return;
    };
    let Some(s) = h.signature.as_mut() else {
        return;
    };
    let now = crate::timefmt::unix_secs(now);
    let within = |d: std::time::Duration, c: &crate::sign::Credential| {
        c.not_after_unix.saturating_sub(now) < i64::try_from(d.as_secs()).unwrap_or(i64::MAX)
    };
    for c in &mut s.credentials {
        c.expiring = within(spec.expiry_warning, c);
        c.critical = within(spec.expiry_critical, c);
    }
}

#[cfg(test)]
mod tests;
