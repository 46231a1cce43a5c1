//! Serving an axum app on a free loopback port until dropped: what the loopback WeChat
//! and Polyv servers (tests, the demo, `examples/serve`) share.

use std::net::SocketAddr;

/// A running server; dropping it shuts the server down.
pub struct Running {
    pub addr: SocketAddr,
    _shutdown: tokio::sync::oneshot::Sender<()>,
}

impl Running {
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }
}

/// Binds 127.0.0.1 on a free port and serves `app` on the current runtime.
pub async fn serve(app: axum::Router) -> std::io::Result<Running> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let (shutdown, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(async move {
        let _ = axum::serve(listener, app)
            .with_graceful_shutdown(async {
                let _ = stopped.await;
            })
            .await;
    });
    Ok(Running {
        addr,
        _shutdown: shutdown,
    })
}
