//! Compiles the hand-written Modal API subsets (control plane and task command router) at build time with protox, so building needs
//! no system `protoc`.

fn main() -> Result<(), Box<dyn std::error::Error>> {
    println!("cargo:rerun-if-changed=../../proto/modal_api.proto");
    println!("cargo:rerun-if-changed=../../proto/task_command_router.proto");
    let fds =
        protox::compile(["../../proto/modal_api.proto", "../../proto/task_command_router.proto"], ["../../proto"])?;
    tonic_prost_build::configure().build_server(true).build_client(true).compile_fds(fds)?;
    Ok(())
}
