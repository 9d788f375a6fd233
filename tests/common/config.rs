//! The server configuration tests and benchmarks start from: every default, rooted at a
//! data dir, whatever the environment holds (shared by `tests/api` and `bench/` with
//! `#[path]`, so production code carries no test helper).

use std::path::PathBuf;

use clap::Parser;
use sandboxql::config::{BackendKind, Cli, Command, Config};

/// A configuration with every default, listening on port 0, rooted at `data_dir`.
pub fn config_for(data_dir: PathBuf) -> Config {
    let cli = Cli::parse_from(["sandboxql", "serve", "--listen", "127.0.0.1:0"]);
    let Command::Serve(mut config) = cli.command else { unreachable!("parsed a serve command") };
    config.store.data_dir = data_dir;
    config.store.database_url = None;
    config.gateway.anthropic_api_key = None;
    config.gateway.anthropic_auth_token = None;
    // Nothing listens there: no test reaches the real API by accident.
    config.gateway.anthropic_base_url = "http://127.0.0.1:9".into();
    config.gateway.gateway_public_url = None;
    config.gateway.sandbox_egress = vec![];
    config.gateway.model_prices = vec![];
    config.http.trusted_documents = None;
    // Jails run this build's own binary as their network relay.
    config.gateway.relay_bin = Some(env!("CARGO_BIN_EXE_sandboxql").into());
    config.runs.claude_bin = "claude".into();
    // Bounds need root, cgroups and loop devices, and give every sandbox a disk of its
    // own: the tests of bounds turn them on (`tests/api/bounds*`), the others share the host.
    config.sandbox.sandbox_bounds = sandboxql::config::BoundsMode::Off;
    config.sandbox.templates = None;
    config.backend = BackendKind::Local;
    config.modal.modal_token_id = None;
    config.modal.modal_token_secret = None;
    config.modal.modal_server_url = "http://127.0.0.1:1".into();
    // Tests and benches fire requests as fast as they can; the rate limit has its own tests.
    config.limits.rate_limit_per_sec = 1_000_000;
    config.limits.rate_limit_burst = 1_000_000;
    *config
}
