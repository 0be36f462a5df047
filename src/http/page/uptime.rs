//! Maintenance windows (running and coming) and uptime (1d, 7d, 30d, error budget and a
//! 30-day strip of days) per provider and target, from `crate::maintenance` and
//! `crate::availability`. Targets are listed up to [`TARGETS_SHOWN`]; the full figures are
//! `/api/v1/availability`. Its words are the catalogue's (`crate::lang::page::UPTIME`).

use std::fmt::Write;

use super::esc;
use crate::availability::Figures;
use crate::maintenance::Listed;
use crate::vocab::Lang;

pub use crate::limits::PAGE_UPTIME_TARGETS as TARGETS_SHOWN;

/// What the page shows beyond the probes' state.
#[derive(Debug, Default)]
pub struct Uptime {
    pub windows: Vec<Listed>,
    /// Providers first, then targets.
    pub figures: Vec<Figures>,
}

fn pct(v: Option<f64>) -> String {
    v.map_or("–".to_string(), |a| format!("{:.3}%", a * 100.0))
}

use crate::lang::page::uptime_words as words;

pub fn render(out: &mut String, u: &Uptime, lang: Lang) {
    let w = words(lang);
    windows(out, &u.windows, &w);
    figures(out, &u.figures, &w);
}

fn windows(out: &mut String, list: &[Listed], w: &[&str; 10]) {
    if !list.is_empty() {
        let _ = write!(
            out,
            "<section id=\"maintenance\"><h2>{}</h2><table class=\"summary\"><tr><th></th><th>{}</th><th>{}</th><th></th></tr>",
            w[0], w[9], w[3]
        );
        for m in list {
            let covers = [m.providers.join(", "), m.targets.join(", ")]
                .into_iter()
                .filter(|s| !s.is_empty())
                .collect::<Vec<_>>()
                .join("; ");
            let covers = if covers.is_empty() {
                w[4].to_string()
            } else {
                covers
            };
            let zone = m
                .timezone
                .as_deref()
                .map_or(String::new(), |z| format!(" ({z})"));
            let _ = write!(
                out,
                "<tr><td><span class=\"name\">{}</span><span class=\"since\">{}{}</span></td><td>{} → {}</td><td>{}</td><td class=\"{}\">{}</td></tr>",
                esc(&m.name),
                esc(&m.recurrence),
                esc(&zone),
                esc(&m.start),
                esc(&m.end),
                esc(&covers),
                if m.active { "h" } else { "since" },
                if m.active { w[1] } else { w[2] },
            );
        }
        out.push_str("</table></section>");
    }
}

fn figures(out: &mut String, list: &[Figures], w: &[&str; 10]) {
    if list.is_empty() {
        return;
    }
    let _ = write!(
        out,
        "<section id=\"uptime\"><h2>{}</h2><table class=\"summary\"><tr><th>{}</th><th>1d</th><th>7d</th><th>30d</th><th>{}</th><th>{}</th></tr>",
        w[5], w[6], w[7], w[8]
    );
    let mut targets = 0;
    for f in list {
        if f.kind == "target" {
            targets += 1;
            if targets > TARGETS_SHOWN {
                continue;
            }
        }
        let cell = |k: &str| pct(f.availability.get(k).copied());
        let budget = f.error_budget_remaining.map_or("–".to_string(), |b| {
            format!("{:.0}% (slo {})", b * 100.0, f.slo.unwrap_or_default())
        });
        let _ = write!(
            out,
            "<tr><td><span class=\"name\">{}</span><span class=\"since\">{}</span></td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            esc(&f.name),
            f.kind,
            cell("1d"),
            cell("7d"),
            cell("30d"),
            esc(&budget),
            strip(f)
        );
    }
    out.push_str("</table></section>");
}

/// 30 squares, one a day, oldest left: green at 99.9% and above, amber above 99%, red
/// below, grey without a round (or in maintenance only). Each has its date and figure as a
/// tooltip.
fn strip(f: &Figures) -> String {
    let mut s = String::from(
        "<svg class=\"days\" width=\"180\" height=\"14\" role=\"img\" aria-label=\"30 days\">",
    );
    for (i, d) in f.days.iter().enumerate() {
        let colour = match d.availability {
            None => "#c8ccd0",
            Some(a) if a >= 0.999 => "#2e9d4b",
            Some(a) if a >= 0.99 => "#e0a030",
            Some(_) => "#d32f2f",
        };
        let _ = write!(
            s,
            "<rect x=\"{}\" width=\"5\" height=\"14\" fill=\"{colour}\"><title>{} {}</title></rect>",
            i * 6,
            esc(&d.date),
            pct(d.availability)
        );
    }
    s.push_str("</svg>");
    s
}
