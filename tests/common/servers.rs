//! The loopback WeChat and Polyv servers together, started in-process on the sample
//! data, and the binary run against both (as `cdncost run` and `report` need).

use std::path::PathBuf;
use std::process::{Child, Command};

use cdncost::platforms::loopback::{Credentials, Platforms};
use cdncost::platforms::polyv::server::PolyvServer;
use cdncost::platforms::wechat::server::WechatServer;
use cdncost::util::secret::Secret;
use chrono::NaiveDate;

use super::{Run, Workdir};

pub const APPID: &str = "wx0123456789abcdef";
pub const WECHAT_SECRET: &str = "Wx-App-Secret-Test-77";
pub const USERID: &str = "e0a9b1c2d3";
pub const POLYV_SECRET: &str = "S3cr3t-Polyv-Key-42";
pub const TODAY: &str = "2026-11-23";
pub const DAY1: &str = "2026-11-18";
pub const DAY2: &str = "2026-11-19";

pub fn sample() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("sample_data")
}

pub struct Servers {
    pub w: Workdir,
    pub wechat: WechatServer,
    pub polyv: PolyvServer,
    pub today: &'static str,
    _rt: tokio::runtime::Runtime,
}

pub fn start(config: &str) -> Servers {
    start_on(&sample(), TODAY, config)
}

/// The servers on a data directory of the generator's (`cdn_logs/`, `cdn_usage.csv`,
/// `polyv/`) as of `today` (the binary's today too), with `config` appended to the work
/// directory's `cdncost.toml`.
pub fn start_on(data: &std::path::Path, today: &'static str, config: &str) -> Servers {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let who = Credentials {
        wechat_appid: APPID.into(),
        wechat_secret: Secret::new(WECHAT_SECRET),
        polyv_userid: USERID.into(),
        polyv_secret: Secret::new(POLYV_SECRET),
    };
    let today_date = NaiveDate::parse_from_str(today, "%Y-%m-%d").unwrap();
    let Platforms { wechat, polyv } = rt
        .block_on(Platforms::start(data, who, today_date))
        .unwrap();
    let videos = data.join("polyv/videos.csv");
    let w = Workdir::new();
    let toml = format!(
        "[polyv]\nvideos = {:?}\nrequests_per_second = 200\n{config}",
        videos.display().to_string()
    );
    std::fs::write(w.path("cdncost.toml"), toml).unwrap();
    Servers {
        w,
        wechat,
        polyv,
        today,
        _rt: rt,
    }
}

impl Servers {
    /// The environment that points the binary at both servers.
    pub fn env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("WECHAT_APPID", APPID.into()),
            ("WECHAT_APPSECRET", WECHAT_SECRET.into()),
            ("WECHAT_API_BASE", self.wechat.url()),
            ("POLYV_USERID", USERID.into()),
            ("POLYV_SECRETKEY", POLYV_SECRET.into()),
            ("POLYV_API_BASE", self.polyv.url()),
            ("CDNCOST_TODAY", self.today.into()),
        ]
    }

    pub fn cdncost(&self, args: &[&str]) -> Run {
        let env = self.env();
        let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
        self.w.run_env(args, &env)
    }

    /// The binary started in the background (to be killed, or to race another run).
    pub fn spawn(&self, args: &[&str]) -> Child {
        Command::new(env!("CARGO_BIN_EXE_cdncost"))
            .args(args)
            .current_dir(self.w.dir.path())
            .env_remove("RUST_LOG")
            .envs(self.env())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("the cdncost binary starts")
    }

    /// Logs and Polyv for both days; the usage series up to `usage_to`.
    pub fn fetch_all(&self, usage_to: &str) {
        self.cdncost(&["fetch", "usage", "--from", DAY1, "--to", usage_to])
            .ok();
        self.cdncost(&["fetch", "logs", "--from", DAY1, "--to", DAY2])
            .ok();
        self.cdncost(&["fetch", "polyv", "--from", DAY1, "--to", DAY2])
            .ok();
    }

    pub fn report(&self, extra: &[&str]) -> Run {
        let mut args = vec!["report", "--from", DAY1, "--to", DAY2];
        args.extend_from_slice(extra);
        self.cdncost(&args)
    }
}
