//! The fake Modal is trusted only because Modal's official Python client (`modal` 1.6.4,
//! installed by `scripts/install-test-deps.sh`) drives it through a whole sandbox life
//! cycle (`tests/modal_official/drive.py`): app, v2 volumes, a V2 sandbox with two
//! volume mounts, an allow-list and an encrypted port, exec with stdin, stdout, env and a
//! pty, from-name, a server reached through the port's tunnel over TLS,
//! terminate and wait, and at-rest listing and reads by volume version. The test fails
//! loudly when the client is missing.

use sandboxql::backend::modal::proto::{
    ObjectCreationType, VolumeFsVersion, VolumeGetOrCreateRequest, VolumeListFilesRequest,
    modal_client_client::ModalClientClient,
};

use crate::helpers::fake_modal::{FakeModal, TOKEN_ID, TOKEN_SECRET};

/// The official client's interpreter (its venv from the install script).
const PYTHON: &str = "/var/tmp/sandboxql-tools/modal/bin/python";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_official_client_runs_its_whole_sequence_against_the_fake() {
    assert!(std::path::Path::new(PYTHON).exists(), "{PYTHON} missing: run scripts/install-test-deps.sh");
    let fake = FakeModal::start().await;
    let config = tempfile::tempdir().unwrap();
    let tunnel_port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/modal_official/drive.py");
    let out = tokio::process::Command::new(PYTHON)
        .args([script, "sandboxql-official", "official-vol", "official-sb"])
        .env("MODAL_SERVER_URL", fake.url())
        .env("MODAL_TOKEN_ID", TOKEN_ID)
        .env("MODAL_TOKEN_SECRET", TOKEN_SECRET)
        .env("MODAL_CONFIG_PATH", config.path().join("modal.toml"))
        .env("DRIVE_TUNNEL_PORT", tunnel_port.to_string())
        .env("DRIVE_TUNNEL_CA", fake.ca.pem_path())
        .env("HOME", config.path())
        .output()
        .await
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "the official client failed:\n{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    let steps: Vec<serde_json::Value> = stdout.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let names: Vec<&str> = steps.iter().map(|s| s["step"].as_str().unwrap()).collect();
    assert_eq!(
        names,
        [
            "app",
            "volumes",
            "create",
            "exec",
            "exec_env",
            "exec_pty",
            "from_name",
            "tunnel",
            "terminate",
            "volume",
            "volume_v1"
        ]
    );
    assert!(steps.iter().all(|s| s["ok"] == true), "{stdout}");

    // It spoke the V2 calls, the router, and each volume's own listing call.
    for method in [
        "SandboxCreateV2",
        "SandboxGetFromNameV2",
        "SandboxTerminateV2",
        "SandboxWaitV2",
        "SandboxGetTunnelsV2",
        "TaskExecStart",
        "TaskExecStdinWrite",
        "TaskExecStdioRead",
        "TaskExecWait",
        "VolumeListFiles2",
        "VolumeListFiles",
        "VolumeGetFile2",
    ] {
        assert!(fake.count(method) >= 1, "{method} was not called: {:?}", fake.st().calls);
    }
    assert!(fake.st().unauthenticated.is_empty(), "{:?}", fake.st().unauthenticated);
    let create = fake.st().creates[0].definition.clone().unwrap();
    let access = create.network_access.unwrap();
    assert_eq!((access.network_access_type, access.allowed_domains), (3, vec!["gateway.example".to_string()]));
    let ports = create.open_ports.unwrap().ports;
    assert_eq!(ports.len(), 1);
    assert_eq!((ports[0].port, ports[0].unencrypted, ports[0].tunnel_type), (u32::from(tunnel_port), false, None));
    assert!(fake.st().tunnel_connections >= 1);
}

/// The fake's refusals the official client never triggers: the v1 listing call on a v2
/// volume, and (in `fake_modal_sandbox`) a volume mounted twice and a V1 call on a V2
/// sandbox.
#[tokio::test]
async fn the_fake_refuses_the_listing_call_of_the_other_version() {
    let fake = FakeModal::start().await;
    let channel = tonic::transport::Endpoint::from_shared(fake.url()).unwrap().connect().await.unwrap();
    let mut api = ModalClientClient::with_interceptor(channel, |mut req: tonic::Request<()>| {
        let md = req.metadata_mut();
        md.insert("x-modal-token-id", TOKEN_ID.parse().unwrap());
        md.insert("x-modal-token-secret", TOKEN_SECRET.parse().unwrap());
        md.insert("x-modal-client-type", "1".parse().unwrap());
        md.insert("x-modal-client-version", "1.6.4".parse().unwrap());
        Ok(req)
    });
    let vol = api
        .volume_get_or_create(VolumeGetOrCreateRequest {
            deployment_name: "v2-only".into(),
            object_creation_type: ObjectCreationType::CreateIfMissing as i32,
            version: VolumeFsVersion::V2 as i32,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(vol.metadata.unwrap().version, VolumeFsVersion::V2 as i32);
    let listed = api
        .volume_list_files(VolumeListFilesRequest { volume_id: vol.volume_id, ..Default::default() })
        .await
        .map(|_| ())
        .unwrap_err();
    assert_eq!(listed.code(), tonic::Code::FailedPrecondition, "{listed:?}");
}
