//! The `notification` check of a `[[notifications]]` channel: it probes nothing, and reads
//! what the merchant's callback handler reported (`src/notify`), so that a channel's rounds
//! go through the same verdict, store, scope and outputs as any target's.

use std::time::SystemTime;

use tokio::time::Instant;

use super::{Evidence, Gateway, NotificationEvidence, Prober};
use crate::config::{ChannelSpec, Check, Target};

#[derive(Clone, Default)]
pub struct NotificationProber;

impl Prober for NotificationProber {
    /// The channel, for a channel's target; `None` for any other target (nothing to read).
    type Spec<'t> = Option<&'t ChannelSpec>;

    fn check(&self) -> Check {
        Check::Notification
    }

    fn spec(t: &Target) -> Option<&ChannelSpec> {
        t.channel.as_ref()
    }

    async fn probe<'a>(
        &'a self,
        gw: Gateway<'a>,
        c: Option<&'a ChannelSpec>,
        _deadline: Instant,
    ) -> Evidence {
        let mut e = Evidence::new(gw.name, Check::Notification);
        let Some(c) = c else { return e };
        let r = c
            .state
            .read(SystemTime::now(), c.max_silence, c.active_hours);
        e.notification = Some(NotificationEvidence {
            last_id: r.last.as_ref().map(|l| l.id.clone()),
            last_received_at: r
                .last
                .as_ref()
                .map(|l| crate::timefmt::rfc3339_millis(l.received_at)),
            last_delay: r.last.as_ref().map(|l| l.delay),
            last_late: r.last.as_ref().is_some_and(|l| l.late),
            silent_for: r.silent_for,
            received: r.received,
            late: r.late,
            missing: r.missing,
        });
        e
    }
}
