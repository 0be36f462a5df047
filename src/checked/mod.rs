//! One check of a round as judged, the judging stage's (`src/judge`) hand-off to every
//! reader: the observation, untouched, beside what the judge read of it ([`Readings`]) and
//! the failure it concluded. Every reader after the judge (the rules table, the store, the
//! API, the page, metrics, incidents, history) gets these, never a bare observation, so no
//! reader can mistake "not yet judged" for "fine".
//!
//! Its JSON is the shape the API, `/probe` and `probe-once --json` have always given: the
//! readings appear where a reader expects them (`http.profile`, `tls.expiring_soon`,
//! `rpc.lag`, `api_version`, a credential's `expiring`); see [`json`].

mod json;

use std::collections::BTreeMap;

use serde::Serialize;

use crate::config::Check;
use crate::probe::{Evidence, Failure};

/// One check of one round as judged.
#[derive(Debug, Clone, PartialEq)]
pub struct Checked {
    /// What the prober saw; its `failure` is what kept it from observing, if anything.
    pub observed: Evidence,
    /// The observation's own failure, else the check's first failed condition: a lower
    /// layer explains a higher one, a condition never replaces a failure to observe.
    pub failure: Option<Failure>,
    pub readings: Readings,
}

/// What the judge read of one observation: values computed against the target's settings
/// and its peers, none a pass or fail by itself.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Readings {
    /// What the target's provider profile read in the body.
    pub profile: Option<crate::profile::Verdict>,
    /// A valid certificate inside `cert_expiry_warning`.
    pub cert_expiring: bool,
    /// Each of the signed exchange's credentials (`http.signature.credentials`, in order)
    /// against `expiry_warning` / `expiry_critical`.
    pub credentials: Vec<CredentialExpiry>,
    /// The version, deprecation, sunset and schema read of the answer.
    pub api_version: Option<ApiVersionReading>,
    /// A chain node against the other nodes of its chain.
    pub lag: Option<Lag>,
}

/// One signing credential's expiry against the target's thresholds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CredentialExpiry {
    pub expiring: bool,
    pub critical: bool,
}

/// A chain node's height against its peers'.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Lag {
    /// The highest height a peer of the same chain reported recently.
    pub best_peer_height: Option<u64>,
    /// Peers with a recent height.
    pub peers: usize,
    /// How far this node is behind `best_peer_height` (0 when it leads).
    pub blocks: Option<u64>,
}

impl Checked {
    /// A check no condition was held against (`dns`, `tcp`, a check whose observation
    /// failed): judged by its observation alone.
    pub fn unconditioned(observed: Evidence) -> Checked {
        Checked {
            failure: observed.failure.clone(),
            observed,
            readings: Readings::default(),
        }
    }

    pub fn check(&self) -> Check {
        self.observed.check
    }

    pub fn target(&self) -> &str {
        &self.observed.target
    }

    /// Observed, and every condition held.
    pub fn success(&self) -> bool {
        self.failure.is_none()
    }

    /// The certificates a signed exchange relies on, each with its expiry reading (none
    /// inside either window when the judge gave none).
    pub fn credentials(
        &self,
    ) -> impl Iterator<Item = (&crate::sign::Credential, CredentialExpiry)> {
        let creds = self
            .observed
            .http
            .as_ref()
            .and_then(|h| h.signature.as_ref())
            .map(|s| s.credentials.as_slice())
            .unwrap_or_default();
        let flags = self.readings.credentials.iter().copied();
        creds
            .iter()
            .zip(flags.chain(std::iter::repeat(CredentialExpiry::default())))
    }
}

/// The observation a round's latency is: the HTTP exchange when there is one (what a payer
/// waits for), else the slowest check.
pub fn measured(round: &[Checked]) -> Option<&Evidence> {
    let observed = || round.iter().map(|c| &c.observed);
    observed()
        .find(|e| e.check == Check::Http)
        .or_else(|| observed().max_by_key(|e| e.duration))
}

/// What the `api_version` check read of an answer (`src/judge/verdict/api_version.rs`),
/// shown as a judged check's `api_version`.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ApiVersionReading {
    /// Where the version was read (`header X-Api-Version`, `json /version`, `regex`).
    pub source: Option<String>,
    /// The version as the gateway wrote it.
    pub seen: Option<String>,
    pub required: Option<String>,
    /// `seen` satisfies `required` (absent when either is unknown).
    pub compatible: Option<bool>,
    /// The `Deprecation` header is present; its date as Unix seconds when it carries one.
    pub deprecated: bool,
    pub deprecation_unix: Option<i64>,
    pub sunset_unix: Option<i64>,
    /// `required_fields` that are missing or of the wrong type: pointer → what was found.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub schema_drift: BTreeMap<String, String>,
    /// Deprecation and Sunset, said in English in the JSON (evidence is not translated); the
    /// diagnosis says them in the reader's language (`crate::lang::warning`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<crate::lang::WarningParts>,
}
