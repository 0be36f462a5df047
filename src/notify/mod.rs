//! The state of each `[[notifications]]` channel: what the merchant's callback handler
//! reported (`src/http/notify.rs` records), and what a round reads (`src/probe/notify.rs`).
//!
//! Observation only: a push is recorded with its delay, a round reads "the last
//! notification was late" or "nothing came for longer than `max_silence`"; what that means
//! (cause `server`, symptom `payment_delay`, scope from the provider's probes) is the rules
//! table's business, like any evidence.

mod hours;

pub use crate::timefmt::parse_rfc3339;
pub use hours::ActiveHours;

use std::collections::{HashSet, VecDeque};
use std::sync::Mutex;
use std::time::{Duration, SystemTime};

use crate::limits::NOTIFICATION_IDS_REMEMBERED;

/// One channel's memory. Bounded: the ids of the last [`NOTIFICATION_IDS_REMEMBERED`]
/// notifications (for idempotence), and a few numbers.
#[derive(Debug)]
pub struct ChannelState {
    inner: Mutex<Inner>,
}

#[derive(Debug)]
struct Inner {
    /// Since when the channel has been watched: silence counts from here until a first push.
    watched_since: SystemTime,
    ids: HashSet<String>,
    order: VecDeque<String>,
    last: Option<Seen>,
    /// The channel was silent at the last round (a new silence is counted once).
    silent: bool,
    received: u64,
    late: u64,
    missing: u64,
}

/// The last notification reported.
#[derive(Debug, Clone)]
pub struct Seen {
    pub id: String,
    pub received_at: SystemTime,
    pub delay: Duration,
    pub late: bool,
}

/// What recording a push did.
#[derive(Debug, Clone, PartialEq)]
pub enum Pushed {
    /// A new notification: its delay, and whether that is over `max_delay`.
    New { delay: Duration, late: bool },
    /// This id was reported already: nothing changed.
    Duplicate,
}

/// What a round reads of the channel.
#[derive(Debug, Clone)]
pub struct Reading {
    pub last: Option<Seen>,
    /// Silence so far (within active hours), when it is over `max_silence`.
    pub silent_for: Option<Duration>,
    pub received: u64,
    pub late: u64,
    pub missing: u64,
    /// The silence began at this round (count it once).
    pub new_silence: bool,
}

impl Default for ChannelState {
    fn default() -> Self {
        ChannelState::new(SystemTime::now())
    }
}

impl ChannelState {
    pub fn new(now: SystemTime) -> ChannelState {
        ChannelState {
            inner: Mutex::new(Inner {
                watched_since: now,
                ids: HashSet::new(),
                order: VecDeque::new(),
                last: None,
                silent: false,
                received: 0,
                late: 0,
                missing: 0,
            }),
        }
    }

    /// Records one notification; idempotent by `id`.
    pub fn push(
        &self,
        id: &str,
        paid_at: SystemTime,
        received_at: SystemTime,
        max_delay: Duration,
    ) -> Pushed {
        let mut g = crate::sync::lock(&self.inner, "notification channel");
        if g.ids.contains(id) {
            return Pushed::Duplicate;
        }
        if g.order.len() >= NOTIFICATION_IDS_REMEMBERED {
            if let Some(old) = g.order.pop_front() {
                g.ids.remove(&old);
            }
        }
        g.ids.insert(id.to_string());
        g.order.push_back(id.to_string());
        // A clock ahead at the provider (paid "after" it was received) is no delay.
        let delay = received_at.duration_since(paid_at).unwrap_or_default();
        let late = delay > max_delay;
        g.received += 1;
        g.late += u64::from(late);
        // The last one reported decides "late now", whatever its `received_at` (second
        // precision, or a log shipper catching up, would reorder by that date).
        g.last = Some(Seen {
            id: id.to_string(),
            received_at,
            delay,
            late,
        });
        Pushed::New { delay, late }
    }

    /// Reads the channel for a round at `now`: silence is judged only within
    /// `active` hours, counted from the later of the last notification and the window's
    /// start.
    pub fn read(
        &self,
        now: SystemTime,
        max_silence: Option<Duration>,
        active: Option<ActiveHours>,
    ) -> Reading {
        let mut g = crate::sync::lock(&self.inner, "notification channel");
        let quiet_from = g.last.as_ref().map_or(g.watched_since, |l| l.received_at);
        let silent_for = max_silence.and_then(|max| {
            let unix = crate::timefmt::unix_secs(now);
            let from = match active {
                None => quiet_from,
                Some(a) => {
                    let into = a.into_window(unix)?;
                    let start = now - Duration::from_secs(into.max(0) as u64);
                    quiet_from.max(start)
                }
            };
            let quiet = now.duration_since(from).unwrap_or_default();
            (quiet > max).then_some(quiet)
        });
        let new_silence = silent_for.is_some() && !g.silent;
        g.silent = silent_for.is_some();
        g.missing += u64::from(new_silence);
        Reading {
            last: g.last.clone(),
            silent_for,
            received: g.received,
            late: g.late,
            missing: g.missing,
            new_silence,
        }
    }
}

#[cfg(test)]
mod tests;
