//! Time in one place: RFC 3339 text for any instant a remote party can name, Unix seconds
//! and milliseconds, serde helpers, and the RFC 3339 parser of the notification
//! reports (`parse.rs`).
//!
//! `humantime`'s formatter panics before 1970 and after 9999, and a gateway chooses the dates
//! it sends (a `Deprecation: @300000000000`, a certificate valid from 1950): those reached it
//! and killed the probe (issue 15). This formatter is total over `i64` seconds: the proleptic
//! Gregorian calendar (Howard Hinnant's `civil_from_days`), years outside 0000-9999 written
//! with a sign as ISO 8601's expanded form does.

mod parse;

pub use parse::parse_rfc3339;

use std::time::{SystemTime, UNIX_EPOCH};

/// `unix` seconds as `YYYY-MM-DDTHH:MM:SSZ`.
pub fn rfc3339_secs(unix: i64) -> String {
    let (date, secs) = (unix.div_euclid(86_400), unix.rem_euclid(86_400));
    let (y, m, d) = civil_from_days(date);
    format!(
        "{}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        year(y),
        secs / 3600,
        secs / 60 % 60,
        secs % 60
    )
}

/// A `SystemTime` (before the epoch too) as `YYYY-MM-DDTHH:MM:SS.mmmZ`.
pub fn rfc3339_millis(t: SystemTime) -> String {
    let millis: i128 = match t.duration_since(UNIX_EPOCH) {
        Ok(d) => d.as_millis() as i128,
        Err(e) => -(e.duration().as_millis() as i128),
    };
    let secs = millis
        .div_euclid(1000)
        .clamp(i64::MIN.into(), i64::MAX.into()) as i64;
    let ms = millis.rem_euclid(1000);
    let whole = rfc3339_secs(secs);
    format!("{}.{ms:03}Z", whole.trim_end_matches('Z'))
}

/// Unix milliseconds as `YYYY-MM-DDTHH:MM:SS.mmmZ`. Total over every `ms` (a value read
/// back from `state_dir` may be anything; humantime's formatter failed from year 10000 on).
pub fn rfc3339_ms(ms: u64) -> String {
    rfc3339_millis(UNIX_EPOCH + std::time::Duration::from_millis(ms))
}

/// Signed Unix milliseconds (a maintenance window's edge) as RFC 3339; before 1970 is 1970.
pub fn rfc3339_ms_signed(ms: i64) -> String {
    rfc3339_ms(u64::try_from(ms).unwrap_or(0))
}

/// `SystemTime` as Unix milliseconds; 0 before 1970, saturating far in the future.
pub fn unix_ms(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// `SystemTime` as Unix seconds, negative before 1970 (never a panic, never a wrap).
pub fn unix_secs(t: SystemTime) -> i64 {
    match t.duration_since(UNIX_EPOCH) {
        Ok(d) => i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
        Err(e) => i64::try_from(e.duration().as_secs()).map_or(i64::MIN, |s| -s),
    }
}

fn year(y: i64) -> String {
    if (0..=9999).contains(&y) {
        format!("{y:04}")
    } else {
        format!("{y:+05}")
    }
}

/// Days since 1970-01-01 → (year, month, day). Exact for every `i64` day count reachable
/// from `i64` seconds (the intermediate values stay far from `i64`'s range).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097); // [0, 146096]
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365; // [0, 399]
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100); // [0, 365]
    let mp = (5 * doy + 2) / 153; // [0, 11]
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32; // [1, 31]
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32; // [1, 12]
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// Serde helpers: a duration as seconds (a float, as Prometheus and the API give them) and
/// an instant as RFC 3339 with milliseconds.
pub mod ser {
    use std::time::{Duration, SystemTime};

    use serde::Serializer;

    pub fn secs<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_f64(d.as_secs_f64())
    }

    pub fn opt_secs<S: Serializer>(d: &Option<Duration>, s: S) -> Result<S::Ok, S::Error> {
        match d {
            Some(d) => s.serialize_f64(d.as_secs_f64()),
            None => s.serialize_none(),
        }
    }

    pub fn rfc3339<S: Serializer>(t: &SystemTime, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(&super::rfc3339_millis(*t))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::time::Duration;

    #[test]
    fn known_dates() {
        assert_eq!(rfc3339_secs(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339_secs(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(rfc3339_secs(-1), "1969-12-31T23:59:59Z");
        // A certificate notBefore of 1950 (x509 UTCTime's lowest year).
        assert_eq!(rfc3339_secs(-631_152_000), "1950-01-01T00:00:00Z");
        assert_eq!(rfc3339_secs(253_402_300_799), "9999-12-31T23:59:59Z");
        assert_eq!(rfc3339_secs(253_402_300_800), "+10000-01-01T00:00:00Z");
        // The header that used to panic the probe.
        assert!(rfc3339_secs(300_000_000_000).starts_with("+11476-"));
        assert!(rfc3339_secs(-62_167_219_201).starts_with("-0001-12-31"));
    }

    #[test]
    fn millis_before_and_after_the_epoch() {
        let t = UNIX_EPOCH + Duration::from_millis(1_500);
        assert_eq!(rfc3339_millis(t), "1970-01-01T00:00:01.500Z");
        let t = UNIX_EPOCH - Duration::from_millis(1);
        assert_eq!(rfc3339_millis(t), "1969-12-31T23:59:59.999Z");
        assert_eq!(unix_secs(UNIX_EPOCH - Duration::from_secs(5)), -5);
    }

    proptest! {
        /// Total over i64 and equal to humantime wherever humantime works.
        #[test]
        fn total_and_agrees_with_humantime(s in any::<i64>()) {
            let out = rfc3339_secs(s);
            if (0..253_402_300_800).contains(&s) {
                let h = humantime::format_rfc3339_seconds(UNIX_EPOCH + Duration::from_secs(s as u64));
                prop_assert_eq!(out, h.to_string());
            }
        }
    }
}
