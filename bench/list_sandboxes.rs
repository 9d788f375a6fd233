//! `sandboxes(first: 50)` over HTTP GraphQL under concurrent clients, against the same
//! query issued straight through sea-orm, in one process on one database.
//!
//! Run: `cargo bench --bench list_sandboxes` (SQLite) or with
//! `BENCH_DATABASE_URL=postgres://postgres@127.0.0.1:5432/<db>` for Postgres.

#[allow(dead_code)]
#[path = "common.rs"]
mod common;

use sandboxql::{
    auth::Viewer,
    entity::enums::Role,
    service::{
        accounts,
        paging::PageRequest,
        sandboxes::{self, SandboxFilter},
    },
    startup::Application,
};
use serde_json::json;

const SANDBOXES: usize = 200;
const CLIENTS: usize = 16;
const PER_CLIENT: usize = 300;
const ROUNDS: usize = 4;
const QUERY: &str = "{ sandboxes(first: 50) { edges { cursor node { id name status provider backend externalId createdAt updatedAt } } pageInfo { hasNextPage endCursor } } }";

#[tokio::main(flavor = "multi_thread")]
async fn main() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let mut config = common::config_for(dir.path().to_path_buf());
    config.limits.max_sandboxes_per_account = SANDBOXES as u64;
    config.store.database_url = std::env::var("BENCH_DATABASE_URL").ok();
    let app = Application::build(config).await?;
    let addr = app.local_addr()?;
    let svc = app.services.clone();
    tokio::spawn(app.run_until_stopped());

    let issued =
        accounts::create_account(&svc.db, "bench", Role::User, 100).await.map_err(|e| anyhow::anyhow!("{e}"))?;
    let viewer = Viewer { account_id: issued.account_id, organization_id: None, role: Role::User, read_only: false };
    for i in 0..SANDBOXES {
        let input = sandboxql::service::lifecycle::CreateSandbox {
            provider: sandboxql::entity::enums::Provider::ClaudeCode,
            template: None,
            agent_id: None,
            name: Some(format!("bench-{i}")),
            from_snapshot: None,
            git: None,
            allow_partial: false,
        };
        svc.lifecycle.create(&viewer, input).await.map_err(|e| anyhow::anyhow!("{e}"))?;
    }
    let client = reqwest::Client::builder().pool_max_idle_per_host(CLIENTS).build()?;
    let url = format!("http://{addr}/graphql");
    let body = json!({"query": QUERY}).to_string();
    let token = issued.token.clone();

    let graphql = {
        let (client, url, body, token) = (client.clone(), url.clone(), body.clone(), token.clone());
        move || {
            let (client, url, body, token) = (client.clone(), url.clone(), body.clone(), token.clone());
            async move {
                let resp = client
                    .post(&url)
                    .bearer_auth(&token)
                    .header("content-type", "application/json")
                    .body(body)
                    .send()
                    .await
                    .expect("send");
                let bytes = resp.bytes().await.expect("body");
                assert!(bytes.len() > 1000, "unexpected reply");
            }
        }
    };
    let direct = {
        let (svc, viewer) = (svc.clone(), viewer.clone());
        move || {
            let (svc, viewer) = (svc.clone(), viewer.clone());
            async move {
                let page = PageRequest::new(50, None, 100).expect("page");
                let rows = sandboxes::list(&svc.db, &viewer, &SandboxFilter::default(), page).await.expect("list");
                assert_eq!(rows.items.len(), 50);
            }
        }
    };
    // Warm both paths, then measure alternately so drift hits both alike.
    common::concurrent(CLIENTS, 30, graphql.clone()).await;
    common::concurrent(CLIENTS, 30, direct.clone()).await;
    // Alternate four rounds of each so drift and background noise hit both alike.
    let backend = if std::env::var("BENCH_DATABASE_URL").is_ok() { "postgres" } else { "sqlite" };
    println!(
        "list_sandboxes on {backend}: {CLIENTS} concurrent clients, {} requests each run, first: 50 of {SANDBOXES}",
        CLIENTS * PER_CLIENT
    );
    let (mut direct_total, mut graphql_total) = (0.0, 0.0);
    for round in 1..=ROUNDS {
        let mut d = common::concurrent(CLIENTS, PER_CLIENT, direct.clone()).await;
        let mut g = common::concurrent(CLIENTS, PER_CLIENT, graphql.clone()).await;
        println!("{}", d.line(&format!("direct sea-orm, round {round}")));
        println!("{}", g.line(&format!("GraphQL over HTTP, round {round}")));
        direct_total += d.throughput();
        graphql_total += g.throughput();
    }
    println!("ratio GraphQL time / direct time: {:.2}x (goal <= 2.0x)", direct_total / graphql_total);
    Ok(())
}
