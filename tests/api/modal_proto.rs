//! The hand-written Modal protos match the compiled descriptors of Modal's official client
//! (`modal` 1.6.4 from PyPI, installed by scripts/install-test-deps.sh): every message,
//! field, enum value and rpc the backend uses, by name, number, type and streaming.

#[test]
fn the_modal_protos_match_the_official_clients_descriptors() {
    let python = "/var/tmp/sandboxql-tools/modal/bin/python";
    assert!(
        std::path::Path::new(python).exists(),
        "Modal's client is not installed at {python}; run scripts/install-test-deps.sh"
    );
    let out = std::process::Command::new(python)
        .arg(concat!(env!("CARGO_MANIFEST_DIR"), "/scripts/check-modal-proto.py"))
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{said}{}", String::from_utf8_lossy(&out.stderr));
    assert!(said.contains("0 mismatches against modal 1.6.4"), "{said}");
}
