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

/// Who the loopback platforms accept: the WeChat app and the Polyv account.
pub struct Credentials {
    pub wechat_appid: String,
    pub wechat_secret: crate::sources::secret::Secret,
    pub polyv_userid: String,
    pub polyv_secret: crate::sources::secret::Secret,
}

/// Both loopback platforms, serving one generated data directory (`sample_data/` or a
/// `cdncost generate` output): what the demo, `examples/serve` and the tests start with
/// one call. Dropping it stops both.
pub struct Platforms {
    pub wechat: crate::sources::wechat::server::WechatServer,
    pub polyv: crate::sources::polyv::server::PolyvServer,
}

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("starting the loopback WeChat server: {0}")]
    Wechat(String),
    #[error("starting the loopback Polyv server: {0}")]
    Polyv(std::io::Error),
    #[error("loading the Polyv data of {dir}: {detail}")]
    PolyvData {
        dir: std::path::PathBuf,
        detail: String,
    },
}

impl Platforms {
    /// Starts both on free ports. Polyv's data comes from `DATA/polyv/` (`videos.csv`,
    /// `traffic.csv`); `today` is Polyv's "today", which decides what is final.
    pub async fn start(
        data: &std::path::Path,
        who: Credentials,
        today: chrono::NaiveDate,
    ) -> Result<Platforms, StartError> {
        use crate::sources::polyv::server::{PolyvServer, PolyvTraffic};
        use crate::sources::wechat::server::WechatServer;
        let wechat = WechatServer::start(&who.wechat_appid, who.wechat_secret, data)
            .await
            .map_err(|e| StartError::Wechat(format!("{e:#}")))?;
        let dir = data.join("polyv");
        let data_err = |e: &dyn std::fmt::Display| StartError::PolyvData {
            dir: dir.clone(),
            detail: format!("{e:#}"),
        };
        let videos = crate::sources::polyv::videos::read_videos(&dir.join("videos.csv"))
            .map_err(|e| data_err(&e))?;
        let traffic =
            PolyvTraffic::load(&dir.join("traffic.csv"), videos.into_iter().map(|v| v.vid))
                .map_err(|e| data_err(&e))?;
        let polyv = PolyvServer::start(&who.polyv_userid, who.polyv_secret, traffic, today)
            .await
            .map_err(StartError::Polyv)?;
        Ok(Platforms { wechat, polyv })
    }
}
