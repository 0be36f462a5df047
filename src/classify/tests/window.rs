//! The window: thresholds give hysteresis, flapping is noticed without flipping.

use super::*;

fn verdict(ok: bool) -> RoundVerdict {
    let t = target("");
    if ok {
        judge_round(&t, &[passing(Check::Http, 10)])
    } else {
        judge_round(&t, &[status(503, "https://x/v1", &[])])
    }
}

#[test]
fn thresholds_give_hysteresis() {
    let mut w = Window::new(3, 2);
    let ctx = PeerView::default();
    for _ in 0..2 {
        w.push(verdict(false));
        assert!(
            classify(&w, &ctx, SystemTime::UNIX_EPOCH).healthy,
            "below failure_threshold"
        );
    }
    assert_eq!(w.push(verdict(false)), Some(false));
    let d = classify(&w, &ctx, SystemTime::UNIX_EPOCH);
    assert_eq!(
        (d.healthy, d.cause, d.scope, d.rule),
        (false, Cause::Server, Scope::Endpoint, "status_5xx")
    );
    w.push(verdict(true));
    let d = classify(&w, &ctx, SystemTime::UNIX_EPOCH);
    assert_eq!(
        (d.healthy, d.cause),
        (false, Cause::Server),
        "still failing until success_threshold"
    );
    assert_eq!(w.push(verdict(true)), Some(true));
    assert_eq!(
        classify(&w, &ctx, SystemTime::UNIX_EPOCH).cause,
        Cause::None
    );
}

#[test]
fn alternating_results_are_flapping_without_flipping() {
    let mut w = Window::new(3, 2);
    for i in 0..10 {
        w.push(verdict(i % 2 == 0));
    }
    let d = classify(&w, &PeerView::default(), SystemTime::UNIX_EPOCH);
    assert!(d.flapping && d.healthy, "{d:?}");
    let mut steady = Window::new(3, 2);
    for _ in 0..10 {
        steady.push(verdict(false));
    }
    assert!(!classify(&steady, &PeerView::default(), SystemTime::UNIX_EPOCH).flapping);
}

/// Flapping from the kept pass/fail bits agrees with counting changes over the last ten
/// whole verdicts (what the window kept before), for every sequence of up to 12 rounds.
#[test]
fn flapping_bits_agree_with_the_last_ten_rounds() {
    let (pass, fail) = (verdict(true), verdict(false));
    for len in 0..=12u32 {
        for bits in 0..(1u32 << len) {
            let oks: Vec<bool> = (0..len).map(|i| bits >> i & 1 == 1).collect();
            let mut w = Window::new(3, 2);
            for ok in &oks {
                w.push(if *ok { pass.clone() } else { fail.clone() });
            }
            let last: Vec<bool> = oks.iter().rev().take(10).copied().collect();
            let changes = last.windows(2).filter(|p| p[0] != p[1]).count();
            assert_eq!(w.flapping(), changes >= 4, "{oks:?}");
        }
    }
}
