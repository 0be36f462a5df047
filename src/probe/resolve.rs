//! Name resolution shared by every prober, so the `dns` check and the `dns` phase of the
//! `http` check always agree.
//!
//! hickory is used instead of libc's `getaddrinfo` for two reasons: it is async (10,000
//! targets would exhaust a blocking pool) and it reports *why* a lookup failed (NXDOMAIN vs
//! SERVFAIL vs timeout), which is what tells a DNS outage from a typo.

use std::net::IpAddr;

use hickory_resolver::config::{ResolveHosts, ResolverConfig, ResolverOpts};
use hickory_resolver::net::runtime::TokioRuntimeProvider;
use hickory_resolver::net::{DnsError, NetError};
use hickory_resolver::proto::op::ResponseCode;
use hickory_resolver::TokioResolver;

use super::{Failure, FailureKind, Phase};

/// The outcome of a failed lookup: a typed failure plus the rcode when the server sent one.
#[derive(Debug, Clone)]
pub struct LookupError {
    pub failure: Failure,
    pub rcode: Option<String>,
}

pub struct Resolver {
    inner: Result<TokioResolver, String>,
}

impl Resolver {
    /// The system configuration (`/etc/resolv.conf`, `/etc/hosts`), without caching: every
    /// probe measures a real lookup, as blackbox_exporter does.
    pub fn system() -> Resolver {
        let inner = TokioResolver::builder_tokio()
            .map_err(|e| format!("cannot read the system resolver configuration: {e}"))
            .and_then(|mut b| {
                tune(b.options_mut());
                b.build().map_err(|e| e.to_string())
            });
        if let Err(e) = &inner {
            tracing::warn!(error = %e, "DNS lookups will fail");
        }
        Resolver { inner }
    }

    /// A resolver asking exactly these name servers (used by tests and `resolvers = [...]`).
    pub fn with_config(config: ResolverConfig) -> Resolver {
        let mut b = TokioResolver::builder_with_config(config, TokioRuntimeProvider::default());
        tune(b.options_mut());
        Resolver {
            inner: b.build().map_err(|e| e.to_string()),
        }
    }

    /// Resolves `host` to addresses (IPv4 first, then IPv6).
    pub async fn lookup(&self, host: &str) -> Result<Vec<IpAddr>, LookupError> {
        let resolver = self.inner.as_ref().map_err(|e| LookupError {
            failure: Failure::new(Phase::Dns, FailureKind::DnsError, e.clone()),
            rcode: None,
        })?;
        match resolver.lookup_ip(host).await {
            Ok(l) => {
                let addrs: Vec<IpAddr> = l.iter().collect();
                if addrs.is_empty() {
                    return Err(LookupError {
                        failure: Failure::new(
                            Phase::Dns,
                            FailureKind::DnsNoAddresses,
                            format!("{host}: no A/AAAA records"),
                        ),
                        rcode: Some("NOERROR".into()),
                    });
                }
                Ok(addrs)
            }
            Err(e) => Err(classify(host, &e)),
        }
    }
}

fn tune(o: &mut ResolverOpts) {
    o.cache_size = 0;
    o.use_hosts_file = ResolveHosts::Always;
    // The probe deadline bounds the whole lookup; let retries happen inside it.
    o.attempts = 2;
}

fn classify(host: &str, e: &NetError) -> LookupError {
    let (kind, rcode) = match e {
        NetError::Dns(DnsError::NoRecordsFound(nr)) => match nr.response_code {
            ResponseCode::NXDomain => (FailureKind::DnsNxdomain, Some(nr.response_code)),
            ResponseCode::NoError => (FailureKind::DnsNoAddresses, Some(nr.response_code)),
            other => (FailureKind::DnsError, Some(other)),
        },
        NetError::Dns(DnsError::ResponseCode(code)) => match code {
            ResponseCode::ServFail => (FailureKind::DnsServfail, Some(*code)),
            ResponseCode::Refused => (FailureKind::DnsRefused, Some(*code)),
            ResponseCode::NXDomain => (FailureKind::DnsNxdomain, Some(*code)),
            other => (FailureKind::DnsError, Some(*other)),
        },
        NetError::Timeout => (FailureKind::DnsTimeout, None),
        _ => (FailureKind::DnsError, None),
    };
    let rcode = rcode.map(rcode_name);
    LookupError {
        failure: Failure::new(Phase::Dns, kind, format!("{host}: {e}")),
        rcode,
    }
}

/// The mnemonic from RFC 1035 / IANA, as dig prints it.
fn rcode_name(c: ResponseCode) -> String {
    match c {
        ResponseCode::NoError => "NOERROR".into(),
        ResponseCode::FormErr => "FORMERR".into(),
        ResponseCode::ServFail => "SERVFAIL".into(),
        ResponseCode::NXDomain => "NXDOMAIN".into(),
        ResponseCode::NotImp => "NOTIMP".into(),
        ResponseCode::Refused => "REFUSED".into(),
        other => format!("{other:?}").to_ascii_uppercase(),
    }
}

impl Default for Resolver {
    fn default() -> Self {
        Resolver::system()
    }
}
