//! A notification channel's conditions: its last notification within `max_delay` of its
//! payment, and no silence longer than `max_silence` (in `active_hours`). Silence is the
//! current problem when both hold: a late notification is old news once nothing comes.

use crate::config::ChannelSpec;
use crate::probe::{Failure, FailureKind, NotificationEvidence, Phase};

pub(super) fn judge(c: &ChannelSpec, n: &NotificationEvidence) -> Result<(), Failure> {
    if let (Some(quiet), Some(max)) = (n.silent_for, c.max_silence) {
        return Err(Failure::new(
            Phase::Content,
            FailureKind::NotificationMissing,
            format!(
                "no notification on channel {} for {}s (max_silence {}s)",
                c.name,
                quiet.as_secs(),
                max.as_secs()
            ),
        ));
    }
    // Judged on the delay against today's `max_delay` (a reload may have changed it).
    match (n.last_delay, &n.last_id) {
        (Some(delay), Some(id)) if delay > c.max_delay => Err(Failure::new(
            Phase::Content,
            FailureKind::NotificationLate,
            format!(
                "notification {id:?} on channel {} arrived {:.0}s after its payment (max_delay {}s)",
                c.name,
                delay.as_secs_f64(),
                c.max_delay.as_secs()
            ),
        )),
        _ => Ok(()),
    }
}
