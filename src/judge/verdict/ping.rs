//! The `ping` check's condition: loss above `loss_threshold` fails it.

use crate::config::PingSpec;
use crate::probe::ping::{method_name, PingEvidence};
use crate::probe::{Failure, FailureKind, Phase};

pub(super) fn judge(spec: &PingSpec, ev: &PingEvidence) -> Result<(), Failure> {
    if ev.loss_ratio <= spec.loss_threshold {
        return Ok(());
    }
    Err(Failure::new(
        Phase::Connect,
        FailureKind::PacketLoss,
        format!(
            "{:.0}% of {} {} pings to {} lost (threshold {:.0}%)",
            ev.loss_ratio * 100.0,
            ev.sent,
            method_name(ev.method),
            ev.address,
            spec.loss_threshold * 100.0
        ),
    ))
}
