//! `payprobe_availability_ratio{window}` and `payprobe_error_budget_remaining_ratio` per
//! target and per provider, `payprobe_slo_objective_ratio` (the burn-rate rules divide by
//! it), the round counters the burn-rate rules take rates of, and
//! `payprobe_availability_dropped_total`, computed at scrape time from the rollups.
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

impl Availability {
    /// The round counters of every target of the plan (0 before its first round).
    fn counters(&self, out: &mut dyn std::io::Write) {
        let totals = crate::sync::lock(&self.totals, "availability totals").clone();
        let families = [
            ("payprobe_availability_rounds_total", "Rounds outside maintenance windows since start (the burn-rate rules' denominator)."),
            ("payprobe_availability_failed_rounds_total", "Rounds outside maintenance windows that failed, since start."),
        ];
        for (i, (name, help)) in families.into_iter().enumerate() {
            write_header(out, name, "counter", help);
            for t in self.targets().iter() {
                let n = totals.get(&t.name).map_or(0, |n| n[i]);
                let labels = [
                    ("provider", t.provider.as_str()),
                    ("target", t.name.as_str()),
                ];
                write_sample(out, name, &labels, n as f64);
            }
        }
    }
}

impl Exposition for Availability {
    fn write(&self, out: &mut dyn std::io::Write) {
        let all = self.all(crate::maintenance::now_ms(), false);
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
        self.counters(out);
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
