//! A TCP proxy the test can cut and restore, to make a service disappear mid-request
//! without losing its state.

use std::net::SocketAddr;

use tokio::{net::TcpListener, task::JoinHandle};

/// A proxy from a fixed local port to `target`.
pub struct Proxy {
    /// Where clients connect.
    pub addr: SocketAddr,
    target: SocketAddr,
    task: Option<JoinHandle<()>>,
}

async fn serve(listener: TcpListener, target: SocketAddr) {
    let mut conns = tokio::task::JoinSet::new();
    while let Ok((mut inbound, _)) = listener.accept().await {
        conns.spawn(async move {
            if let Ok(mut outbound) = tokio::net::TcpStream::connect(target).await {
                let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
            }
        });
    }
}

impl Proxy {
    /// Starts proxying to `target` on a free port.
    pub async fn start(target: SocketAddr) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind proxy");
        let addr = listener.local_addr().expect("addr");
        Proxy { addr, target, task: Some(tokio::spawn(serve(listener, target))) }
    }

    /// Cuts every connection and refuses new ones.
    pub fn cut(&mut self) {
        if let Some(t) = self.task.take() {
            t.abort();
        }
    }

    /// Accepts connections again on the same port.
    pub async fn restore(&mut self) {
        let listener = TcpListener::bind(self.addr).await.expect("rebind proxy");
        self.task = Some(tokio::spawn(serve(listener, self.target)));
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.cut();
    }
}
