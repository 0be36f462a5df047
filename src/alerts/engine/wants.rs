//! The alerts themselves: labels, annotations and summaries of an endpoint's, a provider's and
//! a vantage point's alert, in the configured language.

use std::collections::BTreeMap;

use super::{main_cause, payment_rule, severity, Settings, Want};
use crate::classify::{self, Cause, Scope};
use crate::incidents::Incident;
use crate::lang::alerts;

fn base(alertname: &str, cause: Cause, scope: Scope, s: &Settings) -> BTreeMap<String, String> {
    let mut l = BTreeMap::new();
    l.insert("alertname".into(), alertname.into());
    l.insert("vantage".into(), s.vantage.clone());
    l.insert("cause".into(), cause.as_str().into());
    l.insert("scope".into(), scope.as_str().into());
    l.insert("severity".into(), severity(cause).into());
    l
}

fn notes(
    summary: String,
    first: &Incident,
    cause: Cause,
    scope: Scope,
    api: &str,
    s: &Settings,
) -> BTreeMap<String, String> {
    let mut a = BTreeMap::new();
    a.insert("summary".into(), summary);
    a.insert("reason".into(), first.reason.clone());
    a.insert("hint".into(), classify::hint(cause, scope, s.lang));
    if !first.evidence.is_empty() {
        a.insert("evidence".into(), first.evidence.clone());
    }
    let rule = payment_rule(cause, s.lang);
    if !rule.is_empty() {
        a.insert("payment_rule".into(), rule.into());
    }
    a.insert("api".into(), api.into());
    a
}

pub(super) fn endpoint(i: &Incident, s: &Settings) -> Want {
    let mut labels = base("PaymentEndpointFailing", i.cause, i.scope, s);
    labels.insert("provider".into(), i.provider.clone());
    labels.insert("target".into(), i.target.clone());
    let api = format!("{}/api/v1/targets/{}", s.external, i.target);
    let summary = alerts::endpoint_summary(&i.target, &i.provider, i.cause, i.control, s.lang);
    Want {
        annotations: notes(summary, i, i.cause, i.scope, &api, s),
        labels,
        starts_ms: i.opened_ms,
        cause: i.cause,
        generator_url: api,
    }
}

/// The member whose reason and evidence speak for the group: the earliest with its cause.
fn earliest_with<'a>(members: &[&'a Incident], cause: Cause) -> Option<&'a Incident> {
    let with = members
        .iter()
        .filter(|m| m.cause == cause)
        .min_by_key(|m| m.opened_ms);
    with.or_else(|| members.iter().min_by_key(|m| m.opened_ms))
        .copied()
}

use crate::limits::ALERT_NAMED_ENDPOINTS as NAMED_ENDPOINTS;

fn names(members: &[&Incident], lang: crate::lang::Lang) -> String {
    let mut v: Vec<&str> = members.iter().map(|m| m.target.as_str()).collect();
    v.sort_unstable();
    let more = v.len().saturating_sub(NAMED_ENDPOINTS);
    v.truncate(NAMED_ENDPOINTS);
    let mut out = v.join(", ");
    if more > 0 {
        out.push_str(&alerts::more_endpoints(more, lang));
    }
    out
}

/// A group alert (provider or vantage point): it starts with its earliest member, links to
/// the incidents list and names the failing endpoints.
fn group_want(
    summary: String,
    first: &Incident,
    members: &[&Incident],
    cause: Cause,
    scope: Scope,
    labels: BTreeMap<String, String>,
    s: &Settings,
) -> Want {
    let starts_ms = members
        .iter()
        .map(|m| m.opened_ms)
        .min()
        .unwrap_or(first.opened_ms);
    let api = format!("{}/api/v1/incidents", s.external);
    let mut annotations = notes(summary, first, cause, scope, &api, s);
    annotations.insert("endpoints".into(), names(members, s.lang));
    Want {
        annotations,
        labels,
        starts_ms,
        cause,
        generator_url: api,
    }
}

pub(super) fn provider(p: &str, members: &[&Incident], s: &Settings) -> Option<Want> {
    let cause = main_cause(members);
    let first = earliest_with(members, cause)?;
    let mut labels = base("PaymentProviderDown", cause, Scope::Provider, s);
    labels.insert("provider".into(), p.to_string());
    let summary = alerts::provider_summary(p, members.len(), cause, s.lang);
    Some(group_want(
        summary,
        first,
        members,
        cause,
        Scope::Provider,
        labels,
        s,
    ))
}

/// The vantage point's alert for the targets leaving by `egress` (empty: directly).
pub(super) fn vantage(members: &[&Incident], egress: &str, s: &Settings) -> Option<Want> {
    let controls: Vec<&Incident> = members.iter().filter(|m| m.control).copied().collect();
    let cause = main_cause(if controls.is_empty() {
        members
    } else {
        &controls
    });
    let first = earliest_with(members, cause)?;
    let mut labels = base("PaymentProbeVantagePointDown", cause, Scope::Local, s);
    if !egress.is_empty() {
        labels.insert("egress".into(), egress.to_string());
    }
    let summary = alerts::vantage_summary(
        &s.vantage,
        egress,
        members.len(),
        !controls.is_empty(),
        s.lang,
    );
    Some(group_want(
        summary,
        first,
        members,
        cause,
        Scope::Local,
        labels,
        s,
    ))
}
