//! Modal: the template's CPU and memory travel in `SandboxCreate` as Modal's official
//! client sends `Sandbox.create(cpu=(request, limit), memory=(request, limit))`
//! (`modal/_resources.py` of `modal` 1.6.4): cores ×1000, MiB, the limits beside.

use serde_json::json;

use crate::{
    helpers::{DbKind, fake_modal::FakeModal},
    modal_backend::spawn_tweaked,
};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sandbox_create_carries_the_templates_resources() {
    let fake = FakeModal::start().await;
    let dir = tempfile::tempdir().unwrap();
    let templates = dir.path().join("templates.toml");
    std::fs::write(
        &templates,
        "[[templates]]\nname = \"default\"\ndescription = \"the default\"\ndefault = true\n\
         [[templates]]\nname = \"large\"\ndescription = \"two cores, capped at three\"\n\
         [templates.resources]\ncpu = 2\ncpu_max = 3\nmemory = \"3 GiB\"\ndisk = \"20 GiB\"\n",
    )
    .unwrap();
    let app = spawn_tweaked(DbKind::Sqlite, &fake, |c| c.sandbox.templates = Some(templates.clone())).await;
    let (_, token) = app.new_user("modal-sizes").await;
    let large = app
        .ok(&token, "mutation { createSandbox(input: {template: \"large\"}) { id template status } }", json!({}))
        .await;
    assert_eq!(large["createSandbox"]["template"], "large");
    let plain = app.ok(&token, "mutation { createSandbox(input: {}) { template } }", json!({})).await;
    assert_eq!(plain["createSandbox"]["template"], "default", "provider alone picks the default");
    let (code, msg) =
        app.err(Some(&token), "mutation { createSandbox(input: {template: \"huge\"}) { id } }", json!({})).await;
    assert_eq!(code, "BAD_USER_INPUT", "{msg}");

    let creates = fake.st().creates.clone();
    assert_eq!(creates.len(), 2);
    let sent = |i: usize| creates[i].definition.clone().unwrap().resources.unwrap();
    let r = sent(0);
    assert_eq!((r.milli_cpu, r.milli_cpu_max, r.memory_mb, r.memory_mb_max), (2000, 3000, 3072, 3072));
    assert_eq!(r.ephemeral_disk_mb, 0, "Sandbox.create sends no disk: the workspace is a volume");
    let r = sent(1);
    assert_eq!(
        (r.milli_cpu, r.milli_cpu_max, r.memory_mb, r.memory_mb_max),
        (1000, 0, 2048, 2048),
        "the built-in sizes"
    );
    // Modal sandboxes reach what local jails reach: the gateway, nothing else here.
    let net = creates[0].definition.clone().unwrap().network_access.unwrap();
    assert_eq!(net.network_access_type, 3, "ALLOWLIST");
    assert_eq!(net.allowed_domains, ["gateway.sandboxql.test"]);
    assert!(net.allowed_cidrs.is_empty());
    // The templates query shows sizes, never images or environment.
    let listed =
        app.ok(&token, "{ templates { name resources { cpu cpuMax memoryBytes diskBytes } } }", json!({})).await;
    assert_eq!(
        listed["templates"][1],
        json!({"name": "large", "resources": {"cpu": 2.0, "cpuMax": 3.0,
        "memoryBytes": 3u64 << 30, "diskBytes": 20u64 << 30}})
    );
    let fields = app.ok(&token, r#"{ __type(name: "SandboxTemplate") { fields { name } } }"#, json!({})).await;
    let names = fields["__type"]["fields"].to_string();
    assert!(!names.contains("image") && !names.contains("env"), "{names}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_egress_hosts_join_the_gateway_on_modals_allow_list() {
    let fake = FakeModal::start().await;
    let egress = vec!["registry.npmjs.org".to_string(), "*.pythonhosted.org:443".into(), "198.51.100.9:8080".into()];
    let app = spawn_tweaked(DbKind::Sqlite, &fake, |c| c.gateway.sandbox_egress = egress.clone()).await;
    let (_, token) = app.new_user("modal-egress").await;
    app.ok(&token, "mutation { createSandbox(input: {}) { id } }", json!({})).await;
    let net = fake.st().creates[0].definition.clone().unwrap().network_access.unwrap();
    assert_eq!(net.network_access_type, 3);
    assert_eq!(net.allowed_domains, ["gateway.sandboxql.test", "registry.npmjs.org", "*.pythonhosted.org"]);
    assert_eq!(net.allowed_cidrs, ["198.51.100.9/32"]);
}

/// With no egress hosts a Modal sandbox may reach the gateway only; a sandbox made before
/// a restart under another allow-list gets the new one (`TaskSetNetworkAccess`) before
/// anything runs in it, without being recreated.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_egress_means_the_gateway_only_and_a_new_list_reaches_running_sandboxes() {
    let fake = FakeModal::start().await;
    let app = spawn_tweaked(DbKind::Sqlite, &fake, |_| {}).await;
    let (_, token) = app.new_user("modal-closed").await;
    let sb = app.create_sandbox(&token, "closed").await;
    let net = fake.st().creates[0].definition.clone().unwrap().network_access.unwrap();
    assert_eq!((net.network_access_type, net.allowed_cidrs.len()), (3, 0), "ALLOWLIST, no addresses");
    assert_eq!(net.allowed_domains, ["gateway.sandboxql.test"], "the gateway only");
    assert!(fake.st().network_changes.is_empty(), "its own create set the policy");

    let mut config = app.config.clone();
    config.gateway.sandbox_egress = vec!["pypi.org".into()];
    let app = app.restart_with(config).await;
    let before = fake.st().calls.len();
    let write = "mutation($id: ID!) { writeFile(sandboxId: $id, path: \"a.txt\", content: \"a\") { size } }";
    app.ok(&token, write, json!({"id": sb})).await;
    let changes = fake.st().network_changes.clone();
    assert_eq!(changes.len(), 1, "{changes:?}");
    assert_eq!(changes[0].1.allowed_domains, ["gateway.sandboxql.test", "pypi.org"]);
    assert_eq!(fake.st().creates.len(), 1, "not recreated");
    let at = |m: &str| fake.st().calls[before..].iter().position(|c| c == m).unwrap();
    assert!(at("TaskSetNetworkAccess") < at("TaskExecStart"), "before anything runs");
}
