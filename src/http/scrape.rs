//! `/metrics`, rendered off the probing path.
//!
//! A scrape of 10,000 targets encodes tens of megabytes; done inline it held a runtime worker
//! for most of a second, and the probe tasks queued on that worker started late. The text is
//! rendered on tokio's blocking pool instead, and compressed with gzip as it is written when
//! the scraper accepts it (Prometheus always sends `Accept-Encoding: gzip`), which cuts the
//! bytes on the wire about tenfold for this repetitive text.
//!
//! One render runs at a time, and a scraper that arrives while one is running takes the
//! next one's result, started after it arrived, so it never gets older figures than a render
//! of its own would give: 100 scrapes a second of 10,000 targets cost one render at a time
//! (one core at most), not 100 (five cores' worth: the readers' attack of issue 20 starved
//! the probes that way).

use bytes::Bytes;
use flate2::write::GzEncoder;
use flate2::Compression;
use hyper::header::{HeaderMap, HeaderValue, ACCEPT_ENCODING, CONTENT_ENCODING, VARY};
use hyper::{Response, StatusCode};

use super::{text, with_type, Body, Shared};
use crate::metrics::Metrics;
use tokio::time::Instant;

/// The last render of each encoding and when it started (see the module doc).
#[derive(Default)]
pub struct Renders {
    last: tokio::sync::Mutex<[Option<(Instant, Bytes)>; 2]>,
}

pub async fn metrics(shared: &Shared, headers: &HeaderMap) -> Response<Body> {
    let gzip = accepts_gzip(headers);
    let arrived = Instant::now();
    let mut last = shared.guards.renders.last.lock().await;
    let slot = &mut last[usize::from(gzip)];
    let body = match slot {
        Some((started, body)) if *started >= arrived => body.clone(),
        _ => {
            let m = shared.metrics.clone();
            let started = Instant::now();
            let rendered = tokio::task::spawn_blocking(move || render(&m, gzip)).await;
            match rendered {
                Ok(Ok(body)) => {
                    *slot = Some((started, body.clone()));
                    body
                }
                Ok(Err(e)) => return text(StatusCode::INTERNAL_SERVER_ERROR, &format!("{e}\n")),
                Err(e) => {
                    tracing::error!(error = %e, "rendering /metrics failed");
                    shared.metrics.internal_error("scrape");
                    return text(StatusCode::INTERNAL_SERVER_ERROR, "rendering failed\n");
                }
            }
        }
    };
    drop(last);
    let mut r = with_type(StatusCode::OK, String::new(), &Metrics::content_type());
    *r.body_mut() = Body::from(body);
    if gzip {
        r.headers_mut()
            .insert(CONTENT_ENCODING, HeaderValue::from_static("gzip"));
    }
    r.headers_mut()
        .insert(VARY, HeaderValue::from_static("accept-encoding"));
    r
}

/// The exposition, gzip-compressed while it is written when `gzip` (fast level: the
/// scrape's CPU matters more than the last few percent of size). The encoder hands over
/// 64 KiB at a time, so with gzip the whole text never exists at once: the peak is the
/// compressed output.
fn render(m: &Metrics, gzip: bool) -> Result<Bytes, crate::metrics::MetricsError> {
    if gzip {
        let mut enc = GzEncoder::new(Vec::with_capacity(1 << 20), Compression::fast());
        m.render_to(&mut enc)?;
        return Ok(Bytes::from(enc.finish()?));
    }
    m.render().map(Bytes::from)
}

/// True when `Accept-Encoding` lists `gzip` (or `*`) without `q=0` (RFC 9110, 12.5.3).
pub fn accepts_gzip(headers: &HeaderMap) -> bool {
    headers
        .get_all(ACCEPT_ENCODING)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|item| {
            let mut parts = item.split(';').map(str::trim);
            let coding = parts.next().unwrap_or("");
            let q_zero = parts.any(|p| {
                p.strip_prefix("q=")
                    .and_then(|q| q.trim().parse::<f32>().ok())
                    .is_some_and(|q| q <= 0.0)
            });
            (coding.eq_ignore_ascii_case("gzip") || coding == "*") && !q_zero
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with(v: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(ACCEPT_ENCODING, HeaderValue::from_str(v).unwrap());
        h
    }

    #[test]
    fn gzip_is_used_only_when_accepted() {
        assert!(accepts_gzip(&with("gzip")));
        assert!(accepts_gzip(&with("deflate, GZIP;q=0.5")));
        assert!(accepts_gzip(&with("*")));
        assert!(!accepts_gzip(&with("gzip;q=0")));
        assert!(!accepts_gzip(&with("br, deflate")));
        assert!(!accepts_gzip(&with("gzipx")));
        assert!(!accepts_gzip(&HeaderMap::new()));
    }
}
