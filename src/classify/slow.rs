//! Where the time of a passing round that was slower than its `latency_slo` went (the
//! catalogue, `src/lang`, words it: which phase, and whose side that is).

use std::time::Duration;

use crate::probe::{Evidence, Phase};

/// The HTTP phase that took longest, when there was an HTTP exchange.
pub(super) fn slowest_phase(e: &Evidence) -> Option<(Phase, Duration)> {
    let h = e.http.as_ref()?;
    let p = Phase::ALL.into_iter().max_by_key(|p| h.phases.get(*p))?;
    Some((p, h.phases.get(p)))
}
