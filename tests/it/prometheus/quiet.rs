//! The alert rules that may be quiet on the demo (tests/it/prometheus.rs).

/// Alert rules that are legitimately empty against the demo, by a text they contain, with
/// the reason. An entry that matches no expression is stale and fails the test. Dashboard
/// queries have no such excuse: every panel must show data on the demo.
pub const MAY_BE_EMPTY: &[(&str, &str)] = &[
    (
        "avg_over_time(payprobe_ping_loss_ratio[10m]) > 0.1",
        "the demo's pings are all answered",
    ),
    (
        "payprobe_api_sunset_timestamp_seconds - time() < 30 * 86400",
        "the demo acquirer's Sunset is a year away",
    ),
    (
        "payprobe:target_global_outage == 1",
        "one demo process is one vantage point",
    ),
    (
        "payprobe_scope{scope=\"local\"}) == 1",
        "the demo's control answers: no local outage",
    ),
    (
        "payprobe_tls_cert_not_after_timestamp_seconds - time() <",
        "the demo's certificates are valid for years",
    ),
    (
        "payprobe_config_last_reload_successful == 0",
        "the demo's config loaded",
    ),
    ("up{job=\"payprobe\"} == 0", "the demo is up"),
    (
        "payprobe_error_budget_remaining_ratio{target!=\"\"} <= 0",
        "a minute of the demo's failures is a sliver of a 30-day budget (it read as a spent month while the budget divided by the history seen)",
    ),
    (
        "payprobe_sign_credential_expiry_days <",
        "the demo's platform certificates are valid for five years",
    ),
    (
        "abs(payprobe_sign_clock_skew_seconds) > 60",
        "the showcase keeps every demo clock right (the clock-skew act is in the story)",
    ),
    (
        "payprobe_target_last_round_timestamp_seconds > 600",
        "every demo target finishes rounds",
    ),
    (
        "increase(payprobe_internal_errors_total[15m]) > 0",
        "payprobe has no bug the demo triggers",
    ),
    (
        "rate(payprobe_scheduler_lag_seconds_bucket[5m])) > 1",
        "a dozen targets never make the scheduler late",
    ),
    (
        "process_open_fds{job=\"payprobe\"} / process_max_fds{job=\"payprobe\"} > 0.8",
        "the demo uses a few descriptors",
    ),
    (
        "payprobe_probe_duration_seconds{check=\"http\"}[10m]) > 2",
        "no demo gateway that answers takes 2 s",
    ),
    (
        "payprobe_alert_notifications_total{outcome=\"dropped\"}",
        "the demo's own receiver takes every notification",
    ),
    (
        "payprobe_outbox_oldest_seconds > 600",
        "the demo's own receiver takes every notification at once",
    ),
    (
        "payprobe_state_dir_errors_total",
        "the demo's state directory is writable",
    ),
];
