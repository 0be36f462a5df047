use super::*;

fn weekly(spec: &str, zone: &str) -> Window {
    let (day, start, end) = parse_weekly(spec).unwrap();
    Window {
        name: "w".into(),
        providers: vec![],
        targets: vec![],
        when: When::Weekly(Weekly {
            day,
            start,
            end,
            tz: jiff::tz::TimeZone::get(zone).unwrap(),
            tz_name: zone.into(),
            spec: spec.into(),
        }),
    }
}

fn ms(s: &str) -> i64 {
    s.parse::<jiff::Timestamp>().unwrap().as_millisecond()
}

#[test]
fn weekly_specs_parse_or_say_why() {
    assert!(parse_weekly("Sun 01:00-03:00").is_ok());
    assert!(parse_weekly("sat 23:30-00:30").is_ok());
    for bad in [
        "Sunday 01:00-03:00",
        "Sun 1:00-03:00",
        "Sun 01:00",
        "Sun 24:00-01:00",
        "Sun 01:00-01:00",
        "",
    ] {
        assert!(parse_weekly(bad).is_err(), "{bad}");
    }
}

#[test]
fn a_shanghai_night_window_is_utc_the_evening_before() {
    let w = weekly("Sun 01:00-03:00", "Asia/Shanghai");
    // Sunday 2026-12-06 01:00 +08:00 is Saturday 17:00 UTC.
    assert!(w.active_at(ms("2026-12-05T17:00:00Z")).is_some());
    assert!(w.active_at(ms("2026-12-05T18:59:59Z")).is_some());
    assert!(w.active_at(ms("2026-12-05T19:00:00Z")).is_none());
    assert!(w.active_at(ms("2026-12-05T16:59:59Z")).is_none());
    let next = w.current_or_next(ms("2026-12-06T00:00:00Z")).unwrap();
    assert_eq!(next.start_ms, ms("2026-12-12T17:00:00Z"));
}

#[test]
fn a_window_across_midnight_ends_the_next_day() {
    let w = weekly("Sat 23:00-01:00", "UTC");
    assert!(w.active_at(ms("2026-12-06T00:30:00Z")).is_some());
    assert!(w.active_at(ms("2026-12-06T01:00:00Z")).is_none());
}

#[test]
fn a_window_follows_the_wall_clock_across_dst() {
    // New York: EDT (-4) until 2026-11-01 02:00, then EST (-5).
    let w = weekly("Sun 01:00-03:00", "America/New_York");
    let o = w.current_or_next(ms("2026-10-31T00:00:00Z")).unwrap();
    // 01:00 is repeated that night: the first (EDT) is taken; 03:00 is EST.
    assert_eq!(o.start_ms, ms("2026-11-01T05:00:00Z"));
    assert_eq!(o.end_ms, ms("2026-11-01T08:00:00Z"));
    let o = w.current_or_next(ms("2026-11-02T00:00:00Z")).unwrap();
    assert_eq!(o.start_ms, ms("2026-11-08T06:00:00Z"));
}

#[test]
fn scope_is_by_provider_target_or_everything() {
    let mut w = weekly("Sun 01:00-03:00", "UTC");
    assert!(w.applies("a", "alipay"));
    w.providers = vec!["alipay".into()];
    assert!(w.applies("a", "alipay") && !w.applies("b", "stripe"));
    w.targets = vec!["b".into()];
    assert!(w.applies("b", "stripe") && !w.applies("c", "stripe"));
}
