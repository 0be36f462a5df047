//! Name resolution shared by every prober, so the `dns` check and the `dns` phase of the
//! `http` check always agree.
//!
//! hickory is used instead of libc's `getaddrinfo` for two reasons: it is async (10,000
//! targets would exhaust a blocking pool) and it reports *why* a lookup failed (NXDOMAIN vs
//! SERVFAIL vs timeout), which is what tells a DNS outage from a typo. Name servers are asked
//! one at a time, in order, so the evidence can say which one answered.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::str::FromStr;
use std::sync::{Arc, Mutex};

use hickory_resolver::config::{NameServerConfig, ResolveHosts, ResolverConfig};
use hickory_resolver::lookup_ip::LookupIp;
use hickory_resolver::net::runtime::TokioRuntimeProvider;
use hickory_resolver::net::{DnsError, NetError};
use hickory_resolver::proto::op::{Query, ResponseCode};
use hickory_resolver::proto::rr::{Name, RecordType};
use hickory_resolver::{Hosts, TokioResolver};

use super::{Failure, FailureKind, Phase};

use crate::limits::DNS_PER_SERVER_TIMEOUT as PER_SERVER_TIMEOUT;

/// A successful lookup.
#[derive(Debug, Clone)]
pub struct Answer {
    pub addresses: Vec<IpAddr>,
    /// `IP:port` of the name server that answered, or `/etc/hosts`.
    pub server: String,
}

/// A failed lookup: a typed failure, the rcode when a server sent one, and which server.
#[derive(Debug, Clone)]
pub struct LookupError {
    pub failure: Failure,
    pub rcode: Option<String>,
    pub server: Option<String>,
}

struct Server {
    addr: SocketAddr,
    resolver: TokioResolver,
}

/// Asks `servers` in order; the system resolver also reads `/etc/hosts` first.
pub struct Resolver {
    hosts: Option<Hosts>,
    servers: Vec<Server>,
    setup_error: Option<String>,
}

impl Resolver {
    /// The system configuration (`/etc/resolv.conf`, `/etc/hosts`), without caching: every
    /// probe measures a real lookup, as blackbox_exporter does.
    pub fn system() -> Resolver {
        let conf = hickory_resolver::system_conf::read_system_conf();
        let hosts = Hosts::from_system().ok();
        match conf {
            Ok((cfg, _)) => {
                let (domain, search, ns) = cfg.into_parts();
                let mut addrs: Vec<SocketAddr> = Vec::new();
                for n in &ns {
                    let port = n.connections.first().map_or(53, |c| c.port);
                    let a = SocketAddr::new(n.ip, port);
                    if !addrs.contains(&a) {
                        addrs.push(a);
                    }
                }
                let mut r = Resolver::build(&addrs, domain, search);
                r.hosts = hosts;
                r
            }
            Err(e) => {
                let msg = format!("cannot read the system resolver configuration: {e}");
                tracing::warn!(error = %msg, "DNS lookups through the system resolver will fail");
                Resolver {
                    hosts,
                    servers: Vec::new(),
                    setup_error: Some(msg),
                }
            }
        }
    }

    /// A resolver asking exactly these name servers (`[targets.dns] resolvers`).
    pub fn with_servers(addrs: &[SocketAddr]) -> Resolver {
        Resolver::build(addrs, None, Vec::new())
    }

    fn build(addrs: &[SocketAddr], domain: Option<Name>, search: Vec<Name>) -> Resolver {
        let mut servers = Vec::new();
        let mut errors = Vec::new();
        for addr in addrs {
            let mut ns = NameServerConfig::udp_and_tcp(addr.ip());
            for c in &mut ns.connections {
                c.port = addr.port();
            }
            let cfg = ResolverConfig::from_parts(domain.clone(), search.clone(), vec![ns]);
            let mut b = TokioResolver::builder_with_config(cfg, TokioRuntimeProvider::default());
            let o = b.options_mut();
            o.cache_size = 0;
            o.use_hosts_file = ResolveHosts::Never;
            o.timeout = PER_SERVER_TIMEOUT;
            o.attempts = 1;
            match b.build() {
                Ok(resolver) => servers.push(Server {
                    addr: *addr,
                    resolver,
                }),
                Err(e) => errors.push(format!("{addr}: {e}")),
            }
        }
        let setup_error = match (servers.is_empty(), errors.is_empty()) {
            (true, true) => Some("no name server configured".to_string()),
            (true, false) => Some(errors.join("; ")),
            _ => None,
        };
        Resolver {
            hosts: None,
            servers,
            setup_error,
        }
    }

    /// Resolves `host` to addresses (IPv4 first, then IPv6).
    pub async fn lookup(&self, host: &str) -> Result<Answer, LookupError> {
        if let Some(addresses) = self.hosts_file_lookup(host) {
            return Ok(Answer {
                addresses,
                server: "/etc/hosts".to_string(),
            });
        }
        let mut last = LookupError {
            failure: Failure::new(
                Phase::Dns,
                FailureKind::DnsError,
                self.setup_error
                    .clone()
                    .unwrap_or_else(|| "no name server".into()),
            ),
            rcode: None,
            server: None,
        };
        for s in &self.servers {
            // hickory times out the A and the AAAA query separately; one budget per server
            // keeps a silent first server from eating the whole probe deadline.
            let res = tokio::time::timeout(PER_SERVER_TIMEOUT, s.resolver.lookup_ip(host))
                .await
                .unwrap_or(Err(NetError::Timeout));
            match res {
                Ok(l) => return answer(host, l, s.addr),
                Err(e) => {
                    last = classify(host, &e, s.addr);
                    // NXDOMAIN and "no records" are answers, not outages: asking the next
                    // server would only hide them.
                    if matches!(
                        last.failure.kind,
                        FailureKind::DnsNxdomain | FailureKind::DnsNoAddresses
                    ) {
                        break;
                    }
                }
            }
        }
        Err(last)
    }

    fn hosts_file_lookup(&self, host: &str) -> Option<Vec<IpAddr>> {
        let hosts = self.hosts.as_ref()?;
        let name = Name::from_str(host).ok()?;
        let mut out = Vec::new();
        for rt in [RecordType::A, RecordType::AAAA] {
            if let Some(l) = hosts.lookup_static_host(&Query::query(name.clone(), rt)) {
                out.extend(LookupIp::from(l).iter());
            }
        }
        (!out.is_empty()).then_some(out)
    }
}

fn answer(host: &str, l: LookupIp, server: SocketAddr) -> Result<Answer, LookupError> {
    let addresses: Vec<IpAddr> = l.iter().collect();
    if addresses.is_empty() {
        return Err(LookupError {
            failure: Failure::new(
                Phase::Dns,
                FailureKind::DnsNoAddresses,
                format!("{host}: no A/AAAA records"),
            ),
            rcode: Some("NOERROR".into()),
            server: Some(server.to_string()),
        });
    }
    Ok(Answer {
        addresses,
        server: server.to_string(),
    })
}

fn classify(host: &str, e: &NetError, server: SocketAddr) -> LookupError {
    let (kind, rcode) = match e {
        NetError::Dns(DnsError::NoRecordsFound(nr)) => match nr.response_code {
            ResponseCode::NXDomain => (FailureKind::DnsNxdomain, Some(nr.response_code)),
            ResponseCode::NoError => (FailureKind::DnsNoAddresses, Some(nr.response_code)),
            ResponseCode::ServFail => (FailureKind::DnsServfail, Some(nr.response_code)),
            ResponseCode::Refused => (FailureKind::DnsRefused, Some(nr.response_code)),
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
    LookupError {
        failure: Failure::new(Phase::Dns, kind, format!("{host} via {server}: {e}")),
        rcode: rcode.map(rcode_name),
        server: Some(server.to_string()),
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

/// One resolver per distinct list of name servers, shared by every target that names it.
pub struct Resolvers {
    system: Arc<Resolver>,
    custom: Mutex<HashMap<Vec<SocketAddr>, Arc<Resolver>>>,
}

impl Resolvers {
    pub fn system() -> Resolvers {
        Resolvers {
            system: Arc::new(Resolver::system()),
            custom: Mutex::new(HashMap::new()),
        }
    }

    /// The resolver for a target's `resolvers` list (empty: the system one).
    pub fn get(&self, servers: &[SocketAddr]) -> Arc<Resolver> {
        if servers.is_empty() {
            return self.system.clone();
        }
        let mut m = crate::sync::lock(&self.custom, "resolvers");
        m.entry(servers.to_vec())
            .or_insert_with(|| Arc::new(Resolver::with_servers(servers)))
            .clone()
    }
}
