//! Both loopback platforms started together, serving one generated data directory: what
//! the demo, `examples/serve` and the tests start with one call. Each server is built on
//! `loopback` (serving an app on a free port); this file sits above both servers.

/// Who the loopback platforms accept: the WeChat app and the Polyv account.
pub struct Credentials {
    pub wechat_appid: String,
    pub wechat_secret: crate::util::secret::Secret,
    pub polyv_userid: String,
    pub polyv_secret: crate::util::secret::Secret,
}

/// Both loopback platforms, serving one generated data directory (`sample_data/` or a
/// `cdncost generate` output): what the demo, `examples/serve` and the tests start with
/// one call. Dropping it stops both.
pub struct Platforms {
    pub wechat: crate::platforms::wechat::server::WechatServer,
    pub polyv: crate::platforms::polyv::server::PolyvServer,
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
        use crate::platforms::polyv::server::{PolyvServer, PolyvTraffic};
        use crate::platforms::wechat::server::WechatServer;
        let wechat = WechatServer::start(&who.wechat_appid, who.wechat_secret, data)
            .await
            .map_err(|e| StartError::Wechat(format!("{e:#}")))?;
        let dir = data.join("polyv");
        let data_err = |e: &dyn std::fmt::Display| StartError::PolyvData {
            dir: dir.clone(),
            detail: format!("{e:#}"),
        };
        let videos = crate::platforms::polyv::videos::read_videos(&dir.join("videos.csv"))
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
