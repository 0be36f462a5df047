//! Open incidents (since when, for how long) and the recently resolved ones (how long they
//! lasted), from `crate::incidents` (issue #9). The page shows at most [`OPEN_SHOWN`] open
//! and [`RESOLVED_SHOWN`] resolved ones: the full list is `/api/v1/incidents`.

use std::fmt::Write;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use super::{cause_badge, clock, esc, i18n};
use crate::incidents::{Incident, Incidents};
use crate::vocab::Lang;

pub use crate::limits::PAGE_OPEN_INCIDENTS as OPEN_SHOWN;
pub use crate::limits::PAGE_RESOLVED_INCIDENTS as RESOLVED_SHOWN;

/// What the page shows of the incidents.
#[derive(Debug, Default)]
pub struct Shown {
    /// Oldest first, at most [`OPEN_SHOWN`].
    pub open: Vec<Incident>,
    /// How many are open in all.
    pub open_total: usize,
    /// Newest first.
    pub resolved: Vec<Incident>,
}

/// Two short copies under the incidents' own lock: what is shown, never every open incident
/// (at 10,000 open ones the page copied them all twice).
pub fn incidents(all: &Incidents) -> Shown {
    all.read(|l| Shown {
        open: l.open_after(None).take(OPEN_SHOWN).cloned().collect(),
        open_total: l.open.len(),
        resolved: l
            .closed
            .iter()
            .rev()
            .take(RESOLVED_SHOWN)
            .map(|i| (**i).clone())
            .collect(),
    })
}

fn at(ms: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_millis(ms)
}

pub fn render(out: &mut String, s: &Shown, lang: Lang, now: SystemTime) {
    let w = i18n::words(lang);
    let _ = write!(
        out,
        "<section id=\"incidents\"><h2>{}</h2>",
        w.open_incidents
    );
    if s.open.is_empty() {
        let _ = write!(out, "<p class=\"muted\">{}</p>", w.no_open);
    } else {
        head(out, lang, w.th_for);
        for i in &s.open {
            let open_for = now
                .duration_since(at(i.opened_ms))
                .unwrap_or(Duration::ZERO);
            row(
                out,
                i,
                "open",
                &i18n::duration(open_for.as_secs(), lang),
                lang,
            );
        }
        out.push_str("</tbody></table></div>");
        if s.open_total > s.open.len() {
            let _ = write!(
                out,
                "<p><a href=\"/api/v1/incidents\">+{} {}</a></p>",
                s.open_total - s.open.len(),
                w.more
            );
        }
    }
    if !s.resolved.is_empty() {
        let _ = write!(out, "<h2>{}</h2>", w.resolved);
        head(out, lang, w.th_lasted);
        for i in s.resolved.iter().take(RESOLVED_SHOWN) {
            let lasted = i
                .closed_ms
                .unwrap_or(i.opened_ms)
                .saturating_sub(i.opened_ms)
                / 1000;
            row(out, i, "resolved", &i18n::duration(lasted, lang), lang);
        }
        out.push_str("</tbody></table></div>");
    }
    out.push_str("</section>");
}

fn head(out: &mut String, lang: Lang, last: &str) {
    let w = i18n::words(lang);
    let _ = write!(
        out,
        "<div class=\"scroll\"><table class=\"incidents\"><thead><tr><th scope=\"col\">{}</th><th scope=\"col\">{}</th><th scope=\"col\">{}</th><th scope=\"col\">{}</th><th scope=\"col\">{}</th><th scope=\"col\">{last}</th></tr></thead><tbody>",
        w.th_target, w.th_provider, w.th_cause, w.th_scope, w.th_opened
    );
}

fn row(out: &mut String, i: &Incident, class: &str, how_long: &str, lang: Lang) {
    let icon = if class == "open" { "✖" } else { "✔" };
    let _ = write!(
        out,
        "<tr class=\"inc {class}\" data-incident=\"{}\"><th scope=\"row\"><span aria-hidden=\"true\">{icon} </span>{}{}</th><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
        esc(&i.id),
        esc(&i.target),
        // Opened inside a maintenance window: it pages only if it outlasts the window.
        i.maintenance.as_deref().map_or(String::new(), |m| format!(
            "<span class=\"since\">🔧 {}</span>",
            esc(m)
        )),
        esc(if i.control { i18n::words(lang).controls } else { &i.provider }),
        cause_badge(i.cause, lang),
        i18n::scope(i.scope, lang),
        clock(at(i.opened_ms)),
        esc(how_long),
    );
}
