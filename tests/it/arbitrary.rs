//! Arbitrary bytes into the entry points the fuzz targets cover (`fuzz/`, issue 15 item 6),
//! in the normal suite: whatever comes in, no panic, and what comes out stays bounded.

use payprobe::profile::{judge, Profile};
use proptest::prelude::*;

/// A valid config to mutate: arbitrary edits of a real file reach deeper than random text.
const BASE: &str = "[server]\nmax_concurrency = 8\n[defaults]\ninterval = \"15s\"\ntimeout = \"5s\"\n[[targets]]\nname = \"a\"\nurl = \"https://pay.example/v1\"\nchecks = [\"http\", \"ping\", \"api_version\"]\n[targets.ping]\ncount = 3\n[targets.api_version]\nheader = \"X-Api-Version\"\nrequire = \">=3\"\n";

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn any_config_text_is_a_plan_or_problems(s in "\\PC{0,400}") {
        let _ = payprobe::config::parse(std::path::Path::new("p.toml"), &s, std::path::Path::new("."));
    }

    #[test]
    fn a_mutated_config_is_a_plan_or_problems(at in 0usize..BASE.len(), junk in "\\PC{0,12}", cut in 0usize..40) {
        let at = (0..=at).rev().find(|i| BASE.is_char_boundary(*i)).unwrap_or(0);
        let end = (at + cut).min(BASE.len());
        let end = (end..=BASE.len()).find(|i| BASE.is_char_boundary(*i)).unwrap_or(BASE.len());
        let src = format!("{}{junk}{}", &BASE[..at], &BASE[end..]);
        let _ = payprobe::config::parse(std::path::Path::new("p.toml"), &src, std::path::Path::new("."));
    }

    #[test]
    fn any_provider_body_is_read_without_panic(status in 0u16..1000, body in proptest::collection::vec(any::<u8>(), 0..600), truncated: bool) {
        for p in Profile::ALL {
            let _ = judge(p, status, &body, truncated, &[]);
        }
    }

    #[test]
    fn json_like_provider_bodies_are_read_without_panic(body in "[\\[\\]{}\":,0-9a-z_ -]{0,300}") {
        for p in Profile::ALL {
            let _ = judge(p, 200, body.as_bytes(), false, &[]);
        }
    }

    #[test]
    fn any_deprecation_sunset_and_body_make_bounded_warnings(dep in "@?-?[0-9]{0,30}|\\PC{0,40}", sunset in "\\PC{0,40}", body in "\\PC{0,200}") {
        let w = payprobe::judge::verdict::api_version::fuzz_evaluate(&dep, &sunset, body.as_bytes());
        prop_assert!(w.len() <= 2);
        prop_assert!(w.iter().all(|x| x.len() < 200));
    }

    #[test]
    fn any_version_text_coerces_or_not(s in "\\PC{0,40}") {
        let _ = payprobe::judge::verdict::api_version::coerce(&s);
    }

    #[test]
    fn any_der_is_a_summary_or_nothing(der in proptest::collection::vec(any::<u8>(), 0..400)) {
        let d = rustls::pki_types::CertificateDer::from(der);
        let _ = payprobe::probe::cert::CertSummary::from_chain(&[d]);
    }
}

/// Deep nesting in a provider body is "not JSON" (serde_json's depth limit), not a stack
/// overflow.
#[test]
fn deeply_nested_provider_bodies_are_not_a_stack_overflow() {
    let deep = format!(
        "{}{}",
        "[".repeat(payprobe::limits::MAX_JSON_DEPTH * 1000),
        "]".repeat(payprobe::limits::MAX_JSON_DEPTH * 1000)
    );
    for p in Profile::ALL {
        let _ = judge(p, 200, deep.as_bytes(), false, &[]);
    }
    let w = payprobe::judge::verdict::api_version::fuzz_evaluate("", "", deep.as_bytes());
    assert!(w.len() <= 1, "{w:?}");
}
