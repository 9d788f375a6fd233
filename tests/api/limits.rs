//! `{ limits { … } }` publishes every limit the server enforces, as configured.

use serde_json::json;

use crate::helpers::{DbKind, TestApp};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_limits_query_answers_every_limit_as_configured() {
    let app = TestApp::spawn_with(
        DbKind::Sqlite,
        |c| {
            c.limits.max_page_size = 7;
            c.limits.max_prompt_bytes = 1234;
        },
        None,
    )
    .await;
    let (_, token) = app.new_user("lim").await;
    let fields = app.ok(&token, r#"{ __type(name: "Limits") { fields { name } } }"#, json!({})).await;
    let names: Vec<String> = fields["__type"]["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["name"].as_str().unwrap().to_string())
        // Every field is a figure but the host's bounds (tests/api/bounds) and switches.
        .filter(|n| n != "sandboxBounds")
        .collect();
    assert!(names.len() >= 30, "{names:?}");
    let data = app.ok(&token, &format!("{{ limits {{ {} }} }}", names.join(" ")), json!({})).await;
    for n in &names {
        let v = &data["limits"][n];
        let figures = v.as_array().is_some_and(|a| a.iter().all(|x| x.as_u64().is_some()));
        assert!(v.as_u64().is_some() || v.is_boolean() || figures, "{n}: {v}");
    }
    assert_eq!(data["limits"]["maxPageSize"], 7);
    assert_eq!(data["limits"]["maxPromptBytes"], 1234);
    assert_eq!(data["limits"]["maxFileReadBytes"], app.config.limits.max_file_read_bytes);
    // The published figure is the one enforced.
    let (code, msg) = app.err(Some(&token), "{ sandboxes(first: 8) { edges { cursor } } }", json!({})).await;
    assert_eq!(code, "BAD_USER_INPUT", "{msg}");
    app.ok(&token, "{ sandboxes(first: 7) { edges { cursor } } }", json!({})).await;
}
