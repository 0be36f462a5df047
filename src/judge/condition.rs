//! What the judge concluded about a round, kept apart from what was observed (as Gatus keeps
//! `ConditionResults` apart from its `Result`): a typed list of the conditions held against
//! each check, pass or fail, and the readings the judge made on the way (the provider
//! profile's reading of a body, the version read, the chain lag, expiry windows).
//!
//! The probers' evidence is never written by the judge. What every reader gets is built from
//! the two by [`view`]: each observation, untouched, as a [`Checked`] with its readings and
//! its failure (the observation's own, otherwise the check's first failed condition).

use std::collections::BTreeMap;

use serde::Serialize;

use crate::checked::{Checked, Readings};
use crate::config::Check;
use crate::probe::{Evidence, Failure};

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

/// Everything judged of one round: conditions in the order they were held, and readings.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Judgement {
    pub conditions: Vec<Condition>,
    /// What was read of each check's observation (for a check read more than once, the
    /// last reading of each kind).
    pub readings: BTreeMap<Check, Readings>,
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

    /// The readings of `check`, to write to.
    pub fn read(&mut self, check: Check) -> &mut Readings {
        self.readings.entry(check).or_default()
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
        self.conditions.extend(conditions);
        if let Some(r) = self.readings.get(&from).cloned() {
            self.readings.insert(to, r);
        }
    }

    /// The first failed condition of `check`, if any.
    pub fn failure(&self, check: Check) -> Option<&Failure> {
        self.conditions
            .iter()
            .filter(|c| c.check == check)
            .find_map(|c| c.failure.as_ref())
    }
}

/// The judged view of a round: each observation, untouched, with its readings, and its
/// failure the observation's own or else its first failed condition (a lower layer explains
/// a higher one: a condition never replaces a failure to observe).
pub fn view(observed: Vec<Evidence>, j: &Judgement) -> Vec<Checked> {
    observed
        .into_iter()
        .map(|e| {
            let check = e.check;
            Checked {
                failure: e.failure.clone().or_else(|| j.failure(check).cloned()),
                observed: e,
                readings: j.readings.get(&check).cloned().unwrap_or_default(),
            }
        })
        .collect()
}
