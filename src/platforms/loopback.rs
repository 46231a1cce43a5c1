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
        Platforms::start_accounts(vec![(data.to_path_buf(), who)], today).await
    }

    /// Starts both on free ports, each serving every account at one base URL (as the
    /// real services serve every appid and userid): each account's data from its own
    /// directory, reached only with its own credentials.
    pub async fn start_accounts(
        accounts: Vec<(std::path::PathBuf, Credentials)>,
        today: chrono::NaiveDate,
    ) -> Result<Platforms, StartError> {
        use crate::platforms::polyv::server::{PolyvServer, PolyvTraffic, PolyvUser};
        use crate::platforms::wechat::server::{LoopbackApp, WechatServer};
        let mut apps = Vec::new();
        let mut users = Vec::new();
        for (data, who) in accounts {
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
            users.push(PolyvUser {
                userid: who.polyv_userid,
                secret: who.polyv_secret,
                traffic,
            });
            apps.push(LoopbackApp {
                appid: who.wechat_appid,
                secret: who.wechat_secret,
                data,
            });
        }
        let wechat = WechatServer::start_apps(apps)
            .await
            .map_err(|e| StartError::Wechat(format!("{e:#}")))?;
        let polyv = PolyvServer::start_users(users, today)
            .await
            .map_err(StartError::Polyv)?;
        Ok(Platforms { wechat, polyv })
    }
}
