//! `[[notifications]]`: channels that watch the provider's asynchronous payment
//! notifications (Alipay `notify_url`, WeChat Pay callbacks, Stripe webhooks).
//!
//! The merchant's callback handler reports each notification it received to
//! `POST /api/v1/notifications/{name}` (`src/http/notify.rs`). A channel is judged like a
//! target: it is one, whose only check (`notification`) reads the channel's state instead of
//! probing (`src/probe/notify.rs`), so its rounds, scope, incidents, alerts and status page
//! row are the targets' own.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use super::Secret;
use crate::notify::ChannelState;

/// One channel, as configured. Its state lives beside it (shared by the HTTP handler that
/// records pushes and the prober that judges them) and is carried over a reload.
#[derive(Clone)]
pub struct ChannelSpec {
    pub name: String,
    pub provider: String,
    /// The bearer token the callback handler presents (from `token_file`).
    pub token: Secret<Vec<u8>>,
    /// A notification received later than this after its payment is late.
    pub max_delay: Duration,
    /// No notification for this long (within `active_hours`) is a problem; `None`: silence
    /// is never judged.
    pub max_silence: Option<Duration>,
    pub active_hours: Option<ActiveHours>,
    pub state: Arc<ChannelState>,
}

impl PartialEq for ChannelSpec {
    /// The configuration only: the state is not part of what a reload compares.
    fn eq(&self, o: &Self) -> bool {
        (
            &self.name,
            &self.provider,
            &self.token,
            self.max_delay,
            self.max_silence,
            self.active_hours,
        ) == (
            &o.name,
            &o.provider,
            &o.token,
            o.max_delay,
            o.max_silence,
            o.active_hours,
        )
    }
}

impl fmt::Debug for ChannelSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ChannelSpec")
            .field("name", &self.name)
            .field("provider", &self.provider)
            .field("token", &self.token)
            .field("max_delay", &self.max_delay)
            .field("max_silence", &self.max_silence)
            .field("active_hours", &self.active_hours)
            .finish()
    }
}

pub use crate::notify::ActiveHours;

/// Keeps each channel's state across a reload: a channel that stays (by name) keeps what it
/// received and how long it has been silent, so a reload neither forgets a late
/// notification nor restarts the silence clock.
pub fn carry_over(old: Option<&super::Plan>, new: &mut super::Plan) {
    let Some(old) = old else { return };
    for t in new.targets.iter_mut().filter(|t| t.channel.is_some()) {
        let kept = old
            .target(&t.name)
            .and_then(|o| o.channel.as_ref())
            .map(|c| c.state.clone());
        // A freshly loaded plan holds its targets alone, so `get_mut` succeeds.
        if let (Some(state), Some(c)) = (
            kept,
            std::sync::Arc::get_mut(t).and_then(|t| t.channel.as_mut()),
        ) {
            c.state = state;
        }
    }
}
