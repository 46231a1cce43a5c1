//! The lake as users read it: DuckDB and pyarrow, with hive partitioning, must see exactly
//! the generator's totals and the declared types. CI installs both (`.ci/run`) and sets
//! CDNCOST_REQUIRE_EXTERNAL_READERS=1, so there a missing reader is a failure.

mod common;

use common::*;

#[test]
fn duckdb_and_pyarrow_read_the_lake_as_is() {
    if !python_readers() {
        return;
    }
    let w = Workdir::new();
    let gen = w.generate(
        "gen",
        &[
            "--days",
            "2",
            "--domains",
            "2",
            "--peak-requests-per-hour",
            "200",
            "--malformed",
            "5",
        ],
    );
    w.run(&["ingest", "gen/cdn_logs"]).ok();
    let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/read_lake.py");
    let out = std::process::Command::new("python3")
        .arg(script)
        .arg(w.path("lake"))
        .arg(gen.join("expected_totals.csv"))
        .output()
        .unwrap();
    let text =
        String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{text}");
    assert!(text.contains("rejects=5"), "{text}");
}

/// The ingest writer (polars-parquet called directly, each column with its own encoding)
/// writes exactly the values polars' own writer wrote before it: every column of both
/// ingest tables, read by DuckDB and by pyarrow, digests as in
/// `tests/golden/sample_data_columns.json`. That file is the digest of the lake written
/// by the previous writer (commit 2d4c42d) from `sample_data/cdn_logs`:
/// `cdncost ingest --lake L sample_data/cdn_logs; python3 tests/column_digests.py L duckdb`.
/// `platform` and `account` came later (the lake's keys): their digests are those of
/// commit 30d9514's successor, every other column still the previous writer's.
/// pyarrow reading a dictionary column as anything but strings fails the script.
#[test]
fn every_column_reads_back_as_the_previous_writer_wrote_it() {
    if !python_readers() {
        return;
    }
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let w = Workdir::new();
    let logs = root.join("sample_data/cdn_logs");
    w.run(&["ingest", logs.to_str().unwrap()]).ok();
    let golden: serde_json::Value = serde_json::from_slice(
        &std::fs::read(root.join("tests/golden/sample_data_columns.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(golden["cdn_requests"]["rows"], 9456, "{golden}");
    for reader in ["duckdb", "pyarrow"] {
        let out = std::process::Command::new("python3")
            .arg(root.join("tests/column_digests.py"))
            .arg(w.path("lake"))
            .arg(reader)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{reader}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let got: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        for table in ["cdn_requests", "rejects"] {
            assert_eq!(
                got[table]["rows"], golden[table]["rows"],
                "{reader} {table}"
            );
            let (got, want) = (&got[table]["columns"], &golden[table]["columns"]);
            for (column, digest) in want.as_object().unwrap() {
                assert_eq!(&got[column], digest, "{reader}: {table}.{column} differs");
            }
            assert_eq!(got, want, "{reader}: {table} has other columns");
        }
    }
}

/// A text column whose values turn out mostly distinct is written plain from the row group
/// where that shows, and the row groups after it are built plain: DuckDB and pyarrow read
/// every value back, in order, null where the log had an empty marker, across row groups
/// of both kinds. (Small row groups, so one file holds several.)
#[test]
fn text_columns_read_back_across_dictionary_and_plain_row_groups() {
    if !python_readers() {
        return;
    }
    let w = Workdir::new();
    // 700 lines: the first 300 agents are all different (no dictionary is worth it), the
    // referers take two values (a dictionary throughout), every 7th agent is a marker.
    let mut log = String::new();
    let mut agents = Vec::new();
    for i in 0..700 {
        let agent = match i {
            _ if i % 7 == 3 => None,
            _ if i < 300 => Some(format!("Agent/{i} (unique; {})", "x".repeat(i % 40))),
            _ => Some(format!("Agent/{}", i % 3)),
        };
        let referer = if i % 2 == 0 {
            "https://a.example/p"
        } else {
            "NULL"
        };
        log.push_str(&format!(
            "20261118120{:03} 1.2.3.4 d.example /v/{i}.ts?us=wxad-{i} {} 4 2 200 {referer} 1 \"{}\" \"(null)\" GET HTTPS hit {}\n",
            i % 60 + 100 * (i / 60 % 6),
            1000 + i,
            agent.as_deref().unwrap_or("NULL"),
            20000 + i,
        ));
        agents.push(agent);
    }
    write_gz(&w.path("in/2026111812-d.example.gz"), log.as_bytes());
    std::fs::write(w.path("small.toml"), "[ingest]\nrow_group_rows = 200\n").unwrap();
    let run = w.run(&["--config", "small.toml", "ingest", "in"]).ok();
    assert!(
        run.stdout().contains("700 parsed + 0 rejected"),
        "{}",
        run.stdout()
    );

    let script = r#"
import glob, json, sys
import duckdb, pyarrow.parquet as pq
files = glob.glob(sys.argv[1] + "/cdn_requests/**/*.parquet", recursive=True)
con = duckdb.connect()
rows = con.execute(f"SELECT user_agent, referer FROM read_parquet({files}) ORDER BY line_no").fetchall()
meta = pq.ParquetFile(files[0]).metadata
ua = meta.schema.names.index("user_agent")
encodings = [meta.row_group(r).column(ua).encodings for r in range(meta.num_row_groups)]
table = pq.read_table(files[0])
print(json.dumps({"duckdb": rows, "pyarrow": table.column("user_agent").to_pylist(),
                  "pyarrow_referer": table.column("referer").to_pylist(),
                  "ua_type": str(table.schema.field("user_agent").type),
                  "encodings": [list(e) for e in encodings]}))
"#;
    let out = std::process::Command::new("python3")
        .args(["-c", script])
        .arg(w.path("lake"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let got: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let want_referers: Vec<Option<&str>> = (0..700)
        .map(|i| (i % 2 == 0).then_some("https://a.example/p"))
        .collect();
    let duckdb: Vec<(Option<String>, Option<String>)> =
        serde_json::from_value(got["duckdb"].clone()).unwrap();
    assert_eq!(duckdb.len(), 700);
    for (i, (agent, referer)) in duckdb.iter().enumerate() {
        assert_eq!(agent, &agents[i], "duckdb user_agent of line {}", i + 1);
        assert_eq!(
            referer.as_deref(),
            want_referers[i],
            "duckdb referer of line {}",
            i + 1
        );
    }
    let pyarrow: Vec<Option<String>> = serde_json::from_value(got["pyarrow"].clone()).unwrap();
    assert_eq!(pyarrow, agents, "pyarrow user_agent");
    let referers: Vec<Option<String>> =
        serde_json::from_value(got["pyarrow_referer"].clone()).unwrap();
    assert_eq!(
        referers,
        want_referers
            .iter()
            .map(|r| r.map(String::from))
            .collect::<Vec<_>>()
    );
    assert!(
        !got["ua_type"].as_str().unwrap().contains("dictionary"),
        "{got}"
    );
    // Row group 1 (200 distinct agents) and 2 (built plain after it) hold no dictionary;
    // none of the four is missing.
    let encodings = got["encodings"].as_array().unwrap();
    assert_eq!(encodings.len(), 4, "{got}");
    for rg in &encodings[..2] {
        assert!(!rg.to_string().contains("DICT"), "{got}");
    }
}

/// Every engine filters the lake right (issue 26): for every column of every lake table
/// (`cdn_requests`, `rejects`, `cdn_usage`, `polyv_traffic`, `media`, `media_history`)
/// and of every report Parquet, the rows with `col IS NOT NULL` and with `col = v` (the
/// most and the least frequent value) counted by DuckDB (the default one and CI's 1.5.5),
/// pyarrow's dataset API, polars-python and Spark equal a whole, unfiltered read. A file
/// whose statistics or page index lie (a column index with no min/max said "every page is
/// null": DuckDB counted 0 rows of `client_ip IS NOT NULL`), or whose declared Arrow types
/// a reader cannot filter (`string_view` in pyarrow 26), fails here.
#[test]
fn every_engine_filters_every_column_as_the_whole_read_says() {
    if !python_readers() {
        return;
    }
    let w = Workdir::new();
    let reports = filters::lake_with_every_table(&w, "demo/lake", &[]);
    let lake = w.path("demo/lake");
    let mut args = vec![
        "--lake".to_string(),
        lake.to_str().unwrap().to_string(),
        "--reports".to_string(),
    ];
    args.extend(reports.iter().map(|r| r.to_str().unwrap().to_string()));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let mut engines = vec!["--engines", "duckdb,pyarrow,polars,spark"];
    engines.extend_from_slice(&args);
    if let Some(text) = filters::check_filters(&engines, &[]) {
        for engine in ["duckdb", "pyarrow", "polars", "spark"] {
            assert!(text.contains(&format!("{engine} ")), "{text}");
        }
    }
    // The DuckDB CI installs beside its httpfs extension, on the same files.
    let older = filters::duckdb_with_httpfs();
    let mut engines = vec!["--engines", "duckdb"];
    engines.extend_from_slice(&args);
    filters::check_filters(&engines, &[("CDNCOST_DUCKDB_FROM", older.as_str())]);
}
