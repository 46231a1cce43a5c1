//! The nightly job as one library call: usage series, log files, Polyv, report, over a
//! window of China days and a lookback before it. `cdncost run`, `cdncost demo` and the
//! tests all call [`run`]; the commands only print its [`NightlyOutcome`].
//!
//! Every step is one of the jobs a user can run by hand, so the whole is exactly as
//! idempotent and resumable as they are: complete files are never fetched twice, a day
//! is replaced whole, the report is written all at once. A step that fails is logged and
//! the others still run; the exit status is the worst outcome.

use std::path::PathBuf;
use std::time::Instant;

use crate::china_time::DateRange;

use super::{Job, JobError, StepOutcome};
use crate::exit::Exit;
use crate::lake::integrity::Depth;
use crate::lake::LakeError;
use crate::report::output::Format;
use crate::report::{self, ReportOutcome, ReportRequest};

/// What to run.
#[derive(Debug, Clone)]
pub struct NightlyRequest {
    /// The window asked for (the lookback comes before it).
    pub days: DateRange,
    /// Days before the window re-checked for late data.
    pub lookback: u64,
    /// Where the report goes.
    pub out: PathBuf,
    /// Where downloaded log files are kept [default: the `raw_dir` setting].
    pub raw: Option<PathBuf>,
    pub excel: bool,
    /// The page's language (`--lang`); else `[report] lang`.
    pub lang: Option<crate::report::words::Lang>,
}

/// What the run did: every step's outcome, the report's, and the status.
#[derive(Debug)]
pub struct NightlyOutcome {
    /// The days covered: the window and its lookback.
    pub days: DateRange,
    pub exit: Exit,
    /// The fetch steps' counts, summed, and what they said.
    pub fetched: StepOutcome,
    pub report: Option<ReportOutcome>,
    pub elapsed_s: f64,
    /// What failed, one line each ("CDN logs: …"), for whoever was not watching the log.
    pub problems: Vec<String>,
    /// Budget thresholds crossed and not announced before this month.
    pub budget_news: Vec<crate::report::budgets::Crossing>,
}

/// What the nightly run asks of each platform (the registry, `crate::platforms`, lists
/// them; this room never names one).
pub trait NightlyPlatform: Sync {
    fn name(&self) -> &'static str;
    /// Fetches `days` (the window and its lookback) into the lake: each of its sources
    /// is one step, its outcome handed to `steps`.
    fn fetch(&self, job: &Job, days: DateRange, request: &NightlyRequest, steps: &mut Steps);
    /// What the report makes of its data.
    fn report(&self) -> Box<dyn crate::report::platform::Platform>;
    /// The names of the accounts its settings name (those a job fetches), for the report
    /// to check whether the lake has their days.
    fn account_names(&self, _job: &Job) -> Vec<String> {
        Vec::new()
    }
    /// Its accounts' ids (the appid, the userid) by name, for the FOCUS export.
    fn account_ids(&self, _job: &Job) -> std::collections::BTreeMap<String, String> {
        Default::default()
    }
    /// Item → drama names its settings give (a mapping file's `drama` column), for
    /// items whose titles don't say.
    fn item_dramas(
        &self,
        _config: &crate::config::Config,
    ) -> std::collections::BTreeMap<String, String> {
        Default::default()
    }
}

/// The steps' outcomes, summed as they come: the worst status, the counts, what went
/// wrong.
#[derive(Default)]
pub struct Steps {
    exit: Exit,
    fetched: StepOutcome,
    problems: Vec<String>,
    /// Whose steps these are, in front of every step's name ("WeChat account beta: ");
    /// empty for a platform's `default` account, whose steps read as before accounts.
    whose: String,
}

impl Steps {
    /// A step that must succeed: its failure is logged and fails the run (status 1);
    /// the other steps still run.
    pub fn required(&mut self, name: &str, result: Result<StepOutcome, JobError>) {
        match result {
            Ok(f) => {
                self.exit = self.exit.worst(f.exit);
                self.add(f);
            }
            Err(e) => {
                let name = format!("{}{name}", self.whose);
                tracing::error!("{name} failed: {e}");
                self.problems.push(format!("{name}: {e}"));
                self.exit = self.exit.worst(Exit::Failure);
            }
        }
    }

    /// Adds a step's counts and what it said (its status is the caller's to weigh).
    fn add(&mut self, f: StepOutcome) {
        self.fetched.files += f.files;
        self.fetched.downloaded += f.downloaded;
        self.fetched.lines += f.lines;
        self.fetched.rejected += f.rejected;
        self.fetched.said.extend(f.said);
    }

    /// A step whose failure keeps what the lake has: the run is incomplete (status 3)
    /// rather than failed; `lost` says what failed and `kept` what stands in.
    pub fn optional(
        &mut self,
        name: &str,
        result: Result<StepOutcome, JobError>,
        (lost, kept): (&str, &str),
    ) {
        match result {
            Ok(f) => self.fetched.said.extend(f.said),
            Err(e) => {
                let (name, lost) = (
                    format!("{}{name}", self.whose),
                    format!("{}{lost}", self.whose),
                );
                tracing::warn!("{name} failed ({kept}): {e}");
                self.problems.push(format!("{name}: {e}"));
                self.fetched.say(format!("{lost} ({e}); {kept}"));
                self.exit = self.exit.worst(Exit::Incomplete);
            }
        }
    }

    /// Runs `fetch` for each of a platform's accounts, `whose(account)` naming it in
    /// front of its steps (empty for the `default` account). Accounts are apart: one
    /// failing leaves the others complete, and then the run is incomplete (status 3,
    /// the failed account named in the problems) rather than failed; when every account
    /// fails, the run fails.
    pub fn per_account<A>(
        &mut self,
        accounts: &[A],
        whose: impl Fn(&A) -> String,
        mut fetch: impl FnMut(&A, &mut Steps),
    ) {
        let mut done: Vec<Steps> = accounts
            .iter()
            .map(|account| {
                let label = whose(account);
                let mut steps = Steps {
                    whose: if label.is_empty() {
                        label
                    } else {
                        format!("{label}: ")
                    },
                    ..Steps::default()
                };
                fetch(account, &mut steps);
                steps
            })
            .collect();
        let failed = done.iter().filter(|s| s.exit == Exit::Failure).count();
        let others_complete = failed < done.len();
        for steps in &mut done {
            if steps.exit == Exit::Failure && others_complete {
                steps.exit = Exit::Incomplete;
                let whose = steps.whose.trim_end_matches(": ").to_string();
                steps.fetched.say(format!(
                    "{whose}: INCOMPLETE, its data is missing (the other accounts are complete): {}",
                    steps.problems.join("; ")
                ));
            }
            self.exit = self.exit.worst(steps.exit);
            self.add(std::mem::take(&mut steps.fetched));
            self.problems.append(&mut steps.problems);
        }
    }
}

/// Runs the nightly job for `platforms`, in that order. Never fails as a whole: each
/// step's failure is logged and becomes the status (1), the other steps still run.
pub fn run(
    job: &Job,
    platforms: &[&dyn NightlyPlatform],
    request: &NightlyRequest,
) -> NightlyOutcome {
    let started = Instant::now();
    let checked = request.days.extended_back(request.lookback);
    tracing::info!(
        "run {}, re-checking from {} (lookback {} days)",
        request.days,
        checked.from(),
        request.lookback
    );
    let mut exit = Exit::Ok;
    let mut fetched = StepOutcome::default();
    let mut problems = Vec::new();
    // Another run of any of these days: this one does nothing and says who.
    let _leases = match job.lake.lease_days(checked, |day| format!("run/{day}")) {
        Ok(leases) => leases,
        Err(e) => {
            tracing::error!("{e}");
            return NightlyOutcome {
                days: checked,
                exit: Exit::Failure,
                fetched: StepOutcome {
                    exit: Exit::Failure,
                    ..Default::default()
                },
                report: None,
                elapsed_s: started.elapsed().as_secs_f64(),
                problems: vec![format!("run: {e}")],
                budget_news: Vec::new(),
            };
        }
    };
    let day_kinds: Vec<_> = platforms
        .iter()
        .flat_map(|p| p.report().spec().records.iter().copied())
        .collect();
    match set_aside_damage(job, checked, &day_kinds) {
        Ok(outcome) => fetched.said.extend(outcome.said),
        Err(e) => {
            tracing::error!("checking the lake failed: {e}");
            problems.push(format!("checking the lake: {e}"));
            exit = exit.worst(Exit::Failure);
        }
    }
    let mut steps = Steps {
        exit,
        fetched,
        problems,
        whose: String::new(),
    };
    for platform in platforms {
        platform.fetch(job, checked, request, &mut steps);
    }
    let Steps {
        mut exit,
        mut fetched,
        mut problems,
        ..
    } = steps;

    // The report reads whole months of rollups: the days fetched get theirs built, and
    // a lake from before rollups gets them from its requests, once (said in the log).
    let (month_from, month_to) = (
        crate::china_time::first_of_month(checked.from()),
        crate::china_time::last_of_month(checked.to()),
    );
    let parquet = super::ingest::IngestOptions::from_config(&job.config.ingest).parquet;
    match super::rollup::refresh(job.lake, month_from, month_to, parquet) {
        Ok(rolled) if rolled.backfilled > 0 => fetched.say(rolled.line()),
        Ok(rolled) => tracing::info!("{}", rolled.line()),
        Err(e) => {
            tracing::error!("rollups failed: {e}");
            problems.push(format!("rollups: {e}"));
            exit = exit.worst(Exit::Failure);
        }
    }

    tracing::info!("step 5/5: report {checked} → {}", request.out.display());
    let report_request = ReportRequest {
        days: checked,
        out: request.out.clone(),
        formats: vec![Format::Csv, Format::Parquet],
        excel: request.excel,
        html: true,
        drama_mapping: job.config.media.mapping.clone(),
        item_dramas: platforms
            .iter()
            .map(|p| (p.name(), p.item_dramas(job.config)))
            .filter(|(_, names)| !names.is_empty())
            .collect(),
        accounts: platforms
            .iter()
            .map(|p| (p.name(), p.account_names(job)))
            .filter(|(_, names)| !names.is_empty())
            .collect(),
        account_ids: platforms
            .iter()
            .map(|p| (p.name(), p.account_ids(job)))
            .filter(|(_, ids)| !ids.is_empty())
            .collect(),
        allocation: job.config.allocation.unattributed.clone(),
        budgets: job.config.budgets.clone(),
        lang: request.lang.unwrap_or(job.config.report.lang),
        chinese_headers: false,
    };
    let report_platforms: Vec<_> = platforms.iter().map(|p| p.report()).collect();
    let report = match report::make_with(
        job.lake,
        &job.config.prices,
        &report_request,
        &report_platforms,
    ) {
        Ok(outcome) => {
            exit = exit.worst(outcome.exit());
            Some(outcome)
        }
        Err(e) => {
            tracing::error!("report failed: {e}");
            problems.push(format!("report: {e}"));
            exit = Exit::Failure;
            None
        }
    };
    fetched.exit = exit;
    let budget_news = report
        .as_ref()
        .and_then(|r| r.outlook.as_ref())
        .map(|outlook| announce(job.lake, outlook))
        .unwrap_or_default();
    NightlyOutcome {
        days: checked,
        exit,
        fetched,
        report,
        elapsed_s: started.elapsed().as_secs_f64(),
        problems,
        budget_news,
    }
}

/// The kind of the studio's records of budget notices (`_manifest/budget_notices/`).
pub const BUDGET_NOTICES: &str = "budget_notices";

/// The budget thresholds the outlook's month has crossed that no run announced before,
/// remembered in the lake (one record a month) so the next run of the month stays quiet
/// about them. A record that cannot be read or written is said in the log; the crossings
/// are then announced (again) rather than kept quiet.
fn announce(
    lake: &crate::lake::Lake,
    outlook: &crate::report::outlook::Outlook,
) -> Vec<crate::report::budgets::Crossing> {
    use crate::report::budgets::Notices;
    let month = crate::china_time::first_of_month(outlook.as_of);
    let stem = crate::lake::SafeName::sanitize(&month.format("%Y-%m").to_string());
    let path = lake.studio_record(BUDGET_NOTICES, &stem);
    let mut notices = match lake.read_manifest::<Notices>(&path) {
        Ok(Some(notices)) => notices,
        Ok(None) => Notices::for_month(month),
        Err(e) => {
            tracing::warn!("budget notices: {e}: announcing every crossing");
            Notices::for_month(month)
        }
    };
    let news = notices.take_new(&outlook.budgets);
    if !news.is_empty() {
        let written = serde_json::to_vec_pretty(&notices)
            .map_err(|e| e.to_string())
            .and_then(|bytes| lake.write_record(&path, &bytes).map_err(|e| e.to_string()));
        if let Err(e) = written {
            tracing::warn!("budget notices: {}: {e}", path.display());
        }
    }
    news
}

/// Checks every lake file the re-checked days come from against what was written, and
/// sets the damaged ones aside (`LAKE/_damaged/`), so that the steps after this make
/// them again: log rows from `raw/` (or downloaded again), usage and Polyv days fetched.
fn set_aside_damage(
    job: &Job,
    days: DateRange,
    day_kinds: &[crate::lake::catalogue::Kind],
) -> Result<StepOutcome, LakeError> {
    let damage = job
        .lake
        .damage_between(days.from(), days.to(), Depth::Content, day_kinds)?;
    let mut outcome = StepOutcome::default();
    if damage.is_empty() {
        return Ok(outcome);
    }
    let all = damage.all();
    for line in &all {
        tracing::warn!("lake: {line}");
    }
    let moved = job.lake.set_aside(&damage)?;
    outcome.say(format!(
        "lake: {} files damaged ({} missing, {} set aside in {}/): this run makes them again",
        all.len(),
        all.len() - damage.present.len() - damage.manifests.len(),
        moved.len(),
        crate::lake::integrity::DAMAGED_DIR
    ));
    Ok(outcome)
}

/// The part of `days` an API still keeps; warns about the days it no longer has.
pub fn within_history(days: DateRange, kept: u64, what: &str) -> Option<DateRange> {
    let oldest = super::oldest_kept(kept);
    if days.to() < oldest {
        tracing::warn!("{what}: {days} is older than the {kept} days the API keeps: skipped");
        return None;
    }
    if days.from() < oldest {
        tracing::warn!(
            "{what}: days before {oldest} are older than the {kept} days the API keeps: skipped"
        );
        return DateRange::new(oldest, days.to()).ok();
    }
    Some(days)
}

impl NightlyOutcome {
    /// The one line that says it all (and what cron mail shows).
    pub fn summary_line(&self) -> String {
        let status = match self.exit {
            Exit::Ok => "complete".to_string(),
            Exit::NotFinal => "complete but not final (status 4)".to_string(),
            Exit::Incomplete => "INCOMPLETE: data missing (status 3), run again".to_string(),
            Exit::Failure => "FAILED (status 1)".to_string(),
        };
        let cost = self.report.as_ref().map_or("no report".to_string(), |o| {
            format!(
                "{} log traffic, cost {} CNY",
                crate::table::gb(o.log_bytes as i128),
                crate::report::money::text(o.total_cost_fen)
            )
        });
        let thousands = |n: u64| crate::table::thousands(n as i128);
        format!(
            "run {}: {} days, {} log files ({} downloaded), {} lines ingested, {} rejected, {cost}, {:.1}s: {status}",
            self.days,
            self.days.len_days(),
            thousands(self.fetched.files as u64),
            thousands(self.fetched.downloaded as u64),
            thousands(self.fetched.lines),
            thousands(self.fetched.rejected),
            self.elapsed_s
        )
    }

    /// The `run finished` record for log collectors (`--json-logs`).
    pub fn log_record(&self) {
        tracing::info!(
            status = self.exit as u8,
            days = self.days.len_days(),
            files = self.fetched.files,
            lines = self.fetched.lines,
            rejected = self.fetched.rejected,
            log_bytes = self.report.as_ref().map_or(0, |o| o.log_bytes),
            cost_cny = %self
                .report
                .as_ref()
                .map_or("0.00".to_string(), |o| crate::report::money::text(o.total_cost_fen)),
            elapsed_s = self.elapsed_s,
            "run finished"
        );
    }
}
