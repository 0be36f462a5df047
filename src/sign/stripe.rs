//! Stripe: a bearer key (`Authorization: Bearer rk_...`, a restricted key is the one to
//! give a probe) and the pinned API version (`Stripe-Version`), as Stripe's API reference
//! ("Authentication", "Versioning") documents. Stripe does not sign its answers; only GETs
//! are allowed (issue 19, point 2: Stripe's GETs only read).

use std::fmt;

use hyper::header::{HeaderName, HeaderValue, AUTHORIZATION};

use super::{sensitive, SignError};

/// The secret API key, never printed.
pub struct ApiKey(String);

impl fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ApiKey(<redacted>)")
    }
}

impl ApiKey {
    pub fn new(key: String) -> ApiKey {
        ApiKey(key)
    }
}

#[derive(Debug)]
pub struct Stripe {
    pub key: ApiKey,
    pub version: Option<String>,
}

impl Stripe {
    pub fn headers(&self) -> Result<Vec<(HeaderName, HeaderValue)>, SignError> {
        let mut out = vec![(AUTHORIZATION, sensitive(&format!("Bearer {}", self.key.0))?)];
        if let Some(v) = &self.version {
            let v = HeaderValue::from_str(v).map_err(|_| SignError::Header)?;
            out.push((HeaderName::from_static("stripe-version"), v));
        }
        Ok(out)
    }

    /// The key's type, which is not secret: `rk_live`, `sk_test`, ... (else `key`).
    pub fn key_type(&self) -> String {
        let mut parts = self.key.0.splitn(3, '_');
        match (parts.next(), parts.next(), parts.next()) {
            (Some(t @ ("rk" | "sk")), Some(m @ ("live" | "test")), Some(_)) => format!("{t}_{m}"),
            _ => "key".into(),
        }
    }
}

/// A Stripe API version: a date, optionally with a release name (`2024-06-20`,
/// `2025-03-31.basil`), as a semver-comparable `YYYY.M.D` so `[targets.api_version]
/// require = ">=2024.6.20"` works (issue 19, point 1).
pub fn version_as_semver(v: &str) -> Option<semver::Version> {
    let date = v.trim().split('.').next()?;
    let mut it = date.split('-');
    let (y, m, d) = (it.next()?, it.next()?, it.next()?);
    if it.next().is_some() || y.len() != 4 || m.len() != 2 || d.len() != 2 {
        return None;
    }
    let (y, m, d): (u64, u64, u64) = (y.parse().ok()?, m.parse().ok()?, d.parse().ok()?);
    ((1..=12).contains(&m) && (1..=31).contains(&d)).then(|| semver::Version::new(y, m, d))
}

/// A version requirement with Stripe dates written as dates (`>=2024-06-20, <2025-03-31`)
/// as a semver one (`>=2024.6.20, <2025.3.31`); anything else is left as it is.
pub fn dates_as_semver(req: &str) -> String {
    let mut out = String::with_capacity(req.len());
    let mut rest = req;
    while let Some(i) = rest.find(|c: char| c.is_ascii_digit()) {
        out.push_str(&rest[..i]);
        rest = &rest[i..];
        let end = rest
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '-' || c == '.'))
            .unwrap_or(rest.len());
        let token = &rest[..end];
        match version_as_semver(token).filter(|_| token.contains('-')) {
            Some(v) => out.push_str(&v.to_string()),
            None => out.push_str(token),
        }
        rest = &rest[end..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_compare_as_versions() {
        let a = version_as_semver("2024-06-20").unwrap();
        let b = version_as_semver("2025-03-31.basil").unwrap();
        assert!(a < b);
        assert_eq!(b, semver::Version::new(2025, 3, 31));
        assert!(version_as_semver("2024-13-01").is_none());
        assert!(version_as_semver("1.2.3").is_none());
    }

    #[test]
    fn requirements_may_name_dates() {
        assert_eq!(
            dates_as_semver(">=2024-06-20, <2025-03-31.basil"),
            ">=2024.6.20, <2025.3.31"
        );
        assert_eq!(dates_as_semver(">=3.0, <4"), ">=3.0, <4");
        let req = semver::VersionReq::parse(&dates_as_semver(">=2024-06-20")).unwrap();
        assert!(req.matches(&version_as_semver("2025-03-31.basil").unwrap()));
        assert!(!req.matches(&version_as_semver("2023-10-16").unwrap()));
    }

    #[test]
    fn key_type_never_shows_the_key() {
        let s = Stripe {
            key: ApiKey::new("rk_live_abcdef123".into()),
            version: None,
        };
        assert_eq!(s.key_type(), "rk_live");
        assert!(!format!("{s:?}").contains("abcdef"));
    }
}
