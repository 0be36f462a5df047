//! Unit tests, compiled only with #[cfg(test)] (declared at the bottom of mod.rs).

use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, SystemTime};

use proptest::prelude::*;

use super::rules::RULES;
use super::*;
use crate::config::{self, Check, Target};
use crate::probe::{Evidence, Failure, FailureKind as K, HttpEvidence, Phase};

fn target(extra: &str) -> Target {
    let src = format!("[[targets]]\nname = \"t\"\nurl = \"https://gw.example/v3/pay\"\n{extra}\n");
    let plan = config::parse(Path::new("t.toml"), &src, Path::new(".")).unwrap();
    (*plan.targets[0]).clone()
}

fn failing(check: Check, phase: Phase, kind: K) -> Evidence {
    let mut e = Evidence::new("t", check);
    e.failure = Some(Failure::new(phase, kind, "detail"));
    e
}

fn status(code: u16, url: &str, headers: &[(&str, &str)]) -> Evidence {
    let mut e = failing(Check::Http, Phase::Processing, K::UnexpectedStatus);
    e.http = Some(HttpEvidence {
        status: Some(code),
        final_url: url.to_string(),
        headers: headers
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect::<BTreeMap<_, _>>(),
        ..Default::default()
    });
    e
}

fn provider(cause: Cause, status_code: u16) -> Evidence {
    let mut e = failing(Check::Http, Phase::Processing, K::ProviderError);
    e.http = Some(HttpEvidence {
        status: Some(status_code),
        final_url: "https://gw.example/gateway.do".into(),
        profile: Some(crate::profile::Verdict {
            profile: crate::profile::Profile::Alipay,
            code: "X".into(),
            message: None,
            ok: false,
            cause,
            symptoms: vec![Symptom::BalanceAnomaly],
            means: "m".into(),
        }),
        ..Default::default()
    });
    e
}

/// A 2xx body that is not in the provider's format (as `profile::judge` reports it).
fn mismatch(code: &str) -> Evidence {
    let mut e = provider(Cause::Server, 200);
    if let Some(v) = e.http.as_mut().and_then(|h| h.profile.as_mut()) {
        v.code = code.into();
    }
    e
}

fn passing(check: Check, ms: u64) -> Evidence {
    let mut e = Evidence::new("t", check);
    e.success = true;
    e.duration = Duration::from_millis(ms);
    e
}

mod props;
mod rows;
mod rule_table;
mod said;
mod scopes;
mod window;
