//! Runs the loopback WeChat and Polyv servers on sample_data/ until stopped (Ctrl-C), printing the
//! environment to point cdncost at them: for trying the fetch commands by hand.
//!
//!   cargo run --release --example serve
//!   CDNCOST_SERVE_DATA=bench-data/logs-180000-4 cargo run --release --example serve

use cdncost::platforms::loopback::{Credentials, Platforms};
use cdncost::util::secret::Secret;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    // CDNCOST_SERVE_DATA serves another generated directory (say, the benchmark's).
    let data = std::env::var_os("CDNCOST_SERVE_DATA")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("sample_data"));
    let who = Credentials {
        wechat_appid: "wxloopback0000001".into(),
        wechat_secret: Secret::new("loopback-secret"),
        polyv_userid: "loopbackuser".into(),
        polyv_secret: Secret::new("loopback-key"),
    };
    let today = chrono::NaiveDate::from_ymd_opt(2026, 11, 23).expect("a date");
    let Platforms { wechat, polyv } = Platforms::start(&data, who, today).await?;
    println!(
        "export WECHAT_APPID=wxloopback0000001 WECHAT_APPSECRET=loopback-secret WECHAT_API_BASE={}",
        wechat.url()
    );
    println!(
        "export POLYV_USERID=loopbackuser POLYV_SECRETKEY=loopback-key POLYV_API_BASE={}",
        polyv.url()
    );
    println!("export CDNCOST_TODAY=2026-11-23");
    if std::env::args().any(|a| a == "--hostile") {
        wechat.faults().hostile_entries = true;
    }
    // Serve until the process is stopped (Ctrl-C).
    std::future::pending::<()>().await;
    Ok(())
}
