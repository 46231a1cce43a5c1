//! The lake on S3, against a real S3 server on loopback (moto, over HTTP, SigV4): the
//! same objects under the same keys as the disk lake, re-ingest without duplicates,
//! workers side by side, a writer killed mid-upload, reports and queries equal to the
//! disk lake's, and the lake read straight from S3 by DuckDB and pyarrow, and by Spark.
//! Without moto these tests say SKIPPED, except in CI
//! (`CDNCOST_REQUIRE_EXTERNAL_READERS=1`), where they fail.

mod common;

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use common::s3::*;
use common::*;

const LAKE: &str = "s3://studio-lake/lake";

/// Every output of a test, for the secret grep.
/// The library's settings for the loopback store, staging uploads in `staging`.
fn settings_for(moto: &Moto, staging: &Path) -> cdncost::lake::S3Settings {
    cdncost::lake::S3Settings {
        endpoint: Some(moto.endpoint.clone()),
        region: Some("us-east-1".into()),
        allow_http: Some(true),
        access_key_id: Some(ACCESS_KEY.into()),
        secret_access_key: Some(cdncost::util::secret::Secret::new(SECRET_KEY)),
        staging: Some(staging.to_path_buf()),
        ..Default::default()
    }
}

#[derive(Default)]
struct Said(String);

impl Said {
    fn add(&mut self, run: &Run) {
        self.0.push_str(&run.stdout());
        self.0.push_str(&run.stderr());
    }

    #[track_caller]
    fn has_no_secret(&self, lake_copy: &Path) {
        assert!(!self.0.contains(SECRET_KEY), "the secret key was printed");
        for file in files_below(lake_copy) {
            let bytes = std::fs::read(lake_copy.join(&file)).unwrap();
            assert!(
                !bytes
                    .windows(SECRET_KEY.len())
                    .any(|w| w == SECRET_KEY.as_bytes()),
                "the secret key is in {file}"
            );
        }
    }
}

fn generate_small(w: &Workdir) -> std::path::PathBuf {
    w.generate(
        "gen",
        &[
            "--days",
            "2",
            "--domains",
            "2",
            "--peak-requests-per-hour",
            "150",
            "--malformed",
            "4",
        ],
    )
}

/// Files below a disk lake (leases' empty directories aside) with their sizes.
fn disk_objects(lake: &Path) -> Vec<(String, u64)> {
    let mut objects: Vec<(String, u64)> = files_below(lake)
        .into_iter()
        .map(|f| {
            let size = std::fs::metadata(lake.join(&f)).unwrap().len();
            (without_part_id(&f), size)
        })
        .collect();
    objects.sort();
    objects
}

/// Parquet files' names and sizes, manifests' names (their times differ run to run).
fn comparable(objects: &[(String, u64)]) -> Vec<(String, Option<u64>)> {
    objects
        .iter()
        .map(|(k, s)| (k.clone(), k.ends_with(".parquet").then_some(*s)))
        .collect()
}

const TOTALS_SQL: &str = "select cast(date as varchar) as d, coalesce(channel, '-') as c, count(*) as n, sum(bytes) as b from cdn_requests group by d, c order by d, c";

#[test]
fn ingest_to_s3_equals_the_disk_lake_and_never_duplicates() {
    let Some(moto) = Moto::for_test() else {
        return;
    };
    let w = Workdir::new();
    let gen = generate_small(&w);
    let mut said = Said::default();

    w.run(&["ingest", "gen/cdn_logs"]).ok();
    let run = moto
        .cdncost(&w, &["--lake", LAKE, "ingest", "gen/cdn_logs"])
        .ok();
    said.add(&run);
    assert!(
        run.stderr().contains(&format!("into {LAKE}")),
        "{}",
        run.stderr()
    );

    // The same objects under the same keys as the disk lake; no lease, journal or
    // temporary left behind.
    let disk = disk_objects(&w.path("lake"));
    let stored = moto.objects("lake");
    assert_eq!(comparable(&stored), comparable(&disk));
    assert!(stored.iter().any(|(k, _)| k.starts_with("rejects/")));
    assert!(moto.uploads("").is_empty(), "no upload left open");

    // The same answers, and the generator's truth (read from a plain copy of the
    // objects, by polars directly).
    let query_disk = w.run(&["query", TOTALS_SQL]).ok().stdout();
    let run = moto
        .cdncost(&w, &["--lake", LAKE, "query", TOTALS_SQL])
        .ok();
    said.add(&run);
    assert_eq!(run.stdout(), query_disk);
    let copy = moto.sync("lake", &w.path("copy"));
    assert_eq!(lake_totals(&copy), expected_totals(&gen));

    // Ingested again: every key replaced, nothing twice.
    let run = moto
        .cdncost(&w, &["--lake", LAKE, "ingest", "gen/cdn_logs"])
        .ok();
    said.add(&run);
    assert_eq!(comparable(&moto.objects("lake")), comparable(&disk));
    let run = moto
        .cdncost(&w, &["--lake", LAKE, "query", TOTALS_SQL])
        .ok();
    said.add(&run);
    assert_eq!(run.stdout(), query_disk);
    let run = moto.cdncost(&w, &["--lake", LAKE, "summary"]).ok();
    said.add(&run);
    assert_eq!(run.stdout(), w.run(&["summary"]).ok().stdout());
    said.has_no_secret(&copy);
}

/// One worker per day, at once: both succeed, and the lake holds both days exactly.
/// A second worker on the same source is refused, naming the first.
#[test]
fn workers_on_different_days_run_at_once_and_one_unit_has_one_writer() {
    let Some(moto) = Moto::for_test() else {
        return;
    };
    let w = Workdir::new();
    let gen = generate_small(&w);
    let days: Vec<String> = std::fs::read_dir(gen.join("cdn_logs"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(days.len(), 2);
    let workers: Vec<_> = days
        .iter()
        .map(|day| {
            let logs = gen.join("cdn_logs").join(day);
            let args = ["--lake", LAKE, "ingest", "-j", "1", logs.to_str().unwrap()];
            spawn_cdncost(w.dir.path(), &args, &moto.env())
        })
        .collect();
    for worker in workers {
        let out = worker.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let copy = moto.sync("lake", &w.path("copy"));
    assert_eq!(lake_totals(&copy), expected_totals(&gen));

    // The same source twice at once: the first goes through a slow link, so it holds
    // the source's lease for a while.
    let day = gen.join("cdn_logs").join(&days[0]);
    // The day's largest file, through a link of 6 KB/s: its upload takes seconds (the
    // lease is seen through boto3, which takes a few hundred ms a look).
    let file = std::fs::read_dir(&day)
        .unwrap()
        .map(|e| e.unwrap().path())
        .max_by_key(|p| (std::fs::metadata(p).unwrap().len(), p.clone()))
        .unwrap();
    let stem = file.file_stem().unwrap().to_string_lossy().into_owned();
    let slow = slow_link(&moto.endpoint, 6_000);
    let first = spawn_cdncost(
        w.dir.path(),
        &["--lake", LAKE, "ingest", file.to_str().unwrap()],
        &moto.env_via(&slow),
    );
    let lease = format!("_leases/ingest/{stem}.lease");
    moto.wait_for("lake", &lease, "the first writer's lease");
    let second = moto
        .cdncost(&w, &["--lake", LAKE, "ingest", file.to_str().unwrap()])
        .expect_code(1);
    let want = format!("pid {}, since", first.id());
    assert!(
        second.stderr().contains(&want)
            && second
                .stderr()
                .contains(&format!("is writing ingest/{stem} in the lake '{LAKE}'")),
        "want {want:?} in: {}",
        second.stderr()
    );
    let out = first.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        !moto.objects("lake").iter().any(|(k, _)| *k == lease),
        "released at the end"
    );
    let copy = moto.sync("lake", &w.path("copy2"));
    assert_eq!(lake_totals(&copy), expected_totals(&gen));
}

/// SIGKILL while a source's files are uploading: nothing of it is visible, its uploads
/// stay open until the next run, which (once the dead writer's lease has expired) takes
/// the lease over, aborts them and publishes the source exactly once.
#[test]
fn a_writer_killed_mid_upload_leaves_nothing_visible_and_the_next_run_cleans_up() {
    let Some(moto) = Moto::for_test() else {
        return;
    };
    let w = Workdir::new();
    let gen = w.generate(
        "gen",
        &[
            "--days",
            "1",
            "--domains",
            "1",
            "--peak-requests-per-hour",
            "1500",
            "--malformed",
            "2",
        ],
    );
    let mut files: Vec<_> = files_below(&gen.join("cdn_logs"))
        .into_iter()
        .map(|f| gen.join("cdn_logs").join(f))
        .collect();
    files.sort();
    // The hour holding a malformed line: its source publishes two files together.
    let file = files
        .iter()
        .find(|f| {
            let name = f.file_name().unwrap().to_string_lossy().into_owned();
            expected_files(&gen)
                .get(&name)
                .is_some_and(|(_, bad)| *bad > 0)
        })
        .expect("a file with a malformed line")
        .clone();
    std::fs::write(
        w.path("cdncost.toml"),
        format!("[lake]\nlocation = \"{LAKE}\"\n[lake.s3]\nlease_seconds = 4\n"),
    )
    .unwrap();
    let slow = slow_link(&moto.endpoint, 20_000);
    let writer = spawn_cdncost(
        w.dir.path(),
        &["ingest", file.to_str().unwrap()],
        &moto.env_via(&slow),
    );
    let killer = moto
        .tool_command(&[
            "kill-when-uploading",
            BUCKET,
            "lake/",
            &writer.id().to_string(),
        ])
        .output()
        .unwrap();
    let status = writer.wait_with_output().unwrap().status;
    assert!(
        killer.status.success(),
        "{}",
        String::from_utf8_lossy(&killer.stderr)
    );
    assert_eq!(
        std::os::unix::process::ExitStatusExt::signal(&status),
        Some(9),
        "killed"
    );
    let stem = file.file_stem().unwrap().to_string_lossy().into_owned();
    let visible: Vec<String> = moto
        .objects("lake")
        .into_iter()
        .map(|(k, _)| k)
        .filter(|k| !k.starts_with("_uploads/") && !k.starts_with("_leases/"))
        .collect();
    assert!(visible.is_empty(), "visible after the kill: {visible:?}");
    assert!(
        !moto.uploads("lake/").is_empty(),
        "the kill came mid-upload: an upload is open"
    );

    // At once: the dead writer's lease has not expired yet.
    let run = moto
        .cdncost(&w, &["ingest", file.to_str().unwrap()])
        .expect_code(1);
    assert!(
        run.stderr().contains(&format!("is writing ingest/{stem}")),
        "{}",
        run.stderr()
    );
    assert!(
        !moto.uploads("lake/").is_empty(),
        "the sweep leaves journaled uploads to their unit's next publish"
    );
    // Also an upload no journal names, from a writer long gone (moto dates every upload
    // 2010): the day-old sweep of the next writing command aborts it.
    moto.tool(&[
        "orphan",
        BUCKET,
        "lake/cdn_requests/date=2026-11-17/hour=01/gone.parquet",
    ]);
    std::thread::sleep(Duration::from_secs(5));
    let run = moto.cdncost(&w, &["ingest", file.to_str().unwrap()]).ok();
    assert!(
        run.stderr().contains("taking over the expired lease"),
        "{}",
        run.stderr()
    );
    assert!(moto.uploads("").is_empty(), "no upload left open");
    let keys: Vec<String> = moto.objects("lake").into_iter().map(|(k, _)| k).collect();
    assert!(
        keys.iter()
            .all(|k| !k.starts_with("_uploads/") && !k.starts_with("_leases/")),
        "{keys:?}"
    );
    assert!(keys.contains(&format!("_manifest/ingest/{stem}.json")));
    let copy = moto.sync("lake", &w.path("copy"));
    let totals = lake_totals(&copy);
    let (lines, malformed) =
        expected_files(&gen)[&file.file_name().unwrap().to_string_lossy().into_owned()];
    let rows: u64 = totals.values().map(|(n, _)| n).sum();
    assert_eq!(rows, lines - malformed, "each row once");
}

/// The nightly run, end to end against the loopback WeChat and Polyv servers (`demo`),
/// on an S3 lake and on a disk lake: the same objects, byte-identical report files, and
/// the same query answers (a second run of the same days while the first holds them is
/// refused: `tests/run.rs`, on a disk lake).
#[test]
fn run_and_report_on_s3_equal_the_disk_lake() {
    let Some(moto) = Moto::for_test() else {
        return;
    };
    let w = Workdir::new();
    let mut said = Said::default();
    let run = w.run(&["demo", "--out", "disk"]).ok();
    said.add(&run);
    let run = moto
        .cdncost(&w, &["--lake", LAKE, "demo", "--out", "s3"])
        .ok();
    said.add(&run);
    let disk = disk_objects(&w.path("disk/lake"));
    let stored = moto.objects("lake");
    let names = |o: &[(String, u64)]| o.iter().map(|(k, _)| k.clone()).collect::<Vec<_>>();
    assert_eq!(names(&stored), names(&disk));
    assert!(names(&stored)
        .iter()
        .any(|k| k.starts_with("media_history/")));
    let reports: BTreeMap<String, u64> = disk_objects(&w.path("disk/report"))
        .into_iter()
        .filter(|(k, _)| k.ends_with(".csv"))
        .collect();
    assert!(reports.len() >= 5, "{reports:?}");
    for file in reports.keys() {
        assert_eq!(
            std::fs::read(w.path("s3/report").join(file)).unwrap(),
            std::fs::read(w.path("disk/report").join(file)).unwrap(),
            "{file}"
        );
    }
    for sql in [
        TOTALS_SQL,
        "select province, isp, count(*) as n from cdn_requests group by province, isp order by n desc, province, isp limit 20",
        "select count(*) as n from rejects",
    ] {
        let on_s3 = moto.cdncost(&w, &["--lake", LAKE, "query", sql]).ok();
        said.add(&on_s3);
        let on_disk = w.run(&["--lake", "disk/lake", "query", sql]).ok();
        assert_eq!(on_s3.stdout(), on_disk.stdout(), "{sql}");
    }
    // `report` by itself over the S3 lake: the same files again.
    let days = ["--from", "2026-11-18", "--to", "2026-11-19"];
    let mut args = vec!["--lake", LAKE, "report", "--out", "s3-report"];
    args.extend(days);
    let run = moto.cdncost(&w, &args);
    said.add(&run);
    let mut args = vec!["--lake", "disk/lake", "report", "--out", "disk-report"];
    args.extend(days);
    let disk_run = w.run(&args);
    assert_eq!(run.code(), disk_run.code(), "{}", run.stderr());
    for file in [
        "channel_daily.csv",
        "channel_platform_daily.csv",
        "reconciliation.csv",
    ] {
        assert_eq!(
            std::fs::read(w.path("s3-report").join(file)).unwrap(),
            std::fs::read(w.path("disk-report").join(file)).unwrap(),
            "{file}"
        );
    }
    let copy = moto.sync("lake", &w.path("copy"));
    said.has_no_secret(&copy);
    for dir in ["s3", "s3-report"] {
        said.has_no_secret(&w.path(dir));
    }
}

/// DuckDB (httpfs) and pyarrow (S3FileSystem) read the lake straight from the loopback
/// S3, with hive partitions, and find the generator's totals; Spark reads the same lake
/// as a directory (no hadoop-aws offline) and finds them too.
#[test]
fn duckdb_pyarrow_and_spark_read_the_lake_as_is() {
    let Some(moto) = Moto::for_test() else {
        return;
    };
    let w = Workdir::new();
    let gen = generate_small(&w);
    moto.cdncost(&w, &["--lake", LAKE, "ingest", "gen/cdn_logs"])
        .ok();
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let required = std::env::var_os("CDNCOST_REQUIRE_EXTERNAL_READERS").is_some();
    let expected = gen.join("expected_totals.csv");
    let check = |mut command: Command, what: &str| {
        let out = command.output().unwrap();
        let text = String::from_utf8_lossy(&out.stdout).to_string()
            + &String::from_utf8_lossy(&out.stderr);
        match out.status.code() {
            Some(0) => assert!(text.contains("totals as expected"), "{what}: {text}"),
            Some(77) if !required => eprintln!("SKIPPED: {what} is not installed"),
            _ => panic!("{what}: {text}"),
        }
    };
    for reader in ["duckdb", "pyarrow"] {
        let mut command = Command::new("python3");
        command
            .arg(root.join("tests/read_s3_lake.py"))
            .args([reader, &moto.endpoint, BUCKET, "lake"])
            .arg(&expected)
            .envs(moto.env());
        check(command, reader);
    }
    let copy = moto.sync("lake", &w.path("copy"));
    let mut command = Command::new("python3");
    command
        .arg(root.join("tests/spark_read_lake.py"))
        .arg(&copy)
        .arg(&expected);
    check(command, "spark (pyspark and a Java runtime)");
}

/// Every engine filters the lake right on S3 too (issue 26): the same lake as
/// `every_engine_filters_every_column_as_the_whole_read_says`, written to the loopback
/// store, read there by DuckDB through httpfs and by pyarrow through S3FileSystem; every
/// column's `IS NOT NULL` and `= v` counts equal a whole read.
#[test]
fn duckdb_and_pyarrow_filter_the_s3_lake_as_the_whole_read_says() {
    let Some(moto) = Moto::for_test() else {
        return;
    };
    let w = Workdir::new();
    let env = moto.env();
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    filters::lake_with_every_table(&w, LAKE, &env);
    let duckdb = filters::duckdb_with_httpfs();
    let mut with_duckdb = env.clone();
    with_duckdb.push(("CDNCOST_DUCKDB_FROM", duckdb.as_str()));
    for (engine, env) in [("duckdb", &with_duckdb), ("pyarrow", &env)] {
        filters::check_filters(
            &["--engines", engine, "--s3", &moto.endpoint, BUCKET, "lake"],
            env,
        );
    }
}

/// Two nightly workers, one per day, at once on the S3 lake (against the loopback WeChat
/// and Polyv servers): both finish as each does alone on a disk lake, with the same
/// reports, and the lake holds both days exactly once. A second worker on the same day
/// exits 1 at once, naming the first.
#[test]
fn nightly_workers_on_different_days_run_at_once() {
    use common::servers::*;
    let Some(moto) = Moto::for_test() else {
        return;
    };
    let s = start("");
    let day_args = |day: &'static str, out: &'static str| {
        vec![
            "run",
            "--date",
            day,
            "--lookback",
            "0",
            "--out",
            out,
            "--raw",
            if day == DAY1 { "raw1" } else { "raw2" },
        ]
    };
    // Alone, one after the other, on a disk lake: what each should end with.
    let both: Vec<(&str, String)> = s.env().into_iter().chain(moto.env()).collect();
    let alone: Vec<i32> = [(DAY1, "disk1"), (DAY2, "disk2")]
        .into_iter()
        .map(|(day, out)| s.cdncost(&day_args(day, out)).code())
        .collect();
    let workers: Vec<_> = [(DAY1, "s3-1"), (DAY2, "s3-2")]
        .into_iter()
        .map(|(day, out)| {
            let mut args = vec!["--lake", LAKE];
            args.extend(day_args(day, out));
            spawn_cdncost(s.w.dir.path(), &args, &both)
        })
        .collect();
    for (worker, code) in workers.into_iter().zip(&alone) {
        let out = worker.wait_with_output().unwrap();
        let said = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(*code), "{said}");
        assert!(!said.contains("is writing"), "{said}");
    }
    for (disk, s3) in [("disk1", "s3-1"), ("disk2", "s3-2")] {
        for file in [
            "channel_daily.csv",
            "channel_platform_daily.csv",
            "reconciliation.csv",
        ] {
            assert_eq!(
                std::fs::read(s.w.path(s3).join(file)).unwrap(),
                std::fs::read(s.w.path(disk).join(file)).unwrap(),
                "{s3}/{file}"
            );
        }
    }
    let copy = moto.sync("lake", &s.w.path("copy"));
    assert_eq!(lake_totals(&copy), expected_totals(&sample()));

    // A second worker on a day being worked on exits 1 at once, naming the first.
    s.wechat.faults().trickle_downloads = Some(Duration::from_millis(5));
    // (A fresh raw directory: its downloads, trickling, keep it at work a while.)
    let again = [
        "--lake",
        LAKE,
        "run",
        "--date",
        DAY2,
        "--lookback",
        "0",
        "--out",
        "again",
        "--raw",
        "raw3",
    ];
    let first = spawn_cdncost(s.w.dir.path(), &again, &both);
    moto.wait_for(
        "lake",
        &format!("_leases/run/{DAY2}.lease"),
        "the first worker's lease",
    );
    let mut args = vec!["--lake", LAKE];
    args.extend(day_args(DAY2, "second"));
    let env: Vec<(&str, &str)> = both.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let second = s.w.run_env(&args, &env).expect_code(1);
    assert!(
        second
            .stdout()
            .contains(&format!("pid {}, since", first.id()))
            || second
                .stderr()
                .contains(&format!("pid {}, since", first.id())),
        "{}",
        second.stderr()
    );
    assert!(
        second.stderr().contains(&format!("is writing run/{DAY2}")),
        "{}",
        second.stderr()
    );
    s.wechat.faults().trickle_downloads = None;
    assert_eq!(
        first.wait_with_output().unwrap().status.code(),
        Some(alone[1])
    );
}

/// A lease on the store, through the library: held past its lifetime (its holder renews
/// it), refused to a second taker meanwhile, gone once released; a lease whose holder
/// stopped renewing it is taken over once it has expired.
#[test]
fn leases_on_the_store_are_renewed_refused_released_and_taken_over() {
    use cdncost::lake::{Lake, LockError, S3Settings};
    let Some(moto) = Moto::for_test() else {
        return;
    };
    let staging = tempfile::tempdir().unwrap();
    let settings = S3Settings {
        lease_seconds: Some(3),
        ..settings_for(&moto, staging.path())
    };
    let lake = Lake::open(LAKE, &settings).unwrap();
    let held = lake.lease("cdn_logs/2026-11-20").unwrap();
    std::thread::sleep(Duration::from_secs(5)); // past its 3 s: renewed meanwhile
    match lake.lease("cdn_logs/2026-11-20") {
        Err(LockError::Busy { holder, unit, .. }) => {
            assert!(
                holder.contains(&format!("pid {}", std::process::id())),
                "{holder}"
            );
            assert_eq!(unit, "cdn_logs/2026-11-20");
        }
        other => panic!("a held lease was taken: {other:?}"),
    }
    let other_day = lake.lease("cdn_logs/2026-11-21").unwrap();
    drop(held);
    drop(other_day);
    assert!(
        !moto
            .objects("lake")
            .iter()
            .any(|(k, _)| k.starts_with("_leases/")),
        "released"
    );

    // Another worker's lease, as it stores it: in force, it is refused with its name;
    // expired (the worker stopped renewing it), it is taken over.
    let remote = lake.remote().unwrap();
    let rel = "_leases/cdn_logs/2026-11-22.lease";
    let planted = |expires: i64| {
        let text = format!(
            r#"{{"holder":"worker-7 pid 41","since":"2026-11-22T02:00:00+08:00","expires":{expires}}}"#
        );
        remote.put(rel, text.into_bytes().into()).unwrap();
    };
    planted(chrono::Utc::now().timestamp() + 60);
    match lake.lease("cdn_logs/2026-11-22") {
        Err(LockError::Busy { holder, .. }) => assert!(
            holder.starts_with("worker-7 pid 41, since 2026-11-22T02:00:00+08:00"),
            "{holder}"
        ),
        other => panic!("a lease in force was taken: {other:?}"),
    }
    planted(chrono::Utc::now().timestamp() - 1);
    let taken = lake
        .lease("cdn_logs/2026-11-22")
        .expect("an expired lease is taken over");
    let text = String::from_utf8(remote.get(rel).unwrap().unwrap().bytes.to_vec()).unwrap();
    assert!(
        text.contains(&format!("pid {}", std::process::id())),
        "{text}"
    );
    drop(taken);
    assert!(remote.get(rel).unwrap().is_none());
}

/// A month's report over an S3 lake costs requests that grow with its days, not with its
/// log files: it reads each day's rollups (two listings, a record, a file per table),
/// never a request per log file. Counted on the wire, between cdncost and moto, for the
/// same two days logged as 48 files and as 144 (three domains), and for four days.
#[test]
fn a_report_over_s3_makes_requests_that_grow_with_days_not_log_files() {
    let Some(moto) = Moto::for_test() else {
        return;
    };
    let w = Workdir::new();
    let (link, seen) = counting_link(&moto.endpoint);
    let count = |lake: &str, domains: &str, days: &str| -> (usize, usize) {
        let gen = format!("gen-{domains}-{days}");
        w.generate(
            &gen,
            &[
                "--days",
                days,
                "--domains",
                domains,
                "--peak-requests-per-hour",
                "20",
            ],
        );
        let logs = files_below(&w.path(&gen).join("cdn_logs")).len();
        moto.cdncost(&w, &["--lake", lake, "ingest", &format!("{gen}/cdn_logs")])
            .ok();
        // The days compacted, as `run` leaves them (`ingest` by hand leaves the parts).
        moto.cdncost(&w, &["--lake", lake, "rollup"]).ok();
        seen.lock().unwrap().clear();
        let env = moto.env_via(&link);
        let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let last = if days == "2" {
            "2026-11-19"
        } else {
            "2026-11-21"
        };
        let out = format!("report-{domains}-{days}");
        let run = w.run_env(
            &[
                "--lake",
                lake,
                "report",
                "--from",
                "2026-11-18",
                "--to",
                last,
                "--out",
                &out,
            ],
            &env,
        );
        assert_eq!(
            run.code(),
            3,
            "days without a usage series: {}",
            run.stderr()
        );
        let requests = seen.lock().unwrap().len();
        (logs, requests)
    };
    let (few_files, few_requests) = count("s3://studio-lake/one-domain", "1", "2");
    let (many_files, many_requests) = count("s3://studio-lake/three-domains", "3", "2");
    let (_, four_day_requests) = count("s3://studio-lake/four-days", "1", "4");
    assert!(
        many_files >= 3 * few_files - 3,
        "{few_files} vs {many_files} log files"
    );
    // Three times the log files, the same requests (give or take a listing page).
    assert!(
        many_requests <= few_requests + 2,
        "{few_requests} requests for {few_files} files, {many_requests} for {many_files}"
    );
    assert!(
        many_requests < many_files,
        "{many_requests} requests for {many_files} files"
    );
    // Twice the days, more requests.
    assert!(
        four_day_requests > few_requests,
        "{few_requests} → {four_day_requests}"
    );
    eprintln!(
        "report requests: 2 days of {few_files} files: {few_requests}; of {many_files} files: {many_requests}; 4 days: {four_day_requests}"
    );
}

/// Issue 33 item 6: a writer whose lease was taken over (it paused past `lease_seconds`
/// and another writer took the unit) publishes nothing: its uploads are not completed,
/// no file or record appears, and the error says whose the lease is now.
#[test]
fn item6_a_writer_that_lost_its_lease_publishes_nothing() {
    use cdncost::lake::catalogue::Kind;
    use cdncost::lake::manifest::DayOutputs;
    use cdncost::lake::{Lake, LakeError, ParquetOptions, S3Settings, SafeName, Scope};
    let Some(moto) = Moto::for_test() else {
        return;
    };
    let staging = tempfile::tempdir().unwrap();
    let settings = S3Settings {
        lease_seconds: Some(30),
        ..settings_for(&moto, staging.path())
    };
    let lake = Lake::open(LAKE, &settings).unwrap();
    let kind = Kind {
        name: "polyv",
        owner: "polyv",
    };
    let scope = Scope::default_of("polyv");
    let day = SafeName::exact("2026-11-20").unwrap();
    let manifest = lake.manifest_file(kind, &scope, &day);
    let path = lake.table_file("polyv_traffic", "date=2026-11-20", &scope, "polyv.parquet");
    let frame = polars::df!("channel" => ["wxad"], "total_bytes" => [5i64]).unwrap();
    let record = || DayOutputs {
        date: "2026-11-20".into(),
        ..Default::default()
    };

    // Held: the day publishes.
    let lease = lake.lease(&lake.unit(kind, &scope, "2026-11-20")).unwrap();
    lake.replace_partition(
        &path,
        Some(&frame),
        ParquetOptions::default(),
        &manifest,
        record(),
    )
    .unwrap();
    // Taken over meanwhile (as a writer paused past its lease finds it): nothing more.
    let remote = lake.remote().unwrap();
    let taken = format!(
        r#"{{"holder":"worker-9 pid 77","since":"2026-11-20T03:00:00+08:00","expires":{}}}"#,
        chrono::Utc::now().timestamp() + 60
    );
    remote
        .put("_leases/polyv/2026-11-20.lease", taken.into_bytes().into())
        .unwrap();
    let before = moto.objects("lake");
    let bigger = polars::df!("channel" => ["wxad", "x"], "total_bytes" => [5i64, 6]).unwrap();
    match lake.replace_partition(
        &path,
        Some(&bigger),
        ParquetOptions::default(),
        &manifest,
        record(),
    ) {
        Err(LakeError::LeaseLost { unit, holder }) => {
            assert_eq!(unit, "polyv/2026-11-20");
            assert!(holder.starts_with("worker-9 pid 77"), "{holder}");
        }
        other => panic!("a writer without its lease published: {other:?}"),
    }
    let after: Vec<_> = moto
        .objects("lake")
        .into_iter()
        .filter(|(k, _)| !k.starts_with("_uploads/"))
        .collect();
    let before: Vec<_> = before
        .into_iter()
        .filter(|(k, _)| !k.starts_with("_uploads/"))
        .collect();
    assert_eq!(after, before, "nothing of the unit changed");
    drop(lease);
}

/// Issue 33 item 5: an object edited in place at the same size (its figures changed,
/// its length not) is damage on a store as it is on disk: the ETag the store gave it at
/// publish is in its sum, and the listing (or a lookup) shows another.
#[test]
fn item5_an_object_edited_in_place_at_the_same_size_is_damage() {
    use cdncost::lake::catalogue::Kind;
    use cdncost::lake::integrity::{Depth, Problem};
    use cdncost::lake::manifest::DayOutputs;
    use cdncost::lake::{Lake, ParquetOptions, SafeName, Scope};
    let Some(moto) = Moto::for_test() else {
        return;
    };
    let staging = tempfile::tempdir().unwrap();
    let settings = settings_for(&moto, staging.path());
    let lake = Lake::open(LAKE, &settings).unwrap();
    let kind = Kind {
        name: "polyv",
        owner: "polyv",
    };
    let scope = Scope::default_of("polyv");
    let date: chrono::NaiveDate = "2026-11-20".parse().unwrap();
    let manifest = lake.manifest_file(kind, &scope, &SafeName::exact("2026-11-20").unwrap());
    let path = lake.table_file("polyv_traffic", "date=2026-11-20", &scope, "polyv.parquet");
    let frame = polars::df!("channel" => ["wxad"], "total_bytes" => [12_503_000_000i64]).unwrap();
    {
        let _lease = lake.lease(&lake.unit(kind, &scope, "2026-11-20")).unwrap();
        let record = DayOutputs {
            date: "2026-11-20".into(),
            ..Default::default()
        };
        lake.replace_partition(
            &path,
            Some(&frame),
            ParquetOptions::default(),
            &manifest,
            record,
        )
        .unwrap();
    }
    let clean = lake
        .damage_between(date, date, Depth::Content, &[kind])
        .unwrap();
    assert!(clean.is_empty(), "{:?}", clean.all());

    // The object rewritten in place: one byte changed, the same length.
    let remote = lake.remote().unwrap();
    let rel = lake.relative(&path);
    let mut bytes = remote.get(&rel).unwrap().unwrap().bytes.to_vec();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0x01;
    remote.put(&rel, bytes.into()).unwrap();
    for damage in [
        lake.damage_between(date, date, Depth::Content, &[kind])
            .unwrap(),
        lake.damage_of_report_inputs(date, date, Depth::Content, &[kind])
            .unwrap(),
    ] {
        let found = damage.by_date.get(&date).cloned().unwrap_or_default();
        assert!(
            found
                .iter()
                .any(|d| d.path == rel && d.problem == Problem::Content),
            "{found:?}"
        );
    }
}
