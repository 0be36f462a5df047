//! `active_hours` of a `[[notifications]]` channel: when silence counts.

/// When silence counts, as seconds of the day in a fixed UTC offset: `"08:00-23:00+08:00"`.
/// `start > end` wraps midnight (`"22:00-06:00"`: the night shift).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ActiveHours {
    pub start: u32,
    pub end: u32,
    /// Seconds east of UTC.
    pub offset: i32,
}

const DAY: i64 = 86_400;

impl ActiveHours {
    /// `"HH:MM-HH:MM"` with an optional `Z` or `±HH:MM` offset (UTC when absent).
    pub fn parse(s: &str) -> Option<ActiveHours> {
        let (start, rest) = s.split_once('-')?;
        let (end, offset) = match rest.find(['+', '-', 'Z']) {
            Some(i) => (&rest[..i], &rest[i..]),
            None => (rest, ""),
        };
        let offset = match offset {
            "" | "Z" => 0,
            o => {
                let sign = if o.starts_with('-') { -1 } else { 1 };
                sign * hhmm(&o[1..]).filter(|v| *v <= 14 * 3600)? as i32
            }
        };
        let (start, end) = (hhmm(start)?, hhmm(end)?);
        (start != end).then_some(ActiveHours { start, end, offset })
    }

    /// Seconds since the current active window began, or `None` outside it.
    pub fn into_window(&self, unix: i64) -> Option<i64> {
        let tod = (unix + i64::from(self.offset)).rem_euclid(DAY);
        let since = (tod - i64::from(self.start)).rem_euclid(DAY);
        let len = (i64::from(self.end) - i64::from(self.start)).rem_euclid(DAY);
        (since < len).then_some(since)
    }
}

fn hhmm(s: &str) -> Option<u32> {
    let (h, m) = s.split_once(':')?;
    let (h, m) = (h.parse::<u32>().ok()?, m.parse::<u32>().ok()?);
    (h <= 23 && m <= 59 && s.len() == 5).then_some(h * 3600 + m * 60)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn active_hours_parse_and_wrap_midnight() {
        let day = ActiveHours::parse("08:00-23:00+08:00").unwrap();
        assert_eq!(
            (day.start, day.end, day.offset),
            (8 * 3600, 23 * 3600, 8 * 3600)
        );
        // 2026-01-01T01:00:00Z is 09:00 in UTC+8: one hour into the window.
        assert_eq!(day.into_window(1_767_229_200), Some(3600));
        // 16:00Z is 00:00 in UTC+8: outside.
        assert_eq!(day.into_window(1_767_283_200), None);
        let night = ActiveHours::parse("22:00-06:00").unwrap();
        assert_eq!(night.into_window(1_767_225_600 + 23 * 3600), Some(3600));
        assert_eq!(night.into_window(1_767_225_600 + 5 * 3600), Some(7 * 3600));
        assert_eq!(night.into_window(1_767_225_600 + 12 * 3600), None);
        for bad in [
            "8:00-23:00",
            "08:00-08:00",
            "08:00",
            "25:00-01:00",
            "08:00-09:00+15:00",
        ] {
            assert!(ActiveHours::parse(bad).is_none(), "{bad}");
        }
        assert_eq!(
            ActiveHours::parse("00:00-12:00-05:30").unwrap().offset,
            -19_800
        );
    }
}
