//! What the judge concluded about a round, kept apart from what was observed (as Gatus keeps
//! `ConditionResults` apart from its `Result`): a typed list of the conditions held against
//! each check, pass or fail, and the readings the judge made on the way (the provider
//! profile's reading of a body, the version read, the chain lag, expiry windows).
//!
//! The probers' evidence is never written by the judge. The judged view every reader gets —
//! the same `Evidence` shape the API, `/probe`, `probe-once --json` and the outputs always had
//! — is built from the two by [`view`]: an observation failure stays, otherwise the first
//! failed condition of the check is its failure.

use serde::Serialize;

use crate::config::Check;
use crate::probe::{ApiVersionEvidence, Evidence, Failure};

/// Which condition was held against a check's observation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Which {
    /// A signed call's answer carries a signature that verifies (`[targets.sign]`).
    AnswerSignature,
    /// The answer is not a refusal of credentials in a form other than 401/403 (a redirect to
    /// a login page, nginx's client-certificate page): held only where it fails.
    AuthForm,
    /// The provider's own code, read by its profile, is a success (or its status is listed).
    ProviderCode,
    /// The status is the expected one (`expect_status`, or 2xx).
    ExpectedStatus,
    /// The version is in range, not past its `Sunset`, and the schema holds.
    ApiVersion,
    /// Loss at most `loss_threshold`.
    LossThreshold,
    /// A chain node answered the height and chain questions.
    RpcAnswer,
    /// The node serves the configured `chain_id`.
    ChainId,
    /// The node trails its peers by at most `max_block_lag`.
    BlockLag,
    /// A channel's last notification within `max_delay`, no silence over `max_silence`.
    Notification,
}

/// One condition's outcome on one check.
#[derive(Debug, Clone, PartialEq)]
pub struct Condition {
    pub check: Check,
    pub which: Which,
    /// `None` when it held.
    pub failure: Option<Failure>,
}

impl Condition {
    pub fn passed(&self) -> bool {
        self.failure.is_none()
    }
}

/// A value the judge computed from an observation (not a pass or fail by itself).
#[derive(Debug, Clone, PartialEq)]
pub enum Reading {
    /// What the target's provider profile read in the body.
    Profile(Option<crate::profile::Verdict>),
    /// A valid certificate inside `cert_expiry_warning`.
    CertExpiring(bool),
    /// Each signing credential inside `expiry_warning` / `expiry_critical`, in order.
    Credentials(Vec<(bool, bool)>),
    /// The version, deprecation, sunset and schema read of an answer.
    ApiVersion(ApiVersionEvidence),
    /// A chain node against the other nodes of its chain.
    Lag {
        best_peer_height: Option<u64>,
        peers: usize,
        lag: Option<u64>,
    },
}

/// Everything judged of one round: conditions in the order they were held, and readings.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Judgement {
    pub conditions: Vec<Condition>,
    pub readings: Vec<(Check, Reading)>,
}

impl Judgement {
    /// Records a condition held against `check`; returns whether it held.
    pub fn hold(&mut self, check: Check, which: Which, outcome: Result<(), Failure>) -> bool {
        let failure = outcome.err();
        let held = failure.is_none();
        self.conditions.push(Condition {
            check,
            which,
            failure,
        });
        held
    }

    pub fn read(&mut self, check: Check, r: Reading) {
        self.readings.push((check, r));
    }

    /// The conditions and readings of `from`, again as `to`'s (one answer judged for two
    /// checks: `http` and `api_version` sharing a request).
    pub fn copy(&mut self, from: Check, to: Check) {
        let conditions: Vec<Condition> = self
            .conditions
            .iter()
            .filter(|c| c.check == from)
            .map(|c| Condition {
                check: to,
                ..c.clone()
            })
            .collect();
        let readings: Vec<(Check, Reading)> = self
            .readings
            .iter()
            .filter(|(c, _)| *c == from)
            .map(|(_, r)| (to, r.clone()))
            .collect();
        self.conditions.extend(conditions);
        self.readings.extend(readings);
    }

    /// The first failed condition of `check`, if any.
    pub fn failure(&self, check: Check) -> Option<&Failure> {
        self.conditions
            .iter()
            .filter(|c| c.check == check)
            .find_map(|c| c.failure.as_ref())
    }
}

/// The judged view of a round: each observation with its readings filled in, and its
/// `failure` the observation's own or else its first failed condition (a lower layer explains
/// a higher one: a condition never replaces a failure to observe).
pub fn view(observed: Vec<Evidence>, j: &Judgement) -> Vec<Evidence> {
    let mut out = observed;
    for e in &mut out {
        let check = e.check;
        for (_, r) in j.readings.iter().filter(|(c, _)| *c == check) {
            fill(e, r);
        }
        if e.failure.is_none() {
            e.failure = j.failure(e.check).cloned();
        }
        e.success = e.failure.is_none();
    }
    out
}

fn fill(e: &mut Evidence, r: &Reading) {
    match r {
        Reading::Profile(v) => {
            if let Some(h) = e.http.as_mut() {
                h.profile = v.clone();
            }
        }
        Reading::CertExpiring(soon) => {
            if let Some(t) = e.tls.as_mut() {
                t.expiring_soon = *soon;
            }
        }
        Reading::Credentials(flags) => {
            let creds = e
                .http
                .as_mut()
                .and_then(|h| h.signature.as_mut())
                .map(|s| &mut s.credentials);
            for (c, (expiring, critical)) in creds.into_iter().flatten().zip(flags) {
                (c.expiring, c.critical) = (*expiring, *critical);
            }
        }
        Reading::ApiVersion(a) => e.api_version = Some(a.clone()),
        Reading::Lag {
            best_peer_height,
            peers,
            lag,
        } => {
            if let Some(rpc) = e.rpc.as_mut() {
                (rpc.best_peer_height, rpc.peers, rpc.lag) = (*best_peer_height, *peers, *lag);
            }
        }
    }
}
