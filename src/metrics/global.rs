//! The process-wide series, kept in the `prometheus` crate's registry: few, label values
//! from closed sets, so its `gather()` copy stays small whatever the number of targets.

use prometheus::{Gauge, GaugeVec, Histogram, HistogramOpts, IntCounterVec, Opts, Registry};

use super::MetricsError;

const LAG_BUCKETS: &[f64] = &[0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1.0, 5.0, 15.0];

/// Where an internal error can happen, declared at zero so a rate over them works at once.
const PLACES: [&str; 4] = ["round", "deadline", "judge", "task"];

pub(super) fn gauge(
    r: &Registry,
    name: &str,
    help: &str,
    labels: &[&str],
) -> Result<GaugeVec, MetricsError> {
    let g = GaugeVec::new(Opts::new(name, help), labels)?;
    r.register(Box::new(g.clone()))?;
    Ok(g)
}

pub(super) struct Global {
    pub internal_errors: IntCounterVec,
    pub scheduler_lag: Histogram,
    pub config_reload_ok: Gauge,
}

impl Global {
    pub fn register(r: &Registry) -> Result<Global, MetricsError> {
        let internal_errors = IntCounterVec::new(
            Opts::new(
                "payprobe_internal_errors_total",
                "Failures of payprobe itself (a caught panic, an overrun, a failed output), by where they happened. Never the gateway's fault.",
            ),
            &["where"],
        )?;
        r.register(Box::new(internal_errors.clone()))?;
        for place in PLACES {
            internal_errors.with_label_values(&[place]);
        }
        let scheduler_lag = Histogram::with_opts(
            HistogramOpts::new(
                "payprobe_scheduler_lag_seconds",
                "How late probes started compared to their schedule.",
            )
            .buckets(LAG_BUCKETS.to_vec()),
        )?;
        r.register(Box::new(scheduler_lag.clone()))?;
        let config_reload_ok = Gauge::new(
            "payprobe_config_last_reload_successful",
            "1 if the last configuration (re)load succeeded, 0 if it failed and the previous one is still running.",
        )?;
        config_reload_ok.set(1.0);
        r.register(Box::new(config_reload_ok.clone()))?;
        let build = gauge(
            r,
            "payprobe_build_info",
            "Always 1; the version label says which payprobe runs.",
            &["version"],
        )?;
        build.with_label_values(&[crate::VERSION]).set(1.0);
        r.register(Box::new(
            prometheus::process_collector::ProcessCollector::for_self(),
        ))?;
        Ok(Global {
            internal_errors,
            scheduler_lag,
            config_reload_ok,
        })
    }
}
