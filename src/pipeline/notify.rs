//! The nightly result as one chat message (`[notify]`): the days, the status in words
//! with its reason, the cost to the fen by platform, the top channels and their share, the
//! last day against the days before it, what is incomplete, rejected lines, where the
//! report is, and anomaly lines (`[notify.alerts]`). Posting never changes the run's exit
//! status and never loses the report: a robot that fails is a warning.

use std::collections::BTreeMap;

use chrono::NaiveDate;

use super::nightly::NightlyOutcome;
use super::Job;
use crate::exit::Exit;
use crate::lake::UNTAGGED;
use crate::report::money::yuan;
use crate::sources::robot::{self, Alerts, Message, NotifyConfig, When};
use crate::table::thousands;

/// Channels in the message.
const TOP: usize = 5;
/// Days a day is compared with.
const TRAILING_DAYS: u64 = 7;

/// Every sentence of the message, once per language.
pub struct Words {
    pub title: &'static str,
    pub complete: &'static str,
    pub incomplete: &'static str,
    pub not_final: &'static str,
    pub failed: &'static str,
    pub total: &'static str,
    pub versus_trailing: &'static str,
    pub no_trailing: &'static str,
    pub top_channels: &'static str,
    pub incomplete_days: &'static str,
    pub rejected: &'static str,
    pub report: &'static str,
    pub no_report: &'static str,
    pub anomalies: &'static str,
    pub spike: &'static str,
    pub untagged: &'static str,
    pub deviation: &'static str,
    pub rejected_share: &'static str,
    /// A budget crossed: `{scope}`, `{crossing}`, `{used}`, `{used_pct}`, `{budget}`,
    /// `{expected}`, `{expected_pct}`.
    pub budget: &'static str,
    pub budget_by_used: &'static str,
    pub budget_by_forecast: &'static str,
    pub studio: &'static str,
    pub channel: &'static str,
    pub drama: &'static str,
    /// The month-end forecast: `{month}`, `{expected}`, `{low}`, `{high}`, `{method}`.
    pub forecast: &'static str,
    pub method_weekday: &'static str,
    /// `{n}` days.
    pub method_trailing: &'static str,
    pub method_none: &'static str,
    pub method_complete: &'static str,
}

pub const ZH: Words = Words {
    title: "cdncost 每日 CDN 费用",
    complete: "完成",
    incomplete: "数据不完整",
    not_final: "尚未最终",
    failed: "失败",
    total: "总费用",
    versus_trailing: "较前 {n} 日日均",
    no_trailing: "本月此前无可比日期",
    top_channels: "费用前 {n} 渠道",
    incomplete_days: "不完整的日期",
    rejected: "拒收行",
    report: "报告",
    no_report: "未生成报告",
    anomalies: "异常",
    spike: "{channel} {date} 费用 {cost}，为前 7 日中位数 {median} 的 {factor} 倍",
    untagged: "{date} 未标记渠道流量占费用 {share}%",
    deviation: "{date} 对账偏差 {deviation}%",
    rejected_share: "拒收行占 {share}%",
    budget: "预算 {scope}：{crossing}。已用 {used}（{used_pct}%，预算 {budget}），预计月末 {expected}（{expected_pct}%）",
    budget_by_used: "已用超过 {threshold}%",
    budget_by_forecast: "预计将超过 {threshold}%",
    studio: "全部",
    channel: "渠道 {name}",
    drama: "剧目 {name}",
    forecast: "预计 {month} 月末 {expected}（区间 {low}–{high}，{method}）",
    method_weekday: "按近 4 周同星期",
    method_trailing: "按近 {n} 日日均",
    method_none: "无历史数据",
    method_complete: "本月已完整",
};

pub const EN: Words = Words {
    title: "cdncost nightly CDN cost",
    complete: "complete",
    incomplete: "data incomplete",
    not_final: "not final yet",
    failed: "failed",
    total: "Total cost",
    versus_trailing: "vs the previous {n} days' average",
    no_trailing: "no earlier day this month to compare with",
    top_channels: "Top {n} channels by cost",
    incomplete_days: "Incomplete days",
    rejected: "Rejected lines",
    report: "Report",
    no_report: "no report was written",
    anomalies: "Anomalies",
    spike: "{channel} on {date} cost {cost}, {factor}× its 7-day median {median}",
    untagged: "untagged traffic is {share}% of {date}'s cost",
    deviation: "reconciliation deviation on {date} is {deviation}%",
    rejected_share: "rejected lines are {share}% of lines read",
    budget: "Budget {scope}: {crossing}. Used {used} ({used_pct}% of {budget}), month-end forecast {expected} ({expected_pct}%)",
    budget_by_used: "used past {threshold}%",
    budget_by_forecast: "forecast past {threshold}%",
    studio: "studio",
    channel: "channel {name}",
    drama: "drama {name}",
    forecast: "Forecast for {month}: {expected} (range {low}–{high}, {method})",
    method_weekday: "same weekday, last 4 weeks",
    method_trailing: "mean of the last {n} days",
    method_none: "no history",
    method_complete: "month complete",
};

pub fn words(lang: &str) -> &'static Words {
    if lang.eq_ignore_ascii_case("en") {
        &EN
    } else {
        &ZH
    }
}

/// `template` with each `{name}` replaced.
fn fill(template: &str, values: &[(&str, String)]) -> String {
    let mut text = template.to_string();
    for (name, value) in values {
        text = text.replace(&format!("{{{name}}}"), value);
    }
    text
}

fn status(w: &Words, exit: Exit) -> &'static str {
    match exit {
        Exit::Ok => w.complete,
        Exit::Incomplete => w.incomplete,
        Exit::NotFinal => w.not_final,
        Exit::Failure => w.failed,
    }
}

/// The longest channel name a message shows (a `us` value is anyone's to choose).
const CHAT_NAME_CHARS: usize = 64;

/// A name from the data (a channel: whatever a viewer's URL said) as a chat message may
/// show it, in every robot's format: control characters and line breaks gone (no line
/// of its own), the characters markdown acts on (`*`, `#`, `<`, `>`, `[`, `]`, `` ` ``,
/// `~`, `|`) and `@` (a mention) replaced by their full-width forms, which read the same
/// and do nothing; at most [`CHAT_NAME_CHARS`] characters.
fn chat_safe(name: &str) -> String {
    let mut out: String = name
        .chars()
        .filter(|c| !c.is_control() && !matches!(c, '\u{2028}' | '\u{2029}'))
        .map(|c| match c {
            '*' | '#' | '<' | '>' | '[' | ']' | '`' | '~' | '|' | '@' => {
                char::from_u32(c as u32 - 0x21 + 0xFF01).unwrap_or(c)
            }
            c => c,
        })
        .take(CHAT_NAME_CHARS + 1)
        .collect();
    if out.chars().count() > CHAT_NAME_CHARS {
        out = out.chars().take(CHAT_NAME_CHARS).collect::<String>() + "…";
    }
    out
}

/// The message of a run.
pub fn compose(outcome: &NightlyOutcome, alerts: &Alerts, lang: &str) -> Message {
    let w = words(lang);
    let status = status(w, outcome.exit);
    let title = format!("{} {}: {status}", w.title, outcome.days);
    let mut lines: Vec<String> = Vec::new();
    let mut reasons: Vec<String> = outcome.problems.clone();
    let mut anomalies: Vec<String> = Vec::new();
    let mut incomplete: BTreeMap<String, String> = BTreeMap::new();
    lines.extend(outcome.budget_news.iter().map(|c| budget_line(w, c)));
    match &outcome.report {
        Some(report) => {
            let f = &report.figures;
            let platforms: Vec<String> = f
                .platform_fen
                .iter()
                .map(|(label, fen)| format!("{} {}", label.in_lang(words_lang(lang)), yuan(*fen)))
                .collect();
            lines.push(format!(
                "{}: {} ({})",
                w.total,
                yuan(report.total_cost_fen),
                platforms.join(", ")
            ));
            if let Some(outlook) = &report.outlook {
                lines.push(forecast_line(w, &outlook.studio));
            }
            lines.push(trailing_line(w, outcome.days.to(), &f.day_channel_fen));
            let top: Vec<String> = f
                .channel_fen
                .iter()
                .take(TOP)
                .map(|(channel, fen)| {
                    let share = percent(*fen, report.total_cost_fen);
                    format!("{} {} ({share}%)", chat_safe(channel), yuan(*fen))
                })
                .collect();
            lines.push(format!(
                "{}: {}",
                fill(w.top_channels, &[("n", TOP.to_string())]),
                top.join(", ")
            ));
            for (date, gaps) in report.gaps.iter().filter(|(_, g)| !g.complete()) {
                incomplete.insert(
                    date.to_string(),
                    gaps.describe_in(words_lang(lang) == crate::report::words::Lang::Zh),
                );
            }
            anomalies.extend(spikes(w, alerts, outcome.days.to(), &f.day_channel_fen));
            anomalies.extend(untagged(w, alerts, outcome, &f.day_channel_fen));
            for (date, deviation) in &f.deviation_pct {
                let in_run = *date >= outcome.days.from() && *date <= outcome.days.to();
                if in_run && deviation.abs() > alerts.deviation_pct {
                    let values = [
                        ("date", date.to_string()),
                        ("deviation", format!("{deviation:+.1}")),
                    ];
                    anomalies.push(fill(w.deviation, &values));
                }
            }
            lines.push(format!("{}: {}", w.report, f.page.display()));
        }
        None => lines.push(w.no_report.to_string()),
    }
    if !incomplete.is_empty() {
        let days: Vec<String> = incomplete
            .iter()
            .map(|(d, why)| format!("{d} ({why})"))
            .collect();
        lines.push(format!("{}: {}", w.incomplete_days, days.join("; ")));
        reasons.extend(days);
    }
    let (rejected, read) = (outcome.fetched.rejected, outcome.fetched.lines);
    lines.push(format!(
        "{}: {} / {}",
        w.rejected,
        thousands(rejected as i128),
        thousands(read as i128)
    ));
    if read > 0 && rejected as f64 * 100.0 / read as f64 > alerts.rejected_pct {
        let share = format!("{:.2}", rejected as f64 * 100.0 / read as f64);
        anomalies.push(fill(w.rejected_share, &[("share", share)]));
    }
    let mut text = String::new();
    if !outcome.problems.is_empty() {
        for problem in &outcome.problems {
            text.push_str(&format!("- {problem}\n"));
        }
    }
    for line in &lines {
        text.push_str(&format!("- {line}\n"));
    }
    if !anomalies.is_empty() {
        text.push_str(&format!("\n**{}**\n", w.anomalies));
        for a in &anomalies {
            text.push_str(&format!("- {a}\n"));
        }
    }
    let record = serde_json::json!({
        "days": outcome.days.to_string(),
        "exit": outcome.exit as i32,
        "status": status,
        "reasons": reasons,
        "total_cost_cny": outcome.report.as_ref().map(|r| crate::report::money::text(r.total_cost_fen)),
        "platforms": outcome.report.as_ref().map(|r| r.figures.platform_fen.iter()
            .map(|(l, f)| serde_json::json!({"platform": l.en, "cost_cny": crate::report::money::text(*f)}))
            .collect::<Vec<_>>()),
        "top_channels": outcome.report.as_ref().map(|r| r.figures.channel_fen.iter().take(TOP)
            .map(|(c, f)| serde_json::json!({"channel": c, "cost_cny": crate::report::money::text(*f)}))
            .collect::<Vec<_>>()),
        "incomplete_days": incomplete,
        "lines": read,
        "rejected_lines": rejected,
        "report": outcome.report.as_ref().map(|r| r.figures.page.display().to_string()),
        "anomalies": anomalies,
        "budgets": outcome.budget_news.iter().map(|c| serde_json::json!({
            "scope": c.budget.scope,
            "threshold_percent": c.threshold,
            "by": c.by,
            "budget_cny": crate::report::money::text(c.budget.budget_fen),
            "used_cny": crate::report::money::text(c.budget.forecast.month_to_date_fen),
            "forecast_cny": crate::report::money::text(c.budget.forecast.expected_fen),
        })).collect::<Vec<_>>(),
        "forecast": outcome.report.as_ref().and_then(|r| r.outlook.as_ref()).map(|o| serde_json::json!({
            "month": o.studio.month.format("%Y-%m").to_string(),
            "month_to_date_cny": crate::report::money::text(o.studio.month_to_date_fen),
            "expected_cny": crate::report::money::text(o.studio.expected_fen),
            "low_cny": crate::report::money::text(o.studio.low_fen),
            "high_cny": crate::report::money::text(o.studio.high_fen),
            "method": o.studio.method.describe(),
        })),
    });
    Message {
        title,
        text,
        record,
    }
}

/// One crossed budget, first in the message: whose, which threshold by what, and where
/// it stands.
fn budget_line(w: &Words, c: &crate::report::budgets::Crossing) -> String {
    use crate::report::budgets::{By, Scope};
    let scope = match &c.budget.scope {
        Scope::Studio => w.studio.to_string(),
        Scope::Channel(name) => fill(w.channel, &[("name", chat_safe(name))]),
        Scope::Drama(name) => fill(w.drama, &[("name", chat_safe(name))]),
    };
    let crossing = match c.by {
        By::MonthToDate => w.budget_by_used,
        By::Forecast => w.budget_by_forecast,
    };
    let f = &c.budget.forecast;
    fill(
        w.budget,
        &[
            ("scope", scope),
            (
                "crossing",
                fill(crossing, &[("threshold", c.threshold.to_string())]),
            ),
            ("used", yuan(f.month_to_date_fen)),
            ("used_pct", format!("{:.1}", c.budget.used_percent())),
            ("budget", yuan(c.budget.budget_fen)),
            ("expected", yuan(f.expected_fen)),
            (
                "expected_pct",
                format!("{:.1}", c.budget.forecast_percent()),
            ),
        ],
    )
}

/// Where the month will end, with its range and how it was projected.
fn forecast_line(w: &Words, f: &crate::report::forecast::Forecast) -> String {
    use crate::report::forecast::Method;
    let method = match f.method {
        Method::Weekday => w.method_weekday.to_string(),
        Method::TrailingMean { days } => fill(w.method_trailing, &[("n", days.to_string())]),
        Method::NoHistory => w.method_none.to_string(),
        Method::Complete => w.method_complete.to_string(),
    };
    fill(
        w.forecast,
        &[
            ("month", f.month.format("%Y-%m").to_string()),
            ("expected", yuan(f.expected_fen)),
            ("low", yuan(f.low_fen)),
            ("high", yuan(f.high_fen)),
            ("method", method),
        ],
    )
}

/// The message's language as the report's words know it.
fn words_lang(lang: &str) -> crate::report::words::Lang {
    use crate::report::words::Lang;
    if lang.eq_ignore_ascii_case("en") {
        Lang::En
    } else {
        Lang::Zh
    }
}

fn percent(part: i64, whole: i64) -> String {
    if whole == 0 {
        return "0.0".into();
    }
    format!("{:.1}", part as f64 * 100.0 / whole as f64)
}

fn day_total(costs: &BTreeMap<(NaiveDate, String), i64>, date: NaiveDate) -> Option<i64> {
    let mut day = costs
        .range((date, String::new())..)
        .take_while(|((d, _), _)| *d == date);
    let first = day.next()?;
    Some(first.1 + day.map(|(_, v)| v).sum::<i64>())
}

/// The days before `date` (at most 7) that the figures hold.
fn trailing(date: NaiveDate) -> impl Iterator<Item = NaiveDate> {
    (1..=TRAILING_DAYS).filter_map(move |n| date.checked_sub_days(chrono::Days::new(n)))
}

fn trailing_line(w: &Words, last: NaiveDate, costs: &BTreeMap<(NaiveDate, String), i64>) -> String {
    let before: Vec<i64> = trailing(last).filter_map(|d| day_total(costs, d)).collect();
    let (Some(today), false) = (day_total(costs, last), before.is_empty()) else {
        return w.no_trailing.to_string();
    };
    let average = before.iter().sum::<i64>() as f64 / before.len() as f64;
    let change = if average > 0.0 {
        (today as f64 / average - 1.0) * 100.0
    } else {
        0.0
    };
    format!(
        "{last} {}, {}: {change:+.1}%",
        yuan(today),
        fill(w.versus_trailing, &[("n", before.len().to_string())])
    )
}

/// Channels whose cost on `last` is at least the factor times their trailing median.
fn spikes(
    w: &Words,
    alerts: &Alerts,
    last: NaiveDate,
    costs: &BTreeMap<(NaiveDate, String), i64>,
) -> Vec<String> {
    let channels: std::collections::BTreeSet<&String> = costs.keys().map(|(_, c)| c).collect();
    let mut found = Vec::new();
    for channel in channels {
        let Some(today) = costs.get(&(last, channel.clone())) else {
            continue;
        };
        let mut before: Vec<i64> = trailing(last)
            .filter_map(|d| costs.get(&(d, channel.clone())).copied())
            .collect();
        // Three days at least make a median worth comparing with.
        if before.len() < 3 {
            continue;
        }
        before.sort_unstable();
        let median = before[before.len() / 2];
        if median > 0 && *today as f64 >= alerts.channel_spike_factor * median as f64 {
            let values = [
                ("channel", chat_safe(channel)),
                ("date", last.to_string()),
                ("cost", yuan(*today)),
                ("median", yuan(median)),
                ("factor", format!("{:.1}", *today as f64 / median as f64)),
            ];
            found.push(fill(w.spike, &values));
        }
    }
    found
}

/// Days of the run whose untagged share of cost is above the threshold.
fn untagged(
    w: &Words,
    alerts: &Alerts,
    outcome: &NightlyOutcome,
    costs: &BTreeMap<(NaiveDate, String), i64>,
) -> Vec<String> {
    outcome
        .days
        .days()
        .filter_map(|date| {
            let total = day_total(costs, date)?;
            let untagged = *costs.get(&(date, UNTAGGED.to_string()))?;
            let share = untagged as f64 * 100.0 / total.max(1) as f64;
            (share > alerts.untagged_share_pct).then(|| {
                fill(
                    w.untagged,
                    &[("date", date.to_string()), ("share", format!("{share:.1}"))],
                )
            })
        })
        .collect()
}

/// Posts the run's message when `[notify]` is set (and `on` says so). Failures are
/// warnings: the run's status and report stand.
pub fn send(job: &Job, outcome: &NightlyOutcome) {
    let Some(config) = job.config.notify.as_ref() else {
        return;
    };
    // A budget crossed is news on a good night too: it is announced only once.
    if config.on == When::Problems && outcome.exit == Exit::Ok && outcome.budget_news.is_empty() {
        return;
    }
    post(config, &compose(outcome, &config.alerts, &config.lang));
}

fn post(config: &NotifyConfig, message: &Message) {
    let runtime = match super::runtime() {
        Ok(runtime) => runtime,
        Err(e) => {
            tracing::warn!("notify: {e}; no message was sent");
            return;
        }
    };
    match runtime.block_on(robot::post(config, message)) {
        Ok(()) => tracing::info!("notify: the {:?} robot has the result", config.kind),
        Err(e) => tracing::warn!("notify: {e}; the run's result and report stand"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::china_time::DateRange;
    use crate::report::{Figures, PlatformLabel, ReportOutcome};

    const CDN_A: PlatformLabel = PlatformLabel {
        en: "CDN A",
        zh: "甲 CDN",
    };
    const CDN_B: PlatformLabel = PlatformLabel {
        en: "CDN B",
        zh: "乙 CDN",
    };

    fn day(d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 11, d).unwrap()
    }

    /// A week of 1.00 CNY a day on wxad, then 3.00 on the 19th with 2.00 untagged, a
    /// 7.5 % deviation and 0.5 % rejected lines: every anomaly line, in both languages.
    fn outcome() -> NightlyOutcome {
        let mut costs = BTreeMap::new();
        for d in 11..=18 {
            costs.insert((day(d), "wxad".to_string()), 100);
        }
        costs.insert((day(19), "wxad".to_string()), 300);
        costs.insert((day(19), UNTAGGED.to_string()), 200);
        let report = ReportOutcome {
            files: Vec::new(),
            total_cost_fen: 600,
            log_bytes: 0,
            gaps: BTreeMap::new(),
            figures: Figures {
                platform_fen: vec![(CDN_A, 600), (CDN_B, 0)],
                channel_fen: vec![("wxad".into(), 400), (UNTAGGED.into(), 200)],
                day_channel_fen: costs,
                deviation_pct: [(day(19), 7.5)].into_iter().collect(),
                page: "/srv/out/report.html".into(),
            },
            outlook: None,
        };
        NightlyOutcome {
            days: DateRange::new(day(18), day(19)).unwrap(),
            exit: Exit::Ok,
            fetched: super::super::StepOutcome {
                lines: 1000,
                rejected: 5,
                ..Default::default()
            },
            report: Some(report),
            elapsed_s: 1.0,
            problems: Vec::new(),
            budget_news: Vec::new(),
        }
    }

    /// Item 3 of issue 33: a channel named to look like markdown or a message line can't
    /// add a line, a heading, a font, a mention or bold text to the message.
    #[test]
    fn item3_channel_names_cannot_write_the_message() {
        let mut forged = outcome();
        let report = forged.report.as_mut().unwrap();
        let names = [
            "**x**\n- 总费用: ¥0.00",
            "# 标题",
            "<font color=\"warning\">y</font>",
            "@所有人 z\r\u{7}",
            "`code` [link](http://e)",
        ];
        report.figures.channel_fen = names.iter().map(|n| (n.to_string(), 100)).collect();
        for (i, name) in names.iter().enumerate() {
            for d in 11..=19 {
                report.figures.day_channel_fen.insert(
                    (day(d), name.to_string()),
                    if d == 19 { 900 } else { 100 + i as i64 },
                );
            }
        }
        for lang in ["zh", "en"] {
            let text = compose(&forged, &Alerts::default(), lang).text;
            let forged_lines = text.lines().filter(|l| l.starts_with("- 总费用: ¥0.00"));
            assert_eq!(forged_lines.count(), 0, "{text}");
            for bad in [
                "**x**",
                "# 标题",
                "<font",
                "@所有人",
                "`code`",
                "[link]",
                "\r",
                "\u{7}",
            ] {
                assert!(!text.contains(bad), "{bad:?} in:\n{text}");
            }
            assert!(text.contains("＊＊x＊＊- 总费用: ¥0.00"), "{text}");
            assert!(text.contains("＠所有人 z"), "{text}");
        }
        assert_eq!(
            chat_safe(&"长".repeat(100)).chars().count(),
            CHAT_NAME_CHARS + 1
        );
    }

    #[test]
    fn anomaly_lines_follow_the_thresholds() {
        let zh = compose(&outcome(), &Alerts::default(), "zh").text;
        for line in [
            "总费用: ¥6.00 (甲 CDN ¥6.00, 乙 CDN ¥0.00)",
            "2026-11-19 ¥5.00, 较前 7 日日均: +400.0%",
            "wxad 2026-11-19 费用 ¥3.00，为前 7 日中位数 ¥1.00 的 3.0 倍",
            "2026-11-19 未标记渠道流量占费用 40.0%",
            "2026-11-19 对账偏差 +7.5%",
            "拒收行占 0.50%",
        ] {
            assert!(zh.contains(line), "{line} not in:\n{zh}");
        }
        let en = compose(&outcome(), &Alerts::default(), "en").text;
        assert!(
            en.contains("wxad on 2026-11-19 cost ¥3.00, 3.0× its 7-day median ¥1.00"),
            "{en}"
        );
        // Raised thresholds: no anomaly at all.
        let calm = Alerts {
            channel_spike_factor: 4.0,
            untagged_share_pct: 50.0,
            deviation_pct: 10.0,
            rejected_pct: 1.0,
        };
        assert!(!compose(&outcome(), &calm, "zh").text.contains("异常"));
    }
}
