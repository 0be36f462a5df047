//! The series of signed probes (issue 19, point 4): whether the last answer verified, the
//! verification mode, the clock skew against the provider, days to expiry of every
//! certificate the credentials rely on (with the target's thresholds, so one rule serves
//! every target), and when each WeChat Pay platform serial was first seen. Label values
//! are bounded: modes and credential names are closed sets, serials come from the config's
//! files or from at most `limits::MAX_PLATFORM_CERTS` platform certificates.

use std::io;

use super::target::{State, TargetSeries};
use super::text::{escape, Text};
use crate::sign::{AnswerCheck, SignEvidence, SignSpec};

const DAY: f64 = 86_400.0;

/// One certificate: its credential name, escaped serial, not-after and first sighting.
#[derive(Debug)]
struct Cred {
    credential: &'static str,
    serial: Box<str>,
    not_after: f64,
    first_seen: Option<f64>,
}

#[derive(Debug)]
pub(super) struct SignState {
    mode: &'static str,
    verified: Option<f64>,
    skew: Option<f64>,
    creds: Vec<Cred>,
    /// When the last round ended (Unix seconds): days to expiry are as of then.
    now: f64,
    warning_days: f64,
    critical_days: f64,
}

impl SignState {
    pub fn new(spec: &SignSpec) -> SignState {
        SignState {
            mode: "none",
            verified: None,
            skew: None,
            creds: Vec::new(),
            now: 0.0,
            warning_days: spec.expiry_warning.as_secs_f64() / DAY,
            critical_days: spec.expiry_critical.as_secs_f64() / DAY,
        }
    }

    pub fn observe(&mut self, s: &SignEvidence, now: f64) {
        self.mode = s.verification_mode.as_str();
        self.now = now;
        self.verified = match s.answer {
            AnswerCheck::Verified => Some(1.0),
            a if a.fails() => Some(0.0),
            _ => self
                .verified
                .filter(|_| s.answer == AnswerCheck::NotChecked),
        };
        if let Some(k) = s.clock_skew_seconds {
            self.skew = Some(k as f64);
        }
        self.creds = s
            .credentials
            .iter()
            .map(|c| Cred {
                credential: c.credential,
                serial: escape(&c.serial).into(),
                not_after: c.not_after_unix as f64,
                first_seen: c.first_seen_unix.map(|t| t as f64),
            })
            .collect();
    }
}

fn tp(t: &TargetSeries, out: &mut Text<'_>, v: Option<f64>) -> io::Result<()> {
    match v {
        Some(v) => out.sample("", &[("provider", &t.provider), ("target", &t.name)], v),
        None => Ok(()),
    }
}

pub(super) fn verified(t: &TargetSeries, s: &State, out: &mut Text<'_>) -> io::Result<()> {
    tp(t, out, s.sign.as_ref().and_then(|g| g.verified))
}

pub(super) fn skew(t: &TargetSeries, s: &State, out: &mut Text<'_>) -> io::Result<()> {
    tp(t, out, s.sign.as_ref().and_then(|g| g.skew))
}

pub(super) fn warning(t: &TargetSeries, s: &State, out: &mut Text<'_>) -> io::Result<()> {
    tp(t, out, s.sign.as_ref().map(|g| g.warning_days))
}

pub(super) fn critical(t: &TargetSeries, s: &State, out: &mut Text<'_>) -> io::Result<()> {
    tp(t, out, s.sign.as_ref().map(|g| g.critical_days))
}

pub(super) fn mode(t: &TargetSeries, s: &State, out: &mut Text<'_>) -> io::Result<()> {
    let Some(g) = &s.sign else { return Ok(()) };
    let l = [
        ("mode", g.mode),
        ("provider", &t.provider),
        ("target", &t.name),
    ];
    out.sample("", &l, 1.0)
}

pub(super) fn expiry_days(t: &TargetSeries, s: &State, out: &mut Text<'_>) -> io::Result<()> {
    let Some(g) = &s.sign else { return Ok(()) };
    for c in &g.creds {
        let l = [
            ("credential", c.credential),
            ("provider", &*t.provider),
            ("serial", &c.serial),
            ("target", &t.name),
        ];
        out.sample("", &l, (c.not_after - g.now) / DAY)?;
    }
    Ok(())
}

pub(super) fn first_seen(t: &TargetSeries, s: &State, out: &mut Text<'_>) -> io::Result<()> {
    let Some(g) = &s.sign else { return Ok(()) };
    for c in &g.creds {
        if let Some(at) = c.first_seen {
            let l = [
                ("provider", &*t.provider),
                ("serial", &c.serial),
                ("target", &t.name),
            ];
            out.sample("", &l, at)?;
        }
    }
    Ok(())
}
