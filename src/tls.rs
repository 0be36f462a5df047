//! rustls client configurations (ring provider only).
//!
//! Loading the system roots reads hundreds of files, so it happens once per process; each
//! distinct (extra CA, minimum version) pair gets one shared `ClientConfig`, so 10,000 targets
//! cost a handful of configs, not 10,000.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex, OnceLock};

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::WebPkiServerVerifier;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, CertificateRevocationListDer, ServerName, UnixTime};
use rustls::{ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme};
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
    verifier: Arc<WebPkiServerVerifier>,
    /// The extra CA and CRL files' contents, if any (part of equality: a changed file matters).
    extra_ca: Option<Arc<[u8]>>,
    crls: Option<Arc<[u8]>>,
    min_version: TlsVersion,
    /// The certificates of `ca_file`, trusted also as the server's own certificate when one
    /// is presented byte for byte (see [`Recording`]).
    pinned: Arc<[CertificateDer<'static>]>,
}

impl PartialEq for TlsClient {
    fn eq(&self, other: &Self) -> bool {
        self.extra_ca == other.extra_ca
            && self.crls == other.crls
            && self.min_version == other.min_version
    }
}

impl TlsClient {
    /// A config for one handshake whose verifier remembers the chain the server sent, so a
    /// failed verification still yields the certificate (an expired one's not_after, say).
    pub fn recording(&self) -> (Arc<ClientConfig>, Arc<Recording>) {
        let rec = Arc::new(Recording {
            inner: self.verifier.clone(),
            chain: Mutex::new(None),
            pinned: self.pinned.clone(),
            asked: std::sync::atomic::AtomicBool::new(false),
        });
        let mut cfg = (*self.config).clone();
        cfg.dangerous().set_certificate_verifier(rec.clone());
        cfg.client_auth_cert_resolver = rec.clone();
        (Arc::new(cfg), rec)
    }
}

/// Delegates to webpki and keeps a copy of the presented chain.
///
/// A certificate that `ca_file` holds exactly is trusted as the server's own certificate even
/// where webpki refuses the path: webpki refuses a certificate marked as a CA when it is used
/// by a server (`CaUsedAsEndEntity`), yet "trust exactly this certificate" is what a user who
/// put a gateway's self-signed certificate in `ca_file` asked for. The name and the dates are
/// still checked.
#[derive(Debug)]
pub struct Recording {
    inner: Arc<WebPkiServerVerifier>,
    chain: Mutex<Option<Vec<CertificateDer<'static>>>>,
    pinned: Arc<[CertificateDer<'static>]>,
    /// The server asked for a client certificate (a CertificateRequest).
    asked: std::sync::atomic::AtomicBool,
}

impl Recording {
    /// The chain the server presented (leaf first), if the handshake got that far.
    pub fn chain(&self) -> Option<Vec<CertificateDer<'static>>> {
        crate::sync::lock(&self.chain, "TLS chain").clone()
    }

    /// Whether the server asked for a client certificate during the handshake.
    pub fn client_cert_requested(&self) -> bool {
        self.asked.load(std::sync::atomic::Ordering::Relaxed)
    }
}

/// payprobe has no client certificate; being asked for one is noted, so a refused handshake
/// that follows can be named (RFC 5246 §7.4.6: a TLS 1.2 server may answer the empty
/// certificate with a bare `handshake_failure`).
impl rustls::client::ResolvesClientCert for Recording {
    fn resolve(
        &self,
        _acceptable_issuers: &[&[u8]],
        _sigschemes: &[SignatureScheme],
    ) -> Option<Arc<rustls::sign::CertifiedKey>> {
        self.asked.store(true, std::sync::atomic::Ordering::Relaxed);
        None
    }

    fn has_certs(&self) -> bool {
        false
    }
}

impl ServerCertVerifier for Recording {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let mut chain = vec![end_entity.clone().into_owned()];
        chain.extend(intermediates.iter().map(|c| c.clone().into_owned()));
        {
            let mut slot = crate::sync::lock(&self.chain, "TLS chain");
            *slot = Some(chain);
        }
        match self
            .inner
            .verify_server_cert(end_entity, intermediates, server_name, ocsp, now)
        {
            Err(e) if pinned_exactly(&self.pinned, end_entity, server_name, now) => {
                tracing::debug!(error = %e, "server certificate pinned in ca_file; trusted as is");
                Ok(ServerCertVerified::assertion())
            }
            other => other,
        }
    }

    fn verify_tls12_signature(
        &self,
        m: &[u8],
        c: &CertificateDer<'_>,
        d: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls12_signature(m, c, d)
    }

    fn verify_tls13_signature(
        &self,
        m: &[u8],
        c: &CertificateDer<'_>,
        d: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls13_signature(m, c, d)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.inner.supported_verify_schemes()
    }
}

/// `ee` is one of the pinned certificates, valid for `name`, and within its dates at `now`.
fn pinned_exactly(
    pinned: &[CertificateDer<'static>],
    ee: &CertificateDer<'_>,
    name: &ServerName<'_>,
    now: UnixTime,
) -> bool {
    if !pinned.iter().any(|p| p.as_ref() == ee.as_ref()) {
        return false;
    }
    let Ok(cert) = webpki::EndEntityCert::try_from(ee) else {
        return false;
    };
    if cert.verify_is_valid_for_subject_name(name).is_err() {
        return false;
    }
    use x509_parser::prelude::FromDer;
    let Ok((_, x)) = x509_parser::certificate::X509Certificate::from_der(ee.as_ref()) else {
        return false;
    };
    let now = i64::try_from(now.as_secs()).unwrap_or(i64::MAX);
    let v = x.validity();
    v.not_before.timestamp() <= now && now <= v.not_after.timestamp()
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
    #[error("bad PEM CRL: {0}")]
    BadCrl(String),
    #[error("no CRL found in the PEM file")]
    NoCrls,
    #[error("certificate verifier: {0}")]
    Verifier(String),
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

type CacheKey = (Option<Arc<[u8]>>, Option<Arc<[u8]>>, TlsVersion);
type Built = (Arc<ClientConfig>, Arc<WebPkiServerVerifier>);

/// Builds (or reuses) the client config for one target: system roots plus `extra_ca`,
/// certificates revoked by the CRLs in `crls` refused, versions from `min` up.
pub fn client(
    extra_ca: Option<Vec<u8>>,
    crls: Option<Vec<u8>>,
    min: TlsVersion,
) -> Result<TlsClient, TlsSetupError> {
    static CACHE: OnceLock<Mutex<HashMap<CacheKey, Built>>> = OnceLock::new();
    let extra_ca: Option<Arc<[u8]>> = extra_ca.map(Into::into);
    let crls: Option<Arc<[u8]>> = crls.map(Into::into);
    let key = (extra_ca.clone(), crls.clone(), min);
    let cache = CACHE.get_or_init(Default::default);
    let cached = crate::sync::lock(cache, "TLS configs").get(&key).cloned();
    let (config, verifier) = match cached {
        Some(b) => b,
        None => {
            let b = build_verified(extra_ca.as_deref(), crls.as_deref(), min)?;
            {
                let mut c = crate::sync::lock(cache, "TLS configs");
                c.insert(key, b.clone());
            }
            b
        }
    };
    let pinned: Arc<[CertificateDer<'static>]> = match extra_ca.as_deref() {
        Some(pem) => parse_pem_certs(pem)?.into(),
        None => Arc::new([]),
    };
    Ok(TlsClient {
        config,
        verifier,
        extra_ca,
        crls,
        min_version: min,
        pinned,
    })
}

fn build_verified(
    extra_ca: Option<&[u8]>,
    crls: Option<&[u8]>,
    min: TlsVersion,
) -> Result<Built, TlsSetupError> {
    let mut roots = system_roots().clone();
    if let Some(pem) = extra_ca {
        for cert in parse_pem_certs(pem)? {
            roots.add(cert).map_err(TlsSetupError::Rejected)?;
        }
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut vb = WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider);
    if let Some(pem) = crls {
        let list: Vec<CertificateRevocationListDer<'static>> =
            CertificateRevocationListDer::pem_slice_iter(pem)
                .collect::<Result<_, _>>()
                .map_err(|e| TlsSetupError::BadCrl(e.to_string()))?;
        if list.is_empty() {
            return Err(TlsSetupError::NoCrls);
        }
        // Revocation is checked for the leaf only, and a CA without a CRL here is not
        // treated as revoked: the file lists what the operator revoked, nothing more.
        vb = vb
            .with_crls(list)
            .only_check_end_entity_revocation()
            .allow_unknown_revocation_status();
    }
    let verifier = vb
        .build()
        .map_err(|e| TlsSetupError::Verifier(e.to_string()))?;
    let config = build(verifier.clone(), min)?;
    Ok((Arc::new(config), verifier))
}

fn build(
    verifier: Arc<WebPkiServerVerifier>,
    min: TlsVersion,
) -> Result<ClientConfig, rustls::Error> {
    let versions: &[&'static rustls::SupportedProtocolVersion] = match min {
        TlsVersion::Tls12 => &[&rustls::version::TLS13, &rustls::version::TLS12],
        TlsVersion::Tls13 => &[&rustls::version::TLS13],
    };
    let mut cfg =
        ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .with_protocol_versions(versions)?
            .with_webpki_verifier(verifier)
            .with_no_client_auth();
    // Offer h2 first, as browsers and SDKs do; the HTTP prober follows what the server picks.
    cfg.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    // A fresh handshake every probe is the point: resumption would hide the TLS cost.
    cfg.resumption = rustls::client::Resumption::disabled();
    Ok(cfg)
}
