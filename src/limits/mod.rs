//! Every bound payprobe puts on what others send it or on what a config may ask for, in one
//! place, each with the reason for its value.
//!
//! A monitor must keep working exactly when the things it watches misbehave (issue 15): a
//! gateway's answer is data that may be endless, enormous or malformed, and whoever can reach
//! the listener may try to exhaust it. Nothing here is configurable on purpose: these are the
//! safety rails under the config, and the config's own values are bounded by the `MAX_*`
//! constants below so arithmetic on them (deadlines, bursts) cannot overflow.

use std::ops::RangeInclusive;
use std::time::Duration;

// ----- What a gateway may send to a probe -----

/// Response header lines read per response. Real gateways send 10 to 40; 100 is what nginx
/// and hyper accept by default. A gateway sending more is recorded as an HTTP protocol error
/// instead of making the probe keep parsing.
pub const MAX_RESPONSE_HEADERS: usize = 100;

/// Bytes of one response head (status line and headers). 64 KiB is 8 times what most servers
/// accept for a request head; a 1 MiB head is refused here, before it is buffered whole.
pub const MAX_RESPONSE_HEAD_BYTES: usize = 64 * 1024;

/// hyper's read buffer for a probe connection: the head must fit, with room for a first read
/// of body. hyper refuses values below 8 KiB.
pub const PROBE_READ_BUFFER_BYTES: usize = MAX_RESPONSE_HEAD_BYTES + 16 * 1024;

/// HTTP/2 header list (decoded size) a gateway may send, the same bound as HTTP/1.
pub const MAX_H2_HEADER_LIST_BYTES: u32 = MAX_RESPONSE_HEAD_BYTES as u32;

/// HTTP/2 streams a peer may reset before the connection is closed (CVE-2023-44487 style
/// floods); a probe opens one stream, so a handful is generous.
pub const MAX_H2_RESET_STREAMS: usize = 8;

/// The largest `max_body_bytes` a target may ask for: a probe keeps at most this much of a
/// body in memory (the rest is counted and discarded).
pub const MAX_BODY_BYTES: i64 = 16 * 1024 * 1024;

/// Body bytes shown to humans in the evidence; the whole (capped) body is kept for parsers.
pub const BODY_EXCERPT_BYTES: usize = 512;

/// Nesting depth of a JSON body. serde_json refuses more than 128 levels itself (its
/// recursion limit), so a deep body is "not JSON" rather than a stack overflow; this constant
/// documents that bound for the tests that rely on it.
pub const MAX_JSON_DEPTH: usize = 128;

/// Slack past a probe's deadline that the hostile-gateway tests (`tests/it/hostile.rs`)
/// allow: the time from the deadline firing to the evidence being returned (dropping
/// sockets, a busy runtime on a loaded machine). It stays below the scheduler's own guard
/// ([`ROUND_OVERRUN_GRACE`], 500 ms), so a probe within the slack is never
/// cut off as a payprobe bug.
pub const DEADLINE_SLACK: Duration = Duration::from_millis(400);

// ----- What a config may ask for -----

/// The longest duration any config key accepts (`interval`, `spacing`,
/// `cert_expiry_warning`, ...): 400 days covers a certificate's whole lifetime (the longest
/// sensible expiry warning) and keeps `now + duration` and `count x spacing` far from
/// overflowing an `Instant`.
pub const MAX_CONFIG_DURATION: Duration = Duration::from_secs(400 * 86_400);

/// The longest `timeout` of one probe round: a probe that needs more than ten minutes is not
/// a probe, and a long timeout holds a concurrency slot and its sockets that long.
pub const MAX_PROBE_TIMEOUT: Duration = Duration::from_secs(600);

/// Echo requests in one ping burst (`count`): at least one, or there is nothing to measure;
/// at most 100, twenty seconds at the default 200 ms spacing (and a burst must also end
/// within the target's `timeout`).
pub const PING_COUNT: RangeInclusive<i64> = 1..=100;

/// `max_concurrency`: probes in flight at once. At least one, or nothing would ever be
/// probed. Each holds a socket or two; 100,000 stays below the file limits this daemon asks
/// for (see [`DESIRED_NOFILE`]).
pub const CONCURRENCY: RangeInclusive<i64> = 1..=100_000;

/// Consecutive rounds in `failure_threshold` / `success_threshold`: at least one (the round
/// itself); at most 1,000, which at a 15 s interval is already four hours of hysteresis.
pub const THRESHOLD_ROUNDS: RangeInclusive<i64> = 1..=1_000;

/// Redirects a target may allow (`max_redirects`): zero follows none; a loop ends at 20
/// hops.
pub const REDIRECTS: RangeInclusive<i64> = 0..=20;

/// `max_body_bytes`: at least one byte, or no answer could be read; at most
/// [`MAX_BODY_BYTES`], what a probe may keep in memory.
pub const BODY_BYTES: RangeInclusive<i64> = 1..=MAX_BODY_BYTES;

/// Codes `expect_status` may list: the five classes RFC 9110 (section 15) defines, 1xx to
/// 5xx. Anything else can never be answered, so listing it is a typo.
pub const HTTP_STATUS: RangeInclusive<u16> = 100..=599;

/// A TCP port (`[targets.ping] port`): port 0 cannot be connected to.
pub const PORT: RangeInclusive<i64> = 1..=65_535;

/// `loss_threshold`: a fraction of the echo requests sent, so from none to all of them.
pub const LOSS_FRACTION: RangeInclusive<f64> = 0.0..=1.0;

/// `max_block_lag`, in blocks (EVM) or slots (Solana) behind the best peer: zero demands
/// the tip itself. A million is about four months of 12 s Ethereum blocks or four and a
/// half days of 400 ms Solana slots; a node further behind is not lagging but stopped, and a
/// larger allowance would only hide that.
pub const BLOCK_LAG: RangeInclusive<i64> = 0..=1_000_000;

/// Notifications each sink keeps in memory while `state_dir` cannot be written
/// (`queue_limit`): at least one, or a disk failure would drop every alert; at most a
/// million, so a long disk outage cannot grow the daemon's memory without bound.
pub const ALERT_QUEUE: RangeInclusive<i64> = 1..=1_000_000;

/// Characters in a target or sink `name`. Names become label values and sink outbox file
/// names: 128 keeps series short to read and stays far below a file name's 255 bytes.
pub const MAX_NAME_CHARS: usize = 128;

/// An availability objective (`slo`): below 0.5 the "error budget" is half of all rounds and
/// burn-rate alerts stop meaning anything; above 0.99999 the budget (26 s a month) is less
/// than one round at the usual intervals, so every failed round would exhaust it.
pub const SLO_OBJECTIVE: RangeInclusive<f64> = 0.5..=0.99999;

/// `[[maintenance]]` windows per config: each round asks every window whether it covers the
/// target, so the list must stay short; providers announce a few windows, not hundreds.
pub const MAX_MAINTENANCE_WINDOWS: usize = 256;

/// Local days a weekly window's occurrences are searched over in one call. Callers ask for
/// a day or a week (the API's horizon is 8 days); the bound keeps an absurd range from
/// walking centuries.
pub const MAINTENANCE_SCAN_DAYS: usize = 400;

/// Availability rounds queued for the rollup writer (`src/availability/`). A probing task
/// never waits for it: past this the round is dropped from availability and counted
/// (`payprobe_availability_dropped_total`). 64 Ki rounds are minutes of 10,000 targets.
pub const AVAILABILITY_QUEUE: usize = 65_536;

/// How often the rollup writer appends the buckets that changed: what a kill -9 may lose.
/// Each flush writes one record per bucket touched since the last one, so at 10,000 targets
/// a shorter period costs writes, not correctness.
pub const AVAILABILITY_FLUSH: Duration = Duration::from_secs(2);

/// The rollup file is compacted (rewritten with one record per live bucket) once it holds
/// this many times the live records, plus `AVAILABILITY_COMPACT_SLACK` records.
pub const AVAILABILITY_COMPACT_RATIO: usize = 4;
pub const AVAILABILITY_COMPACT_SLACK: usize = 4_096;

// ----- What a client of the listener may send -----

/// Connections the listener keeps at once. Past it the oldest connection that is still
/// waiting for a request head is closed to make room (a slowloris flood cannot lock out a
/// scraper), and when every connection is busy the new one is closed at once. The value
/// leaves most of the file budget to probes: a flood on the listener must never make a
/// healthy target fail for want of a socket.
pub const MAX_LISTENER_CONNECTIONS: usize = 512;

/// Connections the kernel queues for `accept` (capped by `net.core.somaxconn`). Deeper than
/// tokio's 1,024 so a flood of connects does not drop a scraper's SYN while the budget above
/// evicts idle connections.
pub const LISTEN_BACKLOG: u32 = 4096;

/// Time a client gets to send a complete request head, and also how long an idle keep-alive
/// connection may wait for its next request. Prometheus sends its whole request at once.
pub const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(5);

/// Request header lines the listener accepts; a scrape sends about 6.
pub const MAX_REQUEST_HEADERS: usize = 32;

/// Bytes of a request head the listener buffers (hyper's minimum buffer is 8 KiB).
pub const MAX_REQUEST_HEAD_BYTES: usize = 8 * 1024;

/// Only GET and HEAD are served: a request announcing a body is refused (413) and the
/// connection closed, so nobody can stream data into the daemon.
pub const MAX_REQUEST_BODY_BYTES: u64 = 0;

/// `/probe` requests started per second (`[server] probe_rate`, a token bucket with
/// `probe_burst`): the endpoint makes this host connect to a gateway, so it must not become a
/// way to hammer one. The default fits blackbox_exporter's multi-target pattern at its
/// common size: Prometheus probing 300 targets through `/probe` every 15 s is 20 a second on
/// average, with scrapes bunched at the start of an interval (the old fixed 10/s, burst 20,
/// answered those with 429s). The bounds keep a typo from removing the limit.
pub const DEFAULT_PROBE_RATE: i64 = 50;
pub const DEFAULT_PROBE_BURST: i64 = 300;
pub const PROBE_RATE: RangeInclusive<i64> = 1..=10_000;

/// `/probe` requests in flight at once are at most `max_concurrency / 4` (at least one):
/// at the default rate a slow target could otherwise have `/probe` hold every probe slot and
/// delay the scheduled rounds (a request past the share is told 429).
pub const PROBE_ENDPOINT_SHARE: usize = 4;
pub const PROBE_BURST: RangeInclusive<i64> = 1..=100_000;

/// List requests (`/api/v1/targets`, `/api/v1/incidents`: a page of up to 500 items, built
/// on the blocking pool) per second, and their burst. Beyond it a request gets 429 with
/// `Retry-After`: a dashboard or a script polls a few times a second at most, and 200 a
/// second of full lists delayed rounds at 2,000 targets (issue 20).
pub const API_LISTS_PER_SECOND: u32 = 20;
pub const API_LISTS_BURST: u32 = 40;

/// Credential checks that miss the cache below (a bcrypt each, tens of milliseconds of CPU
/// at cost 10) per second, and their burst. Beyond it a request gets 429: wrong passwords
/// sent as fast as a client can cannot take the probes' CPU, while a scraper with the right
/// ones is checked once a minute and then served from the cache.
pub const AUTH_CHECKS_PER_SECOND: u32 = 5;
pub const AUTH_CHECKS_BURST: u32 = 10;

/// How long a verified basic-auth (user, password) pair is remembered: bcrypt costs tens of
/// milliseconds on purpose, a scrape every 15 s should not pay it every time, and a changed
/// password must stop working soon.
pub const AUTH_CACHE_TTL: Duration = Duration::from_secs(60);

/// Entries in that cache, so random passwords cannot grow it.
pub const AUTH_CACHE_ENTRIES: usize = 64;

/// The open-file limit the daemon raises its soft limit towards at start (never above the
/// hard limit): 1,024 is the common default and too few for thousands of targets plus a
/// listener.
pub const DESIRED_NOFILE: u64 = 65_536;

/// How long the open incident of a target that left the config is kept before it closes as
/// removed: long enough for the next reload to bring back a target that a half-written
/// config lost (it then continues its incident and pages nothing), short enough that a
/// target really removed resolves its alert within a minute.
pub const REMOVED_TARGET_GRACE: Duration = Duration::from_secs(30);

/// A config file must stay unchanged this long before SIGHUP applies it (checked again at
/// this pace, up to [`RELOAD_SETTLE_MAX`]): an editor or a deploy tool still writing it
/// must not have its half-written file applied.
pub const RELOAD_SETTLE: Duration = Duration::from_millis(300);
pub const RELOAD_SETTLE_MAX: Duration = Duration::from_secs(10);

// ----- Queues between the stages -----

/// Incident events waiting for one reader (the journal writer, the alert engine). A mass
/// outage of 10,000 targets makes about 20,000 events (an opening and a change of scope
/// each) within a round; a reader that falls further behind loses nothing (it is marked
/// behind and rebuilds from a snapshot, counted in `payprobe_queue_overflow_total`), and a
/// bound keeps a stalled reader from growing the daemon's memory without limit.
pub const INCIDENT_EVENT_QUEUE: usize = 65_536;

/// Judged rounds waiting for one output's task (metrics, incidents, history, availability:
/// `src/pipeline.rs`). A probing task never waits for an output: past this a round skips
/// that output and is counted (`payprobe_queue_overflow_total{queue="<output>"}`). 64 Ki
/// rounds are several rounds of 10,000 targets, and each entry is one `Arc` of a round
/// shared by every queue.
pub const OUTPUT_QUEUE: usize = 65_536;

/// How long a stopping daemon waits for the outputs to take the rounds already judged (a
/// full queue of 64 Ki rounds takes well under a second); a stop is never held longer.
pub const OUTPUT_FLUSH_AT_STOP: Duration = Duration::from_secs(2);

/// How long the alert engine lets incident events gather before it judges them: a mass
/// change of 10,000 targets is then a few evaluations, not 10,000 (each is O(open
/// incidents)), and a page is late by no more than this.
pub const ALERT_ENGINE_COALESCE: Duration = Duration::from_millis(250);

/// Dead records (events of closed or changed incidents) the incident journal may hold before
/// it is rewritten from its ledger (and at least as many as there are live incidents). A
/// floor keeps a recovery, whose closes shrink what is live, from rewriting the whole book
/// again and again (measured: 40 MB of rewrites in a 10,000-target recovery); 16,384 records
/// are about 20 MB to replay at start.
pub const JOURNAL_DEAD_RECORDS: usize = 16_384;

/// The incident journal is rewritten once its dead records exceed this many times the live
/// ones (or [`JOURNAL_DEAD_RECORDS`]). A rewrite costs the whole live ledger, so the ratio
/// sets its share per change: at one, a 100,000-target outage wrote 2.2 KB per change, most
/// of it rewrites; at two, half of that share, for a file at most three times the live
/// ledger to replay at start.
pub const JOURNAL_DEAD_RATIO: usize = 2;

/// How often a journal that could not be written is tried again when nothing newer comes:
/// a full disk freed by an operator is noticed within seconds, without a busy loop.
pub const JOURNAL_RETRY: Duration = Duration::from_secs(5);

/// Events written in one batch at most (one write, one fsync): a mass outage's burst in a
/// few writes, each at most a few MB.
pub const JOURNAL_BATCH: usize = 4096;

/// Slack given to a round past its deadline before the scheduler gives up on it. Probers
/// honour the deadline themselves; this only guards against a bug hanging a target forever.
pub const ROUND_OVERRUN_GRACE: Duration = Duration::from_millis(500);

/// How long the incident writer lets events gather before one write and one `fdatasync`.
/// Each sync rewrites the file's last, partly filled page: one per event cost about 1.5 KB
/// of disk writes per change in a 10,000-target outage (docs/benchmarks.md). The alert engine
/// waits for the journal (see [`JOURNAL_WAIT`]) and gathers for longer anyway.
pub const JOURNAL_COALESCE: Duration = Duration::from_millis(50);

/// How long the alert engine waits for the journal to have written the events it is about
/// to page on. A page queued before its incident is on disk is sent again after a crash
/// (the restarted engine finds no incident behind it and resolves it); a disk that hangs
/// must not stop paging either, so the wait is bounded and its end logged.
pub const JOURNAL_WAIT: Duration = Duration::from_secs(10);

/// Lines of one kind of per-target warning ("incident opened", "diagnosis changed") per
/// [`PER_TARGET_LOG_WINDOW_SECS`] before the rest of that window is summed into one line: one
/// event that moves 10,000 targets must read as one event, not 10,000 lines (issue 20). A
/// budget per second still let about 1,400 lines through a 10,000-target flip.
pub const PER_TARGET_LOG_LINES: u32 = 20;

/// The window of [`PER_TARGET_LOG_LINES`], in seconds.
pub const PER_TARGET_LOG_WINDOW_SECS: u64 = 10;

/// Longest `proxy_auth_file`/`proxy_auth_env` value (`user:password`): far above any real
/// credential, small enough that a wrong file (a key, a log) is refused rather than sent.
pub const MAX_PROXY_CREDENTIAL_BYTES: usize = 1024;
/// Largest answer head a proxy may send to CONNECT: its status line and headers are all a
/// tunnel needs, and a proxy that sends more is not one (8 KiB, as nginx's default).
pub const MAX_PROXY_RESPONSE_BYTES: usize = 8 * 1024;

/// Notification ids each `[[notifications]]` channel remembers to answer a repeated report
/// as a duplicate: a callback handler retries within minutes, and 10,000 ids is hours of a
/// busy merchant's payments in under a megabyte.
pub const NOTIFICATION_IDS_REMEMBERED: usize = 10_000;
/// Largest notification report body: `{"id","paid_at","received_at"}` is ~150 bytes; 4 KiB
/// leaves room for long ids and nothing else.
pub const MAX_NOTIFICATION_BODY_BYTES: usize = 4 * 1024;
/// Longest notification `id` kept (an Alipay `trade_no` is 28-64 characters).
pub const MAX_NOTIFICATION_ID_CHARS: usize = 128;
/// Time to send a notification report's body once its head arrived.
pub const NOTIFICATION_BODY_TIMEOUT: Duration = Duration::from_secs(5);
/// Reports accepted per second over all channels, and the burst: a busy merchant's
/// callbacks, far below what would let a client with a token fill the log or the CPU.
pub const NOTIFICATIONS_PER_SECOND: u32 = 200;
pub const NOTIFICATIONS_BURST: u32 = 1_000;
/// How often each channel is judged: a late or missing notification pages within this.
pub const NOTIFICATION_ROUND_INTERVAL: Duration = Duration::from_secs(5);
/// Shortest accepted channel `token_file` content: a guessable token would let anyone
/// silence the alarm with made-up on-time reports.
pub const MIN_NOTIFICATION_TOKEN_BYTES: usize = 16;

// ----- Signed probes (issue 19) -----

/// How long WeChat Pay platform certificates fetched from `/v3/certificates` are used before
/// they are fetched again: twice a day is cheap (one signed GET) and well inside the overlap
/// a rotation leaves; an answer naming a serial not held triggers a fetch at once (bounded by
/// [`PLATFORM_CERT_RETRY`]).
pub const PLATFORM_CERT_REFRESH: Duration = Duration::from_secs(12 * 3600);

/// The least time between two `/v3/certificates` fetches of one target, so answers naming a
/// serial nobody has (a hostile or broken path) cannot make every probe fetch twice.
pub const PLATFORM_CERT_RETRY: Duration = Duration::from_secs(60);

/// Platform certificates a `/v3/certificates` answer may list (and serials remembered). WeChat
/// Pay lists one or two (two during a rotation); a longer list is refused rather than kept,
/// so a hostile answer cannot grow memory or the `serial` label's values.
pub const MAX_PLATFORM_CERTS: usize = 8;

/// A clock off by more than this from the provider's is a warning: WeChat Pay refuses a
/// request whose timestamp is more than 5 minutes off, so a minute leaves time to fix it.
pub const CLOCK_SKEW_WARNING_SECS: i64 = 60;

/// glibc malloc arenas (`M_ARENA_MAX`): one per core of the machine this was sized on. More
/// arenas only help when many threads allocate at once; payprobe's hot allocations are on
/// the runtime's workers, and each extra arena keeps freed memory of its own.
pub const MALLOC_ARENAS: i32 = 2;

/// How long a failed request waits for its connection task to say why the connection ended
/// (a TLS 1.3 server's alert refusing the client's certificate arrives there): the task has
/// ended or is ending by then, so this only bounds a wait that is normally immediate.
pub const CONN_FAILURE_GRACE: Duration = Duration::from_millis(200);

/// How deep an error's `source` chain is searched for the TLS alert behind it (hyper wraps an
/// io::Error wrapping rustls's error: three levels; the bound only stops a cyclic chain).
pub const MAX_ERROR_CHAIN_DEPTH: usize = 16;

// ----- The demo -----

/// The most the demo's own alert receiver reads of one notification: a webhook notification
/// is a few KiB; the receiver is on loopback, but it is still a server and bounds what it reads.
pub const DEMO_RECEIVER_BODY_BYTES: usize = 256 * 1024;

// ----- Inside payprobe: capacities, pacing and what outputs show (`limits/inside.rs`) -----

mod inside;
pub use inside::*;
