use super::rollup::{Counts, Rollup, Span, DAY_MS, HOUR_MS};
use super::*;

/// 2026-12-05T00:00:00Z.
const DAY0: i64 = 1_764_892_800_000;

/// Rounds every `step` ms over `[from, to)`, healthy when `healthy(t)`, in maintenance when
/// `maint(t)`; the expected counts by the definition, computed separately.
fn feed(
    r: &mut Rollup,
    from: i64,
    to: i64,
    step: i64,
    healthy: impl Fn(i64) -> bool,
    maint: impl Fn(i64) -> bool,
) -> Vec<(i64, bool, bool)> {
    let mut v = Vec::new();
    let mut t = from;
    while t < to {
        r.record(t, healthy(t), maint(t));
        v.push((t, healthy(t), maint(t)));
        t += step;
    }
    v
}

fn expected(rounds: &[(i64, bool, bool)], from: i64, to: i64) -> Counts {
    let inside = rounds.iter().filter(|(t, _, _)| *t >= from && *t < to);
    let mut c = Counts::default();
    for (_, h, m) in inside {
        if *m {
            c.maintenance += 1;
        } else {
            c.rounds += 1;
            c.healthy += u32::from(*h);
        }
    }
    c
}

#[test]
fn availability_over_synthetic_rounds_is_healthy_over_rounds_outside_maintenance() {
    let mut r = Rollup::default();
    // 40 days of a round a minute: down 10:00-10:30 every day, maintenance 02:00-03:00 on
    // odd days (failing then, which must not count).
    let start = DAY0 - 39 * DAY_MS;
    let now = DAY0 + 13 * HOUR_MS + 17 * 60_000;
    let healthy = |t: i64| {
        let m = t.rem_euclid(DAY_MS);
        !(10 * HOUR_MS..10 * HOUR_MS + 30 * 60_000).contains(&m)
            && !(2 * HOUR_MS..3 * HOUR_MS).contains(&m)
    };
    let maint = |t: i64| {
        (t / DAY_MS) % 2 == 1 && (2 * HOUR_MS..3 * HOUR_MS).contains(&t.rem_euclid(DAY_MS))
    };
    let rounds = feed(&mut r, start, now + 1, 60_000, healthy, maint);
    let hour_start = now - now.rem_euclid(HOUR_MS);
    let day_start = now - now.rem_euclid(DAY_MS);
    let want = [
        (Span::D1, hour_start - 23 * HOUR_MS),
        (Span::D7, day_start - 6 * DAY_MS),
        (Span::D30, day_start - 29 * DAY_MS),
    ];
    for (span, from) in want {
        let e = expected(&rounds, from, now + 1);
        assert_eq!(r.over(span, now), e, "{}", span.as_str());
        assert!(
            e.maintenance > 0 && e.rounds > e.healthy,
            "{}: the test must exercise both",
            span.as_str()
        );
        let ratio = f64::from(e.healthy) / f64::from(e.rounds);
        assert_eq!(r.over(span, now).ratio(), Some(ratio));
    }
    // The strip: each of the last 30 days, exactly.
    let strip = r.strip(now, 30);
    assert_eq!(strip.len(), 30);
    for (d, c) in strip {
        let from = i64::from(d) * DAY_MS;
        assert_eq!(c, expected(&rounds, from, (from + DAY_MS).min(now + 1)));
    }
}

#[test]
fn no_round_means_no_figure_and_budget_follows_the_objective() {
    assert_eq!(Rollup::default().over(Span::D30, DAY0).ratio(), None);
    assert_eq!(budget_remaining(Counts::default(), 0.999, 1e6), None);
    let c = Counts {
        healthy: 9_995,
        rounds: 10_000,
        maintenance: 7,
    };
    // A full window (its 10,007 slices all counted, 7 in maintenance): 0.05% failed against
    // a 0.1% budget, half of it left, as failed over counted rounds says.
    let left = budget_remaining(c, 0.999, 10_007.0).unwrap();
    assert!((left - 0.5).abs() < 1e-9, "{left}");
    let worse = Counts {
        healthy: 9_900,
        ..c
    };
    assert!(budget_remaining(worse, 0.999, 10_007.0).unwrap() < 0.0);
    // More rounds than the window holds at today's interval (shortened by a reload): the
    // rounds are the base.
    let left = budget_remaining(c, 0.999, 5_000.0).unwrap();
    assert!((left - 0.5).abs() < 1e-9, "{left}");
}

/// A minute of history is not a month: the budget is the failures the objective allows in
/// the window's rounds, whatever part of the window was seen.
#[test]
fn the_budget_is_the_windows_allowance_not_the_history_seen() {
    let now = DAY0 + 12 * HOUR_MS;
    let every = std::time::Duration::from_secs(15);
    // `30d` is today (12 hours so far) and the 29 days before.
    let length = 29 * DAY_MS + 12 * HOUR_MS;
    assert_eq!(Span::D30.length_ms(now), length);
    assert_eq!(
        Span::D1.length_ms(now + 17 * 60_000),
        23 * HOUR_MS + 17 * 60_000
    );
    let slices = Span::D30.slices(now, [every].into_iter());
    assert!((slices - length as f64 / 15_000.0).abs() < 1e-6, "{slices}");
    // One failed round of the first four: 15 s of the 42.5 minutes 0.999 allows in these
    // 29.5 days (failed over counted rounds said −24,900%).
    let minute = Counts {
        healthy: 3,
        rounds: 4,
        maintenance: 0,
    };
    let left = budget_remaining(minute, 0.999, slices).unwrap();
    let want = 1.0 - 15_000.0 / (0.001 * length as f64);
    assert!((left - want).abs() < 1e-9 && left > 0.99, "{left}");
    // Two hours down, all there is of history: far past the budget at once.
    let down = Counts {
        healthy: 0,
        rounds: 480,
        maintenance: 0,
    };
    let left = budget_remaining(down, 0.999, slices).unwrap();
    let want = 1.0 - 2.0 * HOUR_MS as f64 / (0.001 * length as f64);
    assert!((left - want).abs() < 1e-9 && left < -1.5, "{left}");
    // Two targets of a provider, one every 15 s and one every minute.
    let both = Span::D30.slices(now, [every, every * 4].into_iter());
    assert!((both - slices * 1.25).abs() < 1e-6, "{both}");
}

#[test]
fn a_replayed_bucket_never_replaces_a_newer_one() {
    let mut r = Rollup::default();
    r.record(DAY0 + 5, true, false);
    // The same slot, 31 days earlier: older, ignored.
    r.set(
        Grain::Day,
        Grain::Day.index(DAY0) - 31,
        Counts {
            healthy: 9,
            rounds: 9,
            maintenance: 0,
        },
    );
    assert_eq!(r.over(Span::D1, DAY0 + 5).rounds, 1);
    assert_eq!(r.over(Span::D30, DAY0 + 5).rounds, 1);
}

use super::rollup::Grain;

/// Providers add their targets' rounds (controls left out); a target's own figures are its
/// own; both ways of asking (`all` for metrics and the page, `view` for the API) agree.
#[test]
fn a_provider_adds_its_targets_rounds_and_leaves_controls_out() {
    let src = "[defaults]\nslo = 0.9\n[[targets]]\nname = \"a\"\nprovider = \"p\"\nurl = \"http://127.0.0.1:1/\"\n[[targets]]\nname = \"b\"\nprovider = \"p\"\nurl = \"http://127.0.0.1:2/\"\n[[controls]]\nname = \"c\"\nprovider = \"p\"\nurl = \"tcp://127.0.0.1:3\"\n";
    let plan = crate::config::parse(
        std::path::Path::new("t.toml"),
        src,
        std::path::Path::new("."),
    )
    .unwrap();
    let live = crate::maintenance::Live::new(&plan.maintenance, plan.target_providers());
    let dir = tempfile::tempdir().unwrap();
    let a = Availability::open(dir.path(), &plan.targets, live);
    let now = DAY0 + 5 * HOUR_MS;
    for (t, healthy, n) in [
        ("a", true, 7),
        ("a", false, 3),
        ("b", true, 10),
        ("c", false, 50),
    ] {
        for i in 0..n {
            a.apply(&Tally {
                target: t.into(),
                at_ms: now - i * 1000,
                healthy,
                maintenance: false,
                point: crate::history::Point {
                    at_ms: 0,
                    millis: 0.0,
                    ok: healthy,
                    healthy,
                },
            });
        }
    }
    a.apply(&Tally {
        target: "b".into(),
        at_ms: now,
        healthy: false,
        maintenance: true,
        point: crate::history::Point {
            at_ms: 0,
            millis: 0.0,
            ok: false,
            healthy: false,
        },
    });
    let all = a.all(now, true);
    let p = all.iter().find(|f| f.kind == "provider").unwrap();
    assert_eq!(
        p.rounds["30d"],
        Counts {
            healthy: 17,
            rounds: 20,
            maintenance: 1
        }
    );
    assert_eq!(p.availability["1d"], 0.85);
    assert_eq!(p.slo, Some(0.9));
    // 3 failed rounds against 10% of the rounds `30d` holds (29 days and 5 hours) for two
    // targets at their interval, less the one in maintenance.
    let per_target =
        (29 * DAY_MS + 5 * HOUR_MS) as f64 / plan.targets[0].interval.as_millis() as f64;
    let want = 1.0 - 3.0 / (0.1 * (2.0 * per_target - 1.0));
    let got = p.error_budget_remaining.unwrap();
    assert!((got - want).abs() < 1e-9, "{got} vs {want}");
    assert!(
        got > 0.99,
        "20 rounds of a month cannot spend its budget: {got}"
    );
    let va = a.view("a", now).unwrap();
    assert_eq!(va.availability["7d"], 0.7);
    assert_eq!(a.view("p", now).unwrap().rounds, p.rounds);
    assert_eq!(all.len(), 4, "three targets and one provider");
    assert_eq!(p.days.len(), 30);
    assert_eq!(p.days[29].counts.rounds, 20);
    assert!(a.all(now, false).iter().all(|f| f.days.is_empty()));
}
