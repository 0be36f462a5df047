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
