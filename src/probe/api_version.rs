//! The `api_version` check: the same request as the `http` check (when a target has both,
//! the `http` check's answer is reused, see `Probers::round`), observed the same way. Which
//! version the answer carries, whether it is one we support, deprecated or past its sunset,
//! and whether it still has the shape our client expects is read and judged in
//! `src/verdict/api_version.rs`, which fills [`ApiVersionEvidence`].

use std::collections::BTreeMap;

use serde::Serialize;
use tokio::time::{timeout_at, Instant};

use super::http::{Exchange, HttpProber};
use super::{Evidence, Gateway, HttpEvidence, Prober, Recorder};
use crate::config::{Check, Target};

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ApiVersionEvidence {
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
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
}

#[derive(Clone)]
pub struct ApiVersionProber {
    http: HttpProber,
}

impl ApiVersionProber {
    pub fn new(http: HttpProber) -> Self {
        ApiVersionProber { http }
    }
}

impl Prober for ApiVersionProber {
    type Spec<'t> = Exchange<'t>;

    fn check(&self) -> Check {
        Check::ApiVersion
    }

    fn spec(t: &Target) -> Exchange<'_> {
        Exchange::of(t)
    }

    async fn probe<'a>(
        &'a self,
        gw: Gateway<'a>,
        spec: Exchange<'a>,
        deadline: Instant,
    ) -> Evidence {
        let mut rec = Recorder::new(gw.name, Check::ApiVersion);
        rec.ev.http = Some(HttpEvidence::default());
        let outcome = timeout_at(deadline, self.http.exchange(gw, spec, &mut rec)).await;
        rec.finish(outcome)
    }
}
