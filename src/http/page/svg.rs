//! The inline-SVG history of a target: one bar per round, oldest on the left.
//!
//! A passing round is a short bar whose height grows with its latency (square-root scale,
//! so a 10 ms round stays visible next to a 600 ms one); a failing round is a full-height
//! bar with a notch cut into its top. Colour is never the only signal: a failure differs by
//! shape and height too, and the `<title>` says the counts in words.

use std::fmt::Write;

use crate::history::Point;
use crate::vocab::Lang;

use super::{esc, i18n};

const W: f32 = 180.0;
const H: f32 = 28.0;

pub fn sparkline(points: &[Point], capacity: usize, lang: Lang) -> String {
    if points.is_empty() {
        return format!(
            "<span class=\"muted\">{}</span>",
            i18n::words(lang).no_rounds
        );
    }
    let slot = W / capacity.max(points.len()) as f32;
    let bar = (slot - 1.0).max(1.0);
    let max = points.iter().map(|p| p.millis).fold(1.0_f32, f32::max);
    let min = points.iter().map(|p| p.millis).fold(f32::MAX, f32::min);
    let failed = points.iter().filter(|p| !p.ok).count();
    let label = i18n::history_label(points.len(), failed, min, max, lang);
    let mut s = format!(
        "<svg class=\"spark\" role=\"img\" aria-label=\"{l}\" width=\"{W}\" height=\"{H}\" viewBox=\"0 0 {W} {H}\"><title>{l}</title>",
        l = esc(&label)
    );
    // Right-aligned: the newest round is always at the right edge.
    let x0 = W - slot * points.len() as f32;
    for (i, p) in points.iter().enumerate() {
        let x = x0 + slot * i as f32;
        if p.ok {
            let h = (2.0 + (H - 8.0) * (p.millis / max).sqrt()).min(H - 6.0);
            let _ = write!(
                s,
                "<rect class=\"{}\" x=\"{x:.1}\" y=\"{:.1}\" width=\"{bar:.1}\" height=\"{h:.1}\"/>",
                if p.healthy { "r-ok" } else { "r-rec" },
                H - h
            );
        } else {
            // Full height with a notch: a V cut into the top, seen without colour.
            let (l, r, m) = (x, x + bar, x + bar / 2.0);
            let _ = write!(
                s,
                "<path class=\"r-fail\" d=\"M{l:.1} 0L{m:.1} 4L{r:.1} 0L{r:.1} {H}L{l:.1} {H}Z\"/>"
            );
        }
    }
    s.push_str("</svg>");
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pt(ms: f32, ok: bool) -> Point {
        Point {
            at_ms: 0,
            millis: ms,
            ok,
            healthy: ok,
        }
    }

    #[test]
    fn failures_are_marked_by_shape_and_counted_in_words() {
        let svg = sparkline(
            &[pt(5.0, true), pt(800.0, false), pt(20.0, true)],
            60,
            Lang::En,
        );
        assert_eq!(svg.matches("<rect").count(), 2);
        assert_eq!(svg.matches("class=\"r-fail\"").count(), 1);
        assert!(
            svg.contains("last 3 rounds: 1 failed; latency 5–800 ms"),
            "{svg}"
        );
        let zh = sparkline(&[pt(5.0, true)], 60, Lang::ZhCn);
        assert!(zh.contains("最近 1 轮：0 轮失败"), "{zh}");
        assert!(sparkline(&[], 60, Lang::En).contains("no rounds yet"));
    }
}
