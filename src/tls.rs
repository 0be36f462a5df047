//! rustls client configurations (ring provider only).
//!
//! Loading the system roots reads hundreds of files, so it happens once per process; each
//! distinct (extra CA, minimum version) pair gets one shared `ClientConfig`, so 10,000 targets
//! cost a handful of configs, not 10,000.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex, OnceLock};

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::CertificateDer;
use rustls::{ClientConfig, RootCertStore};
use serde::Serialize;

/// Lowest TLS version a target accepts (`min_tls_version`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub enum TlsVersion {
    #[serde(rename = "1.2")]
    Tls12,
    #[serde(rename = "1.3")]
    Tls13,
}

impl TlsVersion {
    pub fn parse(s: &str) -> Option<TlsVersion> {
        match s {
            "1.2" => Some(TlsVersion::Tls12),
            "1.3" => Some(TlsVersion::Tls13),
            _ => None,
        }
    }
}

/// A shared client config. Equality compares what it was built from, so a reload that
/// changes nothing keeps the running probe loop.
#[derive(Clone)]
pub struct TlsClient {
    pub config: Arc<ClientConfig>,
    /// The extra CA file's contents, if any (part of equality: a changed CA file matters).
    extra_ca: Option<Arc<[u8]>>,
    min_version: TlsVersion,
}

impl PartialEq for TlsClient {
    fn eq(&self, other: &Self) -> bool {
        self.extra_ca == other.extra_ca && self.min_version == other.min_version
    }
}

impl fmt::Debug for TlsClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TlsClient")
            .field("extra_ca", &self.extra_ca.as_ref().map(|c| c.len()))
            .field("min_version", &self.min_version)
            .finish()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum TlsSetupError {
    #[error("no certificate found in the PEM file")]
    NoCertificates,
    #[error("bad PEM certificate: {0}")]
    BadPem(String),
    #[error("certificate rejected: {0}")]
    Rejected(rustls::Error),
    #[error("TLS setup: {0}")]
    Rustls(#[from] rustls::Error),
}

/// System roots from the OS store (`/etc/ssl/certs`); when none can be read, the embedded
/// Mozilla set, so a minimal container still verifies public gateways.
fn system_roots() -> &'static RootCertStore {
    static ROOTS: OnceLock<RootCertStore> = OnceLock::new();
    ROOTS.get_or_init(|| {
        let mut store = RootCertStore::empty();
        let loaded = rustls_native_certs::load_native_certs();
        let (added, _ignored) = store.add_parsable_certificates(loaded.certs);
        if added == 0 {
            tracing::warn!("no system CA certificates found; using the embedded Mozilla roots");
            store.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
        }
        store
    })
}

/// Parses every certificate in a PEM blob.
pub fn parse_pem_certs(pem: &[u8]) -> Result<Vec<CertificateDer<'static>>, TlsSetupError> {
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(pem)
        .collect::<Result<_, _>>()
        .map_err(|e| TlsSetupError::BadPem(e.to_string()))?;
    if certs.is_empty() {
        return Err(TlsSetupError::NoCertificates);
    }
    Ok(certs)
}

type CacheKey = (Option<Arc<[u8]>>, TlsVersion);

/// Builds (or reuses) the client config for one target.
pub fn client(extra_ca: Option<Vec<u8>>, min: TlsVersion) -> Result<TlsClient, TlsSetupError> {
    static CACHE: OnceLock<Mutex<HashMap<CacheKey, Arc<ClientConfig>>>> = OnceLock::new();
    let extra_ca: Option<Arc<[u8]>> = extra_ca.map(Into::into);
    let key = (extra_ca.clone(), min);
    let cache = CACHE.get_or_init(Default::default);
    if let Some(cfg) = cache.lock().ok().and_then(|c| c.get(&key).cloned()) {
        return Ok(TlsClient {
            config: cfg,
            extra_ca,
            min_version: min,
        });
    }
    let mut roots = system_roots().clone();
    if let Some(pem) = &extra_ca {
        for cert in parse_pem_certs(pem)? {
            roots.add(cert).map_err(TlsSetupError::Rejected)?;
        }
    }
    let config = Arc::new(build(roots, min)?);
    if let Ok(mut c) = cache.lock() {
        c.insert(key, config.clone());
    }
    Ok(TlsClient {
        config,
        extra_ca,
        min_version: min,
    })
}

fn build(roots: RootCertStore, min: TlsVersion) -> Result<ClientConfig, rustls::Error> {
    let versions: &[&'static rustls::SupportedProtocolVersion] = match min {
        TlsVersion::Tls12 => &[&rustls::version::TLS13, &rustls::version::TLS12],
        TlsVersion::Tls13 => &[&rustls::version::TLS13],
    };
    let mut cfg =
        ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .with_protocol_versions(versions)?
            .with_root_certificates(roots)
            .with_no_client_auth();
    // Offer h2 first, as browsers and SDKs do; the HTTP prober follows what the server picks.
    cfg.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    // A fresh handshake every probe is the point: resumption would hide the TLS cost.
    cfg.resumption = rustls::client::Resumption::disabled();
    Ok(cfg)
}
