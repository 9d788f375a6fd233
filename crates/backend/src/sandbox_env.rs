//! Environment every command in a sandbox gets besides its own: the credential broker's
//! address (git's URL rewrite, `SANDBOXQL_BROKER_URL`). Made above the backends (it is
//! signed with a server key), handed to them once at start-up, and added by each backend
//! where it starts a command, so no path (a run, a terminal, a process, a git operation)
//! goes without it.

use std::sync::{Arc, OnceLock};

use crate::ExternalId;

/// What a sandbox's commands get, given the address at which they reach the gateway.
pub trait SandboxEnv: Send + Sync {
    /// The variables for the sandbox `id`, whose commands reach the gateway at `gateway`.
    fn env(&self, id: &ExternalId, gateway: &str) -> Vec<(String, String)>;
}

/// A backend's slot for the [`SandboxEnv`], set once.
#[derive(Clone, Default)]
pub struct EnvSlot(Arc<OnceLock<Arc<dyn SandboxEnv>>>);

impl EnvSlot {
    /// Sets the environment (a second set is ignored: one broker per process).
    pub fn set(&self, env: Arc<dyn SandboxEnv>) {
        let _ = self.0.set(env);
    }

    /// The variables for `id` (none before it is set, or without a gateway address).
    pub fn vars(&self, id: &ExternalId, gateway_env: &[(String, String)]) -> Vec<(String, String)> {
        let gateway = gateway_env.iter().find(|(k, _)| k == "ANTHROPIC_BASE_URL").map(|(_, v)| v.as_str());
        match (self.0.get(), gateway) {
            (Some(env), Some(g)) => env.env(id, g),
            _ => Vec::new(),
        }
    }
}
