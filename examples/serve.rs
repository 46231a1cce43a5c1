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
    let who = |appid: &str, secret: &str, userid: &str, key: &str| Credentials {
        wechat_appid: appid.into(),
        wechat_secret: Secret::new(secret),
        polyv_userid: userid.into(),
        polyv_secret: Secret::new(key),
    };
    let mut served = vec![(
        data.clone(),
        who(
            "wxloopback0000001",
            "loopback-secret",
            "loopbackuser",
            "loopback-key",
        ),
    )];
    // DATA/accounts/<name>/: further accounts (`cdncost generate --account NAME`), served
    // at the same bases with their own credentials.
    let mut more: Vec<(String, std::path::PathBuf)> = std::fs::read_dir(data.join("accounts"))
        .into_iter()
        .flatten()
        .flatten()
        .filter(|e| e.path().is_dir())
        .map(|e| (e.file_name().to_string_lossy().into_owned(), e.path()))
        .collect();
    more.sort();
    for (i, (name, dir)) in more.iter().enumerate() {
        let n = i + 2;
        served.push((
            dir.clone(),
            who(
                &format!("wxloopback{n:07}"),
                &format!("loopback-secret-{name}"),
                &format!("loopbackuser{n}"),
                &format!("loopback-key-{name}"),
            ),
        ));
    }
    let today = chrono::NaiveDate::from_ymd_opt(2026, 11, 23).expect("a date");
    let Platforms { wechat, polyv } = Platforms::start_accounts(served, today).await?;
    println!(
        "export WECHAT_APPID=wxloopback0000001 WECHAT_APPSECRET=loopback-secret WECHAT_API_BASE={}",
        wechat.url()
    );
    println!(
        "export POLYV_USERID=loopbackuser POLYV_SECRETKEY=loopback-key POLYV_API_BASE={}",
        polyv.url()
    );
    for (i, (name, dir)) in more.iter().enumerate() {
        let n = i + 2;
        println!(
            "# account {name}, in cdncost.toml:\n# [wechat.accounts.{name}]\n# appid = \"wxloopback{n:07}\"\n# secret = \"loopback-secret-{name}\"\n# [polyv.accounts.{name}]\n# userid = \"loopbackuser{n}\"\n# secret_key = \"loopback-key-{name}\"\n# mapping = \"{}\"",
            dir.join("polyv/videos.csv").display()
        );
    }
    println!("export CDNCOST_TODAY=2026-11-23");
    if std::env::args().any(|a| a == "--hostile") {
        wechat.faults().hostile_entries = true;
    }
    // Serve until the process is stopped (Ctrl-C).
    std::future::pending::<()>().await;
    Ok(())
}
