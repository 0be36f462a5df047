//! The paginated lists: `/api/v1/incidents` and `/api/v1/targets` (see `pages.rs`).
//!
//! Both are built on the blocking pool by the caller, so a large page never holds a
//! runtime worker the probes need, and each takes only what its page needs under a lock.

use hyper::header::HeaderValue;
use hyper::{Response, StatusCode};

use super::api::{json, view, TargetView};
use super::pages::{self, Query};
use super::Body;
use crate::config::Plan;
use crate::incidents::{Incident, IncidentView, Incidents, Ledger};
use crate::state::Store;
use crate::timefmt::unix_ms;
use crate::vocab::Lang;

fn bad(message: String) -> Response<Body> {
    json(
        StatusCode::BAD_REQUEST,
        &serde_json::json!({ "error": message }),
    )
}

/// Adds `Link: <path?...&cursor=C>; rel="next"` (RFC 8288) when there is a next page.
fn link(mut r: Response<Body>, path: &str, query: &str, next: Option<&str>) -> Response<Body> {
    let Some(c) = next else { return r };
    let kept: Vec<(String, String)> = url::form_urlencoded::parse(query.as_bytes())
        .filter(|(k, _)| k != "cursor")
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    let mut q = url::form_urlencoded::Serializer::new(String::new());
    q.extend_pairs(kept).append_pair("cursor", c);
    if let Ok(v) = HeaderValue::from_str(&format!("<{path}?{}>; rel=\"next\"", q.finish())) {
        r.headers_mut().insert(hyper::header::LINK, v);
    }
    r
}

/// One page of incidents: the open ones oldest first, then the closed ones newest first.
fn incident_page(l: &Ledger, q: &Query) -> Result<(Vec<Incident>, Option<String>), String> {
    let cursor = q.cursor.as_deref().map(pages::decode).transpose()?;
    let keep = |i: &&Incident| q.keeps(&i.provider, i.cause, i.scope);
    let mut out: Vec<Incident> = Vec::new();
    let want_open = q.status.as_deref() != Some("closed");
    let want_closed = q.status.as_deref() != Some("open");
    let mut closed_after: Option<(u64, String)> = None;
    match &cursor {
        Some(('c', ms, id)) => closed_after = Some((*ms, id.clone())),
        Some(('o', _, _)) | None => {
            if want_open {
                let after = cursor.as_ref().map(|(_, ms, t)| (*ms, t.clone()));
                out.extend(
                    l.open_after(after.as_ref())
                        .filter(keep)
                        .take(q.limit + 1)
                        .cloned(),
                );
            }
        }
        Some(_) => return Err("cursor is not one of this list's".into()),
    }
    if want_closed && out.len() <= q.limit {
        // Closed incidents are listed in the order they closed (the deque's), which their
        // `closed_ms` need not follow (a clock step, a sweep): the cursor is found by id, and
        // only if it has left the bounded list by its time.
        let newest_first: Vec<&Incident> = l.closed.iter().rev().map(|i| i.as_ref()).collect();
        let start = match &closed_after {
            None => 0,
            Some((ms, id)) => match newest_first.iter().position(|i| &i.id == id) {
                Some(p) => p + 1,
                None => newest_first
                    .iter()
                    .position(|i| i.closed_ms.unwrap_or(0) < *ms)
                    .unwrap_or(newest_first.len()),
            },
        };
        let older = newest_first.into_iter().skip(start);
        out.extend(older.filter(keep).take(q.limit + 1 - out.len()).cloned());
    }
    let next = (out.len() > q.limit).then(|| {
        out.truncate(q.limit);
        let last = &out[q.limit - 1];
        match last.closed_ms {
            None => pages::encode('o', last.opened_ms, &last.target),
            Some(ms) => pages::encode('c', ms, &last.id),
        }
    });
    Ok((out, next))
}

/// `/api/v1/incidents?limit=&cursor=&status=open|closed&provider=&cause=&scope=`.
pub fn incidents(incidents: &Incidents, query: &str) -> Response<Body> {
    let q = match Query::parse(query, &["open", "closed"]) {
        Ok(q) => q,
        Err(e) => return bad(e),
    };
    let page = incidents.read(|l| incident_page(l, &q).map(|(v, n)| (v, n, l.open.len())));
    let (list, next, open) = match page {
        Ok(p) => p,
        Err(e) => return bad(e),
    };
    let now = unix_ms(std::time::SystemTime::now());
    let views: Vec<IncidentView> = list.iter().map(|i| i.view(now)).collect();
    let r = json(
        StatusCode::OK,
        &serde_json::json!({
            "open": open,
            "incidents": views,
            "next_cursor": next,
        }),
    );
    link(r, "/api/v1/incidents", query, next.as_deref())
}

/// `/api/v1/targets?limit=&cursor=&status=healthy|unhealthy&provider=&cause=&scope=`: in
/// config order; the body stays an array, the next page is in the `Link` header.
pub fn targets(plan: &Plan, store: &Store, query: &str, lang: Lang) -> Response<Body> {
    let q = match Query::parse(query, &["healthy", "unhealthy"]) {
        Ok(q) => q,
        Err(e) => return bad(e),
    };
    let start = match target_start(plan, &q) {
        Ok(s) => s,
        Err(e) => return bad(e),
    };
    let mut views: Vec<(usize, TargetView)> = target_page(plan, store, &q, start)
        .into_iter()
        .filter_map(|i| Some((i, view(plan.targets.get(i)?, store, lang))))
        .collect();
    let next = (views.len() > q.limit).then(|| {
        views.truncate(q.limit);
        let (i, v) = &views[q.limit - 1];
        pages::encode('t', *i as u64, v.name)
    });
    let body: Vec<TargetView> = views.into_iter().map(|(_, v)| v).collect();
    link(
        json(StatusCode::OK, &body),
        "/api/v1/targets",
        query,
        next.as_deref(),
    )
}

/// Where the page starts in the config: after the cursor's target, found by its index and
/// checked by name — or by name alone if a reload moved it. A cursor naming a target no
/// longer configured is refused rather than restarting the list silently.
fn target_start(plan: &Plan, q: &Query) -> Result<usize, String> {
    match q.cursor.as_deref().map(pages::decode).transpose()? {
        None => Ok(0),
        Some(('t', i, name)) => {
            let at = usize::try_from(i).unwrap_or(usize::MAX);
            match plan.targets.get(at) {
                Some(t) if t.name == name => Ok(at + 1),
                _ => match plan.targets.iter().position(|t| t.name == name) {
                    Some(p) => Ok(p + 1),
                    None => Err(format!("cursor names target {name:?}, which is no longer configured; start without it")),
                },
            }
        }
        Some(_) => Err("cursor is not one of this list's".into()),
    }
}

/// The config indices of the targets the query keeps from `start` on, one more than the
/// page (so the caller knows there is a next one). Filters on the diagnosis only (no copy
/// of the evidence): views are built for the page alone.
fn target_page(plan: &Plan, store: &Store, q: &Query, start: usize) -> Vec<usize> {
    let filtered =
        q.provider.is_some() || q.cause.is_some() || q.scope.is_some() || q.status.is_some();
    let mut kept: Vec<usize> = Vec::new();
    for (i, t) in plan.targets.iter().enumerate().skip(start) {
        let keep = !filtered
            || match store.verdict_of(&t.name) {
                Some((healthy, cause, scope)) => {
                    q.keeps(&t.provider, cause, scope)
                        && match q.status.as_deref() {
                            Some("healthy") => healthy,
                            Some("unhealthy") => !healthy,
                            _ => true,
                        }
                }
                // Not judged yet: kept unless the query asks about a verdict.
                None => {
                    q.cause.is_none()
                        && q.scope.is_none()
                        && q.status.is_none()
                        && q.provider.as_deref().is_none_or(|p| p == t.provider)
                }
            };
        if keep {
            kept.push(i);
            if kept.len() > q.limit {
                break;
            }
        }
    }
    kept
}

#[cfg(test)]
mod tests;
