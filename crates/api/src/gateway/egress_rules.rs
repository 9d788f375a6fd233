//! The egress allow-list (`--sandbox-egress`) and the addresses no rule can open: a
//! sandbox may reach the named hosts (package registries) and never, whatever a name
//! resolves to, the host's loopback, private networks or the cloud metadata service.

use std::net::IpAddr;

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

pub use crate::net::is_public;

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
}
