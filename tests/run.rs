//! `cdncost run`, `demo` and `schedule` end to end: the real binary against the loopback
//! WeChat and Polyv servers (started in-process), killed, raced and fed faults.

mod common;

use std::time::Duration;

use common::servers::*;
use common::*;

/// The sample's second day, and its first as the lookback.
const RUN: &[&str] = &["run", "--date", DAY2, "--lookback", "1"];
const PRICED: &str = "[prices]\nwechat_cny_per_gb = 0.2\npolyv_cny_per_gb = 0.12\n";

/// The report files of a work dir, name → bytes.
fn report_files(w: &Workdir) -> Vec<(String, Vec<u8>)> {
    files_below(&w.path("out"))
        .into_iter()
        .map(|f| {
            let bytes = std::fs::read(w.path("out").join(&f)).unwrap();
            (f, bytes)
        })
        .collect()
}

fn assert_same_reports(a: &[(String, Vec<u8>)], b: &[(String, Vec<u8>)], what: &str) {
    let names = |v: &[(String, Vec<u8>)]| v.iter().map(|f| f.0.clone()).collect::<Vec<_>>();
    assert_eq!(names(a), names(b), "{what}");
    for ((name, x), (_, y)) in a.iter().zip(b) {
        assert!(x == y, "{name} differs: {what}");
    }
}

#[test]
fn demo_runs_offline_and_points_at_the_report() {
    let w = Workdir::new();
    let data = sample();
    let run = w
        .run_env(
            &["demo", "--data", data.to_str().unwrap()],
            // Real credentials in the environment are ignored by the demo.
            &[
                ("WECHAT_APPID", "wx-not-this-one"),
                ("POLYV_USERID", "nor-this"),
            ],
        )
        .ok();
    let out = run.stdout();
    assert!(out.contains(": complete"), "{out}");
    assert!(out.contains("demo-out/report/report.html"), "{out}");
    for file in [
        "report.html",
        "channel_daily.csv",
        "channel_monthly.parquet",
        "reconciliation.csv",
    ] {
        assert!(w.path("demo-out/report").join(file).exists(), "{file}");
    }
    // The sample is a studio of two accounts (its own data is `main`, and
    // `accounts/brand_b/`): the lake holds both accounts' requests, each billed apart.
    let mut studio = expected_totals(&data);
    for (key, (requests, bytes)) in expected_totals(&data.join("accounts/brand_b")) {
        let sum = studio.entry(key).or_default();
        sum.0 += requests;
        sum.1 += bytes;
    }
    assert_eq!(lake_totals(&w.path("demo-out/lake")), studio);
    assert!(
        out.contains("logs (account main): 144 files")
            && out.contains("logs (account brand_b): 144 files"),
        "{out}"
    );
    let monthly = std::fs::read_to_string(w.path("demo-out/report/channel_monthly.csv")).unwrap();
    let totals: Vec<&str> = monthly.lines().filter(|l| l.contains("(total)")).collect();
    assert_eq!(totals.len(), 3, "{monthly}");
    for (total, account) in totals.iter().zip(["brand_b", "main", "(all)"]) {
        assert!(
            total.starts_with(&format!("2026-11,{account},(total),")),
            "{total}"
        );
        assert!(total.ends_with(",true"), "{total}");
    }

    // For log collectors: every stderr line is JSON; the last record has the figures.
    let run = w
        .run(&[
            "demo",
            "--json-logs",
            "--out",
            "demo-json",
            "--data",
            data.to_str().unwrap(),
        ])
        .ok();
    let records: Vec<serde_json::Value> = run
        .stderr()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    let done = records
        .iter()
        .find(|r| r["fields"]["message"] == "run finished")
        .expect("a run finished record");
    assert_eq!(done["fields"]["status"], 0);
    assert_eq!(done["fields"]["files"], 288);
    assert_eq!(done["fields"]["lines"], 9462 + 4714);
    assert_eq!(done["fields"]["rejected"], 6);
    let log_bytes: u64 = studio.values().map(|v| v.1).sum();
    assert_eq!(done["fields"]["log_bytes"], log_bytes);
}

/// Run twice: the second downloads nothing and leaves byte-identical reports. Killed
/// (SIGKILL) at several points and run again: the same lake and reports as a clean run.
#[test]
fn runs_are_idempotent_and_a_killed_run_resumes_to_the_same_result() {
    let clean = start(PRICED);
    let first = clean.cdncost(RUN).ok();
    assert!(first.stdout().contains(": complete"), "{}", first.stdout());
    let reference = report_files(&clean.w);
    assert_eq!(reference.len(), 17);
    let again = clean.cdncost(RUN).ok();
    assert!(
        again.stdout().contains("(0 downloaded)"),
        "{}",
        again.stdout()
    );
    assert_same_reports(&reference, &report_files(&clean.w), "second run");

    let killed = start(PRICED);
    // Slow downloads, so the kills land in the middle of the fetch.
    killed.wechat.faults().trickle_downloads = Some(Duration::from_millis(5));
    let mut kills = 0;
    for delay_ms in [100u64, 300, 600, 1000] {
        let mut child = killed.spawn(RUN);
        std::thread::sleep(Duration::from_millis(delay_ms));
        // Each attempt resumes the last one's work, so a late one may finish first.
        if let Some(status) = child.try_wait().unwrap() {
            assert!(status.success(), "{status}");
            continue;
        }
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        kills += 1;
    }
    assert!(kills >= 2, "only {kills} kills landed mid-run");
    killed.wechat.faults().trickle_downloads = None;
    let resumed = killed.cdncost(RUN).ok();
    assert!(
        resumed.stdout().contains(": complete"),
        "{}",
        resumed.stdout()
    );
    assert_eq!(
        lake_totals(&killed.w.path("lake")),
        expected_totals(&sample())
    );
    assert_same_reports(
        &reference,
        &report_files(&killed.w),
        "after kills and a rerun",
    );
    let leftovers: Vec<String> = files_below(killed.w.dir.path())
        .into_iter()
        .filter(|f| f.ends_with(".tmp"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

#[test]
fn a_second_run_of_the_same_days_exits_clearly() {
    let s = start("");
    s.wechat.faults().trickle_downloads = Some(Duration::from_millis(5));
    let mut first = s.spawn(RUN);
    // Wait (up to 30 s) until the first run holds its days' leases, however slow it
    // starts.
    let leases = s.w.path("lake/_leases/run");
    let mine = format!("pid {}\"", first.id());
    let held_by_first = || {
        std::fs::read_dir(&leases).is_ok_and(|entries| {
            entries
                .flatten()
                .any(|e| std::fs::read_to_string(e.path()).is_ok_and(|t| t.contains(&mine)))
        })
    };
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while !held_by_first() {
        assert!(
            std::time::Instant::now() < deadline,
            "the first run never took its leases"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let second = s.cdncost(RUN).expect_code(1);
    assert!(
        second.stderr().contains("is writing run/2026-11-")
            && second
                .stderr()
                .contains(&format!("pid {}, since", first.id())),
        "the refusal names the running process and the day: {}",
        second.stderr()
    );
    s.wechat.faults().trickle_downloads = None;
    assert!(first.wait().unwrap().success());
    assert_eq!(lake_totals(&s.w.path("lake")), expected_totals(&sample()));
}

#[test]
fn faults_in_both_servers_still_end_complete() {
    // (The first lines continue the [polyv] table the setup opens.)
    let s = start("timeout_secs = 2\nretry = { attempts = 6, base_ms = 20, max_ms = 100, total_secs = 30 }\n[wechat]\ntimeout_secs = 2\nretry = { attempts = 6, base_ms = 20, max_ms = 100, total_secs = 30 }\n");
    {
        let mut f = s.wechat.faults();
        f.expire_tokens_after_calls = Some(1);
        f.http_500 = 2;
        f.busy = 1;
        f.cut_downloads = 3;
        f.truncated_downloads = 2;
    }
    {
        let mut f = s.polyv.faults();
        f.http_500 = 2;
        f.rate_limited = 1;
        f.ptime_too_old = 1;
    }
    let run = s.cdncost(RUN).ok();
    assert!(run.stdout().contains(": complete"), "{}", run.stdout());
    assert_eq!(lake_totals(&s.w.path("lake")), expected_totals(&sample()));
    for secret in [WECHAT_SECRET, POLYV_SECRET] {
        assert!(!run.stdout().contains(secret) && !run.stderr().contains(secret));
    }
}

#[test]
fn newest_days_not_final_yet_exit_4_and_missing_data_exits_3() {
    let s = start("");
    // Today is the day after DAY2: Polyv has not finalised DAY1 or DAY2.
    let env = s.env();
    let mut env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    env.retain(|(k, _)| *k != "CDNCOST_TODAY");
    env.push(("CDNCOST_TODAY", "2026-11-20"));
    let run = s.w.run_env(RUN, &env).expect_code(4);
    assert!(run.stdout().contains("not final"), "{}", run.stdout());
    assert!(run.stderr().contains("Polyv not final"), "{}", run.stderr());

    // Downloads that keep failing: the run finishes, says what is missing, exits 3.
    let s =
        start("[wechat]\nretry = { attempts = 2, base_ms = 10, max_ms = 20, total_secs = 5 }\n");
    s.wechat.faults().truncated_downloads = 1000;
    let run = s.cdncost(RUN).expect_code(3);
    assert!(run.stdout().contains("INCOMPLETE"), "{}", run.stdout());
    assert!(
        run.stderr().contains("log files missing"),
        "{}",
        run.stderr()
    );
    s.wechat.faults().truncated_downloads = 0;
    s.cdncost(RUN).ok();
}

#[test]
fn schedule_starts_run_at_the_given_china_time_and_logs_the_outcome() {
    let w = Workdir::new();
    // The clock seam: the scheduler's clock starts 2 s before 03:00 China time, however
    // late this process starts it. No credentials: the run fails, and the scheduler says
    // so and goes on. The watchdog only guards against a broken seam.
    let started = std::time::Instant::now();
    let run = w
        .run_within(
            &[
                "schedule",
                "--at",
                "03:00",
                "--max-runs",
                "1",
                "--",
                "--date",
                DAY1,
            ],
            &[(
                cdncost::china_time::CLOCK_START_ENV,
                "2026-11-20T02:59:58+08:00",
            )],
            Duration::from_secs(60),
        )
        .ok();
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "started before 03:00"
    );
    assert!(
        run.stderr().contains("next run at 2026-11-20 03:00:00"),
        "{}",
        run.stderr()
    );
    assert!(
        run.stderr().contains("run failed (status 1)"),
        "{}",
        run.stderr()
    );
    let run = w.run(&["schedule", "--at", "25:00"]).expect_code(2);
    assert!(run.stderr().contains("HH:MM"), "{}", run.stderr());
}

/// The report names the configured `complete_after_hours`, not a fixed "3 hours".
#[test]
fn provisional_message_names_the_configured_hours() {
    // 100000 hours (11 years): every sample file is fetched "too soon" after its hour.
    let s = start(&format!("{PRICED}[logs]\ncomplete_after_hours = 100000\n"));
    let run = s.cdncost(RUN).expect_code(4);
    let daily = std::fs::read_to_string(s.w.path("out/channel_daily.csv")).unwrap();
    assert!(
        daily.contains("log files provisional (fetched under 100000 hours after their hour)"),
        "{daily}\n{}",
        run.stderr()
    );
    assert!(!daily.contains("under 3 hours"), "{daily}");
}

/// Usage billed on days whose log listing is empty: the bill lands on an
/// `(unattributed)` row (the totals still equal the bill), the days are incomplete
/// ("no log files listed for a billed day"), exit 3; on a fresh lake too.
#[test]
fn billed_days_without_logs_keep_their_bill_as_unattributed() {
    let s = start(PRICED);
    s.wechat.faults().empty_listing = true;
    let run = s.cdncost(RUN).expect_code(3);
    assert!(
        run.stderr()
            .contains("no log files listed for a billed day"),
        "{}",
        run.stderr()
    );
    // The bill, from the server's own usage file: 0.20 CNY per GB of the month.
    let usage = std::fs::read_to_string(sample().join("cdn_usage.csv")).unwrap();
    let billed: u128 = usage
        .lines()
        .skip(1)
        .map(|l| l.split_once(',').unwrap().1.parse::<u128>().unwrap())
        .sum();
    let bill_fen = ((billed * 20 + 500_000_000) / 1_000_000_000) as i64;
    let daily = csv_rows(&std::fs::read(s.w.path("out/channel_daily.csv")).unwrap());
    let fen = |v: &str| (v.parse::<f64>().unwrap() * 100.0).round() as i64;
    let unattributed: Vec<_> = daily
        .iter()
        .filter(|r| r["channel"] == "(unattributed)")
        .collect();
    assert_eq!(unattributed.len(), 2, "one per billed day");
    let wechat: i64 = daily
        .iter()
        .filter(|r| !r["wechat_cost_cny"].is_empty())
        .map(|r| fen(&r["wechat_cost_cny"]))
        .sum();
    assert_eq!(wechat, bill_fen, "the WeChat bill is all there");
    assert!(unattributed.iter().all(|r| r["complete"] == "false"));
}

/// Flips one byte in the middle of a file, as a failing disk would.
fn flip_a_byte(path: &std::path::Path) {
    let mut bytes = std::fs::read(path).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0x5a;
    std::fs::write(path, bytes).unwrap();
}

/// A lake that lost files (a partition deleted by hand, a byte flipped in a log file,
/// in the usage series and in Polyv's day): the report checks every file against the
/// sums recorded when it was written, reads around the damaged ones and marks their days
/// incomplete (exit 3); the next `run` sets them aside and makes them again, from `raw/`
/// and the APIs, to the same report as before.
#[test]
fn a_lake_that_lost_files_is_incomplete_and_the_next_run_repairs_it() {
    let s = start(PRICED);
    s.cdncost(RUN).ok();
    let reference = report_files(&s.w);
    let lake = s.w.path("lake");
    let below = |rel: &str| -> Vec<std::path::PathBuf> {
        files_below(&lake.join(rel))
            .into_iter()
            .filter(|f| f.ends_with(".parquet"))
            .map(|f| lake.join(rel).join(f))
            .collect()
    };
    // Day 1 loses an hour's partition; day 2 a byte of one log file, of its usage and of
    // its Polyv file.
    let hour = below(&format!("cdn_requests/date={DAY1}"))[0]
        .parent()
        .unwrap()
        .to_path_buf();
    std::fs::remove_dir_all(&hour).unwrap();
    let flipped = below(&format!("cdn_requests/date={DAY2}"))[0].clone();
    flip_a_byte(&flipped);
    flip_a_byte(&below(&format!("cdn_usage/interval=1440/date={DAY2}"))[0]);
    flip_a_byte(&below(&format!("polyv_traffic/date={DAY2}"))[0]);

    let report = s.report(&[]).expect_code(3);
    let said = report.stderr();
    assert!(said.contains(&format!("{DAY1} is incomplete")), "{said}");
    assert!(said.contains("is missing"), "{said}");
    // Day 1's lost hour is named (its day's rollup record lists the request files);
    // day 2's usage and Polyv files are read by the report and found changed. The byte
    // flipped in day 2's request file is not the report's to see: it reads the requests'
    // rollups, which are whole (the `run` below finds it and makes it again).
    assert!(
        said.contains("3 lake files damaged, first: cdn_requests/date=2026-11-18/hour=00/"),
        "{said}"
    );
    assert!(
        said.contains("2 lake files damaged, first: cdn_usage/interval=1440/date=2026-11-19"),
        "{said}"
    );
    assert!(said.contains("differs from what was written"), "{said}");
    let daily = csv_rows(&std::fs::read(s.w.path("out/channel_daily.csv")).unwrap());
    assert!(daily.iter().all(|r| r["complete"] == "false"), "both days");
    assert!(
        daily.iter().all(|r| !r["total_cost_cny"].starts_with('-')),
        "no damaged byte reaches the money"
    );

    let repaired = s.cdncost(RUN).ok();
    assert!(
        repaired.stdout().contains(": complete"),
        "{}",
        repaired.stdout()
    );
    assert!(
        repaired
            .stdout()
            .contains("lake: 6 files damaged (3 missing, 3 set aside in _damaged/)"),
        "{}",
        repaired.stdout()
    );
    assert_eq!(lake_totals(&lake), expected_totals(&sample()));
    assert_same_reports(&reference, &report_files(&s.w), "after the repair");
    let set_aside = files_below(&lake.join("_damaged"));
    assert_eq!(set_aside.len(), 3, "{set_aside:?}");
    // And the repaired lake checks clean.
    s.report(&[]).ok();
}

/// Manifests that no longer parse (a source's, a Polyv day's, a day's listing): the
/// report says which and marks the days incomplete; the next `run` sets them aside,
/// makes them again, and ends complete with the same report as before.
#[test]
fn damaged_manifests_are_made_again_by_the_next_run() {
    let s = start(PRICED);
    s.cdncost(RUN).ok();
    let reference = report_files(&s.w);
    let manifests = s.w.path("lake/_manifest");
    let source = files_below(&manifests.join("ingest"))[0].clone();
    for rel in [
        format!("ingest/{source}"),
        format!("polyv/{DAY2}.json"),
        format!("cdn_logs/{DAY1}.json"),
    ] {
        std::fs::write(manifests.join(rel), b"{\"outputs\": [tru").unwrap();
    }
    let report = s.report(&[]).expect_code(3);
    let said = report.stderr();
    assert!(
        said.contains(&format!(
            "manifest _manifest/cdn_logs/{DAY1}.json is damaged"
        )),
        "{said}"
    );
    assert!(
        said.contains(&format!("manifest _manifest/polyv/{DAY2}.json is damaged")),
        "{said}"
    );
    // A source's record is not read by the report (it reads the requests' rollups, and
    // on a store a record per log file is a request per log file): `run` finds it, and
    // ingests the source again.
    assert!(!said.contains("_manifest/ingest/"), "{said}");
    let repaired = s.cdncost(RUN).ok();
    assert!(
        repaired.stdout().contains(": complete"),
        "{}",
        repaired.stdout()
    );
    assert!(
        repaired
            .stdout()
            .contains("1 complete files were ingested again"),
        "{}",
        repaired.stdout()
    );
    assert_eq!(lake_totals(&s.w.path("lake")), expected_totals(&sample()));
    assert_same_reports(&reference, &report_files(&s.w), "after the repair");
}
