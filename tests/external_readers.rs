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
