//! Thin entry point: parse the command line, run the command.

use std::io::IsTerminal;

use clap::Parser;
use sandboxql::{
    cli,
    config::{Cli, Command, LogFormat},
    startup::Application,
};
use tracing_subscriber::EnvFilter;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Cli::parse();
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn,sea_orm=warn"));
    let logs = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    match args.log_format {
        LogFormat::Json => logs.json().init(),
        // Escape codes only for a person at a terminal, never into a file or a pipe.
        LogFormat::Text => logs.with_ansi(std::io::stderr().is_terminal()).init(),
    }
    match args.command {
        Command::Serve(config) => serve(*config).await,
        Command::Accounts { action } => cli::accounts(action).await,
        Command::Tokens { action } => cli::tokens(action).await,
        Command::Relay { forward, max_connections, command } => {
            std::process::exit(sandboxql::relay::run(&forward, max_connections, &command).await?)
        }
        Command::Schema => {
            print!("{}", sandboxql::graphql::sdl());
            Ok(())
        }
    }
}

async fn serve(config: sandboxql::config::Config) -> anyhow::Result<()> {
    let app = Application::build(config).await?;
    let addr = app.local_addr()?;
    if let Some(token) = &app.bootstrap_token {
        println!("Created the first admin account. Its token is shown only this once:");
        println!("admin token: {token}");
        println!(
            "Use it as: curl -s http://{addr}/graphql -H 'Authorization: Bearer {token}' \
             -H 'Content-Type: application/json' -d '{{\"query\":\"{{ viewer {{ name role }} }}\"}}'"
        );
    }
    println!("sandboxql listening on http://{addr} (GraphQL at /graphql, GraphiQL at /graphiql)");
    tracing::info!(%addr, "listening");
    app.run_until_stopped().await
}
