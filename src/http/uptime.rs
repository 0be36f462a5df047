//! `/api/v1/maintenance` (windows running or coming), `/api/v1/availability[/{name}]`
//! (uptime and error budget per target and provider) and `/badge/{name}.svg` (an uptime
//! badge for a wiki, as Gatus and Uptime Kuma serve).

use hyper::{Response, StatusCode};
use serde_json::json;

use super::{param, text, with_type, Body, Shared};
use crate::availability::Span;
use crate::maintenance::now_ms;

fn json_ok(v: &serde_json::Value) -> Response<Body> {
    with_type(
        StatusCode::OK,
        serde_json::to_string_pretty(v).unwrap_or_default(),
        "application/json",
    )
}

/// What the status page shows: windows, then providers' and targets' figures.
pub fn shown(
    availability: &crate::availability::Availability,
    maintenance: &crate::maintenance::Live,
) -> super::page::Uptime {
    let now = now_ms();
    let mut figures = availability.all(now, true);
    figures.sort_by_key(|f| f.kind != "provider");
    super::page::Uptime {
        windows: maintenance.get().upcoming(now),
        figures,
    }
}

pub fn maintenance(shared: &Shared) -> Response<Body> {
    let now = now_ms();
    json_ok(&json!({
        "now": crate::maintenance::rfc3339(now),
        "windows": shared.maintenance.get().upcoming(now),
    }))
}

pub fn availability(shared: &Shared, name: Option<&str>) -> Response<Body> {
    let now = now_ms();
    match name {
        None => json_ok(&json!({ "availability": shared.availability.all(now, true) })),
        Some(n) => match shared.availability.view(n, now) {
            Some(f) => json_ok(&json!(f)),
            None => text(
                StatusCode::NOT_FOUND,
                "no target or provider of that name\n",
            ),
        },
    }
}

/// `/badge/{name}.svg?window=30d`: the availability of a target or provider over a window.
pub fn badge(shared: &Shared, rest: &str, query: &str) -> Response<Body> {
    let Some(name) = rest.strip_suffix(".svg") else {
        return text(StatusCode::NOT_FOUND, "badges are /badge/{name}.svg\n");
    };
    let window = param(query, "window").unwrap_or_else(|| "30d".into());
    let Some(span) = Span::parse(&window) else {
        let names = Span::ALL.map(Span::as_str).join(", ");
        return text(
            StatusCode::BAD_REQUEST,
            &format!("window is one of {names}\n"),
        );
    };
    let Some(f) = shared.availability.view(name, now_ms()) else {
        return text(
            StatusCode::NOT_FOUND,
            "no target or provider of that name\n",
        );
    };
    let a = f.availability.get(span.as_str()).copied();
    let mut r = with_type(StatusCode::OK, svg(name, span.as_str(), a), "image/svg+xml");
    r.headers_mut().insert(
        hyper::header::CACHE_CONTROL,
        hyper::header::HeaderValue::from_static("max-age=60"),
    );
    r
}

/// XML text escaping (names are config names, but nothing is trusted into markup).
fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

/// A two-part badge, shields.io style: `uptime 30d | 99.95%`, colour by the figure.
pub fn svg(name: &str, window: &str, a: Option<f64>) -> String {
    let label = format!("{name} {window}");
    let value = a.map_or("no data".to_string(), |a| format!("{:.2}%", a * 100.0));
    let colour = match a {
        None => "#9f9f9f",
        Some(a) if a >= 0.999 => "#4c1",
        Some(a) if a >= 0.99 => "#dfb317",
        Some(_) => "#e05d44",
    };
    // About 7 px a character at 11 px Verdana, plus padding.
    let (lw, vw) = (
        label.chars().count() * 7 + 10,
        value.chars().count() * 7 + 10,
    );
    let w = lw + vw;
    format!(
        r##"<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="20" role="img" aria-label="{l}: {v}"><title>{l}: {v}</title><rect width="{lw}" height="20" fill="#555"/><rect x="{lw}" width="{vw}" height="20" fill="{colour}"/><g fill="#fff" text-anchor="middle" font-family="Verdana,DejaVu Sans,sans-serif" font-size="11"><text x="{lx}" y="14">{l}</text><text x="{vx}" y="14">{v}</text></g></svg>"##,
        l = esc(&label),
        v = esc(&value),
        lx = lw / 2,
        vx = lw + vw / 2,
    )
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_badge_escapes_its_text_and_says_no_data() {
        let s = super::svg("a<b>&\"c", "30d", None);
        assert!(s.contains("a&lt;b&gt;&amp;&quot;c 30d: no data"), "{s}");
        assert!(!s.contains("a<b>"));
        let s = super::svg("pay", "7d", Some(0.99951));
        assert!(s.contains("99.95%") && s.contains("#4c1"), "{s}");
        assert!(s.len() < 1024);
    }
}
