//! The reason of a passing round that was slower than its `latency_slo`: which phase the
//! time went to, and whose side that is.

use std::time::Duration;

use crate::probe::{Evidence, Phase};

/// Names the phase where the time went: slow connect/TLS is the path, slow processing is
/// the server.
pub(super) fn slow_reason(e: &Evidence, slo: Duration) -> String {
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    let mut s = format!(
        "{} check took {:.0} ms, over the {:.0} ms latency SLO",
        e.check.as_str(),
        ms(e.duration),
        ms(slo)
    );
    if let Some((p, d)) = slowest_phase(e) {
        let whose = match p {
            Phase::Dns | Phase::Connect | Phase::Proxy | Phase::Tls => "the network path",
            Phase::Processing | Phase::Transfer | Phase::Content => "the server",
        };
        s.push_str(&format!(
            "; most of it in {} ({:.0} ms): {whose} is slow",
            p.as_str(),
            ms(d)
        ));
    }
    s
}

/// The HTTP phase that took longest, when there was an HTTP exchange.
pub(super) fn slowest_phase(e: &Evidence) -> Option<(Phase, Duration)> {
    let h = e.http.as_ref()?;
    let p = Phase::ALL.into_iter().max_by_key(|p| h.phases.get(*p))?;
    Some((p, h.phases.get(p)))
}
