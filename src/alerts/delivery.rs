//! Delivering one sink's outbox: in order per alert, never behind one bad notification.
//!
//! Each pending notification has its own retry schedule. The next one sent is the oldest
//! that is due and has no older pending notification of the same alert (same fingerprint),
//! so an alert's firing still reaches a receiver before its resolution while a notification
//! that backs off holds back nothing of other alerts. An answer that will never change (a
//! 4xx other than 408/429, a robot code about configuration: [`sinks::permanent`]) sets the
//! notification aside at once: logged with the sink's answer, counted
//! (`payprobe_alert_notifications_total{outcome="rejected"}`), listed by
//! `/api/v1/alerts/rejected`, and removed from the outbox. Before (issue 20) one rejected
//! notification was retried until `max_age` (a day by default) and everything behind it
//! waited.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use serde::Serialize;

use super::notification::Notification;
use super::{client, sinks, Sink};
use crate::config::SinkSpec;
use crate::metrics::Metrics;
use crate::timefmt::unix_ms;

use crate::limits::DELIVERY_BACKOFF_FIRST as BACKOFF_FIRST;
use crate::limits::DELIVERY_BACKOFF_MAX as BACKOFF_MAX;
use crate::limits::DELIVERY_REJECTED_KEPT as REJECTED_KEPT;
use crate::limits::DELIVERY_TICK as TICK;

/// Why one attempt failed, and whether trying again can help.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct DeliveryError {
    pub message: String,
    pub permanent: bool,
}

/// One attempt: render, POST, judge the answer.
pub async fn deliver(
    spec: &SinkSpec,
    n: &Notification,
    resend: Duration,
    external: &str,
) -> Result<client::Answer, DeliveryError> {
    let r = sinks::render(spec, n, SystemTime::now(), resend, external);
    let answer = client::post(&r.url, &r.headers, r.body, spec.timeout)
        .await
        .map_err(|e| DeliveryError {
            message: e.to_string(),
            permanent: false,
        })?;
    sinks::judge(spec.kind, answer.status, &answer.body).map_err(|e| DeliveryError {
        message: format!("{}: {e}", spec.shown_url()),
        permanent: sinks::permanent(spec.kind, answer.status, &answer.body),
    })?;
    Ok(answer)
}

/// A notification set aside for good, as the API lists it (no secrets: the sink's URL is
/// shown redacted, and the answer is the receiver's).
#[derive(Debug, Clone, Serialize)]
pub struct RejectedView {
    pub sink: String,
    pub key: String,
    pub event: &'static str,
    pub alertname: String,
    pub at: String,
    pub answer: String,
}

/// The notifications every sink set aside (newest last, bounded).
#[derive(Default)]
pub struct Rejected {
    list: Mutex<VecDeque<RejectedView>>,
}

impl Rejected {
    fn add(&self, v: RejectedView) {
        let mut l = crate::sync::lock(&self.list, "rejected notifications");
        l.push_back(v);
        while l.len() > REJECTED_KEPT {
            l.pop_front();
        }
    }

    /// Newest first.
    pub fn list(&self) -> Vec<RejectedView> {
        let l = crate::sync::lock(&self.list, "rejected notifications");
        l.iter().rev().cloned().collect()
    }
}

/// A random factor in [0.5, 1.0): jitter, so many payprobes do not retry in step.
fn jitter() -> f64 {
    let mut b = [0u8; 4];
    let _ = ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut b);
    0.5 + f64::from(u32::from_le_bytes(b)) / f64::from(u32::MAX) / 2.0
}

fn backoff(attempts: u32) -> Duration {
    let exp = BACKOFF_FIRST.saturating_mul(1u32 << attempts.min(16));
    exp.min(BACKOFF_MAX).mul_f64(jitter())
}

/// A failed notification's retry schedule.
#[derive(Clone, Copy)]
struct Retry {
    attempts: u32,
    at: Instant,
}

/// What the task does next.
enum Next {
    Send(Box<Notification>),
    /// Nothing is due before this.
    Wait(Instant),
}

/// The oldest due notification whose alert has no older one pending.
fn pick<'a>(
    pending: impl Iterator<Item = &'a Notification>,
    retry: &HashMap<String, Retry>,
    now: Instant,
) -> Next {
    let mut held: HashSet<&str> = HashSet::new();
    let mut wake = now + TICK;
    for n in pending {
        if held.contains(n.fingerprint.as_str()) {
            continue;
        }
        match retry.get(&n.key) {
            Some(r) if r.at > now => {
                wake = wake.min(r.at);
                held.insert(&n.fingerprint);
            }
            _ => return Next::Send(Box::new(n.clone())),
        }
    }
    Next::Wait(wake)
}

#[derive(Clone)]
pub(super) struct Delivery {
    pub sink: Arc<Sink>,
    pub metrics: Arc<Metrics>,
    pub max_age: Duration,
    pub resend: Duration,
    pub external: String,
    pub rejected: Arc<Rejected>,
}

impl Delivery {
    fn gauges(&self) {
        let ob = crate::sync::lock(&self.sink.outbox, "outbox");
        let now = unix_ms(SystemTime::now());
        let oldest = ob
            .oldest_created_ms()
            .map_or(0.0, |c| now.saturating_sub(c) as f64 / 1000.0);
        self.metrics
            .incidents
            .outbox(&self.sink.spec.name, ob.len(), oldest);
    }

    pub async fn run(self) {
        let mut retry: HashMap<String, Retry> = HashMap::new();
        loop {
            self.gauges();
            let next = {
                let ob = crate::sync::lock(&self.sink.outbox, "outbox");
                if !retry.is_empty() {
                    let pending: HashSet<&str> = ob.pending().map(|n| n.key.as_str()).collect();
                    retry.retain(|k, _| pending.contains(k.as_str()));
                }
                pick(ob.pending(), &retry, Instant::now())
            };
            match next {
                Next::Send(n) => self.attempt(&n, &mut retry).await,
                Next::Wait(until) => {
                    tokio::select! {
                        () = self.sink.bell.notified() => {}
                        () = tokio::time::sleep_until(until.into()) => {}
                    }
                }
            }
        }
    }

    async fn attempt(&self, n: &Notification, retry: &mut HashMap<String, Retry>) {
        let name = &self.sink.spec.name;
        let now = SystemTime::now();
        if n.age(now) > self.max_age {
            tracing::error!(sink = %name, key = %n.key, age_s = n.age(now).as_secs(), "notification older than max_age dropped undelivered");
            self.metrics.incidents.notification(name, "dropped");
            self.done(&n.key).await;
            return;
        }
        match deliver(&self.sink.spec, n, self.resend, &self.external).await {
            Ok(_) => {
                tracing::info!(sink = %name, key = %n.key, event = n.event.as_str(), "notification delivered");
                self.metrics.incidents.notification(name, "delivered");
                self.done(&n.key).await;
            }
            Err(e) if e.permanent => {
                tracing::error!(sink = %name, key = %n.key, event = n.event.as_str(), answer = %e, "the sink rejected the notification for good; set aside (see /api/v1/alerts/rejected), the next ones go on");
                self.metrics.incidents.notification(name, "rejected");
                self.rejected.add(RejectedView {
                    sink: name.clone(),
                    key: n.key.clone(),
                    event: n.event.as_str(),
                    alertname: n.labels.get("alertname").cloned().unwrap_or_default(),
                    at: crate::timefmt::rfc3339_secs(crate::timefmt::unix_secs(now)),
                    answer: e.message,
                });
                self.done(&n.key).await;
            }
            Err(e) => {
                self.metrics.incidents.notification(name, "failed");
                let attempts = retry.get(&n.key).map_or(0, |r| r.attempts);
                let wait = backoff(attempts);
                retry.insert(
                    n.key.clone(),
                    Retry {
                        attempts: attempts.saturating_add(1),
                        at: Instant::now() + wait,
                    },
                );
                tracing::warn!(sink = %name, key = %n.key, error = %e, retry_in_ms = wait.as_millis() as u64, "delivery failed; retrying (later notifications of other alerts go on)");
            }
        }
    }

    /// Marks `key` done in the outbox (an fsynced append: off the runtime's workers).
    async fn done(&self, key: &str) {
        let (sink, key) = (self.sink.clone(), key.to_string());
        let marked = tokio::task::spawn_blocking(move || {
            crate::sync::lock(&sink.outbox, "outbox").done(&key)
        });
        if marked.await.is_err() {
            self.metrics.internal_error("alert_delivery");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::alerts::notification::Event;

    fn n(key: &str, fingerprint: &str) -> Notification {
        Notification {
            key: key.into(),
            fingerprint: fingerprint.into(),
            event: Event::Firing,
            labels: Default::default(),
            previous_labels: None,
            annotations: Default::default(),
            starts_ms: 0,
            ends_ms: None,
            generator_url: String::new(),
            created_ms: 0,
            group_key: String::new(),
            lang: Default::default(),
        }
    }

    fn sent(next: Next) -> Option<String> {
        match next {
            Next::Send(n) => Some(n.key),
            Next::Wait(_) => None,
        }
    }

    #[test]
    fn a_notification_backing_off_holds_back_only_its_own_alert() {
        let now = Instant::now();
        let q = [n("a-firing", "a"), n("a-resolved", "a"), n("b-firing", "b")];
        let mut retry = HashMap::new();
        assert_eq!(
            sent(pick(q.iter(), &retry, now)).as_deref(),
            Some("a-firing")
        );
        let later = Retry {
            attempts: 1,
            at: now + Duration::from_secs(30),
        };
        retry.insert("a-firing".to_string(), later);
        assert_eq!(
            sent(pick(q.iter(), &retry, now)).as_deref(),
            Some("b-firing"),
            "b goes on; a's resolution waits behind a's firing"
        );
        retry.insert("b-firing".to_string(), later);
        match pick(q.iter(), &retry, now) {
            Next::Wait(at) => assert!(at <= now + TICK, "wakes within a tick for the gauges"),
            Next::Send(n) => panic!("nothing is due, yet {} was picked", n.key),
        }
        let due = now + Duration::from_secs(31);
        assert_eq!(
            sent(pick(q.iter(), &retry, due)).as_deref(),
            Some("a-firing")
        );
    }
}
