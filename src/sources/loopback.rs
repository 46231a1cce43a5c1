//! Serving an axum app on a free loopback port until dropped: what the loopback WeChat
//! and Polyv servers (tests, the demo, `examples/serve`) share.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};

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

/// A loopback platform: a running server and the state its handlers share (the data
/// it serves, the faults to inject, the requests seen). Each platform's server module
/// adds its own `start` and accessors to `Server<ItsState>`.
pub struct Server<S> {
    running: Running,
    state: Arc<S>,
}

impl<S: Send + Sync + 'static> Server<S> {
    /// Serves `routes` with `state` on a free loopback port, until dropped.
    pub async fn serve(state: S, routes: axum::Router<Arc<S>>) -> std::io::Result<Server<S>> {
        let state = Arc::new(state);
        let running = serve(routes.with_state(state.clone())).await?;
        Ok(Server { running, state })
    }

    pub fn url(&self) -> String {
        self.running.url()
    }

    pub(crate) fn state(&self) -> &S {
        &self.state
    }
}

/// A lock that a panicked handler did not poison for the others (test servers only).
pub fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}
