//! The per-target part of the status page: each chosen target's row with its checks, phases,
//! diagnosis, reason and what to do, in the page's language.

use super::*;

pub(super) fn details(
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
    let hist = history_cell(t, history, lang);
    let name = name_cell(t, w.th_target);
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
    let (class, health) = health_cell(d, st.since, now, lang);
    let (cause, scope) = cause_and_scope(d, lang);
    let symptoms = symptoms_list(d, lang);
    let _ = write!(
        out,
        "<tr class=\"t {class}\" data-target=\"{}\" data-cause=\"{}\" data-scope=\"{}\">{name}\
<td data-label=\"{}\">{health}</td>\
<td data-label=\"{}\">{cause}</td><td data-label=\"{}\">{scope}</td><td data-label=\"{}\">{symptoms}</td>\
<td data-label=\"{}\" class=\"hist\">{hist}</td><td data-label=\"{}\" class=\"todo\">{}</td></tr>",
        esc(&t.name),
        d.cause.as_str(),
        d.scope.as_str(),
        w.th_health,
        w.th_cause,
        w.th_scope,
        w.th_symptoms,
        w.th_history,
        w.th_todo,
        todo(d, lang, last_hint),
    );
}

/// The health cell's content and the row's class: healthy or failing, flapping, and since
/// when (the clock time and how long ago).
fn health_cell(
    d: &Diagnosis,
    since: SystemTime,
    now: SystemTime,
    lang: Lang,
) -> (&'static str, String) {
    let w = i18n::words(lang);
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
    let ago = now.duration_since(since).unwrap_or(Duration::ZERO);
    let since = i18n::since(&clock(since), &i18n::duration(ago.as_secs(), lang), lang);
    let cell = format!(
        "<span class=\"h\"><span aria-hidden=\"true\">{icon} </span>{health}</span>{flap}<span class=\"since\">{}</span>",
        esc(&since)
    );
    (class, cell)
}

/// The history cell's content: a sparkline of the target's last rounds, then the last
/// round's time in milliseconds.
fn history_cell(t: &Target, history: &History, lang: Lang) -> String {
    let points = history.points(&t.name);
    let spark = svg::sparkline(&points, history.capacity(), lang);
    let last = points
        .last()
        .map(|p| format!("<span class=\"ms\">{}</span>", millis(p.millis)))
        .unwrap_or_default();
    format!("{spark}{last}")
}

/// The row's header cell: the name, the URL without its query (in the tooltip, with it) and
/// the way out when it is not the default.
fn name_cell(t: &Target, label: &str) -> String {
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
    format!(
        "<th scope=\"row\" data-label=\"{}\"><span class=\"name\">{}</span><span class=\"url\" title=\"{}\">{}</span>{egress}</th>",
        label,
        esc(&t.name),
        esc(full.as_str()),
        esc(short.as_str())
    )
}

/// The cause and scope cells: muted words while healthy, badges while failing.
fn cause_and_scope(d: &Diagnosis, lang: Lang) -> (String, String) {
    if d.healthy {
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
    }
}

/// The symptoms as a list; an empty cell stays empty (hidden on a phone).
fn symptoms_list(d: &Diagnosis, lang: Lang) -> String {
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
    symptoms
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
    for warn in classify::warnings(d, lang) {
        let _ = write!(
            s,
            "<p class=\"warn\"><span aria-hidden=\"true\">⚠ </span>{}: {}</p>",
            w.warning,
            esc(&warn)
        );
    }
    s
}

/// The diagnosis's reason in the page's language, said by the catalogue (`src/lang`).
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
