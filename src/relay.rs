//! `sandboxql relay`: the one process in a jail's private network namespace that can reach
//! outside it. It listens on the jail's loopback (e.g. `127.0.0.1:4000`), forwards each
//! connection to a Unix socket bind-mounted from the host (the gateway, the egress proxy),
//! and runs the jailed command as its child, exiting with its status. The namespace has
//! no other interface, so the jail reaches those sockets and nothing else: not the cloud
//! metadata address, not the server's database, not the object store, not other jails.

use std::{net::SocketAddr, path::PathBuf, sync::Arc};

use anyhow::Context;
use sandboxql_backend::local::forward;
use tokio::{net::TcpListener, sync::Semaphore};

/// One forwarded port: `listen` inside the jail to the Unix socket at `socket`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Forward {
    /// Loopback address inside the jail.
    pub listen: SocketAddr,
    /// Unix socket the connections go to.
    pub socket: PathBuf,
}

/// Parses `127.0.0.1:4000=/run/sandboxql/gateway.sock`.
pub fn parse_forward(spec: &str) -> anyhow::Result<Forward> {
    let (listen, socket) = spec.split_once('=').context("expected ADDR:PORT=/path/to/socket")?;
    let listen: SocketAddr = listen.parse().with_context(|| format!("bad address {listen}"))?;
    anyhow::ensure!(listen.ip().is_loopback(), "a relay listens on loopback only");
    Ok(Forward { listen, socket: PathBuf::from(socket) })
}

/// Binds every forward, then runs `command` and returns the exit status to exit with
/// (128 + signal when it was killed). At most `connections` are carried at once.
pub async fn run(forwards: &[String], connections: usize, command: &[String]) -> anyhow::Result<i32> {
    let (program, args) = command.split_first().context("relay: no command to run")?;
    let slots = Arc::new(Semaphore::new(connections.max(1)));
    for spec in forwards {
        let f = parse_forward(spec)?;
        // Bound before the command starts, so its first connection finds the port open.
        let listener = TcpListener::bind(f.listen).await.with_context(|| format!("relay: binding {}", f.listen))?;
        tokio::spawn(forward::serve(listener, f.socket, slots.clone()));
    }
    let status = match tokio::process::Command::new(program).args(args).status().await {
        Ok(status) => status,
        // As a shell does: 127 for a command that is not there (a run says CLAUDE_NOT_FOUND).
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(127),
        Err(e) => return Err(anyhow::Error::new(e).context(format!("relay: starting {program}"))),
    };
    use std::os::unix::process::ExitStatusExt;
    Ok(status.code().unwrap_or_else(|| 128 + status.signal().unwrap_or(9)))
}

/// Runs `sandboxql relay …` from `main` before anything of the server starts: it comes
/// before every jailed command, so its start is part of every run's start. No server
/// command line, no logging set-up, a single-threaded runtime (it carries a handful of
/// connections); returns the status to exit with.
pub fn main_fast() -> anyhow::Result<i32> {
    use clap::Parser;
    let args = crate::config::RelayArgs::parse_from(std::env::args_os().skip(1));
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    rt.block_on(run(&args.forward, args.max_connections, &args.command))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forwards_are_loopback_address_to_socket() {
        let f = parse_forward("127.0.0.1:4000=/run/sandboxql/gateway.sock").unwrap();
        assert_eq!(f.listen.port(), 4000);
        assert_eq!(f.socket, PathBuf::from("/run/sandboxql/gateway.sock"));
        assert!(parse_forward("0.0.0.0:4000=/x").is_err(), "never listens beyond loopback");
        assert!(parse_forward("127.0.0.1:4000").is_err());
        assert!(parse_forward("nope=/x").is_err());
    }
}
