//! Inside payprobe: capacities, pacing and what outputs show (re-exported by `limits`).

use std::time::Duration;

/// First wait before a supervised background task (listener, alert engine, a sink) is
/// restarted: short, since most ends are one bad input, yet not a hot loop.
pub const SUPERVISE_FIRST_BACKOFF: Duration = Duration::from_millis(100);

/// The longest wait between restarts of a task that keeps failing: the backoff doubles up
/// to here, so a persistent bug costs a log line every 10 s, not a spinning core.
pub const SUPERVISE_MAX_BACKOFF: Duration = Duration::from_secs(10);

/// A handshake peer's first bytes kept, to name what answered instead of TLS: an HTTP status
/// line or an SSH banner fits; more would say nothing more.
pub const SNIFF_KEEP_BYTES: usize = 48;

/// How long one name server gets before the next is asked. The probe deadline still bounds
/// the whole lookup.
pub const DNS_PER_SERVER_TIMEOUT: Duration = Duration::from_secs(2);

/// Bytes kept before they are handed to the sink: large enough that gzip sees whole runs
/// of similar lines, small enough that a scrape never holds the whole text.
pub const METRICS_CHUNK_BYTES: usize = 64 * 1024;

/// `/metrics` bodies sent decompressed at once (scrapers without gzip): each gunzips the
/// whole exposition on a runtime worker at its reader's pace, so at most one runs, as at most
/// one render does, and the probes keep the other core.
pub const METRICS_PLAIN_STREAMS: usize = 1;

/// How long a scrape without gzip waits for the one decompressed stream before it is told
/// to come back (or to ask with gzip, as Prometheus does).
pub const METRICS_PLAIN_WAIT: Duration = Duration::from_secs(10);

/// Rounds kept per target by default: a minute of the demo, 15 minutes at 15 s intervals.
pub const HISTORY_ROUNDS: usize = 60;

/// Targets listed in the status page's uptime table: beyond a few hundred rows the page
/// stops being read; the API has every target.
pub const PAGE_UPTIME_TARGETS: usize = 200;

/// Plans up to this size show every target's details on the first page.
pub const PAGE_ALL_DETAILS: usize = 200;

/// Failing targets listed when a large plan shows no provider.
pub const PAGE_FAILING_LISTED: usize = 100;

/// Open incidents drawn on the status page; the rest are counted and the API lists them all
/// (a vantage point outage at 10,000 targets must not make a 10,000-row page).
pub const PAGE_OPEN_INCIDENTS: usize = 50;

/// Recently resolved incidents on the status page: enough to see what just happened.
pub const PAGE_RESOLVED_INCIDENTS: usize = 6;

/// Incidents listed with one target in `/api/v1/targets/{name}`; the incidents list has
/// the rest.
pub const API_TARGET_INCIDENTS: usize = 20;

/// Items on a list page when the request names no `limit`.
pub const LIST_DEFAULT_LIMIT: usize = 100;

/// The largest `limit` a list request may name: a page is built on the blocking pool, and
/// 500 items keep one answer under a few hundred KB.
pub const LIST_MAX_LIMIT: usize = 500;

/// `/probe`: time left for the reply itself once the probe's own deadline has passed.
pub const PROBE_ENDPOINT_MARGIN: Duration = Duration::from_millis(500);

/// Closed incidents kept (in memory, on disk and in the API).
pub const INCIDENTS_RECENT_CLOSED: usize = 200;

/// Changes kept per incident: a flapping cause must not grow one without bound.
pub const INCIDENT_MAX_CHANGES: usize = 50;

/// A record larger than this is garbage, not data (a notification or an incident event is
/// a few KiB): a corrupt length must not make a reader allocate gigabytes.
pub const DURABLE_MAX_RECORD: usize = 1 << 20;

/// How far ahead upcoming windows are listed: a weekly window always has one within it.
pub const MAINTENANCE_HORIZON_MS: i64 = 8 * 86_400_000;

/// Endpoints named in a group alert; the rest are counted. A vantage point's outage at
/// 10,000 targets must page with a readable message, not a 200 KB list (the API has them).
pub const ALERT_NAMED_ENDPOINTS: usize = 20;

/// How much of an answer is kept: enough for any robot's `{"errcode":...,"errmsg":...}`.
pub const SINK_MAX_ANSWER_BYTES: usize = 16 * 1024;

/// An outbox is compacted once it holds this many records beyond the pending ones: a
/// rewrite per delivery would cost more than the dead records do.
pub const OUTBOX_COMPACT_AFTER: usize = 256;

/// First retry of a notification a sink did not take: soon enough for a blip to cost
/// seconds, not minutes.
pub const DELIVERY_BACKOFF_FIRST: Duration = Duration::from_secs(1);

/// The longest wait between retries to a sink that is down: it doubles up to 5 min, so a
/// sink that comes back gets its backlog within minutes without being hammered meanwhile.
pub const DELIVERY_BACKOFF_MAX: Duration = Duration::from_secs(300);

/// Rejected notifications listed by the API (the newest).
pub const DELIVERY_REJECTED_KEPT: usize = 100;

/// The longest a delivery task sleeps: its gauges (`payprobe_outbox_oldest_seconds`) stay
/// fresh while it backs off.
pub const DELIVERY_TICK: Duration = Duration::from_secs(1);

/// How often removed targets' incidents are checked for the end of their grace period and
/// the summed log lines flushed: a second is finer than anyone reads either.
pub const INCIDENT_SWEEP_EVERY: Duration = Duration::from_secs(1);

/// The listener's pause after a failed `accept` (EMFILE and friends): long enough not to
/// spin on a full descriptor table, short enough that a freed descriptor is used soon.
pub const ACCEPT_ERROR_BACKOFF: Duration = Duration::from_millis(100);

/// How long in-flight work gets at exit: probes are dropped, not awaited, so SIGTERM stops
/// the daemon promptly (systemd's and Kubernetes' grace periods are far longer).
pub const SHUTDOWN_GRACE: Duration = Duration::from_millis(300);

// ----- Moved here from the modules that use them (issue 21: every bound in one place) -----

/// RFC 8305 section 5's recommended "Connection Attempt Delay": when a target's name has
/// several addresses, a new connection attempt starts this long after the last one while
/// the earlier ones go on, so a black-holed address costs 250 ms, not the whole deadline.
pub const CONNECT_ATTEMPT_DELAY: Duration = Duration::from_millis(250);

/// The raw ICMP receiver's pause after a failed receive: a socket that keeps failing must
/// not spin the runtime, and 10 ms is far below a ping's own timeout, so a passing error
/// loses no reply that was still due.
pub const ICMP_RECEIVE_ERROR_BACKOFF: Duration = Duration::from_millis(10);

/// Rounds whose pass/fail is kept for flapping detection (`classify/window.rs`, as bits of
/// a `u16`, so at most 16): ten rounds are 2.5 minutes at the usual 15 s interval, long
/// enough to see a pattern, short enough that a target which settled stops flapping soon.
pub const FLAP_WINDOW: u32 = 10;

/// Pass/fail changes within [`FLAP_WINDOW`] rounds that make a target "flapping": four
/// changes in ten rounds is two outages that each healed, more than chance on a healthy
/// gateway, and fewer would call a single blip followed by recovery a flap.
pub const FLAP_CHANGES: u32 = 4;

/// Hourly availability buckets kept per target: the `1d` window is the current hour and
/// the 23 before it, so 24 (each bucket is 16 bytes, 880 bytes a target with the days).
pub const ROLLUP_HOURS: usize = 24;

/// Daily availability buckets kept per target: the `30d` window and the status page's
/// 30-day strip read the current UTC day and the 29 before it; the ring holds one day more
/// as a margin, so no window ever reads the slot that a new day is about to reuse.
pub const ROLLUP_DAYS: usize = 31;

/// The alert engine wakes every quarter of `group_wait`, but at least this often apart: a
/// tiny `group_wait` must not become a busy loop over every open incident.
pub const ALERT_ENGINE_TICK_MIN: Duration = Duration::from_millis(100);

/// ... and at most this long apart: a long `group_wait` must not delay a page (or a
/// resolution) by more than a second past its due time.
pub const ALERT_ENGINE_TICK_MAX: Duration = Duration::from_secs(1);

/// `group_wait` when `[alerts]` sets none and the plan has no target to take the fastest
/// interval from: the default target `interval` (15 s), so an empty plan behaves like a
/// plan of targets left at their defaults.
pub const ALERT_GROUP_WAIT_FALLBACK: Duration = Duration::from_secs(15);

/// The least time ahead a firing alert's Alertmanager `endsAt` is set (otherwise four
/// `resend_interval`s, as Prometheus does): with a short `resend_interval` a restart of
/// payprobe or a slow Alertmanager would otherwise let a real alert lapse (resolve itself)
/// before the next send; 5 minutes is Alertmanager's own default `resolve_timeout`.
pub const ALERTMANAGER_ENDS_AT_MIN: Duration = Duration::from_secs(300);

/// Characters of a sink's answer quoted in a delivery error (logs, `payprobe alerts test`):
/// a robot's `{"errcode":...,"errmsg":...}` fits, and a sink answering with a whole HTML page
/// cannot flood the log.
pub const SINK_ANSWER_EXCERPT_CHARS: usize = 200;

/// A `[[notifications]]` channel's round `timeout`: its round reads what the callback
/// handler already reported (memory, no network), so a second is ample and keeps the
/// channel's round far inside its interval ([`crate::limits::NOTIFICATION_ROUND_INTERVAL`]).
pub const NOTIFICATION_ROUND_TIMEOUT: Duration = Duration::from_secs(1);

/// Characters of a proxy's answer line to CONNECT quoted in the evidence: a status line fits;
/// a hostile proxy's endless line does not reach the reason.
pub const PROXY_ANSWER_SHOWN_CHARS: usize = 120;

/// Bytes of a handshake peer's first bytes shown in hex when they are not text: enough to
/// recognise a protocol's magic, no more ([`SNIFF_KEEP_BYTES`] are kept).
pub const SNIFF_HEX_BYTES: usize = 8;

/// Bytes of a non-JSON body a profile looks at to name what it is (HTML page, XML, text):
/// the doctype, `<html>` and usually the `<title>` are in the first kilobyte.
pub const BODY_SNIFF_BYTES: usize = 1024;

/// Characters of an HTML page's `<title>` quoted in a reason ("an HTML page titled ..."):
/// a login or error page's title fits; a page cannot write a paragraph into an alert.
pub const BODY_TITLE_CHARS: usize = 80;

/// Keys of an unexpected JSON object named in a reason ("a JSON object with keys [...]"):
/// enough to recognise the shape, short enough for a label and an alert.
pub const JSON_KEYS_SHOWN: usize = 5;

/// The status page's `refresh`: the shortest target interval, in seconds, within this
/// range, so the page is as fresh as the data without reloading faster than every 2 s (a
/// tab left open) or slower than every 30 s.
pub const PAGE_REFRESH_SECS: std::ops::RangeInclusive<u64> = 2..=30;

/// The page's refresh, in seconds, when the plan has no target to take an interval from.
pub const PAGE_REFRESH_DEFAULT_SECS: u64 = 10;

/// The least connections the listener keeps when a quarter of a low open-file limit is
/// fewer: a scraper, a dashboard and an operator's `curl` must still get in.
pub const MIN_LISTENER_CONNECTIONS: usize = 16;

/// Bytes of an incident's reason (and of each change's) and of the evidence line its
/// notifications carry, cut at a character boundary with "…": a reason is one sentence of
/// one to two hundred bytes; the cut keeps a long failure detail or body excerpt from being
/// written into every record of a mass outage's journal and every alert.
pub const INCIDENT_TEXT_BYTES: usize = 400;

/// A failure that repeats in a loop (the listener's connection budget full, a raw ICMP socket
/// that cannot receive) is logged the first time and then once every this many times: said,
/// counted, and never a flood.
pub const REPEATED_ERROR_LOG_EVERY: u64 = 1000;
