use std::time::{Duration, SystemTime, UNIX_EPOCH};

use super::ActiveHours;
use super::*;

fn at(secs: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(secs)
}

#[test]
fn rfc3339_offsets_fractions_and_refusals() {
    let want = at(1_767_323_045); // 2026-01-02T03:04:05Z
    for s in [
        "2026-01-02T03:04:05Z",
        "2026-01-02T11:04:05+08:00",
        "2026-01-01 22:04:05-05:00",
    ] {
        assert_eq!(parse_rfc3339(s), Ok(want), "{s}");
    }
    assert_eq!(
        parse_rfc3339("2026-01-02T03:04:05.250Z"),
        Ok(want + Duration::from_millis(250))
    );
    for bad in [
        "",
        "2026-01-02",
        "2026-02-30T00:00:00Z",
        "2026-01-02T03:04:05",
        "2026-01-02T03:04:05+0800",
        "2026-01-02T24:00:00Z",
        "2026-01-02T03:04:05.Z",
        "２０２６-01-02T03:04:05Z",
    ] {
        assert!(parse_rfc3339(bad).is_err(), "{bad}");
    }
}

#[test]
fn pushes_are_idempotent_by_id_and_bounded() {
    let s = ChannelState::new(at(0));
    let max = Duration::from_secs(60);
    assert_eq!(
        s.push("a", at(100), at(130), max),
        Pushed::New {
            delay: Duration::from_secs(30),
            late: false
        }
    );
    assert_eq!(s.push("a", at(100), at(500), max), Pushed::Duplicate);
    assert!(matches!(
        s.push("b", at(100), at(400), max),
        Pushed::New { late: true, .. }
    ));
    let r = s.read(at(401), None, None);
    assert_eq!((r.received, r.late), (2, 1));
    assert!(r.last.is_some_and(|l| l.late && l.id == "b"));
    // The oldest ids are forgotten past the bound: memory stays bounded.
    for i in 0..NOTIFICATION_IDS_REMEMBERED {
        s.push(&format!("n{i}"), at(500), at(500), max);
    }
    assert!(matches!(
        s.push("a", at(600), at(600), max),
        Pushed::New { .. }
    ));
    assert!(crate::sync::lock(&s.inner, "t").ids.len() <= NOTIFICATION_IDS_REMEMBERED);
}

#[test]
fn silence_counts_once_and_only_within_active_hours() {
    let s = ChannelState::new(at(0));
    let max = Some(Duration::from_secs(600));
    assert!(s.read(at(500), max, None).silent_for.is_none());
    let r = s.read(at(700), max, None);
    assert!(r.new_silence && r.silent_for == Some(Duration::from_secs(700)));
    let r = s.read(at(800), max, None);
    assert!(!r.new_silence && r.missing == 1);
    s.push("x", at(790), at(800), Duration::from_secs(60));
    assert!(s.read(at(900), max, None).silent_for.is_none());
    // Quiet nights: 1970-01-01 is watched 08:00-20:00 UTC only.
    let day = ActiveHours::parse("08:00-20:00").unwrap();
    let s = ChannelState::new(at(0));
    assert!(
        s.read(at(3 * 3600), max, Some(day)).silent_for.is_none(),
        "night"
    );
    // At 08:05 the silence counts from 08:00, not from midnight.
    assert!(s
        .read(at(8 * 3600 + 300), max, Some(day))
        .silent_for
        .is_none());
    assert!(s
        .read(at(8 * 3600 + 700), max, Some(day))
        .silent_for
        .is_some());
}

proptest::proptest! {
    /// Remote input never panics: any string is a date or a refusal, and so are active hours.
    #[test]
    fn any_text_is_parsed_or_refused(s in "\\PC{0,40}", t in "[0-9:TZ+ .-]{0,32}") {
        let _ = parse_rfc3339(&s);
        let _ = parse_rfc3339(&t);
        let _ = ActiveHours::parse(&s);
        if let Some(a) = ActiveHours::parse(&t) {
            let _ = a.into_window(i64::MAX / 2);
            let _ = a.into_window(i64::MIN / 2);
        }
    }
}
