//! The Prometheus text exposition format 0.0.4, written straight from payprobe's own state.
//!
//! The `prometheus` crate's `gather()` copies every series into protobuf-shaped structs
//! before its encoder writes them (hundreds of MiB at 10,000 targets); this writer needs no
//! copy: a family's `# HELP`/`# TYPE` head is written once, before its first sample, and
//! samples go to a small buffer that is handed to the sink (plain text or a gzip stream)
//! whenever it fills.

use std::borrow::Cow;
use std::io::{self, Write};

/// What `# TYPE` says.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Gauge,
    Counter,
    Histogram,
}

impl Kind {
    fn as_str(self) -> &'static str {
        match self {
            Kind::Gauge => "gauge",
            Kind::Counter => "counter",
            Kind::Histogram => "histogram",
        }
    }
}

/// A metric family: its name, help text and type.
#[derive(Debug)]
pub struct Family {
    pub name: &'static str,
    pub help: &'static str,
    pub kind: Kind,
}

pub use crate::limits::METRICS_CHUNK_BYTES as CHUNK;

/// A writer of one exposition. Label values given to [`Text::sample`] must already be
/// escaped ([`escape`]); names and enum values never need it.
pub struct Text<'a> {
    sink: &'a mut dyn Write,
    buf: Vec<u8>,
    /// The family whose head is still to be written (it is skipped if it has no sample).
    head: Option<&'static Family>,
    /// The family samples are being written for.
    last: Option<&'static Family>,
}

impl<'a> Text<'a> {
    pub fn new(sink: &'a mut dyn Write) -> Text<'a> {
        Text {
            sink,
            buf: Vec::with_capacity(CHUNK + 1024),
            head: None,
            last: None,
        }
    }

    /// Starts a family; its head is written with its first sample.
    pub fn family(&mut self, f: &'static Family) {
        self.head = Some(f);
    }

    /// One sample line of the current family: `name[suffix]{labels} value`.
    pub fn sample(&mut self, suffix: &str, labels: &[(&str, &str)], value: f64) -> io::Result<()> {
        let Some(f) = self.current() else {
            return Ok(());
        };
        let b = &mut self.buf;
        b.extend_from_slice(f.name.as_bytes());
        b.extend_from_slice(suffix.as_bytes());
        let mut sep = b'{';
        for (k, v) in labels {
            b.push(sep);
            b.extend_from_slice(k.as_bytes());
            b.extend_from_slice(b"=\"");
            b.extend_from_slice(v.as_bytes());
            b.push(b'"');
            sep = b',';
        }
        if !labels.is_empty() {
            b.push(b'}');
        }
        b.push(b' ');
        number(b, value);
        b.push(b'\n');
        if self.buf.len() >= CHUNK {
            self.flush_buf()?;
        }
        Ok(())
    }

    /// The family being written, with its head written first if it was not yet.
    fn current(&mut self) -> Option<&'static Family> {
        if let Some(f) = self.head.take() {
            let b = &mut self.buf;
            for part in [
                "# HELP ",
                f.name,
                " ",
                &escape_help(f.help),
                "\n# TYPE ",
                f.name,
            ] {
                b.extend_from_slice(part.as_bytes());
            }
            b.push(b' ');
            b.extend_from_slice(f.kind.as_str().as_bytes());
            b.push(b'\n');
            self.last = Some(f);
        }
        self.last
    }

    /// Raw bytes of another encoder (the `prometheus` crate's, for the global series).
    pub fn raw(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.head = None;
        self.last = None;
        self.buf.extend_from_slice(bytes);
        self.flush_buf()
    }

    fn flush_buf(&mut self) -> io::Result<()> {
        self.sink.write_all(&self.buf)?;
        self.buf.clear();
        Ok(())
    }

    /// Hands what is left to the sink.
    pub fn finish(mut self) -> io::Result<()> {
        self.flush_buf()?;
        self.sink.flush()
    }
}

/// Bytes written through [`Text::raw`]: another writer's output (an `Exposition`, behind
/// a `BufWriter`) joining the stream.
pub struct Raw<'t, 'a>(pub &'t mut Text<'a>);

impl io::Write for Raw<'_, '_> {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        self.0.raw(bytes)?;
        Ok(bytes.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// A sample value as the `prometheus` crate writes it (`1`, `0.25`, `NaN`), so the output
/// of both encoders reads alike; integers (counters, codes, timestamps) take the fast path.
fn number(b: &mut Vec<u8>, v: f64) {
    if v.is_nan() {
        b.extend_from_slice(b"NaN");
    } else if v.is_infinite() {
        b.extend_from_slice(if v > 0.0 { b"+Inf" } else { b"-Inf" });
    } else if v.fract() == 0.0 && v.abs() < 9.0e15 {
        b.extend_from_slice(itoa::Buffer::new().format(v as i64).as_bytes());
    } else {
        b.extend_from_slice(ryu::Buffer::new().format_finite(v).as_bytes());
    }
}

/// A label value escaped per the text format: backslash, double quote and newline.
pub fn escape(v: &str) -> Cow<'_, str> {
    if !v.contains(['\\', '"', '\n']) {
        return Cow::Borrowed(v);
    }
    let mut s = String::with_capacity(v.len() + 8);
    for c in v.chars() {
        match c {
            '\\' => s.push_str("\\\\"),
            '"' => s.push_str("\\\""),
            '\n' => s.push_str("\\n"),
            c => s.push(c),
        }
    }
    Cow::Owned(s)
}

/// HELP text escapes backslash and newline only.
fn escape_help(v: &str) -> Cow<'_, str> {
    if !v.contains(['\\', '\n']) {
        return Cow::Borrowed(v);
    }
    Cow::Owned(v.replace('\\', "\\\\").replace('\n', "\\n"))
}

/// An upper bound as the `le` label value (`0.005`, `1`, `+Inf`).
pub fn le(bound: f64) -> String {
    let mut b = Vec::new();
    number(&mut b, bound);
    String::from_utf8(b).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    static G: Family = Family {
        name: "x_gauge",
        help: "A gauge \\ with\nnewline.",
        kind: Kind::Gauge,
    };
    static E: Family = Family {
        name: "x_empty",
        help: "Never written.",
        kind: Kind::Counter,
    };

    fn render(f: impl FnOnce(&mut Text<'_>) -> io::Result<()>) -> String {
        let mut out = Vec::new();
        let mut t = Text::new(&mut out);
        f(&mut t).unwrap();
        t.finish().unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn label_values_are_escaped() {
        assert_eq!(escape("plain"), "plain");
        assert_eq!(escape(r#"a"b\c"#), r#"a\"b\\c"#);
        assert_eq!(escape("l1\nl2"), "l1\\nl2");
    }

    #[test]
    fn a_family_head_is_written_once_and_only_with_samples() {
        let text = render(|t| {
            t.family(&E);
            t.family(&G);
            t.sample("", &[("a", "1")], 1.0)?;
            t.sample("", &[("a", "2")], 0.25)?;
            t.sample("", &[], f64::NAN)
        });
        assert_eq!(
            text,
            "# HELP x_gauge A gauge \\\\ with\\nnewline.\n# TYPE x_gauge gauge\n\
             x_gauge{a=\"1\"} 1\nx_gauge{a=\"2\"} 0.25\nx_gauge NaN\n"
        );
    }

    #[test]
    fn numbers_read_like_the_prometheus_crate() {
        for (v, want) in [
            (0.0, "0"),
            (1.0, "1"),
            (-3.0, "-3"),
            (1_764_650_000.5, "1764650000.5"),
            (f64::INFINITY, "+Inf"),
            (0.005, "0.005"),
        ] {
            assert_eq!(le(v), want);
        }
    }
}
