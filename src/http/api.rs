//! JSON API: `/api/v1/targets` and `/api/v1/targets/{name}` (`?lang=en|zh-CN` for the reason,
//! the warnings and the hint).

use std::collections::BTreeSet;

use hyper::{Response, StatusCode};
use serde::Serialize;

use super::{with_type, Body};
use crate::checked::Checked;
use crate::classify::{self, Cause, Lang, Scope, Symptom};
use crate::config::{Check, Plan, Target};
use crate::incidents::{IncidentView, Incidents};
use crate::state::Store;
use crate::timefmt::unix_ms;

#[derive(Serialize)]
pub struct DiagnosisView {
    pub healthy: bool,
    pub cause: Cause,
    pub scope: Scope,
    pub symptoms: BTreeSet<Symptom>,
    pub flapping: bool,
    /// Id of the rule that decided the cause (see the README's rules table).
    pub rule: &'static str,
    pub reason: String,
    /// In the asked language, like `reason` (English by default).
    pub warnings: Vec<String>,
    /// When health, cause or scope last changed.
    pub since: String,
    pub hint: String,
}

#[derive(Serialize)]
pub struct TargetView<'a> {
    pub name: &'a str,
    pub provider: &'a str,
    pub url: &'a str,
    pub control: bool,
    /// The way out: `direct`, `proxy=host:port`, `source=IP` or both (never credentials).
    pub egress: &'a str,
    pub checks: &'a [Check],
    /// Absent until the first round finished.
    pub diagnosis: Option<DiagnosisView>,
    pub rounds: u64,
    pub consecutive_failures: u32,
    /// The last round, one entry per check.
    pub evidence: Vec<Checked>,
}

pub(super) fn view<'a>(t: &'a Target, store: &Store, lang: Lang) -> TargetView<'a> {
    let st = store.get(&t.name);
    TargetView {
        name: &t.name,
        provider: &t.provider,
        url: t.url.as_str(),
        control: t.control,
        egress: &t.egress_label,
        checks: &t.checks,
        diagnosis: st.as_ref().map(|s| {
            let d = &s.diagnosis;
            DiagnosisView {
                healthy: d.healthy,
                cause: d.cause,
                scope: d.scope,
                symptoms: d.symptoms.clone(),
                flapping: d.flapping,
                rule: d.rule,
                reason: classify::reason(d, lang),
                warnings: classify::warnings(d, lang),
                since: crate::timefmt::rfc3339_secs(crate::timefmt::unix_secs(s.since)),
                hint: classify::hint(d.cause, d.scope, lang),
            }
        }),
        rounds: st.as_ref().map_or(0, |s| s.rounds),
        consecutive_failures: st.as_ref().map_or(0, |s| s.consecutive_failures),
        evidence: st
            .map(|s| s.latest.into_values().map(|e| *e).collect())
            .unwrap_or_default(),
    }
}

/// `?lang=` overrides the configured language; an unknown value is a 400, not a silent default.
pub(super) fn lang(query: &str, default: Lang) -> Result<Lang, Box<Response<Body>>> {
    let Some(v) = super::param(query, "lang") else {
        return Ok(default);
    };
    Lang::parse(&v).ok_or_else(|| {
        Box::new(json(
            StatusCode::BAD_REQUEST,
            &serde_json::json!({ "error": format!("unknown lang {v:?}; use {}", Lang::alternatives(false)) }),
        ))
    })
}

pub fn list(plan: &Plan, store: &Store, query: &str) -> Response<Body> {
    match lang(query, plan.server.lang) {
        Ok(l) => super::lists::targets(plan, store, query, l),
        Err(r) => *r,
    }
}

/// One target, with its incidents (open first, then the recent closed ones).
#[derive(Serialize)]
struct OneView<'a> {
    #[serde(flatten)]
    target: TargetView<'a>,
    incidents: Vec<IncidentView>,
}

pub fn one(
    plan: &Plan,
    store: &Store,
    incidents: &Incidents,
    name: &str,
    query: &str,
) -> Response<Body> {
    let lang = match lang(query, plan.server.lang) {
        Ok(l) => l,
        Err(r) => return *r,
    };
    match plan.target(name) {
        Some(t) => {
            let now = unix_ms(std::time::SystemTime::now());
            let v = OneView {
                target: view(t, store, lang),
                incidents: incidents
                    .of_target(name, TARGET_INCIDENTS)
                    .iter()
                    .map(|i| i.view(now))
                    .collect(),
            };
            json(StatusCode::OK, &v)
        }
        None => json(
            StatusCode::NOT_FOUND,
            &serde_json::json!({ "error": format!("no target named {name:?}") }),
        ),
    }
}

use crate::limits::API_TARGET_INCIDENTS as TARGET_INCIDENTS;

/// `/api/v1/alerts/rejected`: notifications a sink rejected for good (newest first).
pub fn rejected(r: &crate::alerts::Rejected) -> Response<Body> {
    json(StatusCode::OK, &serde_json::json!({ "rejected": r.list() }))
}

/// Compact JSON (a list of thousands pretty-printed was mostly spaces).
pub(super) fn json<T: Serialize>(status: StatusCode, v: &T) -> Response<Body> {
    match serde_json::to_string(v) {
        Ok(s) => with_type(status, s + "\n", "application/json"),
        Err(e) => with_type(
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("{{\"error\":\"cannot encode: {e}\"}}\n"),
            "application/json",
        ),
    }
}
