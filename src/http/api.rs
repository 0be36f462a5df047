//! JSON API: `/api/v1/targets` and `/api/v1/targets/{name}`.

use hyper::{Response, StatusCode};
use serde::Serialize;

use super::{with_type, Body};
use crate::config::{Check, Plan, Target};
use crate::probe::Evidence;
use crate::state::Store;

#[derive(Serialize)]
pub struct TargetView<'a> {
    pub name: &'a str,
    pub provider: &'a str,
    pub url: &'a str,
    pub control: bool,
    pub checks: &'a [Check],
    /// Absent until the first round finished.
    pub healthy: Option<bool>,
    pub since: Option<String>,
    pub rounds: u64,
    pub consecutive_failures: u32,
    pub evidence: Vec<Evidence>,
}

fn view<'a>(t: &'a Target, store: &Store) -> TargetView<'a> {
    let st = store.get(&t.name).filter(|s| s.rounds > 0);
    TargetView {
        name: &t.name,
        provider: &t.provider,
        url: t.url.as_str(),
        control: t.control,
        checks: &t.checks,
        healthy: st.as_ref().map(|s| s.healthy),
        since: st
            .as_ref()
            .map(|s| humantime::format_rfc3339_seconds(s.since).to_string()),
        rounds: st.as_ref().map_or(0, |s| s.rounds),
        consecutive_failures: st.as_ref().map_or(0, |s| s.consecutive_failures),
        evidence: st
            .map(|s| s.latest.into_values().collect())
            .unwrap_or_default(),
    }
}

pub fn list(plan: &Plan, store: &Store, _query: &str) -> Response<Body> {
    let views: Vec<TargetView> = plan.targets.iter().map(|t| view(t, store)).collect();
    json(StatusCode::OK, &views)
}

pub fn one(plan: &Plan, store: &Store, name: &str, _query: &str) -> Response<Body> {
    match plan.target(name) {
        Some(t) => json(StatusCode::OK, &view(t, store)),
        None => json(
            StatusCode::NOT_FOUND,
            &serde_json::json!({ "error": format!("no target named {name:?}") }),
        ),
    }
}

fn json<T: Serialize>(status: StatusCode, v: &T) -> Response<Body> {
    match serde_json::to_string_pretty(v) {
        Ok(s) => with_type(status, s + "\n", "application/json"),
        Err(e) => with_type(
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("{{\"error\":\"cannot encode: {e}\"}}\n"),
            "application/json",
        ),
    }
}
