//! Pages of the JSON lists: `limit`, an opaque `cursor`, and filters.
//!
//! A list is cut into pages so that no reader can make the daemon build a document of every
//! target or incident at once (at 2,000 targets `/api/v1/targets` was one 3 MB document, and
//! 200 of them a second delayed rounds). A cursor names the last item of the page by its
//! sort key, not by its position, so a page boundary does not move when items are added or
//! removed before it: nothing that stays is skipped or shown twice.

use base64::Engine as _;

use crate::classify::{Cause, Scope};

pub use crate::limits::LIST_DEFAULT_LIMIT as DEFAULT_LIMIT;
pub use crate::limits::LIST_MAX_LIMIT as MAX_LIMIT;

/// What a request asks for, validated; an error is the 400's message.
#[derive(Debug, Default)]
pub struct Query {
    pub limit: usize,
    pub cursor: Option<String>,
    pub provider: Option<String>,
    pub cause: Option<Cause>,
    pub scope: Option<Scope>,
    /// `open`/`closed` for incidents, `healthy`/`unhealthy` for targets.
    pub status: Option<String>,
}

fn one_of<T: Copy>(all: &[T], name: impl Fn(T) -> &'static str, v: &str) -> Result<T, String> {
    all.iter().copied().find(|c| name(*c) == v).ok_or_else(|| {
        let names: Vec<&str> = all.iter().map(|c| name(*c)).collect();
        format!("{v:?}: expected one of {}", names.join(", "))
    })
}

impl Query {
    /// Parses the query string; `statuses` are the values `status` may take here.
    pub fn parse(query: &str, statuses: &[&str]) -> Result<Query, String> {
        let p = |k| super::param(query, k);
        let limit = match p("limit") {
            None => DEFAULT_LIMIT,
            Some(v) => match v.parse::<usize>() {
                Ok(n) if (1..=MAX_LIMIT).contains(&n) => n,
                _ => return Err(format!("limit {v:?}: expected 1 to {MAX_LIMIT}")),
            },
        };
        let cause = p("cause")
            .map(|v| one_of(&Cause::ALL, Cause::as_str, &v).map_err(|e| format!("cause {e}")))
            .transpose()?;
        let scope = p("scope")
            .map(|v| one_of(&Scope::ALL, Scope::as_str, &v).map_err(|e| format!("scope {e}")))
            .transpose()?;
        let status = p("status");
        if let Some(s) = &status {
            if !statuses.contains(&s.as_str()) {
                return Err(format!("status {s:?}: expected {}", statuses.join(" or ")));
            }
        }
        Ok(Query {
            limit,
            cursor: p("cursor"),
            provider: p("provider"),
            cause,
            scope,
            status,
        })
    }

    /// Whether an item with these values passes the filters.
    pub fn keeps(&self, provider: &str, cause: Cause, scope: Scope) -> bool {
        self.provider.as_deref().is_none_or(|p| p == provider)
            && self.cause.is_none_or(|c| c == cause)
            && self.scope.is_none_or(|s| s == scope)
    }
}

/// An opaque cursor for a sort key (`kind` tells lists apart).
pub fn encode(kind: char, ms: u64, name: &str) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!("{kind}{ms}:{name}"))
}

/// The sort key a cursor names; an error for one this server never gave out.
pub fn decode(cursor: &str) -> Result<(char, u64, String), String> {
    let bad = || format!("cursor {cursor:?} is not one this server gave out; start without it");
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(cursor)
        .map_err(|_| bad())?;
    let s = String::from_utf8(bytes).map_err(|_| bad())?;
    let mut chars = s.chars();
    let kind = chars.next().ok_or_else(bad)?;
    let (ms, name) = chars.as_str().split_once(':').ok_or_else(bad)?;
    Ok((kind, ms.parse().map_err(|_| bad())?, name.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cursor_round_trips_and_garbage_is_refused() {
        let c = encode('o', 1_700_000_000_123, "alipay:cn/1 ünïcode");
        assert_eq!(
            decode(&c),
            Ok(('o', 1_700_000_000_123, "alipay:cn/1 ünïcode".into()))
        );
        for bad in ["", "!!!", "bzEyMw", &encode('o', 1, "x")[1..]] {
            assert!(decode(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn bad_limits_and_filters_name_the_parameter() {
        let e = |q: &str| Query::parse(q, &["open", "closed"]).unwrap_err();
        assert!(e("limit=0").starts_with("limit"));
        assert!(e("limit=501").starts_with("limit"));
        assert!(e("cause=weather").contains("network"));
        assert!(e("scope=moon").starts_with("scope"));
        assert!(e("status=maybe").contains("open or closed"));
        let q = Query::parse("limit=7&cause=server&provider=acme", &["open"]).unwrap();
        assert_eq!(
            (q.limit, q.cause, q.provider.as_deref()),
            (7, Some(Cause::Server), Some("acme"))
        );
        assert!(q.keeps("acme", Cause::Server, Scope::Local));
        assert!(!q.keeps("acme", Cause::Network, Scope::Local));
        assert!(!q.keeps("other", Cause::Server, Scope::Local));
    }
}
