//! What a Modal sandbox may reach: the local jail's policy, expressed as Modal's own
//! outbound allow-list (`Sandbox.network_access`, as `modal` 1.6.4's
//! `_build_outbound_network_access` sends it): the gateway's host and the
//! `--sandbox-egress` hosts, nothing else. Modal's list has no ports, so a host's port
//! does not narrow it there; IP literals are CIDRs of one address.

use std::net::IpAddr;

use super::proto::{NetworkAccess, network_access::NetworkAccessType};

/// The allow-list for sandboxes that reach the gateway at `gateway_url` and the hosts of
/// `egress` (`host[:port]`, `*.domain[:port]`, IP literals, `[v6]:port`).
pub fn allowlist(gateway_url: Option<&str>, egress: &[String]) -> NetworkAccess {
    let mut domains: Vec<String> = Vec::new();
    let mut cidrs: Vec<String> = Vec::new();
    let gateway = gateway_url.and_then(|u| reqwest::Url::parse(u).ok()).and_then(|u| u.host_str().map(String::from));
    for host in gateway.into_iter().chain(egress.iter().map(|s| host_of(s))) {
        let bare = host.trim_start_matches('[').trim_end_matches(']');
        match bare.parse::<IpAddr>() {
            Ok(IpAddr::V4(ip)) => push(&mut cidrs, format!("{ip}/32")),
            Ok(IpAddr::V6(ip)) => push(&mut cidrs, format!("{ip}/128")),
            Err(_) if !bare.is_empty() => push(&mut domains, bare.to_ascii_lowercase()),
            Err(_) => {}
        }
    }
    NetworkAccess {
        network_access_type: NetworkAccessType::Allowlist as i32,
        allowed_cidrs: cidrs,
        allowed_domains: domains,
    }
}

fn push(list: &mut Vec<String>, item: String) {
    if !list.contains(&item) {
        list.push(item);
    }
}

/// The host of an egress rule, without its port.
fn host_of(spec: &str) -> String {
    let spec = spec.trim();
    if let Some(rest) = spec.strip_prefix('[') {
        return rest.split(']').next().unwrap_or_default().to_string();
    }
    match spec.rsplit_once(':') {
        // One colon: host:port. More: a bare IPv6 address.
        Some((host, port)) if !host.contains(':') && port.parse::<u16>().is_ok() => host.to_string(),
        _ => spec.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_gateway_and_the_egress_hosts_are_all_a_sandbox_reaches() {
        let egress = [
            "registry.npmjs.org",
            "*.PythonHosted.org:443",
            "10.1.2.3:8080",
            "[2001:db8::1]:443",
            "registry.npmjs.org:80",
        ]
        .map(String::from);
        let n = allowlist(Some("https://gateway.example.com:8443/v1"), &egress);
        assert_eq!(n.network_access_type, NetworkAccessType::Allowlist as i32);
        assert_eq!(n.allowed_domains, ["gateway.example.com", "registry.npmjs.org", "*.pythonhosted.org"]);
        assert_eq!(n.allowed_cidrs, ["10.1.2.3/32", "2001:db8::1/128"]);
        let only = allowlist(Some("http://203.0.113.7:4000"), &[]);
        assert!(only.allowed_domains.is_empty());
        assert_eq!(only.allowed_cidrs, ["203.0.113.7/32"]);
        let none = allowlist(None, &[]);
        assert_eq!(none.network_access_type, NetworkAccessType::Allowlist as i32, "an empty allow-list blocks all");
        assert!(none.allowed_domains.is_empty() && none.allowed_cidrs.is_empty());
    }
}
