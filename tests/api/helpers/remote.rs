//! Talking to a server that runs as its own process (`sandboxql serve`), by address.

use serde_json::{Value, json};

/// POSTs a GraphQL request and returns the whole JSON reply.
pub async fn gql(addr: &str, token: &str, query: &str, vars: Value) -> Value {
    let body = json!({"query": query, "variables": vars});
    let resp = reqwest::Client::new()
        .post(format!("http://{addr}/graphql"))
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .unwrap();
    resp.json().await.unwrap()
}

/// Creates a sandbox and returns its id.
pub async fn create(addr: &str, token: &str) -> String {
    let v = gql(addr, token, "mutation { createSandbox(input: {}) { id } }", json!({})).await;
    v["data"]["createSandbox"]["id"].as_str().unwrap().to_string()
}

/// Starts a run and returns its id.
pub async fn start(addr: &str, token: &str, sb: &str, prompt: &str) -> String {
    let q = "mutation($s: ID!, $p: String!) { startRun(input: {sandboxId: $s, prompt: $p}) { id } }";
    let v = gql(addr, token, q, json!({"s": sb, "p": prompt})).await;
    v["data"]["startRun"]["id"].as_str().unwrap_or_else(|| panic!("{v}")).to_string()
}

/// Waits (up to 10 s) until the run is no longer RUNNING and returns its status and error.
pub async fn wait_done(addr: &str, token: &str, run: &str) -> Value {
    for _ in 0..200 {
        let v = gql(addr, token, "query($id: ID!) { run(id: $id) { status error } }", json!({"id": run})).await;
        if v["data"]["run"]["status"] != "RUNNING" {
            return v["data"]["run"].clone();
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("run did not finish");
}
