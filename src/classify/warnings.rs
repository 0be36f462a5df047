//! The warnings of a passing round, as parts ([`WarningParts`]) the catalogue says in each
//! language (`crate::lang::warning`): certificates about to expire, deprecated or sunsetting
//! APIs, a rotated platform certificate, a drifting clock.
//!
//! Built here, not in `sign` (which sits beside `lang` at the bottom of the layers), from
//! what the signed exchange observed.

use crate::checked::Checked;
use crate::lang::WarningParts;
use crate::sign::{Credential, SignEvidence};

/// Warnings of a passing round, each once, in the order the checks reported them.
pub(super) fn of_round(round: &[Checked]) -> Vec<WarningParts> {
    let mut out: Vec<WarningParts> = round
        .iter()
        .filter(|c| c.readings.cert_expiring)
        .filter_map(|c| c.observed.tls.as_ref()?.certificate.as_ref())
        .map(|c| WarningParts::CertExpiring {
            subject: c.subject.clone(),
            not_after: c.not_after.clone(),
        })
        .collect();
    let versions = round.iter().filter_map(|c| c.readings.api_version.as_ref());
    out.extend(versions.flat_map(|a| a.warnings.iter().cloned()));
    let credentials = round
        .iter()
        .flat_map(Checked::credentials)
        .filter(|(_, x)| x.expiring);
    out.extend(credentials.map(|(cred, x)| credential_expiring(cred, x.critical)));
    let signed = round
        .iter()
        .filter_map(|c| c.observed.http.as_ref()?.signature.as_ref());
    out.extend(signed.flat_map(sign_warnings));
    // `http` and `api_version` judge one shared answer: its warnings come twice. A round
    // has a handful of warnings at most, so the quadratic look-up costs nothing.
    let mut kept: Vec<WarningParts> = Vec::with_capacity(out.len());
    for w in out {
        if !kept.contains(&w) {
            kept.push(w);
        }
    }
    kept
}

/// The warning for a certificate a signed probe relies on that expires within
/// `expiry_warning` (`critical`: within `expiry_critical`), judged in `src/judge/verdict`.
pub fn credential_expiring(c: &Credential, critical: bool) -> WarningParts {
    WarningParts::CredentialExpiring {
        credential: c.credential.to_string(),
        serial: c.serial.clone(),
        not_after: crate::timefmt::rfc3339_secs(c.not_after_unix),
        critical,
    }
}

/// What a passing signed round should still say of its exchange: a platform certificate
/// seen for the first time, a clock drifting away from the provider's.
pub fn sign_warnings(s: &SignEvidence) -> Vec<WarningParts> {
    let mut out = Vec::new();
    if let Some(serial) = &s.new_platform_serial {
        out.push(WarningParts::PlatformRotated {
            serial: serial.clone(),
        });
    }
    if let Some(seconds) = s
        .clock_skew_seconds
        .filter(|k| k.abs() > crate::limits::CLOCK_SKEW_WARNING_SECS)
    {
        out.push(WarningParts::ClockSkew { seconds });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checked::{ApiVersionReading, CredentialExpiry};
    use crate::config::Check;
    use crate::probe::{Evidence, HttpEvidence};

    /// One signed answer judged for `http` and again for `api_version` (a shared request):
    /// the same credential expiring, a rotation, a skewed clock and a deprecated API.
    fn shared_answer(check: Check) -> Checked {
        let mut e = Evidence::new("wx", check);
        e.http = Some(HttpEvidence {
            signature: Some(SignEvidence {
                credentials: vec![
                    Credential::new("platform_cert", "7A2B", 86_400),
                    Credential::new("apiclient_cert", "5157", 90 * 86_400),
                ],
                new_platform_serial: Some("7A2B".into()),
                clock_skew_seconds: Some(-400),
                ..Default::default()
            }),
            ..Default::default()
        });
        let mut c = Checked::unconditioned(e);
        c.readings.credentials = vec![
            CredentialExpiry {
                expiring: true,
                critical: true,
            },
            CredentialExpiry::default(),
        ];
        if check == Check::ApiVersion {
            c.readings.api_version = Some(ApiVersionReading {
                warnings: vec![WarningParts::ApiDeprecated { since: None }],
                ..Default::default()
            });
        }
        c
    }

    #[test]
    fn each_warning_once_in_the_order_of_its_kind() {
        let round = [shared_answer(Check::Http), shared_answer(Check::ApiVersion)];
        let got = of_round(&round);
        let want = [
            WarningParts::ApiDeprecated { since: None },
            WarningParts::CredentialExpiring {
                credential: "platform_cert".into(),
                serial: "7A2B".into(),
                not_after: "1970-01-02T00:00:00Z".into(),
                critical: true,
            },
            WarningParts::PlatformRotated {
                serial: "7A2B".into(),
            },
            WarningParts::ClockSkew { seconds: -400 },
        ];
        assert_eq!(got, want, "the credential not expiring is not warned of");
    }

    #[test]
    fn a_skew_within_the_tolerance_is_not_a_warning() {
        let within = SignEvidence {
            clock_skew_seconds: Some(crate::limits::CLOCK_SKEW_WARNING_SECS),
            ..Default::default()
        };
        assert!(sign_warnings(&within).is_empty());
    }
}
