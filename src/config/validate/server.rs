//! `[server]`: the listener's address and credentials, where state is kept, the global
//! concurrency cap and the language of hints.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::super::error::Problems;
use super::super::raw::{RawServer, S};
use super::super::{ServerPlan, DEFAULT_LISTEN};
use super::values::{int_in, keyword, resolve};
use crate::limits;
use crate::vocab::Lang;
use crate::webauth::WebConfig;

/// Where incidents and outboxes are kept when `state_dir` is not set and systemd gave no
/// `STATE_DIRECTORY`: the FHS place for a daemon's state.
const DEFAULT_STATE_DIR: &str = "/var/lib/payprobe";

/// The default `state_dir`: the first directory of `$STATE_DIRECTORY` (what systemd's
/// `StateDirectory=` sets, deploy/payprobe.service) when given, else [`DEFAULT_STATE_DIR`].
fn default_state_dir(env: Option<std::ffi::OsString>) -> PathBuf {
    env.as_ref()
        .and_then(|v| v.to_str())
        .and_then(|v| v.split(':').find(|d| !d.is_empty()))
        .map_or_else(|| PathBuf::from(DEFAULT_STATE_DIR), PathBuf::from)
}

/// Probes in flight at once when `max_concurrency` is not set.
const DEFAULT_MAX_CONCURRENCY: i64 = 512;

pub(super) fn server(s: &RawServer, base: &Path, p: &mut Problems) -> Option<ServerPlan> {
    let listen = listen(s.listen.as_ref(), p);
    let state_dir = s
        .state_dir
        .as_ref()
        // Relative to the config file, like every other path in it (not to the cwd).
        .map(|d| base.join(d.get_ref()))
        .unwrap_or_else(|| default_state_dir(std::env::var_os("STATE_DIRECTORY")));
    let max_concurrency = int_in(
        &s.max_concurrency,
        "max_concurrency",
        limits::CONCURRENCY,
        p,
    )
    .map(|v| v.unwrap_or(DEFAULT_MAX_CONCURRENCY));
    let lang = keyword(
        s.lang.as_ref(),
        Lang::En,
        Lang::parse,
        |l| format!("`lang` = {l:?}: expected {}", Lang::alternatives(true)),
        p,
    );
    let web = web_config(s.web_config.as_ref(), base, p);
    let probe_rate = int_in(&s.probe_rate, "probe_rate", limits::PROBE_RATE, p)
        .map(|v| v.unwrap_or(limits::DEFAULT_PROBE_RATE));
    let probe_burst = int_in(&s.probe_burst, "probe_burst", limits::PROBE_BURST, p)
        .map(|v| v.unwrap_or(limits::DEFAULT_PROBE_BURST));
    Some(ServerPlan {
        web: web?,
        metrics_open: s.metrics_open.as_ref().is_some_and(|b| *b.get_ref()),
        listen: listen?,
        state_dir,
        max_concurrency: max_concurrency? as usize,
        lang: lang?,
        latency_histograms: s.latency_histograms.as_ref().is_some_and(|b| *b.get_ref()),
        probe_rate: u32::try_from(probe_rate?).unwrap_or(u32::MAX),
        probe_burst: u32::try_from(probe_burst?).unwrap_or(u32::MAX),
    })
}

fn listen(l: Option<&S<String>>, p: &mut Problems) -> Option<std::net::SocketAddr> {
    let Some(l) = l else {
        return DEFAULT_LISTEN.parse().ok();
    };
    l.get_ref()
        .parse()
        .map_err(|_| {
            p.at(
                l.span(),
                format!(
                    "`listen` = {:?}: expected IP:PORT, e.g. \"127.0.0.1:9464\"",
                    l.get_ref()
                ),
            )
        })
        .ok()
}

/// `Some(None)`: no `web_config`; `None`: it could not be loaded (reported).
fn web_config(
    f: Option<&S<String>>,
    base: &Path,
    p: &mut Problems,
) -> Option<Option<Arc<WebConfig>>> {
    let Some(f) = f else { return Some(None) };
    match WebConfig::load(&resolve(base, f.get_ref()), base) {
        Ok(w) => Some(Some(Arc::new(w))),
        Err(e) => {
            p.at(f.span(), format!("`web_config`: {e}"));
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_state_dir_follows_systemd() {
        let d = |v: Option<&str>| default_state_dir(v.map(Into::into));
        assert_eq!(d(None), Path::new(DEFAULT_STATE_DIR));
        assert_eq!(d(Some("")), Path::new(DEFAULT_STATE_DIR));
        assert_eq!(
            d(Some("/var/lib/private/pp")),
            Path::new("/var/lib/private/pp")
        );
        assert_eq!(d(Some("/a:/b")), Path::new("/a"), "the first of several");
    }
}
