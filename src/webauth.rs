//! Optional TLS and authentication for the listener, configured like the Prometheus exporter
//! toolkit's `web-config.yml` (`[server] web_config = "web.yml"`), so the same file and the
//! same `htpasswd -nBC 10` hashes work for payprobe and for every exporter next to it:
//!
//! ```yaml
//! tls_server_config:
//!   cert_file: server.crt
//!   key_file: server.key
//! basic_auth_users:
//!   prometheus: $2y$10$...        # bcrypt
//! # payprobe's addition: bearer tokens, bcrypt-hashed as well (never stored in clear)
//! bearer_token_hashes:
//!   - $2y$10$...
//! ```
//!
//! Keys the toolkit has and payprobe does not (client certificates, cipher lists, HTTP
//! headers) are refused by name rather than ignored: a user who asked for client
//! certificates must not get a listener without them. `[server] metrics_open = true` leaves
//! `/metrics` (and `/healthz`, `/readyz`) open while the API, the status page and `/probe`
//! still need credentials.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::sync::{Arc, Mutex};

use base64::Engine;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use serde::Deserialize;
use tokio::time::Instant;

use crate::limits;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawWeb {
    tls_server_config: Option<RawTls>,
    #[serde(default)]
    basic_auth_users: BTreeMap<String, String>,
    #[serde(default)]
    bearer_token_hashes: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTls {
    cert_file: Option<String>,
    key_file: Option<String>,
    cert: Option<String>,
    key: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum WebConfigError {
    #[error("{path}: cannot read: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("{path}:{line}:{column}: {message}")]
    Yaml {
        path: String,
        line: usize,
        column: usize,
        message: String,
    },
    #[error("{path}: {message}")]
    Invalid { path: String, message: String },
}

/// The listener's security settings, loaded and checked once per (re)load.
pub struct WebConfig {
    pub tls: Option<tokio_rustls::TlsAcceptor>,
    users: BTreeMap<String, String>,
    tokens: Vec<String>,
    /// Verified (scheme, credential digest) pairs and when they were verified.
    cache: Mutex<HashMap<[u8; 32], Instant>>,
}

impl std::fmt::Debug for WebConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the hashes: they are secrets too (offline guessing).
        f.debug_struct("WebConfig")
            .field("tls", &self.tls.is_some())
            .field("users", &self.users.keys().collect::<Vec<_>>())
            .field("tokens", &self.tokens.len())
            .finish()
    }
}

impl PartialEq for WebConfig {
    fn eq(&self, o: &Self) -> bool {
        self.tls.is_some() == o.tls.is_some() && self.users == o.users && self.tokens == o.tokens
    }
}

impl WebConfig {
    /// Reads `path` (relative names against `base`), and the certificate files it names.
    pub fn load(path: &Path, base: &Path) -> Result<WebConfig, WebConfigError> {
        let shown = path.display().to_string();
        let read = |p: &Path| {
            std::fs::read(p).map_err(|source| WebConfigError::Read {
                path: p.display().to_string(),
                source,
            })
        };
        let text = read(path)?;
        let raw: RawWeb = serde_yaml::from_slice(&text).map_err(|e| {
            let (line, column) = e.location().map_or((0, 0), |l| (l.line(), l.column()));
            WebConfigError::Yaml {
                path: shown.clone(),
                line,
                column,
                message: e.to_string(),
            }
        })?;
        let invalid = |message: String| WebConfigError::Invalid {
            path: shown.clone(),
            message,
        };
        for (user, hash) in &raw.basic_auth_users {
            bcrypt_hash(hash).map_err(|e| {
                invalid(format!("basic_auth_users.{user}: not a bcrypt hash ({e})"))
            })?;
        }
        for (i, hash) in raw.bearer_token_hashes.iter().enumerate() {
            bcrypt_hash(hash).map_err(|e| {
                invalid(format!("bearer_token_hashes[{i}]: not a bcrypt hash ({e})"))
            })?;
        }
        let dir = path.parent().unwrap_or(base);
        let tls = match raw.tls_server_config {
            None => None,
            Some(t) => {
                let pem =
                    |inline: Option<String>, file: Option<String>, what: &str| match (inline, file)
                    {
                        (Some(s), None) => Ok(s.into_bytes()),
                        (None, Some(f)) => read(&dir.join(f)),
                        _ => Err(invalid(format!(
                            "tls_server_config: give exactly one of `{what}` and `{what}_file`"
                        ))),
                    };
                let cert = pem(t.cert, t.cert_file, "cert")?;
                let key = pem(t.key, t.key_file, "key")?;
                Some(
                    acceptor(&cert, &key)
                        .map_err(|m| invalid(format!("tls_server_config: {m}")))?,
                )
            }
        };
        Ok(WebConfig {
            tls,
            users: raw.basic_auth_users,
            tokens: raw.bearer_token_hashes,
            cache: Mutex::default(),
        })
    }

    /// Credentials are needed at all.
    pub fn needs_auth(&self) -> bool {
        !self.users.is_empty() || !self.tokens.is_empty()
    }

    /// Whether the `Authorization` header value carries valid credentials (a bcrypt unless
    /// [`known`](Self::known)).
    pub fn authorized(&self, header: Option<&[u8]>) -> bool {
        if !self.needs_auth() {
            return true;
        }
        let Some((scheme, cred, digest)) = parse(header) else {
            return false;
        };
        if self.cached(&digest) {
            return true;
        }
        let ok = if scheme.eq_ignore_ascii_case("basic") {
            self.basic(cred)
        } else if scheme.eq_ignore_ascii_case("bearer") {
            self.tokens
                .iter()
                .any(|h| bcrypt::verify(cred, h).unwrap_or(false))
        } else {
            false
        };
        if ok {
            self.remember(digest);
        }
        ok
    }

    /// Cheap: no credentials are needed, or these were verified within the cache's TTL. A
    /// request that is not `known` costs a bcrypt, which the caller rate-limits.
    pub fn known(&self, header: Option<&[u8]>) -> bool {
        !self.needs_auth() || parse(header).is_some_and(|(_, _, d)| self.cached(&d))
    }

    fn basic(&self, cred: &str) -> bool {
        let Ok(raw) = base64::engine::general_purpose::STANDARD.decode(cred) else {
            return false;
        };
        let Ok(text) = String::from_utf8(raw) else {
            return false;
        };
        let Some((user, pass)) = text.split_once(':') else {
            return false;
        };
        // An unknown user costs a bcrypt too, so timing does not tell which users exist.
        let hash = self.users.get(user).map_or(DUMMY_HASH, String::as_str);
        bcrypt::verify(pass, hash).unwrap_or(false) && self.users.contains_key(user)
    }

    fn cached(&self, d: &[u8; 32]) -> bool {
        let c = crate::sync::lock(&self.cache, "auth cache");
        c.get(d)
            .is_some_and(|at| at.elapsed() < limits::AUTH_CACHE_TTL)
    }

    fn remember(&self, d: [u8; 32]) {
        let mut c = crate::sync::lock(&self.cache, "auth cache");
        c.retain(|_, at| at.elapsed() < limits::AUTH_CACHE_TTL);
        if c.len() >= limits::AUTH_CACHE_ENTRIES {
            c.clear();
        }
        c.insert(d, Instant::now());
    }
}

/// The scheme and credentials of an `Authorization` value, and the SHA-256 the cache keys on.
fn parse(header: Option<&[u8]>) -> Option<(&str, &str, [u8; 32])> {
    let h = std::str::from_utf8(header?).ok()?;
    let (scheme, cred) = h.split_once(' ').unwrap_or((h, ""));
    let cred = cred.trim();
    let mut d = ring::digest::Context::new(&ring::digest::SHA256);
    d.update(scheme.to_ascii_lowercase().as_bytes());
    d.update(b"\0");
    d.update(cred.as_bytes());
    let mut out = [0u8; 32];
    out.copy_from_slice(d.finish().as_ref());
    Some((scheme, cred, out))
}

/// A valid bcrypt hash of a random string, verified against for unknown users.
const DUMMY_HASH: &str = "$2y$10$mDwo.lAisC94iLAyP81MCesa29IzH37oigHC/42V2pdJlUprsJPze";

fn bcrypt_hash(h: &str) -> Result<(), bcrypt::BcryptError> {
    // Parsing needs a verify; the empty password's result does not matter.
    bcrypt::verify("", h).map(|_| ())
}

fn acceptor(cert: &[u8], key: &[u8]) -> Result<tokio_rustls::TlsAcceptor, String> {
    let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(cert)
        .collect::<Result<_, _>>()
        .map_err(|e| format!("certificate: {e}"))?;
    if chain.is_empty() {
        return Err("no certificate in the certificate PEM".into());
    }
    let key = PrivateKeyDer::from_pem_slice(key).map_err(|e| format!("key: {e}"))?;
    let cfg = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .map_err(|e| e.to_string())?
    .with_no_client_auth()
    .with_single_cert(chain, key)
    .map_err(|e| format!("certificate and key: {e}"))?;
    Ok(tokio_rustls::TlsAcceptor::from(Arc::new(cfg)))
}
