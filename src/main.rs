//! Thin entry point: parse the command line, run the command.

use std::io::IsTerminal;

use clap::Parser;
use opentelemetry::trace::TracerProvider;
use sandboxql::{
    cli,
    config::{Cli, Command, LogFormat},
    startup::Application,
};
use tracing_subscriber::{EnvFilter, Layer, layer::SubscriberExt, util::SubscriberInitExt};

/// An OTLP/HTTP trace pipeline to `endpoint` (batched, on its own thread).
fn otlp(endpoint: &str) -> anyhow::Result<opentelemetry_sdk::trace::SdkTracerProvider> {
    use opentelemetry_otlp::WithExportConfig;
    let exporter = opentelemetry_otlp::SpanExporter::builder()
        .with_http()
        .with_endpoint(format!("{}/v1/traces", endpoint.trim_end_matches('/')))
        .build()?;
    let resource = opentelemetry_sdk::Resource::builder().with_service_name("sandboxql").build();
    Ok(opentelemetry_sdk::trace::SdkTracerProvider::builder()
        .with_batch_exporter(exporter)
        .with_resource(resource)
        .build())
}

fn main() -> anyhow::Result<()> {
    // The jail's relay starts in front of every sandboxed command: it skips the rest.
    if std::env::args_os().nth(1).is_some_and(|a| a == "relay") {
        std::process::exit(sandboxql::relay::main_fast()?);
    }
    tokio::runtime::Builder::new_multi_thread().enable_all().build()?.block_on(server_main())
}

async fn server_main() -> anyhow::Result<()> {
    let args = Cli::parse();
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn,sea_orm=warn"));
    let logs = tracing_subscriber::fmt::layer().with_writer(std::io::stderr);
    let logs = match args.log_format {
        LogFormat::Json => logs.json().boxed(),
        // Escape codes only for a person at a terminal, never into a file or a pipe.
        LogFormat::Text => logs.with_ansi(std::io::stderr().is_terminal()).boxed(),
    };
    let provider = args.otlp_endpoint.as_deref().map(otlp).transpose()?;
    let traces = provider.as_ref().map(|p| tracing_opentelemetry::layer().with_tracer(p.tracer("sandboxql")));
    tracing_subscriber::registry().with(filter).with(logs).with(traces).init();
    let done = run(args.command).await;
    if let Some(p) = provider {
        // Flush what is batched before the process ends.
        let _ = tokio::task::spawn_blocking(move || p.shutdown()).await;
    }
    done
}

async fn run(command: Command) -> anyhow::Result<()> {
    match command {
        Command::Serve(config) => serve(*config).await,
        Command::Accounts { action } => cli::accounts(action).await,
        Command::Tokens { action } => cli::tokens(action).await,
        Command::Relay(r) => {
            std::process::exit(sandboxql::relay::run(&r.forward, r.max_connections, &r.command).await?)
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
    // One line, the last one: whoever reads stdout up to here may close it afterwards.
    println!("sandboxql listening on http://{addr} (the playground at /, GraphQL at /graphql, GraphiQL at /graphiql)");
    tracing::info!(%addr, "listening");
    app.run_until_stopped().await
}
