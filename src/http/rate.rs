//! A token bucket for `/probe`: each request makes this host connect to a gateway, so the
//! endpoint must not become a way to hammer one (rate and burst in `src/limits/`).

use std::sync::Mutex;

use tokio::time::Instant;

pub struct RateLimit {
    /// (per second, burst, tokens, when the tokens were counted); one lock, so a reload
    /// that changes the rate never races a request.
    state: Mutex<(f64, f64, f64, Instant)>,
}

impl RateLimit {
    pub fn new(per_second: u32, burst: u32) -> RateLimit {
        let burst = f64::from(burst.max(1));
        RateLimit {
            state: Mutex::new((f64::from(per_second.max(1)), burst, burst, Instant::now())),
        }
    }

    /// A new rate and burst (a reload); the tokens in hand are kept, up to the new burst.
    pub fn set(&self, per_second: u32, burst: u32) {
        let mut g = crate::sync::lock(&self.state, "rate limit");
        g.0 = f64::from(per_second.max(1));
        g.1 = f64::from(burst.max(1));
        g.2 = g.2.min(g.1);
    }

    pub fn per_second(&self) -> f64 {
        crate::sync::lock(&self.state, "rate limit").0
    }

    /// Takes a token; `Err(seconds)` says when the next one is due.
    pub fn take(&self) -> Result<(), f64> {
        let mut g = crate::sync::lock(&self.state, "rate limit");
        let now = Instant::now();
        let (rate, burst, tokens, at) = *g;
        let tokens = (tokens + (now - at).as_secs_f64() * rate).min(burst);
        if tokens >= 1.0 {
            *g = (rate, burst, tokens - 1.0, now);
            Ok(())
        } else {
            *g = (rate, burst, tokens, now);
            Err((1.0 - tokens) / rate)
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
        r.set(100, 1);
        tokio::time::advance(std::time::Duration::from_millis(20)).await;
        assert!(r.take().is_ok(), "the new rate refills faster");
        assert!(r.take().is_err(), "and the new burst caps what is in hand");
    }
}
