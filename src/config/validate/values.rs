//! The helpers every table's validator shares: bounded numbers, durations, keywords, entry
//! names, files and environment variables. Each reports its own problem at the key's place,
//! so the message for a kind of value reads the same in every table.

use std::ops::{Range, RangeInclusive};
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::super::error::Problems;
use super::super::raw::S;
use crate::limits::{MAX_CONFIG_DURATION, MAX_NAME_CHARS};

const SECS_PER_DAY: u64 = 86_400;

/// A whole number in `range`. `Some(None)`: the key is absent (the caller knows its
/// default); `None`: a problem was reported.
pub(super) fn int_in(
    v: &Option<S<i64>>,
    key: &str,
    range: RangeInclusive<i64>,
    p: &mut Problems,
) -> Option<Option<i64>> {
    let Some(x) = v else { return Some(None) };
    if range.contains(x.get_ref()) {
        return Some(Some(*x.get_ref()));
    }
    p.at(
        x.span(),
        format!(
            "`{key}` = {}: expected a whole number from {} to {}",
            x.get_ref(),
            range.start(),
            range.end()
        ),
    );
    None
}

/// A duration key bounded by [`MAX_CONFIG_DURATION`]; absent and problem as in [`int_in`].
pub(super) fn duration(
    v: &Option<S<String>>,
    key: &str,
    p: &mut Problems,
) -> Option<Option<Duration>> {
    let Some(v) = v else { return Some(None) };
    duration_max(v, key, MAX_CONFIG_DURATION, p)
}

/// A duration key with its own upper bound (the bound keeps deadline arithmetic far from
/// overflow; see `src/limits/`).
pub(super) fn duration_max(
    v: &S<String>,
    key: &str,
    max: Duration,
    p: &mut Problems,
) -> Option<Option<Duration>> {
    match humantime::parse_duration(v.get_ref()) {
        Ok(d) if d > max => {
            p.at(
                v.span(),
                format!(
                    "`{key}` = {:?} is longer than the largest accepted, {}",
                    v.get_ref(),
                    whole_days(max)
                ),
            );
            None
        }
        Ok(d) if d > Duration::ZERO => Some(Some(d)),
        Ok(_) => {
            p.at(v.span(), format!("`{key}` must be longer than zero"));
            None
        }
        Err(e) => {
            p.at(
                v.span(),
                format!(
                    "`{key}` = {:?}: {e}; expected a duration such as \"15s\", \"1m30s\", \"800ms\"",
                    v.get_ref()
                ),
            );
            None
        }
    }
}

/// `400d` rather than humantime's `1year 1month 4days 13h 30m 54s`.
fn whole_days(d: Duration) -> String {
    match d.as_secs() {
        s if s % SECS_PER_DAY == 0 => format!("{}d", s / SECS_PER_DAY),
        _ => humantime::format_duration(d).to_string(),
    }
}

/// A key that takes one of a few words: `default` when absent, else what `parse` makes of
/// it, else the problem `wrong` words for the value.
pub(super) fn keyword<T>(
    v: Option<&S<String>>,
    default: T,
    parse: impl FnOnce(&str) -> Option<T>,
    wrong: impl FnOnce(&str) -> String,
    p: &mut Problems,
) -> Option<T> {
    let Some(v) = v else { return Some(default) };
    parse(v.get_ref()).or_else(|| {
        p.at(v.span(), wrong(v.get_ref()));
        None
    })
}

/// The `name` of an `entry` (`[[targets]]`, `[[alerts.sinks]]`, ...) whose table starts at
/// `span`; `key` is how the message calls it (`` `name` ``, ``sink `name` ``).
pub(super) fn entry_name(
    n: Option<&S<String>>,
    span: Range<usize>,
    entry: &str,
    key: &str,
    p: &mut Problems,
) -> Option<String> {
    let Some(n) = n else {
        p.at(span, format!("{entry} entry has no `name`"));
        return None;
    };
    if valid_name(n.get_ref()) {
        return Some(n.get_ref().clone());
    }
    p.at(
        n.span(),
        format!(
            "{key} = {:?}: expected 1-{MAX_NAME_CHARS} characters of letters, digits, '-', '_' or '.'",
            n.get_ref()
        ),
    );
    None
}

fn valid_name(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= MAX_NAME_CHARS
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
}

/// A file named in the config: relative to the config file's folder, like every path in it.
pub(super) fn resolve(base: &Path, file: &str) -> PathBuf {
    let f = Path::new(file);
    if f.is_absolute() {
        f.to_path_buf()
    } else {
        base.join(f)
    }
}

/// The bytes of the file that `key` names, or a problem that says which file and why.
pub(super) fn read_file(
    key: &str,
    f: &S<String>,
    base: &Path,
    p: &mut Problems,
) -> Option<Vec<u8>> {
    let path = resolve(base, f.get_ref());
    match std::fs::read(&path) {
        Ok(b) => Some(b),
        Err(e) => {
            p.at(
                f.span(),
                format!("`{key}` {}: cannot read: {e}", path.display()),
            );
            None
        }
    }
}

/// An environment variable's value, or why there is none (naming the variable, never a
/// value).
pub(super) fn env_var(name: &str) -> Result<String, String> {
    std::env::var(name)
        .map_err(|_| format!("environment variable {name} is not set (or not UTF-8)"))
}
