//! `[notify]` end to end: the real binary's `run` posts to a loopback robot of each kind,
//! which checks signatures like the real ones (DingTalk, Feishu), rate-limits, fails or is
//! down on request.

mod common;

use std::collections::BTreeMap;

use cdncost::sources::robot::server::RobotServer;
use cdncost::sources::robot::Kind;
use common::servers::*;
use common::*;

const RUN: &[&str] = &["run", "--date", DAY2, "--lookback", "1"];
const PRICED: &str = "[prices]\nwechat_cny_per_gb = 0.2\npolyv_cny_per_gb = 0.12\n";
const TOKEN: &str = "robot-token-7f3a9c";
const SECRET: &str = "SEC0123456789abcdef";

struct Setup {
    s: Servers,
    robot: RobotServer,
    _rt: tokio::runtime::Runtime,
}

/// The platforms and a robot of `kind`; `[notify]` points at it, with `extra` settings.
fn start_with_robot(kind: Kind, robot_secret: Option<&str>, extra: &str) -> Setup {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let robot = rt
        .block_on(RobotServer::start(TOKEN, robot_secret))
        .unwrap();
    let kind_name = format!("{kind:?}").to_lowercase();
    let secret_line = robot_secret.map_or(String::new(), |s| format!("secret = \"{s}\"\n"));
    let config = format!(
        "{PRICED}[notify]\nkind = \"{kind_name}\"\nwebhook_url = \"{}\"\n{secret_line}\
         retry = {{ attempts = 3, base_ms = 10, max_ms = 20, total_secs = 5 }}\n{extra}",
        robot.webhook_url(kind)
    );
    Setup {
        s: start(&config),
        robot,
        _rt: rt,
    }
}

/// The text a robot got, whatever its kind's shape.
fn text_of(body: &serde_json::Value) -> String {
    for pointer in ["/markdown/content", "/markdown/text", "/content/text"] {
        if let Some(text) = body.pointer(pointer).and_then(|v| v.as_str()) {
            return text.to_string();
        }
    }
    body.to_string()
}

/// The report's total and its most expensive channel, from `channel_daily.csv`.
fn report_total_and_top(s: &Servers) -> (String, String) {
    let rows = csv_rows(&std::fs::read(s.w.path("out/channel_daily.csv")).unwrap());
    let fen = |v: &str| -> i64 {
        let (units, cents) = v.split_once('.').unwrap();
        units.parse::<i64>().unwrap() * 100 + cents.parse::<i64>().unwrap()
    };
    let mut by_channel: BTreeMap<String, i64> = BTreeMap::new();
    for r in &rows {
        *by_channel.entry(r["channel"].clone()).or_default() += fen(&r["total_cost_cny"]);
    }
    let total: i64 = by_channel.values().sum();
    let top = by_channel
        .iter()
        .max_by_key(|(c, f)| (**f, std::cmp::Reverse((*c).clone())))
        .unwrap();
    (
        format!("¥{}.{:02}", total / 100, total % 100),
        top.0.clone(),
    )
}

/// Neither the robot's token nor its secret in any output or file but the config.
fn assert_no_secret(setup: &Setup, outputs: &[&str]) {
    for text in outputs {
        assert!(!text.contains(TOKEN) && !text.contains(SECRET), "{text}");
    }
    for file in files_below(setup.s.w.dir.path()) {
        if file == "cdncost.toml" {
            continue;
        }
        let bytes = std::fs::read(setup.s.w.dir.path().join(&file)).unwrap();
        let text = String::from_utf8_lossy(&bytes);
        assert!(
            !text.contains(TOKEN) && !text.contains(SECRET),
            "a secret in {file}"
        );
    }
}

#[test]
fn each_kind_gets_one_message_with_the_reports_figures() {
    for (kind, secret) in [
        (Kind::Wecom, None),
        (Kind::Dingtalk, Some(SECRET)),
        (Kind::Feishu, Some(SECRET)),
        (Kind::Webhook, None),
    ] {
        let setup = start_with_robot(kind, secret, "");
        let run = setup.s.cdncost(RUN).ok();
        let received = setup.robot.received();
        assert_eq!(received.len(), 1, "{kind:?}: {:?}", setup.robot.attempts());
        let (total, top) = report_total_and_top(&setup.s);
        let body = &received[0].body;
        if kind == Kind::Webhook {
            assert_eq!(body["status"], "完成");
            assert_eq!(body["exit"], 0);
            assert_eq!(
                format!("¥{}", body["total_cost_cny"].as_str().unwrap()),
                total
            );
            assert_eq!(body["top_channels"][0]["channel"], top.as_str());
        } else {
            let text = text_of(body);
            assert!(
                text.contains(&format!("总费用: {total}")),
                "{kind:?}: {text}"
            );
            assert!(
                text.contains(&format!("费用前 5 渠道: {top} ")),
                "{kind:?}: {text}"
            );
            assert!(text.contains("report.html"), "{text}");
        }
        assert_no_secret(&setup, &[&run.stdout(), &run.stderr()]);
    }
}

#[test]
fn a_failed_run_still_posts_what_failed() {
    let setup = start_with_robot(Kind::Dingtalk, Some(SECRET), "");
    setup.s.wechat.faults().daily_quota = true;
    let run = setup.s.cdncost(RUN).expect_code(1);
    let received = setup.robot.received();
    assert_eq!(received.len(), 1);
    let text = text_of(&received[0].body);
    assert!(received[0].body["markdown"]["title"]
        .as_str()
        .unwrap()
        .ends_with("失败"));
    assert!(text.contains("45009"), "{text}");
    assert_no_secret(&setup, &[&run.stdout(), &run.stderr()]);
}

#[test]
fn on_problems_stays_silent_on_a_good_night_and_speaks_on_a_bad_one() {
    let setup = start_with_robot(Kind::Wecom, None, "on = \"problems\"\nlang = \"en\"\n");
    setup.s.cdncost(RUN).ok();
    assert!(setup.robot.received().is_empty());
    setup.s.wechat.faults().empty_listing = true;
    setup.s.cdncost(RUN).expect_code(3);
    let received = setup.robot.received();
    assert_eq!(received.len(), 1);
    let text = text_of(&received[0].body);
    assert!(text.contains("data incomplete"), "{text}");
    assert!(
        text.contains("no log files listed for a billed day"),
        "{text}"
    );
}

#[test]
fn a_robot_that_fails_is_retried_and_never_changes_the_run() {
    // Rate-limited once, then fine: one message, two attempts.
    let setup = start_with_robot(Kind::Feishu, Some(SECRET), "");
    setup.robot.faults().rate_limited = 1;
    setup.s.cdncost(RUN).ok();
    assert_eq!(setup.robot.received().len(), 1);
    assert_eq!(
        setup.robot.attempts().len(),
        2,
        "{:?}",
        setup.robot.attempts()
    );

    // Down: the run exits as it would, the report is written, a warning says so.
    let setup = start_with_robot(Kind::Dingtalk, Some(SECRET), "");
    setup.robot.faults().down = true;
    let run = setup.s.cdncost(RUN).ok();
    assert!(setup.s.w.path("out/report.html").exists());
    assert!(
        run.stderr().contains("notify:") && run.stderr().contains("HTTP 500"),
        "{}",
        run.stderr()
    );
    assert_eq!(
        setup.robot.attempts().len(),
        3,
        "retried to the attempts setting"
    );
    assert_no_secret(&setup, &[&run.stdout(), &run.stderr()]);
}

#[test]
fn a_wrong_secret_is_refused_by_the_robot_and_said() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let robot = rt
        .block_on(RobotServer::start(TOKEN, Some("SECsomething-else")))
        .unwrap();
    let config = format!(
        "{PRICED}[notify]\nkind = \"dingtalk\"\nwebhook_url = \"{}\"\nsecret = \"{SECRET}\"\n\
         retry = {{ attempts = 2, base_ms = 10, max_ms = 20, total_secs = 5 }}\n",
        robot.webhook_url(Kind::Dingtalk)
    );
    let s = start(&config);
    let run = s.cdncost(RUN).ok();
    assert!(robot.received().is_empty());
    assert!(run.stderr().contains("sign not match"), "{}", run.stderr());
    assert!(!run.stderr().contains(SECRET) && !run.stderr().contains(TOKEN));
}

/// Budgets set low: the first run's message opens with the budget passed (预算 …, 已用 …%,
/// 预计 …) and the month-end forecast; the page shows every budget; a second run of the
/// same month announces nothing again, having remembered it in the lake.
#[test]
fn a_budget_passed_is_announced_first_and_once_a_month() {
    let setup = start_with_robot(
        Kind::Wecom,
        None,
        "[budgets]\nmonth_cny = 1\nwarn_at_percent = [80, 100]\n[budgets.channels]\nwxad = 1000\n",
    );
    setup.s.cdncost(RUN).ok();
    let received = setup.robot.received();
    assert_eq!(received.len(), 1);
    let text = text_of(&received[0].body);
    let lines: Vec<&str> = text.lines().filter(|l| l.starts_with("- ")).collect();
    assert!(
        lines[0].starts_with("- 预算 全部：已用超过 100%。已用 ¥")
            && lines[0].contains("预计月末 ¥"),
        "{text}"
    );
    assert!(lines[1].starts_with("- 总费用: "), "{text}");
    assert!(lines[2].starts_with("- 预计 2026-11 月末 ¥"), "{text}");
    assert!(
        !text.contains("渠道 wxad"),
        "wxad is far from its budget: {text}"
    );
    let notices = setup.s.w.path("lake/_manifest/budget_notices/2026-11.json");
    assert!(notices.exists());
    let page = std::fs::read_to_string(setup.s.w.path("out/report.html")).unwrap();
    assert!(
        page.contains("<h2>预算</h2>") && page.contains("渠道 wxad"),
        "every budget"
    );
    assert!(page.contains("2026-11 月末预测"));

    setup.s.cdncost(RUN).ok();
    let received = setup.robot.received();
    assert_eq!(received.len(), 2);
    let again = text_of(&received[1].body);
    assert!(!again.contains("预算"), "announced once a month: {again}");
    assert!(
        again.contains("预计 2026-11 月末"),
        "the forecast is said every night"
    );
}

/// `on = "problems"` keeps a good night quiet, but not one that passes a budget: that is
/// said once, so it is never lost to a quiet setting.
#[test]
fn a_budget_passed_is_news_even_when_only_problems_are_posted() {
    let setup = start_with_robot(
        Kind::Wecom,
        None,
        "on = \"problems\"\n[budgets]\nmonth_cny = 1\n",
    );
    setup.s.cdncost(RUN).ok();
    let received = setup.robot.received();
    assert_eq!(received.len(), 1, "the budget is news");
    assert!(text_of(&received[0].body).contains("预算 全部"));
    setup.s.cdncost(RUN).ok();
    assert_eq!(setup.robot.received().len(), 1, "then quiet again");
}
