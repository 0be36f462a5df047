//! The conditions on an HTTP answer (the `http` check, and the answers the `api_version` and
//! `rpc` checks got): the provider profile's reading of the body, then the expected status.

use crate::config::{Check, Target};
use crate::judge::condition::{Judgement, Which};
use crate::probe::{Failure, FailureKind, HttpEvidence, Phase};

/// Judges the last response of an exchange for `check`: the answer's signature, then the
/// provider's code or else the status. Returns whether the answer passed.
///
/// The provider's own code says more than the bare status: it decides when present, except
/// over a status the user listed in `expect_status` — that is their explicit word on this
/// answer (docs/profiles.md, "Precedence"). The profile's reading is kept either way. A code
/// no source documents says nothing: an error status still does (a 401 is authentication
/// whatever the body's undocumented code).
pub(super) fn judge(t: &Target, h: &HttpEvidence, check: Check, j: &mut Judgement) -> bool {
    let status = h.status.unwrap_or(0);
    let profile = crate::profile::judge(t.profile, status, &h.body, h.body_truncated, &t.ok_codes);
    j.read(check).profile = profile.clone();
    if h.signature.is_some()
        && !j.hold(
            check,
            Which::AnswerSignature,
            signature(h, profile.as_ref()),
        )
    {
        return false;
    }
    if !t.http.expect_status.contains(&status) {
        if let Err(f) = super::auth::refused(h, &t.url) {
            return j.hold(check, Which::AuthForm, Err(f));
        }
    }
    let undocumented = |v: &crate::profile::Verdict| {
        v.cause == crate::classify::Cause::Unknown && !(200..300).contains(&status)
    };
    match profile.as_ref().filter(|v| !undocumented(v)) {
        Some(v) => j.hold(check, Which::ProviderCode, provider(t, h, v)),
        None => j.hold(check, Which::ExpectedStatus, self::status(t, h)),
    }
}

/// The provider's code, unless the status is one the user listed.
fn provider(t: &Target, h: &HttpEvidence, v: &crate::profile::Verdict) -> Result<(), Failure> {
    let status = h.status.unwrap_or(0);
    if v.ok || t.http.expect_status.contains(&status) {
        return Ok(());
    }
    let msg = v
        .message
        .as_deref()
        .map(|m| format!(" ({m})"))
        .unwrap_or_default();
    Err(Failure::new(
        Phase::Content,
        FailureKind::ProviderError,
        format!(
            "{} code {}{msg}: {}; HTTP status {status}",
            v.profile.as_str(),
            v.code,
            v.means
        ),
    ))
}

/// The bare status against `expect_status` (or 2xx).
fn status(t: &Target, h: &HttpEvidence) -> Result<(), Failure> {
    let status = h.status.unwrap_or(0);
    if !t.http.status_ok(status) {
        let want = if t.http.expect_status.is_empty() {
            "2xx".to_string()
        } else {
            format!("{:?}", t.http.expect_status)
        };
        return Err(Failure::new(
            Phase::Processing,
            FailureKind::UnexpectedStatus,
            format!("status {status}, expected {want}"),
        ));
    }
    Ok(())
}

/// A signed call's answer that cannot be trusted is `security` whatever its status or code
/// (issue 19): its code may have been written by anyone. An unsigned answer that is an error
/// anyway keeps the provider's reading when the provider leaves such answers unsigned: one
/// that refuses the credentials (neither Alipay nor WeChat Pay signs a "bad signature"
/// answer), and any Alipay error (Alipay's own SDK checks `sign` on a failed call only when
/// there is one). An unsigned answer never passes for healthy.
fn signature(h: &HttpEvidence, profile: Option<&crate::profile::Verdict>) -> Result<(), Failure> {
    let Some(s) = h.signature.as_ref().filter(|s| s.answer.fails()) else {
        return Ok(());
    };
    let provider_error = profile.filter(|v| !v.ok);
    let unsigned_error = s.answer == crate::sign::AnswerCheck::Missing
        && provider_error.is_some_and(|v| {
            v.cause == crate::classify::Cause::Security || s.kind == crate::sign::SignKind::Alipay
        });
    if unsigned_error {
        return Ok(());
    }
    let tried = if s.keys_tried.is_empty() {
        String::new()
    } else {
        format!("; tried: {}", s.keys_tried.join(", "))
    };
    let status = h.status.unwrap_or(0);
    Err(Failure::new(
        Phase::Content,
        FailureKind::AnswerSignature,
        format!(
            "{} answer to a call signed by {}: {}{tried}; HTTP status {status}",
            s.kind.as_str(),
            s.request_key,
            s.problem.as_deref().unwrap_or("signature not verified")
        ),
    ))
}
