//! The `/` status page: one table, no scripts, readable in a terminal browser.

use std::fmt::Write;

use crate::classify;
use crate::config::Plan;
use crate::state::Store;

pub fn render(plan: &Plan, store: &Store) -> String {
    let mut rows = String::new();
    for t in &plan.targets {
        let st = store.get(&t.name);
        let (state, class, cause, hint) = match &st {
            None => (
                "pending".to_string(),
                "pending",
                String::new(),
                String::new(),
            ),
            Some(s) => {
                let d = &s.diagnosis;
                let state = match (d.healthy, d.flapping) {
                    (true, false) => "healthy".to_string(),
                    (true, true) => "healthy, flapping".to_string(),
                    (false, false) => "failing".to_string(),
                    (false, true) => "failing, flapping".to_string(),
                };
                // A healthy target can still hurt users (slow): say which way.
                let symptoms: Vec<&str> = d.symptoms.iter().map(|s| s.as_str()).collect();
                let cause = if d.healthy {
                    symptoms.join(", ")
                } else {
                    format!("{} · {}", d.cause.as_str(), d.scope.as_str())
                };
                let class = if d.healthy { "ok" } else { "bad" };
                (
                    state,
                    class,
                    cause,
                    classify::hint(d.cause, d.scope, plan.server.lang),
                )
            }
        };
        let mut detail = String::new();
        for e in st.iter().flat_map(|s| s.latest.values()) {
            let what = match &e.failure {
                None => format!("ok in {:.0} ms", e.duration.as_secs_f64() * 1000.0),
                Some(f) => format!(
                    "{} at {}: {}",
                    kind_name(f.kind),
                    f.phase.as_str(),
                    f.detail
                ),
            };
            let _ = write!(
                detail,
                "<div><b>{}</b> {}</div>",
                e.check.as_str(),
                esc(&what)
            );
        }
        if let Some(s) = &st {
            if !s.diagnosis.reason.is_empty() {
                let _ = write!(detail, "<div><i>{}</i></div>", esc(&s.diagnosis.reason));
            }
        }
        let _ = write!(
            rows,
            "<tr class=\"{class}\"><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{detail}</td><td>{}</td></tr>",
            esc(&t.name),
            esc(&t.provider),
            esc(t.url.as_str()),
            esc(&state),
            esc(&cause),
            esc(&hint),
        );
    }
    format!(
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>payprobe</title>\
<meta http-equiv=\"refresh\" content=\"10\"><style>body{{font-family:sans-serif}}\
td,th{{padding:4px 8px;border-bottom:1px solid #ddd;text-align:left;vertical-align:top}}\
.ok td:nth-child(4){{color:#070}}.bad td:nth-child(4),.bad td:nth-child(5){{color:#b00;font-weight:bold}}\
.pending td:nth-child(4){{color:#777}}</style></head><body><h1>payprobe {}</h1>\
<p><a href=\"/metrics\">metrics</a> · <a href=\"/api/v1/targets\">API</a></p>\
<table><tr><th>target</th><th>provider</th><th>url</th><th>state</th><th>cause · scope</th><th>last probe</th><th>what to do</th></tr>{rows}</table>\
</body></html>\n",
        crate::VERSION
    )
}

/// The failure kind as the API spells it (`connect_refused`).
fn kind_name(k: crate::probe::FailureKind) -> String {
    serde_json::to_value(k)
        .ok()
        .and_then(|v| v.as_str().map(String::from))
        .unwrap_or_else(|| format!("{k:?}"))
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}
