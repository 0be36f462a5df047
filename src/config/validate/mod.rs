//! Raw config → [`Plan`], collecting every problem with its place.
//!
//! One file per table, each reporting its problems in the order its keys are checked:
//! `server.rs` (`[server]`), `defaults.rs` (how `[defaults]` merges into each entry),
//! `target.rs` (`[[targets]]`/`[[controls]]`: names, timing, thresholds, profile, and the
//! `Target` built from every table), `endpoint.rs` (a target's `url` and `checks`),
//! `tls.rs` (its TLS keys), `http.rs`, `dns.rs`, `ping.rs`, `api_version.rs`, `rpc.rs`
//! (the per-check tables) and `alerts.rs` (`[alerts]` and its sinks). `values.rs` holds the
//! helpers they share; every bound comes from `src/limits/`.

use std::path::Path;

use super::error::{Problem, Problems};
use super::raw::RawConfig;
use super::Plan;

mod alerts;
mod api_version;
mod defaults;
mod dns;
mod egress;
mod endpoint;
mod http;
mod maintenance;
mod notifications;
mod ping;
mod rpc;
mod server;
mod sign;
mod signers;
mod target;
mod tls;
mod values;

/// Problems are reported table by table in file order: `[server]`, `[defaults]`, each
/// target then each control (with the defaults it inherits), `[alerts]`.
pub fn validate(path: &Path, source: &str, base: &Path) -> Result<Plan, Vec<Problem>> {
    let mut p = Problems::new(source);
    let raw: RawConfig = match toml::from_str(source) {
        Ok(r) => r,
        Err(e) => {
            p.at(e.span().unwrap_or(0..0), e.message().trim().to_string());
            return Err(p.list);
        }
    };
    let server = server::server(&raw.server, base, &mut p);
    defaults::refuse_identity(&raw.defaults, &mut p);
    let mut targets = target::targets(&raw, source, base, &mut p);
    let channels = notifications::channels(&raw.notifications, &targets, base, &mut p);
    targets.extend(channels);
    if raw.targets.is_empty() && p.list.is_empty() {
        p.at(0..0, "no [[targets]]: nothing to probe");
    }
    let alerts = alerts::alerts(raw.alerts.as_ref(), base, &mut p);
    let maintenance = maintenance::maintenance(&raw, &targets, &mut p);
    match (server, alerts, p.list.is_empty()) {
        (Some(server), Some(alerts), true) => Ok(Plan {
            source: path.to_path_buf(),
            server,
            targets,
            alerts,
            maintenance,
            warnings: p.warnings,
        }),
        _ => Err(p.list),
    }
}

#[cfg(test)]
mod tests;
