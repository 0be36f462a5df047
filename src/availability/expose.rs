//! `payprobe_availability_ratio{window}` and `payprobe_error_budget_remaining_ratio` per
//! target and per provider, `payprobe_slo_objective_ratio` (the burn-rate rules divide by
//! it) and `payprobe_availability_dropped_total`, computed at scrape time from the rollups.
//! Series carry `target` and `provider` (a provider's own series has `target=""`), so every
//! label set is bounded by the config.

use std::sync::atomic::Ordering;

use super::{Availability, Figures};
use crate::metrics::{write_header, write_sample, Exposition};

fn ids(f: &Figures) -> (&str, &str) {
    if f.kind == "target" {
        (f.name.as_str(), f.provider.as_str())
    } else {
        ("", f.provider.as_str())
    }
}

impl Exposition for Availability {
    fn write(&self, out: &mut Vec<u8>) {
        let all = self.all(crate::maintenance::now_ms());
        write_header(out, "payprobe_availability_ratio", "gauge", "Rounds judged healthy over rounds in the window, maintenance excluded (per target; target=\"\" for a provider's targets together).");
        for f in &all {
            let (t, p) = ids(f);
            for (w, a) in &f.availability {
                write_sample(
                    out,
                    "payprobe_availability_ratio",
                    &[("provider", p), ("target", t), ("window", w)],
                    *a,
                );
            }
        }
        write_header(out, "payprobe_error_budget_remaining_ratio", "gauge", "Error budget left over 30d for the target's `slo`: 1 untouched, 0 spent, negative past it.");
        for f in &all {
            let (t, p) = ids(f);
            if let Some(b) = f.error_budget_remaining {
                write_sample(
                    out,
                    "payprobe_error_budget_remaining_ratio",
                    &[("provider", p), ("target", t)],
                    b,
                );
            }
        }
        write_header(
            out,
            "payprobe_slo_objective_ratio",
            "gauge",
            "The availability objective (`slo`) of a target, when set.",
        );
        for f in all.iter().filter(|f| f.kind == "target") {
            let (t, p) = ids(f);
            if let Some(s) = f.slo {
                write_sample(
                    out,
                    "payprobe_slo_objective_ratio",
                    &[("provider", p), ("target", t)],
                    s,
                );
            }
        }
        write_header(
            out,
            "payprobe_availability_dropped_total",
            "counter",
            "Rounds left out of availability because the rollup writer's queue was full.",
        );
        let dropped = self.dropped.load(Ordering::Relaxed) as f64;
        write_sample(out, "payprobe_availability_dropped_total", &[], dropped);
    }
}
