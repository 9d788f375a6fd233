//! The egress allow-list (`--sandbox-egress`) and the addresses no rule can open: a
//! sandbox may reach the named hosts (package registries) and never, whatever a name
//! resolves to, the host's loopback, private networks or the cloud metadata service.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use anyhow::Context;

/// One allowed destination: a host (or every subdomain of one) on one port.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EgressRule {
    host: String,
    subdomains: bool,
    port: u16,
}

impl EgressRule {
    /// Parses `host[:port]` (port 443 by default) or `*.example.com[:port]`.
    pub fn parse(spec: &str) -> anyhow::Result<Self> {
        let spec = spec.trim().to_ascii_lowercase();
        let (host, port) = match spec.rsplit_once(':') {
            Some((h, p)) if !h.contains(':') || h.ends_with(']') => {
                (h.to_string(), p.parse().with_context(|| format!("bad port in egress rule {spec:?}"))?)
            }
            _ => (spec.clone(), 443),
        };
        let host = host.trim_start_matches('[').trim_end_matches(']').to_string();
        let (host, subdomains) = match host.strip_prefix("*.") {
            Some(rest) => (rest.to_string(), true),
            None => (host, false),
        };
        anyhow::ensure!(
            !host.is_empty() && !host.contains('*') && !host.contains('/'),
            "egress rule {spec:?}: expected host[:port] or *.domain[:port]"
        );
        Ok(Self { host, subdomains, port })
    }

    /// Whether this rule names an address literally (then it is trusted as written).
    pub fn is_literal(&self) -> bool {
        self.host.parse::<IpAddr>().is_ok()
    }

    fn allows(&self, host: &str, port: u16) -> bool {
        port == self.port
            && match self.subdomains {
                false => host == self.host,
                true => host.strip_suffix(&self.host).is_some_and(|p| p.len() > 1 && p.ends_with('.')),
            }
    }
}

/// Parses every rule of the flag.
pub fn parse_rules(specs: &[String]) -> anyhow::Result<Vec<EgressRule>> {
    specs.iter().filter(|s| !s.trim().is_empty()).map(|s| EgressRule::parse(s)).collect()
}

/// The rule that allows `host:port`, if any.
pub fn allowed<'a>(rules: &'a [EgressRule], host: &str, port: u16) -> Option<&'a EgressRule> {
    let host = host.trim_start_matches('[').trim_end_matches(']').to_ascii_lowercase();
    let host = host.trim_end_matches('.');
    rules.iter().find(|r| r.allows(host, port))
}

/// Whether `ip` is on the public internet: not loopback, private, link-local (the
/// metadata service's 169.254.169.254), shared, multicast, unspecified, unique-local
/// (`fd00:ec2::254`) or an IPv4 one of those written as IPv6.
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => public_v4(v4),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => public_v4(v4),
            None => public_v6(v6),
        },
    }
}

fn public_v4(ip: Ipv4Addr) -> bool {
    let [a, b, ..] = ip.octets();
    !(ip.is_loopback()
        || ip.is_private()
        || ip.is_link_local()
        || ip.is_unspecified()
        || ip.is_broadcast()
        || ip.is_multicast()
        || ip.is_documentation()
        || a == 0
        || (a == 100 && (64..128).contains(&b))
        || (a == 198 && (b == 18 || b == 19))
        || a >= 240)
}

fn public_v6(ip: Ipv6Addr) -> bool {
    let first = ip.segments()[0];
    !(ip.is_loopback()
        || ip.is_unspecified()
        || ip.is_multicast()
        || (first & 0xfe00) == 0xfc00
        || (first & 0xffc0) == 0xfe80
        || ip.to_ipv4().is_some_and(|v4| !public_v4(v4)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules_name_hosts_ports_and_subdomains() {
        let rules =
            parse_rules(&["registry.npmjs.org".into(), "*.pythonhosted.org".into(), "deb.debian.org:80".into()])
                .unwrap();
        assert!(allowed(&rules, "registry.npmjs.org", 443).is_some());
        assert!(allowed(&rules, "REGISTRY.npmjs.org.", 443).is_some());
        assert!(allowed(&rules, "registry.npmjs.org", 80).is_none());
        assert!(allowed(&rules, "evil-registry.npmjs.org", 443).is_none());
        assert!(allowed(&rules, "files.pythonhosted.org", 443).is_some());
        assert!(allowed(&rules, "pythonhosted.org", 443).is_none());
        assert!(allowed(&rules, "xpythonhosted.org", 443).is_none());
        assert!(allowed(&rules, "deb.debian.org", 80).is_some());
        assert!(allowed(&rules, "169.254.169.254", 80).is_none());
        for bad in ["*", "a/b", "host:port", "*.*.x"] {
            assert!(EgressRule::parse(bad).is_err(), "{bad}");
        }
        assert!(EgressRule::parse("[::1]:8080").unwrap().is_literal());
    }

    #[test]
    fn only_public_addresses_are_reachable_by_name() {
        for private in
            ["127.0.0.1", "10.1.2.3", "172.16.0.1", "192.168.1.1", "169.254.169.254", "100.64.0.1", "0.0.0.0"]
        {
            assert!(!is_public(private.parse().unwrap()), "{private}");
        }
        for private in ["::1", "fd00:ec2::254", "fe80::1", "::ffff:127.0.0.1", "::ffff:169.254.169.254", "::"] {
            assert!(!is_public(private.parse().unwrap()), "{private}");
        }
        for public in ["151.101.0.162", "2a04:4e42::162"] {
            assert!(is_public(public.parse().unwrap()), "{public}");
        }
    }
}
