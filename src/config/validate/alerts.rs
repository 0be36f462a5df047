//! Validation of `[alerts]` and `[[alerts.sinks]]`: kind, URL, secret source, timing.
//! A secret's value is never put in a message: only where it was to come from.

use std::collections::HashSet;
use std::ops::Range;
use std::path::Path;
use std::time::Duration;

use super::super::error::Problems;
use super::super::raw::{RawAlerts, RawSink, S};
use super::super::{AlertsPlan, Secret, SinkKind, SinkSpec};
use super::values::{duration, entry_name, env_var, int_in, read_file};
use crate::limits;

/// How often firing alerts are re-sent to Alertmanager when `resend_interval` is not set.
const DEFAULT_RESEND: Duration = Duration::from_secs(60);
/// A notification older than a day is dropped undelivered when `max_age` is not set.
const DEFAULT_MAX_AGE: Duration = Duration::from_secs(24 * 3600);
/// Notifications kept in memory per sink when `queue_limit` is not set.
const DEFAULT_QUEUE_LIMIT: i64 = 1000;
/// How long one delivery may take when a sink sets no `timeout`.
const DEFAULT_SINK_TIMEOUT: Duration = Duration::from_secs(10);

pub(super) fn alerts(
    a: Option<&S<RawAlerts>>,
    base: &Path,
    p: &mut Problems,
) -> Option<AlertsPlan> {
    let Some(a) = a else {
        return Some(AlertsPlan {
            resend_interval: DEFAULT_RESEND,
            max_age: DEFAULT_MAX_AGE,
            queue_limit: DEFAULT_QUEUE_LIMIT as usize,
            ..AlertsPlan::default()
        });
    };
    let a = a.get_ref();
    let before = p.count();
    let group_wait = duration(&a.group_wait, "group_wait", p);
    let resend = duration(&a.resend_interval, "resend_interval", p);
    let max_age = duration(&a.max_age, "max_age", p);
    let queue_limit = int_in(&a.queue_limit, "queue_limit", limits::ALERT_QUEUE, p);
    let external_url = a.external_url.as_ref().and_then(|u| external_url(u, p));
    let sinks = sinks(&a.sinks, base, p);
    if p.count() > before {
        return None;
    }
    Some(AlertsPlan {
        group_wait: group_wait?,
        resend_interval: resend?.unwrap_or(DEFAULT_RESEND),
        max_age: max_age?.unwrap_or(DEFAULT_MAX_AGE),
        external_url,
        vantage: a.vantage.as_ref().map(|v| v.get_ref().clone()),
        queue_limit: queue_limit?.unwrap_or(DEFAULT_QUEUE_LIMIT) as usize,
        sinks,
    })
}

fn external_url(u: &S<String>, p: &mut Problems) -> Option<url::Url> {
    match url::Url::parse(u.get_ref()) {
        Ok(url) if matches!(url.scheme(), "http" | "https") => Some(url),
        _ => {
            p.at(
                u.span(),
                format!(
                    "`external_url` = {:?}: expected an http:// or https:// URL",
                    u.get_ref()
                ),
            );
            None
        }
    }
}

/// Every good sink; a name already taken by a good sink is reported at the later one.
fn sinks(list: &[S<RawSink>], base: &Path, p: &mut Problems) -> Vec<SinkSpec> {
    let mut seen = HashSet::new();
    let mut sinks = Vec::new();
    for s in list {
        let Some(spec) = sink(s, base, p) else {
            continue;
        };
        if !seen.insert(spec.name.clone()) {
            let at = s.get_ref().name.as_ref().map_or(s.span(), |n| n.span());
            p.at(
                at,
                format!("duplicate sink name `{}`; names must be unique", spec.name),
            );
            continue;
        }
        sinks.push(spec);
    }
    sinks
}

fn sink(s: &S<RawSink>, base: &Path, p: &mut Problems) -> Option<SinkSpec> {
    let span = s.span();
    let s = s.get_ref();
    let before = p.count();
    let name = entry_name(
        s.name.as_ref(),
        span.clone(),
        "[[alerts.sinks]]",
        "sink `name`",
        p,
    );
    let kind = kind(s.kind.as_ref(), span.clone(), p);
    let url = sink_url(s, span.clone(), base, p);
    let secret = one_source(
        &None,
        &s.secret_file,
        &s.secret_env,
        "secret",
        span,
        false,
        base,
        p,
    )
    .map(|o| o.map(|(raw, _)| Secret(trim_newline(raw))));
    let timeout = duration(&s.timeout, "timeout", p);
    if let (Some(k), Some(Some(_))) = (kind.filter(|k| !k.signs()), &secret) {
        let at = s
            .secret_file
            .as_ref()
            .or(s.secret_env.as_ref())
            .map(|v| v.span())
            .unwrap_or(0..0);
        let signing: Vec<&str> = SinkKind::ALL
            .into_iter()
            .filter(|k| k.signs())
            .map(SinkKind::as_str)
            .collect();
        let signing = crate::vocab::and_list(&signing);
        p.at(at, format!("a `{k}` sink has no signing scheme: remove secret_file/secret_env ({signing} sign)"));
    }
    if p.count() > before {
        return None;
    }
    Some(SinkSpec {
        name: name?,
        kind: kind?,
        url: Secret(url?),
        secret: secret?,
        timeout: timeout?.unwrap_or(DEFAULT_SINK_TIMEOUT),
        maintenance_notifications: s
            .maintenance_notifications
            .as_ref()
            .is_some_and(|v| *v.get_ref()),
    })
}

fn kind(k: Option<&S<String>>, span: Range<usize>, p: &mut Problems) -> Option<SinkKind> {
    let Some(k) = k else {
        p.at(
            span,
            format!(
                "[[alerts.sinks]] entry has no `kind`; expected one of: {}",
                SinkKind::names()
            ),
        );
        return None;
    };
    SinkKind::parse(k.get_ref()).or_else(|| {
        p.at(
            k.span(),
            format!(
                "unknown sink kind `{}`; expected one of: {}",
                k.get_ref(),
                SinkKind::names()
            ),
        );
        None
    })
}

/// The sink's URL from `url`, `url_file` or `url_env` (exactly one).
fn sink_url(s: &RawSink, span: Range<usize>, base: &Path, p: &mut Problems) -> Option<url::Url> {
    let (raw, at) = one_source(&s.url, &s.url_file, &s.url_env, "url", span, true, base, p)??;
    let text = String::from_utf8_lossy(&raw).trim().to_string();
    match url::Url::parse(&text) {
        Ok(u) if matches!(u.scheme(), "http" | "https") && u.host().is_some() => Some(u),
        // The value may be a secret (a robot token): say what is wrong, not what it is.
        _ => {
            p.at(
                at,
                "sink URL is not an http:// or https:// URL with a host (value not shown)",
            );
            None
        }
    }
}

fn trim_newline(mut v: Vec<u8>) -> Vec<u8> {
    while matches!(v.last(), Some(b'\n' | b'\r')) {
        v.pop();
    }
    v
}

/// Exactly one of `key`, `key_file`, `key_env` (or none, when not `required`): its bytes and
/// the span to point at. `Some(None)`: absent and allowed; `None`: a problem was reported.
#[allow(clippy::too_many_arguments)]
fn one_source(
    inline: &Option<S<String>>,
    file: &Option<S<String>>,
    env: &Option<S<String>>,
    key: &str,
    span: Range<usize>,
    required: bool,
    base: &Path,
    p: &mut Problems,
) -> Option<Option<(Vec<u8>, Range<usize>)>> {
    let given = [inline.is_some(), file.is_some(), env.is_some()]
        .iter()
        .filter(|b| **b)
        .count();
    if given > 1 {
        let at = file.as_ref().or(env.as_ref()).map_or(span, |v| v.span());
        p.at(
            at,
            format!("give only one of `{key}`, `{key}_file`, `{key}_env`"),
        );
        return None;
    }
    if let Some(v) = inline {
        return Some(Some((v.get_ref().as_bytes().to_vec(), v.span())));
    }
    if let Some(f) = file {
        return read_file(&format!("{key}_file"), f, base, p).map(|b| Some((b, f.span())));
    }
    if let Some(e) = env {
        return match env_var(e.get_ref()) {
            Ok(v) => Some(Some((v.into_bytes(), e.span()))),
            Err(why) => {
                p.at(e.span(), format!("`{key}_env`: {why}"));
                None
            }
        };
    }
    if required {
        p.at(
            span,
            format!("[[alerts.sinks]] entry needs one of `{key}`, `{key}_file`, `{key}_env`"),
        );
        return None;
    }
    Some(None)
}
