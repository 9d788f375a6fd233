//! Carrying loopback TCP connections to a Unix socket on the host: how a jail reaches the
//! gateway and the egress proxy (and nothing else). Used in-process for a sandbox's
//! shared network namespace and by `sandboxql relay` inside a jail of its own.

use std::{path::PathBuf, sync::Arc};

use tokio::{
    net::{TcpListener, UnixStream},
    sync::Semaphore,
};

/// Accepts on `listener` for ever and carries each connection to `socket`, at most as
/// many at once as `slots` has permits (the rest wait to be accepted).
pub async fn serve(listener: TcpListener, socket: PathBuf, slots: Arc<Semaphore>) {
    loop {
        let Ok(permit) = slots.clone().acquire_owned().await else { return };
        let Ok((mut tcp, _)) = listener.accept().await else { continue };
        let socket = socket.clone();
        tokio::spawn(async move {
            let _permit = permit;
            if let Ok(mut unix) = UnixStream::connect(&socket).await {
                let _ = tcp.set_nodelay(true);
                let _ = tokio::io::copy_bidirectional(&mut tcp, &mut unix).await;
            }
        });
    }
}
