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
