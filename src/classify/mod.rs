//! Diagnosis: evidence in, an answer an on-call engineer can act on out.
//!
//! Three pure steps, no I/O and no clock reads (time is passed in):
//!
//! 1. [`judge_round`] turns one round's evidence into a [`RoundVerdict`] with the rules table
//!    in [`rules`]: the lowest failing layer decides (DNS → TCP → TLS → HTTP), so a DNS outage
//!    is never reported as the HTTP timeout it also causes.
//! 2. [`Window`] keeps the last verdicts of a target and applies `failure_threshold` /
//!    `success_threshold`, so one lost probe does not flip a target, and notices flapping.
//! 3. [`classify`] combines the window with a [`PeerView`] — what the *other* targets look
//!    like — into a [`Diagnosis`]: cause, scope ("is it me or them?"), symptoms and a hint.
//!
//! [`reason()`] says the diagnosis's reason in English or Simplified Chinese, [`warnings()`]
//! its warnings, [`hint`] its remediation; [`status`] is the IANA status registry
//! docs/status-codes.md walks.

mod challenge;
pub mod rules;
mod scope;
mod slow;
pub mod status;
mod warnings;
mod window;

use std::collections::BTreeSet;
use std::time::SystemTime;

use serde::Serialize;

pub use crate::lang::{hint, ReasonParts, WarningParts};
pub use crate::vocab::Lang;
pub use rules::{judge_round, RoundVerdict};
pub use scope::{PeerView, Peers, Reach, Seat, WayOut};
pub use warnings::{credential_expiring, sign_warnings};
pub use window::Window;

pub use crate::vocab::{Cause, Scope, Symptom};

/// The answer for one target.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Diagnosis {
    pub cause: Cause,
    pub scope: Scope,
    pub symptoms: BTreeSet<Symptom>,
    /// Health after the thresholds.
    pub healthy: bool,
    /// The target changed between pass and fail often in its recent rounds.
    pub flapping: bool,
    /// The rule that decided (`"none"` when healthy): the id of a row of [`rules::RULES`].
    pub rule: &'static str,
    /// The evidence behind the cause, in one line.
    pub reason: String,
    /// What works now but will not for long (an expiring certificate, a Sunset date), as
    /// parts: [`warnings()`] says them in English or Chinese (English in this struct's JSON).
    pub warnings: Vec<WarningParts>,
    /// The latest round passed but was slower than the target's `latency_slo`.
    pub slow: bool,
    /// What `reason` is made of: [`reason()`] renders it in English or Chinese.
    #[serde(skip)]
    pub parts: Option<ReasonParts>,
}

/// Diagnoses a target from its window and what the other targets look like.
pub fn classify(window: &Window, ctx: &PeerView, _now: SystemTime) -> Diagnosis {
    let healthy = window.healthy();
    let flapping = window.flapping();
    let latest = window.latest();
    // While healthy, only a slow-but-successful probe is worth a symptom.
    let (cause, rule, reason, mut symptoms, failure_parts) = match (healthy, window.last_failure())
    {
        (false, Some(v)) => (
            v.cause,
            v.rule,
            v.reason.clone(),
            v.symptoms.clone(),
            v.parts.clone(),
        ),
        _ => (Cause::None, "none", String::new(), BTreeSet::new(), None),
    };
    if let Some(v) = latest {
        if v.slow {
            symptoms.insert(Symptom::PaymentDelay);
        }
    }
    let scope = if healthy {
        Scope::None
    } else if rules::ON_THIS_SIDE.contains(&rule) {
        Scope::Local
    } else {
        scope::scope(cause, ctx)
    };
    let (reason, parts) = if healthy {
        let slow = latest.filter(|v| v.slow);
        (
            slow.map(|v| v.reason.clone()).unwrap_or_default(),
            slow.and_then(|v| v.parts.clone()),
        )
    } else {
        (reason, failure_parts)
    };
    let mut warnings = latest.map(|v| v.warnings.clone()).unwrap_or_default();
    if !healthy && scope::broken_control(ctx) {
        warnings.push(WarningParts::BrokenControl);
    }
    Diagnosis {
        slow: latest.is_some_and(|v| v.slow),
        cause,
        scope,
        symptoms,
        healthy,
        flapping,
        rule,
        reason,
        warnings,
        parts,
    }
}

/// The reason of a diagnosis in `lang`, said by the catalogue ([`crate::lang::say`]) from
/// its parts: the entry point of the API, the status page, incidents and alerts. English is
/// exactly `d.reason`; a diagnosis without parts (none restored from disk has them) falls
/// back to it.
pub fn reason(d: &Diagnosis, lang: Lang) -> String {
    match &d.parts {
        Some(p) => crate::lang::say(p, lang),
        None => d.reason.clone(),
    }
}

/// The warnings of a diagnosis in `lang`, said by the catalogue ([`crate::lang::warning`]):
/// the entry point of the API, the status page and the logs.
pub fn warnings(d: &Diagnosis, lang: Lang) -> Vec<String> {
    d.warnings
        .iter()
        .map(|w| crate::lang::warning(w, lang))
        .collect()
}

impl Diagnosis {
    /// The diagnosis of a target that has not finished a round yet.
    pub fn pending() -> Diagnosis {
        Diagnosis {
            cause: Cause::None,
            scope: Scope::None,
            symptoms: BTreeSet::new(),
            healthy: true,
            flapping: false,
            rule: "none",
            reason: String::new(),
            warnings: Vec::new(),
            slow: false,
            parts: None,
        }
    }
}

#[cfg(test)]
mod tests;
