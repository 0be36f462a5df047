//! The `api_version` check's conditions: reads the version from a header, a JSON pointer or
//! a regex over the body, compares it with a semver requirement, reads `Deprecation`
//! (RFC 9745) and `Sunset` (RFC 8594), and checks `required_fields` for schema drift.

use std::time::SystemTime;

use crate::checked::ApiVersionReading;
use crate::lang::{Lang, WarningParts};

use crate::config::{ApiVersionSpec, FieldType, VersionSource};
use crate::probe::{Failure, FailureKind, HttpEvidence, Phase};

/// Judges one response against the target's `[targets.api_version]`. Pure: `now` is given.
pub fn evaluate(
    spec: &ApiVersionSpec,
    h: &HttpEvidence,
    now: SystemTime,
) -> (ApiVersionReading, Result<(), Failure>) {
    let mut ev = ApiVersionReading {
        required: spec.require.as_ref().map(|r| r.to_string()),
        ..Default::default()
    };
    let r = judge(&mut ev, spec, h, crate::timefmt::unix_secs(now));
    (ev, r)
}

/// The conditions in order: a passed Sunset, then the version, then the schema.
fn judge(
    ev: &mut ApiVersionReading,
    spec: &ApiVersionSpec,
    h: &HttpEvidence,
    now_unix: i64,
) -> Result<(), Failure> {
    dates(ev, h, now_unix)?;
    version(ev, spec, h)?;
    schema(ev, spec, h)
}

fn fail(kind: FailureKind, detail: String) -> Result<(), Failure> {
    Err(Failure::new(Phase::Content, kind, detail))
}

fn body_json(h: &HttpEvidence) -> Option<serde_json::Value> {
    serde_json::from_slice::<serde_json::Value>(&h.body).ok()
}

/// `Deprecation` and `Sunset`: warnings, or the failure of a Sunset that has passed.
fn dates(ev: &mut ApiVersionReading, h: &HttpEvidence, now_unix: i64) -> Result<(), Failure> {
    if let Some(v) = h.headers.get("deprecation") {
        ev.deprecated = true;
        ev.deprecation_unix = parse_date(v);
        ev.warnings.push(match ev.deprecation_unix {
            Some(t) if t > now_unix => WarningParts::ApiDeprecating { at: date(t) },
            t => WarningParts::ApiDeprecated { since: t.map(date) },
        });
    }
    ev.sunset_unix = h.headers.get("sunset").and_then(|v| parse_date(v));
    if let Some(s) = ev.sunset_unix {
        if s <= now_unix {
            return fail(
                FailureKind::ApiSunsetPassed,
                format!("the API's Sunset date {} has passed", date(s)),
            );
        }
        ev.warnings.push(WarningParts::ApiSunset { at: date(s) });
    }
    Ok(())
}

/// The version the gateway speaks, read from the configured source, against `require`.
fn version(
    ev: &mut ApiVersionReading,
    spec: &ApiVersionSpec,
    h: &HttpEvidence,
) -> Result<(), Failure> {
    if let Some(src) = &spec.source {
        let (label, seen) = match src {
            VersionSource::Header(name) => (
                format!("header {name}"),
                h.headers.get(&name.to_ascii_lowercase()).cloned(),
            ),
            VersionSource::JsonPointer(p) => (
                format!("json {p}"),
                body_json(h).and_then(|j| j.pointer(p).and_then(crate::profile::text_value)),
            ),
            VersionSource::Regex(re) => (
                format!("regex {}", re.as_str()),
                re.captures(&String::from_utf8_lossy(&h.body))
                    .and_then(|c| c.get(1).or_else(|| c.get(0)))
                    .map(|m| m.as_str().to_string()),
            ),
        };
        ev.source = Some(label.clone());
        ev.seen = seen.clone();
        let Some(seen) = seen else {
            return fail(
                FailureKind::ApiVersionMissing,
                format!("no API version found ({label})"),
            );
        };
        if let Some(req) = &spec.require {
            let Some(v) = coerce(&seen) else {
                return fail(
                    FailureKind::ApiVersionMissing,
                    format!("API version {seen:?} ({label}) is not a version number"),
                );
            };
            let ok = req.matches(&v);
            ev.compatible = Some(ok);
            if !ok {
                return fail(
                    FailureKind::ApiVersionMismatch,
                    format!("the gateway speaks API version {seen}, outside the required {req}"),
                );
            }
        }
    }
    Ok(())
}

/// `required_fields`: each pointer present with its declared type.
fn schema(
    ev: &mut ApiVersionReading,
    spec: &ApiVersionSpec,
    h: &HttpEvidence,
) -> Result<(), Failure> {
    if !spec.required_fields.is_empty() {
        let json = body_json(h);
        for (pointer, want) in &spec.required_fields {
            let found = json.as_ref().and_then(|j| j.pointer(pointer));
            if !want.accepts(found) {
                let got = match found {
                    None if json.is_none() => "the body is not JSON".to_string(),
                    None => "missing".to_string(),
                    Some(v) => format!("a {}", type_name(v)),
                };
                ev.schema_drift.insert(
                    pointer.clone(),
                    format!("expected {}, found {got}", want.as_str()),
                );
            }
        }
        if !ev.schema_drift.is_empty() {
            let list: Vec<String> = ev
                .schema_drift
                .iter()
                .map(|(k, v)| format!("{k}: {v}"))
                .collect();
            return fail(
                FailureKind::ApiSchemaDrift,
                format!(
                    "the response no longer has the expected shape: {}",
                    list.join("; ")
                ),
            );
        }
    }
    Ok(())
}

/// Entry point for the fuzz targets and the property tests (`fuzz/`, `tests/it/arbitrary.rs`):
/// judges a response carrying these `Deprecation` and `Sunset` values and this body, reading
/// the version at `/version`, requiring `>=1` and a string at `/id`. Returns the warnings, so
/// callers can check they are bounded.
#[doc(hidden)]
pub fn fuzz_evaluate(deprecation: &str, sunset: &str, body: &[u8]) -> Vec<String> {
    let spec = ApiVersionSpec {
        source: Some(VersionSource::JsonPointer("/version".into())),
        require: semver::VersionReq::parse(">=1").ok(),
        required_fields: [("/id".to_string(), FieldType::String)].into(),
    };
    let h = HttpEvidence {
        status: Some(200),
        headers: [
            ("deprecation".to_string(), deprecation.to_string()),
            ("sunset".to_string(), sunset.to_string()),
        ]
        .into(),
        body: bytes::Bytes::copy_from_slice(body),
        ..Default::default()
    };
    let warnings = evaluate(&spec, &h, SystemTime::now()).0.warnings;
    warnings
        .iter()
        .map(|w| crate::lang::warning(w, Lang::En))
        .collect()
}

/// `3`, `3.1`, `v3.1.2`, `3.1.2-beta.1` → a semver version; a Stripe date version
/// (`2024-06-20`, `2025-03-31.basil`) → `2024.6.20` (issue 19: dates compare by date);
/// anything else is not one.
pub fn coerce(s: &str) -> Option<semver::Version> {
    let s = s.trim().trim_start_matches(['v', 'V']);
    if let Ok(v) = semver::Version::parse(s) {
        return Some(v);
    }
    // Only a bare number list is padded: "2024-06-20" is a date, not version 2024.
    if !s.chars().all(|c| c.is_ascii_digit() || c == '.') {
        return crate::sign::stripe::version_as_semver(s);
    }
    let numeric = s;
    let parts: Vec<&str> = numeric.split('.').filter(|p| !p.is_empty()).collect();
    if parts.is_empty() || parts.len() > 3 {
        return None;
    }
    let n = |i: usize| parts.get(i).map_or(Some(0), |p| p.parse::<u64>().ok());
    Some(semver::Version::new(n(0)?, n(1)?, n(2)?))
}

/// RFC 9745 dates are structured-field dates (`@1688169599`); RFC 8594 and older drafts use
/// HTTP-dates. `true` (an early draft) means "deprecated, no date".
fn parse_date(v: &str) -> Option<i64> {
    let v = v.trim();
    if let Some(n) = v.strip_prefix('@') {
        return n.parse().ok();
    }
    httpdate::parse_http_date(v)
        .ok()
        .map(crate::timefmt::unix_secs)
}

/// The gateway picks these dates: any `i64` must format (see `src/timefmt/mod.rs`).
fn date(unix: i64) -> String {
    crate::timefmt::rfc3339_secs(unix)
}

fn type_name(v: &serde_json::Value) -> &'static str {
    match v {
        serde_json::Value::Null => "null",
        serde_json::Value::Bool(_) => "boolean",
        serde_json::Value::Number(n) if n.is_i64() || n.is_u64() => "integer",
        serde_json::Value::Number(_) => "number",
        serde_json::Value::String(_) => "string",
        serde_json::Value::Array(_) => "array",
        serde_json::Value::Object(_) => "object",
    }
}

impl FieldType {
    fn accepts(self, v: Option<&serde_json::Value>) -> bool {
        let Some(v) = v else { return false };
        match self {
            FieldType::Any => true,
            FieldType::String => v.is_string(),
            FieldType::Number => v.is_number(),
            FieldType::Integer => v.is_i64() || v.is_u64(),
            FieldType::Boolean => v.is_boolean(),
            FieldType::Object => v.is_object(),
            FieldType::Array => v.is_array(),
            FieldType::Null => v.is_null(),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;
    use std::time::{Duration, UNIX_EPOCH};

    use super::*;
    use crate::lang::warning;

    fn spec(toml: &str) -> ApiVersionSpec {
        let src = format!("[[targets]]\nname = \"t\"\nurl = \"https://gw.example/v3/x\"\nchecks = [\"api_version\"]\n[targets.api_version]\n{toml}\n");
        let plan = crate::config::parse(Path::new("t.toml"), &src, Path::new("."))
            .unwrap_or_else(|e| panic!("{e}"));
        plan.targets[0].api_version.clone()
    }

    fn resp(headers: &[(&str, &str)], body: &str) -> HttpEvidence {
        HttpEvidence {
            status: Some(200),
            headers: headers
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            body: bytes::Bytes::from(body.to_string()),
            ..Default::default()
        }
    }

    /// 2026-01-01T00:00:00Z
    const NOW: u64 = 1_767_225_600;

    fn now() -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(NOW)
    }

    fn kind(r: &Result<(), Failure>) -> Option<FailureKind> {
        r.as_ref().err().map(|f| f.kind)
    }

    #[test]
    fn version_from_a_header_within_and_outside_the_range() {
        let s = spec("header = \"X-Api-Version\"\nrequire = \">=3.0, <4\"");
        let (ev, r) = evaluate(&s, &resp(&[("x-api-version", "3.2")], ""), now());
        assert!(r.is_ok() && ev.compatible == Some(true), "{ev:?}");
        assert_eq!(ev.source.as_deref(), Some("header X-Api-Version"));
        let (ev, r) = evaluate(&s, &resp(&[("x-api-version", "2.9.1")], ""), now());
        assert_eq!(kind(&r), Some(FailureKind::ApiVersionMismatch));
        assert_eq!(ev.compatible, Some(false));
        let (_, r) = evaluate(&s, &resp(&[("x-api-version", "v4")], ""), now());
        assert_eq!(kind(&r), Some(FailureKind::ApiVersionMismatch));
        let (_, r) = evaluate(&s, &resp(&[], ""), now());
        assert_eq!(kind(&r), Some(FailureKind::ApiVersionMissing));
        let (_, r) = evaluate(&s, &resp(&[("x-api-version", "banana")], ""), now());
        assert_eq!(kind(&r), Some(FailureKind::ApiVersionMissing));
    }

    #[test]
    fn version_from_a_json_pointer_and_a_regex() {
        let s = spec("json_pointer = \"/meta/api_version\"\nrequire = \"^3\"");
        let (ev, r) = evaluate(&s, &resp(&[], r#"{"meta":{"api_version":"3.1.0"}}"#), now());
        assert!(r.is_ok(), "{ev:?}");
        let (_, r) = evaluate(&s, &resp(&[], r#"{"meta":{"api_version":2}}"#), now());
        assert_eq!(
            kind(&r),
            Some(FailureKind::ApiVersionMismatch),
            "numbers are versions too"
        );
        let (_, r) = evaluate(&s, &resp(&[], "not json"), now());
        assert_eq!(kind(&r), Some(FailureKind::ApiVersionMissing));
        let s = spec("regex = 'gateway/v(\\d+\\.\\d+)'\nrequire = \">=2.5\"");
        let (ev, r) = evaluate(
            &s,
            &resp(&[], "<p>served by gateway/v2.7 (build 99)</p>"),
            now(),
        );
        assert!(r.is_ok(), "{ev:?}");
        assert_eq!(ev.seen.as_deref(), Some("2.7"));
    }

    #[test]
    fn deprecation_and_sunset() {
        let s = spec("");
        // RFC 9745 structured date in the past, RFC 8594 Sunset in the future: warnings only.
        let (ev, r) = evaluate(
            &s,
            &resp(
                &[
                    ("deprecation", "@1735689600"),
                    ("sunset", "Wed, 01 Jul 2026 00:00:00 GMT"),
                ],
                "",
            ),
            now(),
        );
        assert!(r.is_ok());
        assert!(ev.deprecated);
        assert_eq!(ev.deprecation_unix, Some(1_735_689_600));
        assert_eq!(ev.sunset_unix, Some(1_782_864_000));
        assert_eq!(ev.warnings.len(), 2, "{:?}", ev.warnings);
        let said: Vec<String> = ev.warnings.iter().map(|w| warning(w, Lang::En)).collect();
        assert_eq!(
            said,
            [
                "the API is deprecated since 2025-01-01T00:00:00Z: plan the upgrade",
                "the API will be switched off at 2026-07-01T00:00:00Z (Sunset)"
            ],
        );
        // Past Sunset: the API is switched off, whatever the status said.
        let (_, r) = evaluate(
            &s,
            &resp(&[("sunset", "Sat, 01 Nov 2025 00:00:00 GMT")], ""),
            now(),
        );
        assert_eq!(kind(&r), Some(FailureKind::ApiSunsetPassed));
        let (ev, _) = evaluate(&s, &resp(&[("deprecation", "true")], ""), now());
        assert!(ev.deprecated && ev.deprecation_unix.is_none());
    }

    #[test]
    fn required_fields_catch_schema_drift() {
        let s = spec("required_fields = { \"/trade_no\" = \"string\", \"/amount\" = \"number\", \"/items\" = \"array\" }");
        let (_, r) = evaluate(
            &s,
            &resp(&[], r#"{"trade_no":"T1","amount":12.5,"items":[]}"#),
            now(),
        );
        assert!(r.is_ok());
        let (ev, r) = evaluate(&s, &resp(&[], r#"{"trade_no":12345,"items":[]}"#), now());
        assert_eq!(kind(&r), Some(FailureKind::ApiSchemaDrift));
        assert_eq!(
            ev.schema_drift.get("/amount").map(String::as_str),
            Some("expected number, found missing")
        );
        assert_eq!(
            ev.schema_drift.get("/trade_no").map(String::as_str),
            Some("expected string, found a integer")
        );
    }

    #[test]
    fn versions_are_coerced_to_semver() {
        assert_eq!(coerce("3"), Some(semver::Version::new(3, 0, 0)));
        assert_eq!(coerce("v3.1"), Some(semver::Version::new(3, 1, 0)));
        assert_eq!(coerce(" 2.0.7 "), Some(semver::Version::new(2, 0, 7)));
        assert_eq!(
            coerce("3.1.2-beta.1").map(|v| v.pre.to_string()),
            Some("beta.1".into())
        );
        assert_eq!(
            coerce("2024-06-20"),
            Some(semver::Version::new(2024, 6, 20))
        );
        assert_eq!(
            coerce("2025-03-31.basil"),
            Some(semver::Version::new(2025, 3, 31))
        );
        assert_eq!(coerce("2024-6-20"), None);
        assert_eq!(coerce(""), None);
    }

    #[test]
    fn config_mistakes_are_located() {
        let src = "[[targets]]\nname = \"t\"\nurl = \"https://x.example\"\n[targets.api_version]\nheader = \"V\"\nregex = \"(\"\nrequire = \"~~3\"\nrequired_fields = { \"a\" = \"text\" }\n";
        let e = crate::config::parse(Path::new("t.toml"), src, Path::new(".")).unwrap_err();
        let lines: Vec<usize> = e.problems().iter().map(|p| p.line).collect();
        assert_eq!(lines, vec![6, 7, 8], "{e}");
    }
}
