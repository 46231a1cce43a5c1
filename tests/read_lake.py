"""Reads a cdncost lake with DuckDB and pyarrow, as users do, and checks it against the
generator's ground truth. Usage: read_lake.py LAKE EXPECTED_TOTALS_CSV. Exit 1 on mismatch."""
import csv
import sys

import duckdb
import pyarrow.dataset as ds

lake, expected_csv = sys.argv[1], sys.argv[2]
want = {}
with open(expected_csv, encoding="utf-8") as f:
    for row in csv.DictReader(f):
        want[(row["date"], row["channel"])] = (int(row["requests"]), int(row["bytes"]))

failures = []

# DuckDB: hive partitions become typed columns; ts is a TIMESTAMP WITH TIME ZONE.
con = duckdb.connect()
con.execute("SET TimeZone = 'Asia/Shanghai'")
rows = con.execute(
    f"""SELECT CAST(date AS VARCHAR), coalesce(channel, '(untagged)'), count(*), sum(bytes)
        FROM read_parquet('{lake}/cdn_requests/**/*.parquet', hive_partitioning = true)
        GROUP BY ALL"""
).fetchall()
got = {(d, c): (int(n), int(b)) for d, c, n, b in rows}
if got != want:
    failures.append(f"duckdb totals differ: {sorted(set(got.items()) ^ set(want.items()))[:6]}")
# Every row sits in the partition of its China day and hour.
typ = con.execute(
    f"""SELECT any_value(typeof(ts)), bool_and(strftime(ts, '%Y-%m-%d') = CAST(date AS VARCHAR)),
               bool_and(hour(ts) = hour)
        FROM read_parquet('{lake}/cdn_requests/**/*.parquet', hive_partitioning = true)"""
).fetchone()
if typ != ("TIMESTAMP WITH TIME ZONE", True, True):
    failures.append(f"duckdb ts type / partition mismatch: {typ}")

# The range columns: BIGINT, and equal to what the range text says; empty markers
# ("(null)", NULL, "-") are NULL, never text.
rng = con.execute(
    f"""SELECT any_value(typeof(range_start)), any_value(typeof(range_end)),
               count(range_start),
               bool_and(range_start = CAST(regexp_extract(range, '^(bytes=)?([0-9]+)-', 2) AS BIGINT)),
               bool_and(range_end = CAST(regexp_extract(range, '-([0-9]+)$', 1) AS BIGINT)),
               count(*) FILTER (WHERE range IN ('(null)', '"(null)"', 'NULL', '-', '')
                                   OR referer IN ('NULL', '-', '(null)')
                                   OR user_agent IN ('NULL', '"NULL"', '-', '(null)'))
        FROM read_parquet('{lake}/cdn_requests/**/*.parquet', hive_partitioning = true)"""
).fetchone()
if rng[:2] != ("BIGINT", "BIGINT") or rng[2] == 0 or rng[3] is not True or rng[4] is not True or rng[5] != 0:
    failures.append(f"duckdb range columns: {rng}")

# pyarrow: the same dataset with hive partitioning; ts keeps its Asia/Shanghai zone.
dataset = ds.dataset(f"{lake}/cdn_requests", format="parquet", partitioning="hive")
table = dataset.to_table(columns=["date", "channel", "bytes", "ts"])
if str(table.schema.field("ts").type) != "timestamp[ms, tz=Asia/Shanghai]":
    failures.append(f"pyarrow ts type: {table.schema.field('ts').type}")
totals = {}
for date, channel, nbytes in zip(table.column("date").to_pylist(), table.column("channel").to_pylist(), table.column("bytes").to_pylist()):
    key = (str(date), channel if channel is not None else "(untagged)")
    n, b = totals.get(key, (0, 0))
    totals[key] = (n + 1, b + nbytes)
if totals != want:
    failures.append("pyarrow totals differ")

# Each column's encoding was chosen on purpose (src/cdnlog/columns.rs): check the file
# says so. Low-variety text: dictionary; numbers that grow: delta; high-variety text:
# plain, without min/max statistics; zstd everywhere.
import pyarrow.parquet as pq
meta = pq.ParquetFile(dataset.files[0]).metadata
want = {"domain": "DICT", "province": "DICT", "user_agent": "DICT", "source_file": "DICT",
        "status": "DICT", "ts": "DELTA_BINARY_PACKED", "line_no": "DELTA_BINARY_PACKED",
        "query": "PLAIN", "client_ip": "PLAIN", "path": "PLAIN"}
for name, encoding in want.items():
    col = meta.row_group(0).column(meta.schema.names.index(name))
    found = any(encoding in e for e in col.encodings)
    if encoding != "DICT" and any("DICT" in e for e in col.encodings):
        found = False
    if col.compression != "ZSTD" or not found:
        failures.append(f"{name} column: compression {col.compression}, encodings {col.encodings}, wanted {encoding}")
    stats = col.statistics
    has_min_max = stats is not None and stats.has_min_max
    if has_min_max != (name not in ("query", "client_ip")):
        failures.append(f"{name} column: min/max statistics {'present' if has_min_max else 'absent'}")

rejects = con.execute(f"SELECT count(*) FROM read_parquet('{lake}/rejects/*.parquet')").fetchone()[0]
print(f"duckdb rows={sum(v[0] for v in got.values())} pyarrow rows={table.num_rows} rejects={rejects} ranges={rng[2]}")
if failures:
    print("\n".join(failures))
    sys.exit(1)
