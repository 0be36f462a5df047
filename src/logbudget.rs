//! Per-target warnings that cannot flood the log.
//!
//! A local outage moves every target at once; logging each one buries the one line that
//! matters ("this vantage point lost its network") under thousands. A [`Budget`] lets
//! [`crate::limits::PER_TARGET_LOG_LINES`] lines of one kind through each window of
//! [`crate::limits::PER_TARGET_LOG_WINDOW_SECS`] and sums the rest into one line naming how many
//! were left out, written with the next line of that kind after the window ends (or by
//! [`Budget::flush`]).

use std::sync::Mutex;
use std::time::{SystemTime, UNIX_EPOCH};

pub struct Budget {
    what: &'static str,
    per_window: u32,
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    window: u64,
    used: u32,
    left_out: u64,
}

/// The number of the current window (seconds since the epoch over the window's length).
fn now_window() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
        / crate::limits::PER_TARGET_LOG_WINDOW_SECS.max(1)
}

impl Budget {
    pub const fn new(what: &'static str, per_window: u32) -> Budget {
        Budget {
            what,
            per_window,
            state: Mutex::new(State {
                window: 0,
                used: 0,
                left_out: 0,
            }),
        }
    }

    /// Whether one more line of this kind may be written now.
    pub fn allow(&self) -> bool {
        self.allow_at(now_window())
    }

    fn allow_at(&self, window: u64) -> bool {
        let mut s = crate::sync::lock(&self.state, "log budget");
        if s.window != window {
            Self::summarize(self.what, &mut s);
            s.window = window;
            s.used = 0;
        }
        if s.used < self.per_window {
            s.used += 1;
            true
        } else {
            s.left_out += 1;
            false
        }
    }

    /// Writes the summary of what was left out, if the window it belongs to is over.
    pub fn flush(&self) {
        let window = now_window();
        let mut s = crate::sync::lock(&self.state, "log budget");
        if s.window != window {
            Self::summarize(self.what, &mut s);
        }
    }

    fn summarize(what: &'static str, s: &mut State) {
        if s.left_out > 0 {
            tracing::warn!(
                left_out = s.left_out,
                "{} more \"{what}\" lines in {} s were not logged one by one (see /api/v1/incidents and /metrics)",
                s.left_out,
                crate::limits::PER_TARGET_LOG_WINDOW_SECS
            );
            s.left_out = 0;
        }
    }

    #[cfg(test)]
    fn left_out(&self) -> u64 {
        crate::sync::lock(&self.state, "log budget").left_out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_past_the_budget_are_counted_and_the_count_restarts_each_window() {
        let b = Budget::new("test", 3);
        let allowed = (0..10).filter(|_| b.allow_at(100)).count();
        assert_eq!((allowed, b.left_out()), (3, 7));
        assert!(b.allow_at(101), "a new window has a new budget");
        assert_eq!(
            b.left_out(),
            0,
            "the summary was written and the count reset"
        );
    }
}
