//! Validation of `[targets.api_version]`: where the version is read, the range it must be
//! in, and the fields (JSON pointers with types) the body must keep.

use std::collections::BTreeMap;

use super::super::error::Problems;
use super::super::raw::{RawApiVersion, S};
use super::super::{ApiVersionSpec, FieldType, VersionSource};

pub(super) fn api_version(r: Option<&RawApiVersion>, p: &mut Problems) -> Option<ApiVersionSpec> {
    let Some(r) = r else {
        return Some(ApiVersionSpec::default());
    };
    let before = p.count();
    let sources: Vec<(&str, &S<String>)> = [
        ("header", &r.header),
        ("json_pointer", &r.json_pointer),
        ("regex", &r.regex),
    ]
    .into_iter()
    .filter_map(|(k, v)| v.as_ref().map(|v| (k, v)))
    .collect();
    if sources.len() > 1 {
        p.at(
            sources[1].1.span(),
            "set one of `header`, `json_pointer` or `regex`, not several",
        );
    }
    let source = sources.first().and_then(|(key, v)| source(key, v, p));
    let require = r
        .require
        .as_ref()
        .and_then(|q| require(q, !sources.is_empty(), p));
    let required_fields = required_fields(r, p);
    (p.count() == before).then_some(ApiVersionSpec {
        source,
        require,
        required_fields,
    })
}

/// The one source set (`header`, `json_pointer` or `regex`), checked.
fn source(key: &str, v: &S<String>, p: &mut Problems) -> Option<VersionSource> {
    match key {
        "header" => Some(VersionSource::Header(v.get_ref().clone())),
        "json_pointer" if v.get_ref().starts_with('/') => {
            Some(VersionSource::JsonPointer(v.get_ref().clone()))
        }
        "json_pointer" => {
            p.at(
                v.span(),
                format!(
                    "`json_pointer` = {:?}: a JSON pointer starts with '/', e.g. \"/data/version\"",
                    v.get_ref()
                ),
            );
            None
        }
        _ => match regex::Regex::new(v.get_ref()) {
            Ok(re) => Some(VersionSource::Regex(re)),
            Err(e) => {
                p.at(v.span(), format!("`regex`: {e}"));
                None
            }
        },
    }
}

/// `require`, a semver range; it needs a source to read the version from. Stripe's date
/// versions may be written as they are (`>=2024-06-20`): dates become `YYYY.M.D`.
fn require(q: &S<String>, has_source: bool, p: &mut Problems) -> Option<semver::VersionReq> {
    match semver::VersionReq::parse(&crate::sign::stripe::dates_as_semver(q.get_ref())) {
        Ok(req) if !has_source => {
            p.at(
                q.span(),
                "`require` needs a `header`, `json_pointer` or `regex` to read the version from",
            );
            Some(req)
        }
        Ok(req) => Some(req),
        Err(e) => {
            p.at(
                q.span(),
                format!(
                    "`require` = {:?}: {e}; expected a semver range such as \">=3.0, <4\" (or of Stripe dates, \">=2024-06-20\")",
                    q.get_ref()
                ),
            );
            None
        }
    }
}

/// JSON pointer → expected type; the problems of every entry are reported.
fn required_fields(r: &RawApiVersion, p: &mut Problems) -> BTreeMap<String, FieldType> {
    let mut out = BTreeMap::new();
    for (k, v) in r.required_fields.iter().flatten() {
        if !k.get_ref().starts_with('/') {
            p.at(
                k.span(),
                format!(
                    "required field {:?}: a JSON pointer starts with '/'",
                    k.get_ref()
                ),
            );
            continue;
        }
        match FieldType::parse(v.get_ref()) {
            Some(t) => {
                out.insert(k.get_ref().clone(), t);
            }
            None => p.at(
                v.span(),
                format!(
                    "type {:?}: expected one of {}",
                    v.get_ref(),
                    FieldType::names()
                ),
            ),
        }
    }
    out
}
