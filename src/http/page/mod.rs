//! The `/` status page, read at a glance: server-rendered HTML, no scripts, no external
//! assets, refreshed by a `<meta>` tag.
//!
//! Top to bottom it answers "is it me or them?" first — a banner when the scope is local,
//! otherwise the counts of healthy and failing targets by cause — then a summary row per
//! provider, then each provider's targets with health, cause, scope, symptoms, the hint and
//! the history of their last rounds ([`svg`]). The summary is O(targets) without copying
//! evidence; details are drawn for every target only in small plans, else for the provider
//! picked with `?provider=` (and for failing targets), so 10,000 targets stay cheap.
//! Every word comes from [`i18n`], in the language of `?lang=` or the config.

mod i18n;
mod incidents;
mod svg;
mod uptime;

pub use incidents::{incidents, Shown};
pub use uptime::Uptime;

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write;
use std::time::{Duration, SystemTime};

use crate::classify::{self, Cause, Diagnosis, Lang, Scope};
use crate::config::{Plan, Target};
use crate::history::History;
use crate::state::Store;

/// Plans up to this size show every target's details on the first page.
const ALL_DETAILS: usize = 200;
/// Failing targets listed when a large plan shows no provider.
const FAILING_LISTED: usize = 100;
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
    details(&mut out, &chosen, store, history, &a, now);
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
        .unwrap_or(10)
        .clamp(2, 30)
}

fn link(a: &Ask, lang: Lang, provider: Option<&str>) -> String {
    let mut q = url::form_urlencoded::Serializer::new(String::new());
    q.append_pair(
        "lang",
        match lang {
            Lang::En => "en",
            Lang::ZhCn => "zh-CN",
        },
    );
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
    let w = i18n::words(lang);
    if s.local {
        let _ = write!(
            out,
            "<section id=\"verdict\" class=\"banner local\" role=\"alert\"><p class=\"big\"><span aria-hidden=\"true\">⚠ </span>{}</p><p>{}</p>{}<p class=\"hint\">{}</p></section>",
            w.local_title,
            esc(&i18n::local_detail(s.failing, s.total, s.controls_failing, lang)),
            ways_out(s, lang),
            esc(&classify::hint(Cause::Network, Scope::Local, lang)),
        );
        return;
    }
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
    let _ = write!(
        out,
        "<section id=\"verdict\" class=\"banner bad\" role=\"status\"><p class=\"big\"><span aria-hidden=\"true\">✖ </span>{}</p>",
        esc(&counts)
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

fn details(
    out: &mut String,
    chosen: &[&std::sync::Arc<Target>],
    store: &Store,
    history: &History,
    a: &Ask,
    now: SystemTime,
) {
    let w = i18n::words(a.lang);
    // Groups in config order, controls first.
    let mut order: Vec<String> = Vec::new();
    let mut groups: HashMap<String, Vec<&Target>> = HashMap::new();
    for t in chosen {
        let g = if t.control {
            CONTROLS.to_string()
        } else {
            t.provider.clone()
        };
        if !groups.contains_key(&g) {
            order.push(g.clone());
        }
        groups.entry(g).or_default().push(t);
    }
    order.sort_by_key(|g| g != CONTROLS);
    for g in order {
        let targets = groups.remove(&g).unwrap_or_default();
        let title = if g == CONTROLS { w.controls } else { &g };
        let _ = write!(
            out,
            "<section class=\"provider\" data-provider=\"{}\"><h2>{}</h2><table class=\"targets\"><colgroup><col class=\"w-t\"><col class=\"w-h\"><col class=\"w-c\"><col class=\"w-s\"><col class=\"w-y\"><col class=\"w-r\"><col></colgroup><thead><tr>\
<th scope=\"col\">{}</th><th scope=\"col\">{}</th><th scope=\"col\">{}</th><th scope=\"col\">{}</th><th scope=\"col\">{}</th><th scope=\"col\">{}</th><th scope=\"col\">{}</th></tr></thead><tbody>",
            esc(&g),
            esc(title),
            w.th_target,
            w.th_health,
            w.th_cause,
            w.th_scope,
            w.th_symptoms,
            w.th_history,
            w.th_todo
        );
        let mut last_hint = String::new();
        for t in targets {
            row(out, t, store, history, a.lang, now, &mut last_hint);
        }
        out.push_str("</tbody></table></section>");
    }
}

/// `last_hint` is the hint of the row above in the same group: said once, then pointed at.
fn row(
    out: &mut String,
    t: &Target,
    store: &Store,
    history: &History,
    lang: Lang,
    now: SystemTime,
    last_hint: &mut String,
) {
    let w = i18n::words(lang);
    let st = store.get(&t.name);
    let points = history.points(&t.name);
    let spark = svg::sparkline(&points, history.capacity(), lang);
    let last = points
        .last()
        .map(|p| format!("<span class=\"ms\">{}</span>", millis(p.millis)))
        .unwrap_or_default();
    // The query string of a payment API is long and says little at a glance: it is in the
    // tooltip (and the JSON API).
    // A password in the URL's userinfo is never shown (the user may have put one there).
    let mut full = t.url.clone();
    let _ = full.set_password(None);
    let mut short = full.clone();
    short.set_query(None);
    // The way out, when it is not the default: which proxy or uplink this row goes through.
    let egress = if t.egress_label == "direct" {
        String::new()
    } else {
        format!("<span class=\"egress\">{}</span>", esc(&t.egress_label))
    };
    let name = format!(
        "<th scope=\"row\" data-label=\"{}\"><span class=\"name\">{}</span><span class=\"url\" title=\"{}\">{}</span>{egress}</th>",
        w.th_target,
        esc(&t.name),
        esc(full.as_str()),
        esc(short.as_str())
    );
    let Some(st) = st else {
        let _ = write!(
            out,
            "<tr class=\"t pending\" data-target=\"{}\">{name}<td data-label=\"{}\" colspan=\"6\"><span class=\"h\">⋯ {}</span></td></tr>",
            esc(&t.name),
            w.th_health,
            w.pending
        );
        return;
    };
    let d = &st.diagnosis;
    let (class, icon, health) = if d.healthy {
        ("ok", "✔", w.healthy)
    } else {
        ("bad", "✖", w.failing)
    };
    let flap = if d.flapping {
        format!(" <span class=\"flap\">↯ {}</span>", w.flapping)
    } else {
        String::new()
    };
    let ago = now.duration_since(st.since).unwrap_or(Duration::ZERO);
    let since = i18n::since(&clock(st.since), &i18n::duration(ago.as_secs(), lang), lang);
    let (cause, scope) = if d.healthy {
        (
            format!(
                "<span class=\"muted\">{}</span>",
                i18n::cause(Cause::None, lang)
            ),
            format!(
                "<span class=\"muted\">{}</span>",
                i18n::scope(Scope::None, lang)
            ),
        )
    } else {
        (
            cause_badge(d.cause, lang),
            format!(
                "<span class=\"scope s-{}\">{}</span>",
                d.scope.as_str(),
                i18n::scope(d.scope, lang)
            ),
        )
    };
    // Empty cells stay empty (hidden on a phone).
    let mut symptoms = String::new();
    if !d.symptoms.is_empty() {
        symptoms.push_str("<ul class=\"sym\">");
    }
    for s in &d.symptoms {
        let _ = write!(
            symptoms,
            "<li data-symptom=\"{}\">{}</li>",
            s.as_str(),
            i18n::symptom(*s, lang)
        );
    }
    if !d.symptoms.is_empty() {
        symptoms.push_str("</ul>");
    }
    let _ = write!(
        out,
        "<tr class=\"t {class}\" data-target=\"{}\" data-cause=\"{}\" data-scope=\"{}\">{name}\
<td data-label=\"{}\"><span class=\"h\"><span aria-hidden=\"true\">{icon} </span>{health}</span>{flap}<span class=\"since\">{}</span></td>\
<td data-label=\"{}\">{cause}</td><td data-label=\"{}\">{scope}</td><td data-label=\"{}\">{symptoms}</td>\
<td data-label=\"{}\" class=\"hist\">{spark}{last}</td><td data-label=\"{}\" class=\"todo\">{}</td></tr>",
        esc(&t.name),
        d.cause.as_str(),
        d.scope.as_str(),
        w.th_health,
        esc(&since),
        w.th_cause,
        w.th_scope,
        w.th_symptoms,
        w.th_history,
        w.th_todo,
        todo(d, lang, last_hint),
    );
}

/// The hint (unless the banner already says it), the evidence in one line, and warnings.
fn todo(d: &Diagnosis, lang: Lang, last_hint: &mut String) -> String {
    let w = i18n::words(lang);
    let mut s = String::new();
    let hint = if d.healthy {
        String::new()
    } else {
        classify::hint(d.cause, d.scope, lang)
    };
    if d.scope == Scope::Local {
        let _ = write!(s, "<p>{}</p>", w.see_banner);
    } else if !hint.is_empty() && hint == *last_hint {
        let _ = write!(s, "<p class=\"muted\">{}</p>", w.same_hint);
    } else if !hint.is_empty() {
        let _ = write!(s, "<p>{}</p>", esc(&hint));
    }
    *last_hint = hint;
    let reason = reason(d, lang);
    if !reason.is_empty() {
        let _ = write!(
            s,
            "<p class=\"reason\"><span class=\"k\">{}:</span> {}</p>",
            w.evidence,
            esc(&reason)
        );
    }
    for warn in &d.warnings {
        let _ = write!(
            s,
            "<p class=\"warn\"><span aria-hidden=\"true\">⚠ </span>{}: {}</p>",
            w.warning,
            esc(warn)
        );
    }
    s
}

/// The diagnosis's reason in the page's language (src/classify/reason.rs).
fn reason(d: &Diagnosis, lang: Lang) -> String {
    classify::reason(d, lang)
}

/// `0.4 ms`, `12 ms`: a loopback connect is not `0 ms`.
fn millis(ms: f32) -> String {
    if ms < 10.0 {
        format!("{ms:.1} ms")
    } else {
        format!("{ms:.0} ms")
    }
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
