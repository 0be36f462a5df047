//! Unit tests, compiled only with #[cfg(test)] (declared at the bottom of mod.rs).

use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, SystemTime};

use proptest::prelude::*;

use super::rules::RULES;
use super::*;
use crate::checked::Checked;
use crate::config::{self, Check, Target};
use crate::probe::{Evidence, Failure, FailureKind as K, HttpEvidence, Phase};

fn target(extra: &str) -> Target {
    let src = format!("[[targets]]\nname = \"t\"\nurl = \"https://gw.example/v3/pay\"\n{extra}\n");
    let plan = config::parse(Path::new("t.toml"), &src, Path::new(".")).unwrap();
    (*plan.targets[0]).clone()
}

/// A check judged failed (by its observation or a condition: the rules table reads only the
/// failure, the answer and the readings).
fn failing(check: Check, phase: Phase, kind: K) -> Checked {
    Checked {
        observed: Evidence::new("t", check),
        failure: Some(Failure::new(phase, kind, "detail")),
        readings: Default::default(),
    }
}

fn status(code: u16, url: &str, headers: &[(&str, &str)]) -> Checked {
    let mut c = failing(Check::Http, Phase::Processing, K::UnexpectedStatus);
    c.observed.http = Some(HttpEvidence {
        status: Some(code),
        final_url: url.to_string(),
        headers: headers
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect::<BTreeMap<_, _>>(),
        ..Default::default()
    });
    c
}

fn provider(cause: Cause, status_code: u16) -> Checked {
    let mut c = failing(Check::Http, Phase::Processing, K::ProviderError);
    c.observed.http = Some(HttpEvidence {
        status: Some(status_code),
        final_url: "https://gw.example/gateway.do".into(),
        ..Default::default()
    });
    c.readings.profile = Some(crate::profile::Verdict {
        profile: crate::profile::Profile::Alipay,
        code: "X".into(),
        message: None,
        ok: false,
        cause,
        symptoms: vec![Symptom::BalanceAnomaly],
        means: "m".into(),
    });
    c
}

/// A 2xx body that is not in the provider's format (as `profile::judge` reports it).
fn mismatch(code: &str) -> Checked {
    let mut c = provider(Cause::Server, 200);
    if let Some(v) = c.readings.profile.as_mut() {
        v.code = code.into();
    }
    c
}

fn passing(check: Check, ms: u64) -> Checked {
    let mut e = Evidence::new("t", check);
    e.duration = Duration::from_millis(ms);
    Checked::unconditioned(e)
}

mod props;
mod rows;
mod rule_table;
mod said;
mod scopes;
mod window;
