//! The `/` status page: one table, no scripts, readable in a terminal browser.

use std::fmt::Write;

use crate::config::Plan;
use crate::state::Store;

pub fn render(plan: &Plan, store: &Store) -> String {
    let mut rows = String::new();
    for t in &plan.targets {
        let st = store.get(&t.name).filter(|s| s.rounds > 0);
        let (state, class) = match &st {
            None => ("pending", "pending"),
            Some(s) if s.healthy => ("healthy", "ok"),
            Some(_) => ("failing", "bad"),
        };
        let mut detail = String::new();
        for e in st.iter().flat_map(|s| s.latest.values()) {
            let what = match &e.failure {
                None => format!("ok in {:.0} ms", e.duration.as_secs_f64() * 1000.0),
                Some(f) => format!("{:?} at {}: {}", f.kind, f.phase.as_str(), f.detail),
            };
            let _ = write!(
                detail,
                "<div><b>{}</b> {}</div>",
                e.check.as_str(),
                esc(&what)
            );
        }
        let _ = write!(
            rows,
            "<tr class=\"{class}\"><td>{}</td><td>{}</td><td>{}</td><td>{state}</td><td>{detail}</td></tr>",
            esc(&t.name),
            esc(&t.provider),
            esc(t.url.as_str()),
        );
    }
    format!(
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>payprobe</title>\
<meta http-equiv=\"refresh\" content=\"10\"><style>body{{font-family:sans-serif}}\
td,th{{padding:4px 8px;border-bottom:1px solid #ddd;text-align:left;vertical-align:top}}\
.ok td:nth-child(4){{color:#070}}.bad td:nth-child(4){{color:#b00;font-weight:bold}}\
.pending td:nth-child(4){{color:#777}}</style></head><body><h1>payprobe {}</h1>\
<p><a href=\"/metrics\">metrics</a> · <a href=\"/api/v1/targets\">API</a></p>\
<table><tr><th>target</th><th>provider</th><th>url</th><th>state</th><th>last probe</th></tr>{rows}</table>\
</body></html>\n",
        crate::VERSION
    )
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}
