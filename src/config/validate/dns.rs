//! Validation of `[targets.dns]`: the resolvers to ask and the networks answers must fall in.

use std::net::{IpAddr, SocketAddr};

use super::super::error::Problems;
use super::super::raw::RawDns;
use super::super::DnsSpec;

/// The port a resolver written as a bare IP is asked on.
const DNS_PORT: u16 = 53;

pub(super) fn dns(d: Option<&RawDns>, p: &mut Problems) -> Option<DnsSpec> {
    let Some(d) = d else {
        return Some(DnsSpec::default());
    };
    let before = p.count();
    let mut out = DnsSpec::default();
    for r in d.resolvers.iter().flat_map(|l| l.get_ref()) {
        let v = r.get_ref();
        // A bare IP means port 53.
        let parsed = v
            .parse::<SocketAddr>()
            .or_else(|_| v.parse::<IpAddr>().map(|ip| SocketAddr::new(ip, DNS_PORT)));
        match parsed {
            Ok(a) => out.resolvers.push(a),
            Err(_) => p.at(r.span(), format!("resolver {v:?}: expected IP or IP:PORT, e.g. \"127.0.0.53\" or \"[2001:db8::53]:53\"")),
        }
    }
    for n in d.expect_addresses.iter().flat_map(|l| l.get_ref()) {
        let v = n.get_ref();
        let parsed = v
            .parse::<ipnet::IpNet>()
            .or_else(|_| v.parse::<IpAddr>().map(ipnet::IpNet::from));
        match parsed {
            Ok(net) => out.expect_addresses.push(net),
            Err(_) => p.at(
                n.span(),
                format!(
                    "expect_addresses {v:?}: expected a CIDR such as \"203.0.113.0/24\" or an IP"
                ),
            ),
        }
    }
    (p.count() == before).then_some(out)
}
