//! `/metrics`, rendered off the probing path.
//!
//! A scrape of 10,000 targets encodes tens of megabytes; done inline it held a runtime worker
//! for most of a second, and the probe tasks queued on that worker started late. The text is
//! rendered on tokio's blocking pool instead, and compressed with gzip as it is written
//! (Prometheus always sends `Accept-Encoding: gzip`), which cuts the bytes on the wire and in
//! memory about tenfold for this repetitive text.
//!
//! One render runs at a time, and a scraper that arrives while one is running takes the
//! next one's result, started after it arrived, so it never gets older figures than a render
//! of its own would give: 100 scrapes a second of 10,000 targets cost one render at a time
//! (one core at most), not 100 (five cores' worth: the readers' attack of issue 20 starved
//! the probes that way).
//!
//! Only the gzip body is kept between scrapes. A scraper that does not accept gzip (curl
//! without `--compressed`) is sent the same render decompressed on the way out, one chunk at
//! a time as its connection takes it ([`Gunzip`]): its request costs a gunzip paced by its
//! reader, never the whole text (about 60 MB at 10,000 targets) held in memory, neither
//! during the request nor, as before, in the cache until the next uncompressed scrape. The
//! gunzip runs on a runtime worker, so one such body is sent at a time
//! (`limits::METRICS_PLAIN_STREAMS`): others wait for it (`METRICS_PLAIN_WAIT`), then are
//! told to retry, and a flood of uncompressed scrapes costs one core at most too.

use std::io::Read;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::{Buf, Bytes};
use flate2::read::GzDecoder;
use flate2::write::GzEncoder;
use flate2::Compression;
use http_body::Frame;
use http_body_util::{Either, Full};
use hyper::header::{HeaderMap, HeaderValue, ACCEPT_ENCODING, CONTENT_ENCODING, VARY};
use hyper::{Response, StatusCode};

use super::{text, with_type, Body, Shared};
use crate::limits::{METRICS_CHUNK_BYTES, METRICS_PLAIN_STREAMS, METRICS_PLAIN_WAIT};
use crate::metrics::Metrics;
use tokio::time::Instant;

/// The last render (gzip-compressed) and when it started (see the module doc). The only
/// copy of the exposition kept between requests.
pub struct Renders {
    last: tokio::sync::Mutex<Option<(Instant, Bytes)>>,
    /// Permits for bodies sent decompressed (see the module doc).
    plain: Arc<tokio::sync::Semaphore>,
}

impl Default for Renders {
    fn default() -> Renders {
        Renders {
            last: tokio::sync::Mutex::default(),
            plain: Arc::new(tokio::sync::Semaphore::new(METRICS_PLAIN_STREAMS)),
        }
    }
}

pub async fn metrics(shared: &Shared, headers: &HeaderMap) -> Response<Body> {
    serve(&shared.guards.renders, &shared.metrics, headers).await
}

async fn serve(renders: &Renders, metrics: &Arc<Metrics>, headers: &HeaderMap) -> Response<Body> {
    let plain = if accepts_gzip(headers) {
        None
    } else {
        let permit = renders.plain.clone().acquire_owned();
        match tokio::time::timeout(METRICS_PLAIN_WAIT, permit).await {
            Ok(Ok(p)) => Some(p),
            _ => {
                return super::too_many(
                    1.0,
                    "another /metrics body is being sent without gzip; retry, or ask with Accept-Encoding: gzip\n",
                )
            }
        }
    };
    match gzipped(renders, metrics).await {
        Ok(body) => respond(body, plain),
        Err(r) => *r,
    }
}

/// A render started after this call, gzip-compressed: the one running when it started
/// finishing, or one of its own (see the module doc).
async fn gzipped(renders: &Renders, metrics: &Arc<Metrics>) -> Result<Bytes, Box<Response<Body>>> {
    let arrived = Instant::now();
    let mut last = renders.last.lock().await;
    if let Some((started, body)) = last.as_ref() {
        if *started >= arrived {
            return Ok(body.clone());
        }
    }
    let m = metrics.clone();
    let started = Instant::now();
    match tokio::task::spawn_blocking(move || render(&m)).await {
        Ok(Ok(body)) => {
            *last = Some((started, body.clone()));
            Ok(body)
        }
        Ok(Err(e)) => Err(Box::new(text(
            StatusCode::INTERNAL_SERVER_ERROR,
            &format!("{e}\n"),
        ))),
        Err(e) => {
            tracing::error!(error = %e, "rendering /metrics failed");
            metrics.internal_error("scrape");
            Err(Box::new(text(
                StatusCode::INTERNAL_SERVER_ERROR,
                "rendering failed\n",
            )))
        }
    }
}

/// The response carrying `body` (a gzip render): as it is when the scraper accepts gzip,
/// decompressed on the way out, holding `plain`'s permit until it is sent, otherwise.
fn respond(body: Bytes, plain: Option<tokio::sync::OwnedSemaphorePermit>) -> Response<Body> {
    let mut r = with_type(StatusCode::OK, String::new(), &Metrics::content_type());
    match plain {
        None => {
            *r.body_mut() = Either::Left(Full::new(body));
            r.headers_mut()
                .insert(CONTENT_ENCODING, HeaderValue::from_static("gzip"));
        }
        Some(permit) => *r.body_mut() = Either::Right(Gunzip::new(body, permit)),
    }
    r.headers_mut()
        .insert(VARY, HeaderValue::from_static("accept-encoding"));
    r
}

/// The exposition, gzip-compressed while it is written (fast level: the scrape's CPU matters
/// more than the last few percent of size). The encoder hands over 64 KiB at a time, so the
/// whole text never exists at once: the peak is the compressed output.
fn render(m: &Metrics) -> Result<Bytes, crate::metrics::MetricsError> {
    let mut enc = GzEncoder::new(Vec::with_capacity(1 << 20), Compression::fast());
    m.render_to(&mut enc)?;
    Ok(Bytes::from(enc.finish()?))
}

/// A response body that decompresses a gzip render [`METRICS_CHUNK_BYTES`] at a time, when
/// the connection asks for the next frame: what it holds is a reference to the shared
/// compressed render, the decoder's 32 KiB window and one chunk. The render was made by
/// [`render`] in this process, so a decoding error is a bug; it ends the body (the scraper
/// sees a cut response, not a wrong one).
pub struct Gunzip {
    decoder: Option<GzDecoder<bytes::buf::Reader<Bytes>>>,
    /// The one decompressed stream's permit, released when the body ends or is dropped.
    permit: Option<tokio::sync::OwnedSemaphorePermit>,
}

impl Gunzip {
    pub fn new(gzip: Bytes, permit: tokio::sync::OwnedSemaphorePermit) -> Gunzip {
        Gunzip {
            decoder: Some(GzDecoder::new(gzip.reader())),
            permit: Some(permit),
        }
    }

    /// The next chunk: up to [`METRICS_CHUNK_BYTES`], empty at the end. Each read adds at
    /// least one byte or ends the loop, so it runs at most a chunk's length of times.
    fn next_chunk(decoder: &mut GzDecoder<bytes::buf::Reader<Bytes>>) -> std::io::Result<Bytes> {
        let mut buf = vec![0; METRICS_CHUNK_BYTES];
        let mut filled = 0;
        while filled < buf.len() {
            match decoder.read(&mut buf[filled..])? {
                0 => break,
                n => filled += n,
            }
        }
        buf.truncate(filled);
        Ok(Bytes::from(buf))
    }
}

impl http_body::Body for Gunzip {
    type Data = Bytes;
    type Error = std::io::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, std::io::Error>>> {
        let this = self.get_mut();
        let Some(decoder) = this.decoder.as_mut() else {
            return Poll::Ready(None);
        };
        match Gunzip::next_chunk(decoder) {
            Ok(chunk) if chunk.is_empty() => {
                (this.decoder, this.permit) = (None, None);
                Poll::Ready(None)
            }
            Ok(chunk) => Poll::Ready(Some(Ok(Frame::data(chunk)))),
            Err(e) => {
                (this.decoder, this.permit) = (None, None);
                tracing::error!(error = %e, "decompressing /metrics failed");
                Poll::Ready(Some(Err(e)))
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.decoder.is_none()
    }
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
    use http_body_util::BodyExt;

    /// A family of `.0` lines, enough text for several chunks.
    struct Lines(usize);

    impl crate::metrics::Exposition for Lines {
        fn write(&self, out: &mut dyn std::io::Write) {
            for i in 0..self.0 {
                let _ = writeln!(out, "scrape_test_line{{n=\"{i}\"}} {i}");
            }
        }
    }

    /// A scraper without gzip gets the kept gzip render decompressed, byte for byte, in
    /// frames of at most a chunk; the cache keeps that gzip render and nothing else (it kept
    /// the whole text, tens of megabytes, until the next plain scrape).
    #[tokio::test]
    async fn a_plain_scrape_is_the_kept_gzip_render_decompressed_a_chunk_at_a_time() {
        let m = Arc::new(Metrics::new().unwrap());
        m.expose(Arc::new(Lines(30_000)));
        let renders = Renders::default();
        let r = serve(&renders, &m, &HeaderMap::new()).await;
        assert_eq!(r.status(), StatusCode::OK);
        assert!(r.headers().get(CONTENT_ENCODING).is_none());
        let mut body = r.into_body();
        let (mut plain, mut frames) = (Vec::new(), 0);
        while let Some(frame) = body.frame().await {
            let data = frame.unwrap().into_data().unwrap();
            assert!(!data.is_empty() && data.len() <= METRICS_CHUNK_BYTES);
            plain.extend_from_slice(&data);
            frames += 1;
        }
        assert!(frames > 5, "{frames} frames of {} bytes", plain.len());

        let held = renders.last.lock().await.clone();
        let (_, kept) = held.expect("the render is kept for the next scraper");
        assert_eq!(&kept[..2], &[0x1f, 0x8b], "the kept render is gzip");
        assert!(
            kept.len() * 3 < plain.len(),
            "{} vs {}",
            kept.len(),
            plain.len()
        );
        let mut whole = Vec::new();
        GzDecoder::new(&kept[..]).read_to_end(&mut whole).unwrap();
        assert_eq!(plain, whole, "the plain body is the kept render");
        let text = String::from_utf8(plain).unwrap();
        assert!(text.contains("\nscrape_test_line{n=\"29999\"} 29999\n"));
        assert!(text.contains("# TYPE payprobe_build_info gauge"));

        // A gzip scraper arriving now gets a render of its own, kept in the same place.
        let r = serve(&renders, &m, &with("gzip")).await;
        assert_eq!(r.headers()[CONTENT_ENCODING], "gzip");
        let sent = r.into_body().collect().await.unwrap().to_bytes();
        let (_, kept) = renders.last.lock().await.clone().unwrap();
        assert_eq!(sent, kept);
    }

    /// One body is sent decompressed at a time: a second plain scraper waits for it, then is
    /// told to retry (429, Retry-After); once the first body is gone, the next one is served.
    /// A gzip scraper never waits for it.
    #[tokio::test]
    async fn one_plain_body_at_a_time() {
        let m = Arc::new(Metrics::new().unwrap());
        m.expose(Arc::new(Lines(30_000)));
        let renders = Renders::default();
        let first = serve(&renders, &m, &HeaderMap::new()).await;
        assert_eq!(first.status(), StatusCode::OK);
        let gz = serve(&renders, &m, &with("gzip")).await;
        assert_eq!(gz.status(), StatusCode::OK, "gzip does not wait");
        tokio::time::pause();
        let second = serve(&renders, &m, &HeaderMap::new()).await;
        assert_eq!(second.status(), StatusCode::TOO_MANY_REQUESTS);
        assert!(second.headers().contains_key(hyper::header::RETRY_AFTER));
        drop(first);
        let third = serve(&renders, &m, &HeaderMap::new()).await;
        assert_eq!(third.status(), StatusCode::OK);
    }

    #[test]
    fn a_broken_render_ends_the_body_with_an_error() {
        let permits = Arc::new(tokio::sync::Semaphore::new(1));
        let permit = permits.clone().try_acquire_owned().unwrap();
        let gzip = Bytes::from_static(b"\x1f\x8bnot gzip at all");
        let mut g = Gunzip::new(gzip, permit);
        let waker = std::task::Waker::noop();
        let mut cx = Context::from_waker(waker);
        let first = http_body::Body::poll_frame(Pin::new(&mut g), &mut cx);
        assert!(matches!(first, Poll::Ready(Some(Err(_)))));
        assert!(http_body::Body::is_end_stream(&g));
        assert_eq!(
            permits.available_permits(),
            1,
            "the permit goes with the body"
        );
    }

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
