//! A target's TLS keys: `min_tls_version`, `ca_file`, `crl_file` (read here, at each
//! load or reload) and `cert_expiry_warning`.

use std::path::Path;
use std::time::Duration;

use super::super::error::Problems;
use super::super::raw::RawTarget;
use super::values::{duration, keyword, read_file};
use crate::tls::{TlsClient, TlsSetupError, TlsVersion};

/// `cert_expiry_warning` when not set: a valid certificate expiring within two weeks warns.
const DEFAULT_CERT_WARNING: Duration = Duration::from_secs(14 * 86_400);

/// The TLS keys, each `None` where a problem was reported.
pub(super) struct TlsParts {
    pub(super) min_version: Option<TlsVersion>,
    pub(super) client: Option<TlsClient>,
    pub(super) cert_expiry_warning: Option<Duration>,
}

pub(super) fn tls(t: &RawTarget, base: &Path, p: &mut Problems) -> TlsParts {
    let min_version = keyword(
        t.min_tls_version.as_ref(),
        TlsVersion::Tls12,
        TlsVersion::parse,
        |v| format!("`min_tls_version` = {v:?}: expected \"1.2\" or \"1.3\""),
        p,
    );
    let ca = t.ca_file.as_ref().map(|f| read_file("ca_file", f, base, p));
    let crl = t
        .crl_file
        .as_ref()
        .map(|f| read_file("crl_file", f, base, p));
    // A file that could not be read was reported already; build nothing on top of it.
    let unreadable = matches!(ca, Some(None)) || matches!(crl, Some(None));
    let client = match min_version.filter(|_| !unreadable) {
        Some(min) => client(t, ca.flatten(), crl.flatten(), min, p),
        None => None,
    };
    let cert_expiry_warning = duration(&t.cert_expiry_warning, "cert_expiry_warning", p)
        .map(|d| d.unwrap_or(DEFAULT_CERT_WARNING));
    TlsParts {
        min_version,
        client,
        cert_expiry_warning,
    }
}

/// The rustls client; a bad CA or CRL file is reported at the key that named it.
fn client(
    t: &RawTarget,
    ca: Option<Vec<u8>>,
    crl: Option<Vec<u8>>,
    min: TlsVersion,
    p: &mut Problems,
) -> Option<TlsClient> {
    crate::tls::client(ca, crl, min)
        .map_err(|e| {
            let (key, at) = match e {
                TlsSetupError::BadCrl(_) | TlsSetupError::NoCrls => ("crl_file", &t.crl_file),
                _ => ("ca_file", &t.ca_file),
            };
            match at {
                Some(f) => p.at(f.span(), format!("`{key}` {:?}: {e}", f.get_ref())),
                None => p.at(0..0, format!("TLS setup failed: {e}")),
            }
        })
        .ok()
}
