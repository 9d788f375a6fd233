//! The broker's resolver: a host name reaches only public addresses, so a name that
//! resolves to the metadata service, the host's loopback or a private network (DNS
//! rebinding included: the answer is checked, not the name) opens nothing.

use reqwest::dns::{Addrs, Name, Resolve, Resolving};

use crate::gateway::egress_rules::is_public;

/// Resolves with the system, keeping public addresses only.
pub struct PublicOnly;

impl Resolve for PublicOnly {
    fn resolve(&self, name: Name) -> Resolving {
        Box::pin(async move {
            let found = tokio::net::lookup_host((name.as_str(), 0)).await?;
            let public: Vec<_> = found.filter(|a| is_public(a.ip())).collect();
            if public.is_empty() {
                return Err(format!("{} has no public address", name.as_str()).into());
            }
            Ok(Box::new(public.into_iter()) as Addrs)
        })
    }
}
