//! Validation of `[targets.ping]`, including the check that a burst fits in the target's
//! `timeout`.

use std::ops::Range;
use std::time::Duration;

use super::super::error::Problems;
use super::super::raw::{RawPing, S};
use super::super::{PingMethod, PingSpec};
use super::values::{duration, int_in, keyword};
use crate::limits;

/// `timeout` is the target's, `None` where it is unknown (a problem) or no ping runs;
/// `timeout_span` is where the target's `timeout` is written, if it is.
pub(super) fn ping(
    r: Option<&RawPing>,
    timeout: Option<Duration>,
    timeout_span: Option<Range<usize>>,
    p: &mut Problems,
) -> Option<PingSpec> {
    let d = PingSpec::default();
    let none = RawPing::default();
    // An absent table still gets the burst-vs-timeout check: the default burst can overrun
    // a short `timeout`, and then every ping would be "lost" to the deadline (issue 15).
    let r = r.unwrap_or(&none);
    let before = p.count();
    let count =
        int_in(&r.count, "count", limits::PING_COUNT, p).map(|v| v.unwrap_or(i64::from(d.count)));
    let spacing = duration(&r.spacing, "spacing", p).map(|v| v.unwrap_or(d.spacing));
    let packet_timeout =
        duration(&r.packet_timeout, "packet_timeout", p).map(|v| v.unwrap_or(d.packet_timeout));
    let loss_threshold = loss_threshold(r.loss_threshold.as_ref(), d.loss_threshold, p);
    let method = keyword(
        r.method.as_ref(),
        PingMethod::Auto,
        |m| match m {
            "auto" => Some(PingMethod::Auto),
            "tcp" => Some(PingMethod::Tcp),
            _ => None,
        },
        |m| format!("`method` = {m:?}: expected \"auto\" (ICMP, else TCP) or \"tcp\""),
        p,
    );
    let port = int_in(&r.port, "port", limits::PORT, p).map(|v| v.map(|v| v as u16));
    if let (Some(c), Some(s), Some(pt), Some(to)) = (count, spacing, packet_timeout, timeout) {
        burst_fits(r, c, s, pt, (to, timeout_span), p);
    }
    if p.count() > before {
        return None;
    }
    Some(PingSpec {
        count: count? as u32,
        spacing: spacing?,
        packet_timeout: packet_timeout?,
        loss_threshold: loss_threshold?,
        method: method?,
        port: port?,
    })
}

fn loss_threshold(l: Option<&S<f64>>, default: f64, p: &mut Problems) -> Option<f64> {
    let Some(l) = l else { return Some(default) };
    let range = limits::LOSS_FRACTION;
    if range.contains(l.get_ref()) {
        return Some(*l.get_ref());
    }
    p.at(
        l.span(),
        format!(
            "`loss_threshold` = {}: expected a fraction from {:?} to {:?}",
            l.get_ref(),
            range.start(),
            range.end()
        ),
    );
    None
}

/// Reports a burst (`count` requests `spacing` apart, the last waited for `packet_timeout`)
/// that can outlast the target's timeout, at the key most likely to be lowered.
fn burst_fits(
    r: &RawPing,
    count: i64,
    spacing: Duration,
    packet_timeout: Duration,
    (timeout, timeout_span): (Duration, Option<Range<usize>>),
    p: &mut Problems,
) {
    // Bounded by PING_COUNT and MAX_CONFIG_DURATION: cannot overflow.
    let burst = spacing
        .saturating_mul(count.saturating_sub(1) as u32)
        .saturating_add(packet_timeout);
    if burst < timeout {
        return;
    }
    let at = r
        .count
        .as_ref()
        .map(|c| c.span())
        .or(r.spacing.as_ref().map(|s| s.span()))
        .or(timeout_span)
        .unwrap_or(0..0);
    p.at(at, format!(
        "a ping burst takes up to {} (count x spacing + packet_timeout), longer than the target's `timeout` ({}); lower count or spacing, or raise timeout",
        humantime::format_duration(burst), humantime::format_duration(timeout)
    ));
}
