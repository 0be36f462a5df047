//! `[[maintenance]]`: windows with their name, what they cover (providers and targets that
//! exist in this config) and when (one-off `start`/`end`, or `weekly` in `timezone`).

use std::collections::HashSet;
use std::sync::Arc;

use super::super::error::Problems;
use super::super::raw::{RawConfig, RawMaintenance, S};
use super::super::Target;
use super::values::entry_name;
use crate::limits::MAX_MAINTENANCE_WINDOWS;
use crate::maintenance::{parse_weekly, Schedule, Weekly, When, Window};

/// Every good window, in file order.
pub(super) fn maintenance(raw: &RawConfig, targets: &[Arc<Target>], p: &mut Problems) -> Schedule {
    // Names and providers as written too: a target with a problem of its own must not
    // make every window that names it wrong as well.
    let entries = raw.targets.iter().chain(&raw.controls);
    let mut names: HashSet<String> = targets.iter().map(|t| t.name.clone()).collect();
    let mut providers: HashSet<String> = targets.iter().map(|t| t.provider.clone()).collect();
    for e in entries {
        let e = e.get_ref();
        names.extend(e.name.as_ref().map(|n| n.get_ref().clone()));
        providers.extend(e.provider.as_ref().map(|n| n.get_ref().clone()));
    }
    providers.extend(raw.defaults.provider.as_ref().map(|n| n.get_ref().clone()));
    let known = Known { names, providers };
    let mut seen = HashSet::new();
    let mut windows = Vec::new();
    if let Some(extra) = raw.maintenance.get(MAX_MAINTENANCE_WINDOWS) {
        p.at(
            extra.span(),
            format!("at most {MAX_MAINTENANCE_WINDOWS} [[maintenance]] windows"),
        );
    }
    for m in raw.maintenance.iter().take(MAX_MAINTENANCE_WINDOWS) {
        let Some(w) = window(m, &known, p) else {
            continue;
        };
        if !seen.insert(w.name.clone()) {
            let at = m.get_ref().name.as_ref().map_or(m.span(), |n| n.span());
            p.at(
                at,
                format!(
                    "duplicate maintenance name `{}`; names must be unique",
                    w.name
                ),
            );
            continue;
        }
        windows.push(w);
    }
    Schedule { windows }
}

struct Known {
    names: HashSet<String>,
    providers: HashSet<String>,
}

fn window(m: &S<RawMaintenance>, known: &Known, p: &mut Problems) -> Option<Window> {
    let span = m.span();
    let m = m.get_ref();
    let before = p.count();
    let name = entry_name(
        m.name.as_ref(),
        span.clone(),
        "[[maintenance]]",
        "maintenance `name`",
        p,
    );
    let providers = listed(m.providers.as_ref(), "provider", &known.providers, p);
    let targets = listed(m.targets.as_ref(), "target", &known.names, p);
    let when = when(m, span, p);
    if p.count() > before {
        return None;
    }
    Some(Window {
        name: name?,
        providers,
        targets,
        when: when?,
    })
}

/// The names of a `providers`/`targets` list, each of which must exist.
fn listed(
    v: Option<&S<Vec<S<String>>>>,
    what: &str,
    known: &HashSet<String>,
    p: &mut Problems,
) -> Vec<String> {
    let mut out = Vec::new();
    for n in v.map(|l| l.get_ref().as_slice()).unwrap_or(&[]) {
        if known.contains(n.get_ref()) {
            out.push(n.get_ref().clone());
        } else {
            p.at(
                n.span(),
                format!(
                    "unknown {what} `{}`: no [[targets]] or [[controls]] entry has it",
                    n.get_ref()
                ),
            );
        }
    }
    out
}

fn when(m: &RawMaintenance, span: std::ops::Range<usize>, p: &mut Problems) -> Option<When> {
    match (&m.start, &m.end, &m.weekly) {
        (None, None, Some(w)) => weekly(w, m.timezone.as_ref(), p).map(When::Weekly),
        (Some(s), Some(e), None) => {
            if let Some(tz) = &m.timezone {
                p.at(
                    tz.span(),
                    "`timezone` is for `weekly` windows; `start` and `end` carry their own offset",
                );
            }
            let (s_ms, e_ms) = (instant(s, "start", p)?, instant(e, "end", p)?);
            if e_ms <= s_ms {
                p.at(
                    e.span(),
                    format!(
                        "`end` ({}) is not after `start` ({})",
                        e.get_ref(),
                        s.get_ref()
                    ),
                );
                return None;
            }
            Some(When::Once {
                start_ms: s_ms,
                end_ms: e_ms,
            })
        }
        (_, _, Some(w)) => {
            p.at(
                w.span(),
                "give either `weekly` or `start` and `end`, not both",
            );
            None
        }
        _ => {
            let at = m
                .start
                .as_ref()
                .or(m.end.as_ref())
                .map_or(span, |v| v.span());
            p.at(at, "[[maintenance]] needs `start` and `end` (RFC 3339), or `weekly` (e.g. \"Sun 01:00-03:00\") with `timezone`");
            None
        }
    }
}

fn instant(v: &S<String>, key: &str, p: &mut Problems) -> Option<i64> {
    match v.get_ref().parse::<jiff::Timestamp>() {
        Ok(t) => Some(t.as_millisecond()),
        Err(_) => {
            p.at(
                v.span(),
                format!("`{key}` = {:?}: expected an RFC 3339 time with its offset, e.g. \"2026-12-06T01:00:00+08:00\"", v.get_ref()),
            );
            None
        }
    }
}

fn weekly(w: &S<String>, tz: Option<&S<String>>, p: &mut Problems) -> Option<Weekly> {
    let parsed = parse_weekly(w.get_ref())
        .map_err(|e| p.at(w.span(), e))
        .ok();
    let Some(tz) = tz else {
        p.at(
            w.span(),
            "a `weekly` window needs `timezone` (an IANA name, e.g. \"Asia/Shanghai\" or \"UTC\")",
        );
        return None;
    };
    let zone = jiff::tz::TimeZone::get(tz.get_ref())
        .map_err(|_| {
            p.at(
                tz.span(),
                format!(
                    "unknown time zone {:?}: expected an IANA name, e.g. \"Asia/Shanghai\"",
                    tz.get_ref()
                ),
            )
        })
        .ok();
    let (day, start, end) = parsed?;
    Some(Weekly {
        day,
        start,
        end,
        tz: zone?,
        tz_name: tz.get_ref().clone(),
        spec: w.get_ref().trim().to_string(),
    })
}
