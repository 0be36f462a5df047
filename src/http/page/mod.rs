//! The `/` status page, read at a glance: server-rendered HTML, no scripts, no external
//! assets, refreshed by a `<meta>` tag.
//!
//! Top to bottom it answers "is it me or them?" first — a banner when the scope is local,
//! otherwise the counts of healthy and failing targets by cause — then a summary row per
//! provider, then each provider's targets with health, cause, scope, symptoms, the hint and
//! the history of their last rounds ([`svg`]). The summary is O(targets) without copying
//! evidence; details are drawn for every target only in small plans, else for the provider
//! picked with `?provider=` (and for failing targets), so 10,000 targets stay cheap.
//! Every word comes from the catalogue (`crate::lang::page`, imported as `i18n`), in the
//! language of `?lang=` or the config.

mod incidents;
mod svg;
mod targets;
mod uptime;

pub use incidents::{incidents, Shown};
pub use uptime::Uptime;

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write;
use std::time::{Duration, SystemTime};

use crate::classify::{self, Cause, Diagnosis, Lang, Scope};
use crate::config::{Plan, Target};
use crate::history::History;
use crate::lang::page as i18n;
use crate::limits;
use crate::state::Store;

use crate::limits::PAGE_ALL_DETAILS as ALL_DETAILS;
use crate::limits::PAGE_FAILING_LISTED as FAILING_LISTED;
/// The name of the controls' group in `?provider=` (an `@` no provider name starts with in practice).
const CONTROLS: &str = "@controls";

/// What the page was asked for.
struct Ask {
    lang: Lang,
    provider: Option<String>,
}

fn ask(query: &str, default: Lang) -> Ask {
    let mut a = Ask {
        lang: default,
        provider: None,
    };
    for (k, v) in url::form_urlencoded::parse(query.as_bytes()) {
        match k.as_ref() {
            "lang" => a.lang = Lang::parse(&v).unwrap_or(a.lang),
            "provider" if !v.is_empty() => a.provider = Some(v.into_owned()),
            _ => {}
        }
    }
    a
}

#[derive(Default)]
struct Group {
    targets: usize,
    failing: usize,
    causes: BTreeMap<Cause, usize>,
    provider_wide: bool,
}

/// Counts over the whole plan, from the diagnoses alone.
#[derive(Default)]
struct Summary {
    total: usize,
    healthy: usize,
    failing: usize,
    by_cause: BTreeMap<Cause, usize>,
    local: bool,
    controls: usize,
    controls_failing: usize,
    /// The ways out (`egress`, other than direct) of failing controls and local targets:
    /// which proxy or uplink is broken.
    local_ways: std::collections::BTreeSet<String>,
    /// Providers in config order.
    groups: Vec<(String, Group)>,
}

fn summarize(plan: &Plan, diag: &HashMap<String, (bool, Cause, Scope)>) -> Summary {
    let mut s = Summary::default();
    let mut index: HashMap<&str, usize> = HashMap::new();
    for t in &plan.targets {
        let d = diag.get(&t.name).copied();
        let failing = d.is_some_and(|(h, _, _)| !h);
        let way = (t.egress_label != "direct").then(|| t.egress_label.clone());
        if t.control {
            s.controls += 1;
            s.controls_failing += usize::from(failing);
            s.local |= failing;
            s.local_ways.extend(way.filter(|_| failing));
            continue;
        }
        s.total += 1;
        let i = *index.entry(t.provider.as_str()).or_insert_with(|| {
            s.groups.push((t.provider.clone(), Group::default()));
            s.groups.len() - 1
        });
        let g = &mut s.groups[i].1;
        g.targets += 1;
        match d {
            Some((true, _, _)) => s.healthy += 1,
            Some((false, cause, scope)) => {
                s.failing += 1;
                g.failing += 1;
                *s.by_cause.entry(cause).or_default() += 1;
                *g.causes.entry(cause).or_default() += 1;
                g.provider_wide |= scope == Scope::Provider;
                s.local |= scope == Scope::Local;
                s.local_ways.extend(way.filter(|_| scope == Scope::Local));
            }
            None => {}
        }
    }
    s
}

/// The page without maintenance windows or uptime (the page's own tests).
#[cfg(test)]
pub fn render(plan: &Plan, store: &Store, history: &History, shown: &Shown, query: &str) -> String {
    render_with(plan, store, history, shown, &Uptime::default(), query)
}

/// The page with maintenance windows and uptime (`uptime.rs`).
pub fn render_with(
    plan: &Plan,
    store: &Store,
    history: &History,
    shown: &Shown,
    up: &Uptime,
    query: &str,
) -> String {
    let now = SystemTime::now();
    let a = ask(query, plan.server.lang);
    let w = i18n::words(a.lang);
    let mut diag = HashMap::with_capacity(plan.targets.len());
    store.each_diagnosis(|name, d, _| {
        diag.insert(name.to_string(), (d.healthy, d.cause, d.scope));
    });
    let sum = summarize(plan, &diag);
    let refresh = refresh_secs(plan);
    let mut out = String::with_capacity(16 * 1024);
    let _ = write!(
        out,
        "<!doctype html><html lang=\"{}\"><head><meta charset=\"utf-8\">\
<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
<meta http-equiv=\"refresh\" content=\"{refresh}\"><link rel=\"icon\" href=\"data:,\"><title>{}</title><style>{CSS}</style></head><body>",
        w.html_lang, w.title
    );
    header(&mut out, &a);
    verdict(&mut out, &sum, a.lang);
    incidents::render(&mut out, shown, a.lang, now);
    uptime::render(&mut out, up, a.lang);
    providers_table(&mut out, &sum, &a);
    let chosen: Vec<&std::sync::Arc<Target>> = match &a.provider {
        Some(p) if p == CONTROLS => plan.targets.iter().filter(|t| t.control).collect(),
        Some(p) => plan
            .targets
            .iter()
            .filter(|t| !t.control && &t.provider == p)
            .collect(),
        None if plan.targets.len() <= ALL_DETAILS => plan.targets.iter().collect(),
        None => {
            let _ = write!(
                out,
                "<p class=\"note\">{}</p>",
                esc(&i18n::pick_provider(sum.total, a.lang))
            );
            plan.targets
                .iter()
                .filter(|t| diag.get(&t.name).is_some_and(|(h, _, _)| !h))
                .take(FAILING_LISTED)
                .collect()
        }
    };
    targets::details(&mut out, &chosen, store, history, &a, now);
    let _ = writeln!(
        out,
        "<footer>payprobe {} · {}</footer></body></html>",
        crate::VERSION,
        esc(&i18n::refresh(refresh, a.lang))
    );
    out
}

/// The shortest target interval, within 2–30 s: the page is as fresh as the data.
fn refresh_secs(plan: &Plan) -> u64 {
    plan.targets
        .iter()
        .map(|t| t.interval.as_secs())
        .min()
        .unwrap_or(limits::PAGE_REFRESH_DEFAULT_SECS)
        .clamp(
            *limits::PAGE_REFRESH_SECS.start(),
            *limits::PAGE_REFRESH_SECS.end(),
        )
}

fn link(a: &Ask, lang: Lang, provider: Option<&str>) -> String {
    let mut q = url::form_urlencoded::Serializer::new(String::new());
    q.append_pair("lang", lang.as_str());
    if let Some(p) = provider.or(a.provider.as_deref()) {
        q.append_pair("provider", p);
    }
    format!("/?{}", esc(&q.finish()))
}

fn header(out: &mut String, a: &Ask) {
    let w = i18n::words(a.lang);
    let _ = write!(
        out,
        "<header><h1>{}</h1><nav aria-label=\"links\"><a href=\"/metrics\">{}</a> · <a href=\"/api/v1/targets\">{}</a> · \
<span>{}:</span> <a href=\"{}\" hreflang=\"en\"{}>English</a> | <a href=\"{}\" hreflang=\"zh-CN\"{}>简体中文</a></nav></header>",
        w.title,
        w.metrics,
        w.api,
        w.language,
        link(a, Lang::En, None),
        current(a.lang == Lang::En),
        link(a, Lang::ZhCn, None),
        current(a.lang == Lang::ZhCn),
    );
}

/// The ways out that are broken, when they are proxies or uplinks (empty for direct).
fn ways_out(s: &Summary, lang: Lang) -> String {
    if s.local_ways.is_empty() {
        return String::new();
    }
    let list: Vec<&str> = s.local_ways.iter().map(String::as_str).collect();
    format!(
        "<p class=\"ways\">{}</p>",
        esc(&i18n::ways_out(&list.join(", "), lang))
    )
}

fn current(yes: bool) -> &'static str {
    if yes {
        " aria-current=\"page\""
    } else {
        ""
    }
}

/// "Is it me or them?" — the first thing on the page.
fn verdict(out: &mut String, s: &Summary, lang: Lang) {
    if s.local {
        local_verdict(out, s, lang);
        return;
    }
    let w = i18n::words(lang);
    let counts = i18n::counts(s.healthy, s.failing, s.total, lang);
    if s.failing == 0 {
        let _ = write!(
            out,
            "<section id=\"verdict\" class=\"banner ok\" role=\"status\"><p class=\"big\"><span aria-hidden=\"true\">✔ </span>{}</p><p>{}</p></section>",
            w.all_healthy,
            esc(&counts)
        );
        return;
    }
    failing_verdict(out, s, &counts, lang);
}

/// "It is me": this host's own way out fails (a control, or a failure judged local), so
/// the providers' failures are not theirs; which ways out are broken, and what to do.
fn local_verdict(out: &mut String, s: &Summary, lang: Lang) {
    let w = i18n::words(lang);
    let _ = write!(
        out,
        "<section id=\"verdict\" class=\"banner local\" role=\"alert\"><p class=\"big\"><span aria-hidden=\"true\">⚠ </span>{}</p><p>{}</p>{}<p class=\"hint\">{}</p></section>",
        w.local_title,
        esc(&i18n::local_detail(s.failing, s.total, s.controls_failing, lang)),
        ways_out(s, lang),
        esc(&classify::hint(Cause::Network, Scope::Local, lang)),
    );
}

/// "It is them": how many fail, that the controls pass (when there are any), the failures
/// by cause and the providers failing as a whole.
fn failing_verdict(out: &mut String, s: &Summary, counts: &str, lang: Lang) {
    let w = i18n::words(lang);
    let _ = write!(
        out,
        "<section id=\"verdict\" class=\"banner bad\" role=\"status\"><p class=\"big\"><span aria-hidden=\"true\">✖ </span>{}</p>",
        esc(counts)
    );
    if s.controls > 0 {
        // The other half of "is it me or them?".
        let _ = write!(out, "<p class=\"them\">{}</p>", w.not_local);
    }
    let _ = write!(
        out,
        "<h2 class=\"small\">{}</h2><ul class=\"chips\">",
        w.failing_by_cause
    );
    for (c, n) in &s.by_cause {
        let _ = write!(
            out,
            "<li data-cause=\"{}\">{} <b>{n}</b></li>",
            c.as_str(),
            cause_badge(*c, lang)
        );
    }
    out.push_str("</ul>");
    let wide: Vec<&str> = s
        .groups
        .iter()
        .filter(|(_, g)| g.provider_wide)
        .map(|(p, _)| p.as_str())
        .collect();
    if !wide.is_empty() {
        let _ = write!(
            out,
            "<p>{}: <b>{}</b></p>",
            w.provider_wide,
            esc(&wide.join(", "))
        );
    }
    out.push_str("</section>");
}

pub(crate) fn cause_badge(c: Cause, lang: Lang) -> String {
    format!(
        "<span class=\"cause c-{}\">{}</span>",
        c.as_str(),
        i18n::cause(c, lang)
    )
}

fn providers_table(out: &mut String, s: &Summary, a: &Ask) {
    let w = i18n::words(a.lang);
    let _ = write!(
        out,
        "<section><h2>{}</h2><div class=\"scroll\"><table class=\"summary\"><thead><tr><th scope=\"col\">{}</th><th scope=\"col\">{}</th><th scope=\"col\">{}</th><th scope=\"col\">{}</th><th scope=\"col\">{}</th></tr></thead><tbody>",
        w.providers, w.th_provider, w.th_targets, w.healthy, w.failing, w.th_causes
    );
    let mut rows: Vec<(&str, &Group)> = s.groups.iter().map(|(p, g)| (p.as_str(), g)).collect();
    let controls = Group {
        targets: s.controls,
        failing: s.controls_failing,
        ..Group::default()
    };
    if s.controls > 0 {
        rows.insert(0, (CONTROLS, &controls));
    }
    for (p, g) in rows {
        let state = if g.failing > 0 { "bad" } else { "ok" };
        let mut causes = String::new();
        for (c, n) in &g.causes {
            let _ = write!(causes, "{} {n} ", cause_badge(*c, a.lang));
        }
        let name = if p == CONTROLS { w.controls } else { p };
        let _ = write!(
            out,
            "<tr class=\"{state}\"><th scope=\"row\"><a href=\"{}\">{}</a></th><td>{}</td><td>{}</td><td class=\"n-{state}\">{}{}</td><td>{causes}</td></tr>",
            link(a, a.lang, Some(p)),
            esc(name),
            g.targets,
            g.targets - g.failing,
            if g.failing > 0 { "✖ " } else { "" },
            g.failing,
        );
    }
    out.push_str("</tbody></table></div>");
    if a.provider.is_some() {
        let all = link(
            &Ask {
                lang: a.lang,
                provider: None,
            },
            a.lang,
            None,
        );
        let _ = write!(out, "<p><a href=\"{all}\">← {}</a></p>", w.all_providers);
    }
    out.push_str("</section>");
}

/// `02:31:05 UTC` of a wall-clock time (the date is left out: the page is about now).
pub(crate) fn clock(t: SystemTime) -> String {
    let secs = t
        .duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    format!(
        "{:02}:{:02}:{:02} UTC",
        secs / 3600 % 24,
        secs / 60 % 60,
        secs % 60
    )
}

pub(crate) fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// Inlined into every page: no external assets.
const CSS: &str = include_str!("style.css");

#[cfg(test)]
mod tests;
