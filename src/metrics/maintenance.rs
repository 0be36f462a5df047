//! The maintenance schedule's family, written at scrape time (kept here so the schedule,
//! which the config builds, does not depend on the metrics above it).

use super::{write_header, write_sample, Exposition};
use crate::maintenance::{now_ms, Live};

/// `payprobe_maintenance_active{target,provider}`: 1 for each target a window covers now;
/// a target outside every window has no series (as the one-hot families).
impl Exposition for Live {
    fn write(&self, out: &mut dyn std::io::Write) {
        let (s, now) = (self.get(), now_ms());
        let targets = self.targets();
        write_header(
            out,
            "payprobe_maintenance_active",
            "gauge",
            "1 while a [[maintenance]] window covers the target.",
        );
        let active = s.active(now);
        for (t, p) in targets.iter() {
            if active.iter().any(|w| w.applies(t, p)) {
                write_sample(
                    out,
                    "payprobe_maintenance_active",
                    &[("provider", p), ("target", t)],
                    1.0,
                );
            }
        }
    }
}
