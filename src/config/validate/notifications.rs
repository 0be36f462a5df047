//! `[[notifications]]`: each channel's keys, and the target it is judged as (a target of
//! its provider whose only check is `notification`; see `config/notify.rs`).

use std::collections::HashSet;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use super::super::error::Problems;
use super::super::raw::{RawNotification, S};
use super::super::{
    ActiveHours, ApiVersionSpec, ChannelSpec, Check, DnsSpec, Egress, HttpSpec, PingSpec, RpcSpec,
    Scheme, Secret, Target,
};
use super::values::{duration, entry_name, read_file};
use crate::limits::{
    MIN_NOTIFICATION_TOKEN_BYTES, NOTIFICATION_ROUND_INTERVAL, NOTIFICATION_ROUND_TIMEOUT,
};
use crate::tls::TlsVersion;

/// `max_delay` when not set: Alipay retries a notification after 4 minutes, so a first
/// delivery later than 5 minutes means the first attempt failed.
const DEFAULT_MAX_DELAY: Duration = Duration::from_secs(300);

/// Every channel, as a target appended to `targets`; names must not be a target's.
pub(super) fn channels(
    list: &[S<RawNotification>],
    targets: &[Arc<Target>],
    base: &Path,
    p: &mut Problems,
) -> Vec<Arc<Target>> {
    let mut names: HashSet<String> = targets.iter().map(|t| t.name.clone()).collect();
    let mut out = Vec::new();
    for n in list {
        let span = n.span();
        let before = p.count();
        let c = channel(n.get_ref(), span, base, p);
        if let (Some(c), Some(at)) = (&c, &n.get_ref().name) {
            if !names.insert(c.name.clone()) {
                p.at(
                    at.span(),
                    format!(
                        "duplicate name `{}`: a channel's name must differ from every target's and channel's",
                        c.name
                    ),
                );
            }
        }
        match c.filter(|_| p.count() == before).and_then(|c| target(c, p)) {
            Some(t) => out.push(Arc::new(t)),
            None => continue,
        }
    }
    out
}

fn channel(
    n: &RawNotification,
    span: std::ops::Range<usize>,
    base: &Path,
    p: &mut Problems,
) -> Option<ChannelSpec> {
    let entry = "[[notifications]]";
    let name = entry_name(n.name.as_ref(), span.clone(), entry, "`name`", p);
    let provider = provider(n, span.clone(), entry, p);
    let token = token(n, span, entry, base, p);
    let max_delay = duration(&n.max_delay, "max_delay", p).map(|d| d.unwrap_or(DEFAULT_MAX_DELAY));
    let max_silence = duration(&n.max_silence, "max_silence", p);
    let active_hours = active_hours(n, p);
    if let (Some(v), Some(None)) = (&n.active_hours, &max_silence) {
        p.at(
            v.span(),
            "`active_hours` says when silence counts: it needs `max_silence`",
        );
    }
    Some(ChannelSpec {
        name: name?,
        provider: provider?,
        token: token?,
        max_delay: max_delay?,
        max_silence: max_silence?,
        active_hours: active_hours?,
        state: Arc::default(),
    })
}

/// `provider`: required and not empty, as the channel is judged beside that provider's
/// API targets.
fn provider(
    n: &RawNotification,
    span: std::ops::Range<usize>,
    entry: &str,
    p: &mut Problems,
) -> Option<String> {
    match &n.provider {
        Some(v) if !v.get_ref().is_empty() => Some(v.get_ref().clone()),
        Some(v) => {
            p.at(
                v.span(),
                "`provider` is empty: name the provider whose notifications these are",
            );
            None
        }
        None => {
            p.at(span, format!("{entry} entry has no `provider` (the provider whose API targets it sits beside)"));
            None
        }
    }
}

/// `token_file`: the bearer token reports must carry. One line, long enough that it cannot
/// be guessed, without spaces or control characters (a trailing newline is an editor's,
/// not the token's).
fn token(
    n: &RawNotification,
    span: std::ops::Range<usize>,
    entry: &str,
    base: &Path,
    p: &mut Problems,
) -> Option<Secret<Vec<u8>>> {
    let Some(f) = &n.token_file else {
        p.at(
            span,
            format!("{entry} entry has no `token_file` (the bearer token reports must carry)"),
        );
        return None;
    };
    read_file("token_file", f, base, p).and_then(|mut b| {
        while matches!(b.last(), Some(b'\n' | b'\r')) {
            b.pop();
        }
        if b.len() < MIN_NOTIFICATION_TOKEN_BYTES || b.iter().any(|c| c.is_ascii_whitespace() || c.is_ascii_control()) {
            p.at(f.span(), format!("`token_file`: the token must be one line of at least {MIN_NOTIFICATION_TOKEN_BYTES} characters without spaces (e.g. `openssl rand -hex 32`)"));
            return None;
        }
        Some(Secret(b))
    })
}

/// `active_hours`, when silence counts. `Some(None)` is "not set" (always); `None` is a
/// problem reported.
fn active_hours(n: &RawNotification, p: &mut Problems) -> Option<Option<ActiveHours>> {
    match &n.active_hours {
        None => Some(None),
        Some(v) => match ActiveHours::parse(v.get_ref()) {
            Some(a) => Some(Some(a)),
            None => {
                p.at(v.span(), format!("`active_hours` = {:?}: expected \"HH:MM-HH:MM\" with an optional offset, such as \"08:00-23:00+08:00\"", v.get_ref()));
                None
            }
        },
    }
}

/// The target a channel is judged as. It probes nothing: its one check reads the channel.
fn target(c: ChannelSpec, p: &mut Problems) -> Option<Target> {
    let url = url::Url::parse(&format!("payprobe:/api/v1/notifications/{}", c.name)).ok()?;
    let tls = match crate::tls::client(None, None, TlsVersion::Tls12) {
        Ok(t) => t,
        Err(e) => {
            p.at(0..0, format!("TLS setup failed: {e}"));
            return None;
        }
    };
    Some(Target {
        name: c.name.clone(),
        provider: c.provider.clone(),
        profile: crate::profile::Profile::Generic,
        ok_codes: Vec::new(),
        url,
        scheme: Scheme::Tcp,
        host: String::new(),
        ip: None,
        port: 0,
        checks: vec![Check::Notification],
        interval: NOTIFICATION_ROUND_INTERVAL,
        timeout: NOTIFICATION_ROUND_TIMEOUT,
        // A channel's state is already judged over time (max_delay, max_silence).
        failure_threshold: 1,
        success_threshold: 1,
        latency_slo: None,
        slo: None,
        min_tls_version: TlsVersion::Tls12,
        cert_expiry_warning: Duration::ZERO,
        tls,
        http: HttpSpec {
            method: hyper::Method::GET,
            headers: Vec::new(),
            body: bytes::Bytes::new(),
            expect_status: Vec::new(),
            follow_redirects: false,
            max_redirects: 0,
            max_body_bytes: 0,
            sign: None,
        },
        dns: DnsSpec::default(),
        ping: PingSpec::default(),
        api_version: ApiVersionSpec::default(),
        rpc: RpcSpec::default(),
        control: false,
        egress_label: Egress::default().label(),
        egress: Egress::default(),
        channel: Some(c),
    })
}
