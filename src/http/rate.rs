//! A token bucket for `/probe`: each request makes this host connect to a gateway, so the
//! endpoint must not become a way to hammer one (rate and burst in `src/limits.rs`).

use std::sync::Mutex;

use tokio::time::Instant;

pub struct RateLimit {
    per_second: f64,
    burst: f64,
    state: Mutex<(f64, Instant)>,
}

impl RateLimit {
    pub fn new(per_second: u32, burst: u32) -> RateLimit {
        RateLimit {
            per_second: f64::from(per_second.max(1)),
            burst: f64::from(burst.max(1)),
            state: Mutex::new((f64::from(burst.max(1)), Instant::now())),
        }
    }

    /// Takes a token; `Err(seconds)` says when the next one is due.
    pub fn take(&self) -> Result<(), f64> {
        let mut g = self.state.lock().unwrap_or_else(|p| p.into_inner());
        let now = Instant::now();
        let (tokens, at) = *g;
        let tokens = (tokens + (now - at).as_secs_f64() * self.per_second).min(self.burst);
        if tokens >= 1.0 {
            *g = (tokens - 1.0, now);
            Ok(())
        } else {
            *g = (tokens, now);
            Err((1.0 - tokens) / self.per_second)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn the_burst_is_spent_then_tokens_come_at_the_rate() {
        let r = RateLimit::new(2, 3);
        for _ in 0..3 {
            assert!(r.take().is_ok());
        }
        let wait = r.take().unwrap_err();
        assert!((wait - 0.5).abs() < 0.01, "next token in 0.5 s, got {wait}");
        tokio::time::advance(std::time::Duration::from_millis(500)).await;
        assert!(r.take().is_ok());
        assert!(r.take().is_err());
    }
}
