//! The committed schema.graphql must equal the schema the code builds.

#[test]
fn committed_schema_matches_code() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/schema.graphql");
    let committed = std::fs::read_to_string(path).unwrap_or_default();
    let generated = sandboxql::graphql::sdl();
    assert!(
        committed == generated,
        "schema.graphql is out of date with the code.\nRegenerate it with:\n    cargo run -q -- schema > schema.graphql\nand commit the result."
    );
}
