//! Every word the report shows people, once per language: the page's sentences
//! ([`PageWords`]) and the names of columns ([`Labels`]: the common ones here, each
//! platform's in its `Spec`). The page is Chinese by default (`zh`), English with `--lang
//! en` or `[report] lang = "en"`. CSV headers stay the snake_case names (an interface)
//! unless `--headers zh` asks for these labels.
//!
//! A sentence is a struct field, so a language that lacks one does not compile; a label
//! not Chinese in Chinese fails `both_languages_say_every_sentence` here, a column of a
//! report without one fails `every_column_has_a_label_in_both_languages` (`tests/report.rs`).

use super::platform::Label;

/// The page's languages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Lang {
    #[default]
    Zh,
    En,
}

/// The page's sentences. `{from}`, `{to}` are filled in.
pub struct PageWords {
    pub html_lang: &'static str,
    pub title: &'static str,
    pub sub: &'static str,
    pub no_prices: &'static str,
    pub daily_cost: &'static str,
    pub daily_traffic: &'static str,
    pub top_channels: &'static str,
    pub top_dramas: &'static str,
    pub dramas_by_channel: &'static str,
    pub reconciliation: &'static str,
    pub monthly: &'static str,
    pub total_cost: &'static str,
    pub log_traffic: &'static str,
    pub billed_traffic: &'static str,
    pub days_complete: &'static str,
    pub incomplete_days: &'static str,
    pub incomplete_note: &'static str,
    pub other: &'static str,
    pub unit_cost: &'static str,
    pub legend_estimate: &'static str,
    pub legend_billed: &'static str,
    pub line_estimate: &'static str,
    pub line_billed: &'static str,
    /// The unattributed policy: `{how}` is one of the three below, `{policy}` the setting.
    pub unattributed: &'static str,
    pub unattributed_separate: &'static str,
    pub unattributed_proportional: &'static str,
    /// `{channel}` is filled in.
    pub unattributed_to: &'static str,
    pub forecast_heading: &'static str,
    pub forecast_note: &'static str,
    pub forecast_studio: &'static str,
    pub forecast_channel: &'static str,
    pub forecast_drama: &'static str,
    pub forecast_of: &'static str,
    pub forecast_so_far: &'static str,
    pub forecast_expected: &'static str,
    pub forecast_range: &'static str,
    pub forecast_method: &'static str,
    pub method_weekday: &'static str,
    pub method_trailing: &'static str,
    pub method_none: &'static str,
    pub method_complete: &'static str,
    pub budgets_heading: &'static str,
    pub budget_line: &'static str,
}

pub const ZH: PageWords = PageWords {
    html_lang: "zh-CN",
    title: "各渠道 CDN 费用（{from} 至 {to}）",
    sub: "按中国日期（Asia/Shanghai）统计。由 cdncost 根据数据湖生成；各列含义见 README。",
    no_prices: "未配置价格（cdncost.toml 的 [prices]），图表显示计费流量（GB）而非费用。",
    daily_cost: "每日各渠道费用",
    daily_traffic: "每日各渠道计费流量",
    top_channels: "本期费用最高的渠道",
    top_dramas: "本期费用最高的剧目",
    dramas_by_channel: "主要剧目的渠道分布",
    reconciliation: "对账：日志估算与计费用量",
    monthly: "月度汇总",
    total_cost: "总费用",
    log_traffic: "日志流量",
    billed_traffic: "计费流量（用量序列）",
    days_complete: "数据完整的天数",
    incomplete_days: "数据不完整的日期",
    incomplete_note: "这些日期的数字可能还会变化。",
    other: "其他",
    unit_cost: "元",
    legend_estimate: "日志字节 × 计费系数",
    legend_billed: "计费用量",
    line_estimate: "日志 × 系数",
    line_billed: "计费",
    unattributed: "无日志可解释的计费用量：{how}（[allocation] unattributed = \"{policy}\"）。",
    unattributed_separate: "单独列为 (无日志可归属) 行",
    unattributed_proportional: "按各渠道的计费流量比例分摊到当日各渠道（当日无日志时按当月）",
    unattributed_to: "全部计入渠道 {channel}",
    forecast_heading: "{month} 月末预测",
    forecast_note: "截至 {date} 的数据。已用：本月至今的费用（按账单规则，精确到分）；其余日期按近 4 周同星期的日均预测（历史不足时按最近 7 日日均），区间为这些日子中最低与最高的一天。",
    forecast_studio: "全部",
    forecast_channel: "渠道 {name}",
    forecast_drama: "剧目 {name}",
    forecast_of: "对象",
    forecast_so_far: "本月已用",
    forecast_expected: "预计月末",
    forecast_range: "区间",
    forecast_method: "预测方法",
    method_weekday: "近 4 周同星期",
    method_trailing: "近 {n} 日日均",
    method_none: "无历史数据",
    method_complete: "本月已完整",
    budgets_heading: "预算",
    budget_line: "已用 {used}（{used_pct}%），预算 {budget}，预计月末 {expected}（{expected_pct}%）",
};

pub const EN: PageWords = PageWords {
    html_lang: "en",
    title: "CDN cost by channel, {from} to {to}",
    sub: "China days (Asia/Shanghai). Made by cdncost from the lake; every column is explained in the README.",
    no_prices: "No prices are configured ([prices] in cdncost.toml), so the charts show billed traffic in GB instead of cost.",
    daily_cost: "Daily cost per channel",
    daily_traffic: "Daily billed traffic per channel",
    top_channels: "Top channels of the period",
    top_dramas: "Top dramas of the period",
    dramas_by_channel: "Top dramas by channel",
    reconciliation: "Reconciliation: log estimate against the billed series",
    monthly: "Monthly",
    total_cost: "total cost",
    log_traffic: "log traffic",
    billed_traffic: "billed (usage series)",
    days_complete: "days complete",
    incomplete_days: "Incomplete days",
    incomplete_note: "their figures may still change.",
    other: "other",
    unit_cost: "CNY",
    legend_estimate: "log bytes × billing factor",
    legend_billed: "billed (usage series)",
    line_estimate: "log × factor",
    line_billed: "billed",
    unattributed: "Billed usage no log explains: {how} ([allocation] unattributed = \"{policy}\").",
    unattributed_separate: "kept apart, as the (unattributed) row",
    unattributed_proportional: "spread over the day's channels by their billed traffic (the month's, on a day without logs)",
    unattributed_to: "all given to channel {channel}",
    forecast_heading: "Month-end forecast, {month}",
    forecast_note: "Data up to {date}. Used: the month's cost so far (as billed, to the fen); each day left is projected from the same weekday over the last 4 weeks (with less history, the last 7 days' mean); the range takes the lowest and the highest of those days.",
    forecast_studio: "studio",
    forecast_channel: "channel {name}",
    forecast_drama: "drama {name}",
    forecast_of: "of",
    forecast_so_far: "used so far",
    forecast_expected: "expected",
    forecast_range: "range",
    forecast_method: "method",
    method_weekday: "same weekday, last 4 weeks",
    method_trailing: "mean of the last {n} days",
    method_none: "no history",
    method_complete: "month complete",
    budgets_heading: "Budgets",
    budget_line: "used {used} ({used_pct}%) of {budget}, month-end forecast {expected} ({expected_pct}%)",
};

pub fn page(lang: Lang) -> &'static PageWords {
    match lang {
        Lang::Zh => &ZH,
        Lang::En => &EN,
    }
}

/// Column → (中文, English), for the page's tables and `--headers zh`; each platform
/// brings its own columns' words and its label's ([`super::platform::Spec::labels`]).
const LABELS: &[Label] = &[
    ("date", "日期", "date"),
    ("month", "月份", "month"),
    ("channel", "渠道", "channel"),
    ("account", "账号", "account"),
    ("platform", "平台", "platform"),
    ("days", "天数", "days"),
    ("requests", "请求数", "requests"),
    ("log_bytes", "日志字节", "log GB"),
    ("billed_bytes", "计费字节", "billed GB"),
    ("billed_bytes_est", "估算计费字节", "est. billed GB"),
    ("estimated_billed_bytes", "估算计费字节", "estimate GB"),
    ("cost_basis", "计费依据", "basis"),
    ("total_cost_cny", "总费用（元）", "total ¥"),
    ("cost_cny", "费用（元）", "cost ¥"),
    ("estimated_cost_cny", "估算费用（元）", "estimated ¥"),
    ("bill_basis", "账单口径", "bill basis"),
    ("cost_share", "费用占比", "share"),
    ("deviation_pct", "偏差 %", "deviation %"),
    (
        "billed_per_log_byte",
        "计费/日志字节比",
        "billed per log byte",
    ),
    (
        "usage_interval_min",
        "用量粒度（分钟）",
        "usage interval (min)",
    ),
    ("usage_points", "用量点数", "usage points"),
    ("complete", "数据完整", "complete"),
    ("missing", "缺失原因", "missing"),
    ("drama_id", "剧目 ID", "drama id"),
    ("drama_name", "剧目", "drama"),
    ("episode", "集数", "episode"),
    ("media_id", "媒资 ID", "media id"),
];

/// The report's own markers where a name goes (a channel, a drama, an account), in
/// Chinese. They keep the ASCII parentheses no name from data can hold (data's become
/// fullwidth: `lake::escape_label`), so a channel named `(未标记渠道)` cannot pass for one.
pub const MARKERS: &[(&str, &str)] = &[
    ("(untagged)", "(未标记渠道)"),
    ("(unattributed)", "(无日志可归属)"),
    ("(unmatched)", "(未匹配剧目)"),
    ("(total)", "(合计)"),
    ("(all)", "(全部账号)"),
];

/// The values of the report's own enumerated columns (booleans, cost and bill bases, the
/// `all` month), in Chinese.
pub const VALUES: &[(&str, &str)] = &[
    ("all", "全部"),
    ("true", "是"),
    ("false", "否"),
    ("usage", "用量"),
    ("estimate", "估算"),
    ("reported", "平台上报"),
    ("mixed", "混合"),
    ("whole month", "整月"),
    ("month to date", "月初至今"),
];

fn translated(lang: Lang, table: &[(&str, &str)], text: &str) -> String {
    match (lang, table.iter().find(|(v, _)| *v == text)) {
        (Lang::Zh, Some((_, zh))) => zh.to_string(),
        _ => text.to_string(),
    }
}

/// The words of a report: the common ones and its platforms'.
#[derive(Debug, Clone)]
pub struct Labels(Vec<&'static [Label]>);

impl Default for Labels {
    fn default() -> Self {
        Labels(vec![LABELS])
    }
}

impl Labels {
    pub fn of(platforms: &[Box<dyn super::platform::Platform>]) -> Labels {
        let mut all = Labels::default();
        all.0.extend(platforms.iter().map(|p| p.spec().labels));
        all
    }

    /// The label of `column` (or of a platform's label) in `lang`; the name itself when
    /// none is known (a platform added without labels still shows).
    pub fn label<'a>(&self, lang: Lang, column: &'a str) -> &'a str {
        self.find(column).map_or(column, |(_, zh, en)| match lang {
            Lang::Zh => zh,
            Lang::En => en,
        })
    }

    /// A name (a channel's, a drama's, an account's) as people read it in `lang`: the
    /// report's markers (`(untagged)`, …) in its words, data's names as they are.
    pub fn name(&self, lang: Lang, name: &str) -> String {
        translated(lang, MARKERS, name)
    }

    /// A value of one of the report's enumerated columns (`true`, `usage`, …) in `lang`.
    pub fn value(&self, lang: Lang, value: &str) -> String {
        translated(lang, VALUES, value)
    }

    /// The label of `name` if one is known.
    pub fn find(&self, name: &str) -> Option<&'static Label> {
        self.0
            .iter()
            .flat_map(|labels| labels.iter())
            .find(|(known, _, _)| *known == name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Each Chinese sentence is Chinese (not an English one copied over), each English one
    /// is not empty.
    #[test]
    fn both_languages_say_every_sentence() {
        let cjk = |s: &str| s.chars().any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c));
        let zh = [
            ZH.title,
            ZH.sub,
            ZH.no_prices,
            ZH.daily_cost,
            ZH.daily_traffic,
            ZH.top_channels,
            ZH.top_dramas,
            ZH.dramas_by_channel,
            ZH.reconciliation,
            ZH.monthly,
            ZH.total_cost,
            ZH.log_traffic,
            ZH.billed_traffic,
            ZH.days_complete,
            ZH.incomplete_days,
            ZH.incomplete_note,
            ZH.other,
            ZH.unit_cost,
            ZH.legend_estimate,
            ZH.legend_billed,
            ZH.line_estimate,
            ZH.line_billed,
            ZH.forecast_note,
            ZH.forecast_studio,
            ZH.forecast_channel,
            ZH.forecast_drama,
            ZH.forecast_of,
            ZH.forecast_so_far,
            ZH.forecast_expected,
            ZH.forecast_range,
            ZH.forecast_method,
            ZH.method_weekday,
            ZH.method_trailing,
            ZH.method_none,
            ZH.method_complete,
            ZH.budgets_heading,
            ZH.budget_line,
            ZH.forecast_heading,
        ];
        assert!(zh.iter().all(|s| cjk(s)), "{zh:?}");
        let en = [
            EN.title,
            EN.sub,
            EN.no_prices,
            EN.daily_cost,
            EN.daily_traffic,
            EN.top_channels,
            EN.top_dramas,
            EN.dramas_by_channel,
            EN.reconciliation,
            EN.monthly,
            EN.total_cost,
            EN.log_traffic,
            EN.billed_traffic,
            EN.days_complete,
            EN.incomplete_days,
            EN.incomplete_note,
            EN.other,
            EN.unit_cost,
            EN.legend_estimate,
            EN.legend_billed,
            EN.line_estimate,
            EN.line_billed,
            EN.forecast_heading,
            EN.forecast_note,
            EN.forecast_studio,
            EN.forecast_channel,
            EN.forecast_drama,
            EN.forecast_of,
            EN.forecast_so_far,
            EN.forecast_expected,
            EN.forecast_range,
            EN.forecast_method,
            EN.method_weekday,
            EN.method_trailing,
            EN.method_none,
            EN.method_complete,
            EN.budgets_heading,
            EN.budget_line,
        ];
        assert!(en.iter().all(|s| !s.is_empty() && !cjk(s)), "{en:?}");
        assert!(LABELS.iter().all(|(_, zh, en)| cjk(zh) && !en.is_empty()));
        assert!(VALUES.iter().chain(MARKERS).all(|(_, zh)| cjk(zh)));
        assert!(MARKERS
            .iter()
            .all(|(_, zh)| zh.starts_with('(') && zh.ends_with(')')));
    }
}
