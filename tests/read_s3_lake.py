"""Reads a cdncost lake straight from S3 (the loopback moto server) as users do, and
checks per-(date, channel) totals against the generator's ground truth.

    read_s3_lake.py duckdb|pyarrow ENDPOINT BUCKET PREFIX EXPECTED_TOTALS_CSV

DuckDB needs its httpfs extension, which is on PyPI only for DuckDB 1.5.5
(`duckdb-extension-httpfs`): CI installs both into their own directory
(`pip install --target`), given here as CDNCOST_DUCKDB_S3 and put first on the path.
Exit 1 on mismatch; 77 when the reader is not installed.
"""
import csv
import glob
import os
import sys

reader, endpoint, bucket, prefix, expected_csv = sys.argv[1:6]
want = {}
with open(expected_csv, encoding="utf-8") as f:
    for row in csv.DictReader(f):
        want[(row["date"], row["channel"])] = (int(row["requests"]), int(row["bytes"]))
host = endpoint.split("://", 1)[1]
key, secret = os.environ["AWS_ACCESS_KEY_ID"], os.environ["AWS_SECRET_ACCESS_KEY"]

if reader == "duckdb":
    target = os.environ.get("CDNCOST_DUCKDB_S3", os.path.expanduser("~/.cache/cdncost-duckdb-s3"))
    sys.path.insert(0, target)
    try:
        import duckdb
    except ImportError:
        sys.exit(77)
    extension = glob.glob(f"{target}/duckdb_extension_httpfs/extensions/v{duckdb.__version__}/httpfs.duckdb_extension")
    if not extension:
        print(f"no httpfs extension for DuckDB {duckdb.__version__} in {target}", file=sys.stderr)
        sys.exit(77)
    con = duckdb.connect(config={"allow_unsigned_extensions": "true"})
    con.execute(f"LOAD '{extension[0]}'")
    con.execute(f"""CREATE SECRET moto (TYPE s3, KEY_ID '{key}', SECRET '{secret}',
                    ENDPOINT '{host}', URL_STYLE 'path', USE_SSL false, REGION 'us-east-1')""")
    rows = con.execute(
        f"""SELECT CAST(date AS VARCHAR), coalesce(channel, '(untagged)'), count(*), sum(bytes)
            FROM read_parquet('s3://{bucket}/{prefix}/cdn_requests/**/*.parquet', hive_partitioning = true)
            WHERE date >= DATE '2000-01-01'
            GROUP BY ALL"""
    ).fetchall()
    got = {(d, c): (int(n), int(b)) for d, c, n, b in rows}
elif reader == "pyarrow":
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.dataset as ds
    from pyarrow import fs

    s3 = fs.S3FileSystem(access_key=key, secret_key=secret, endpoint_override=endpoint,
                         scheme="http", region="us-east-1")
    dataset = ds.dataset(f"{bucket}/{prefix}/cdn_requests", filesystem=s3, format="parquet",
                         partitioning="hive")
    table = dataset.to_table(columns=["date", "channel", "bytes"])
    channel = pc.fill_null(pc.cast(table["channel"], pa.string()), "(untagged)")
    table = table.set_column(table.column_names.index("channel"), "channel", channel)
    grouped = table.group_by(["date", "channel"]).aggregate([("bytes", "count"), ("bytes", "sum")])
    got = {}
    for d, c, n, b in zip(*(grouped[name].to_pylist() for name in
                            ["date", "channel", "bytes_count", "bytes_sum"])):
        got[(str(d), c)] = (int(n), int(b))
else:
    sys.exit(f"unknown reader {reader}")

if got != want:
    print(f"{reader}: totals differ: {sorted(set(got.items()) ^ set(want.items()))[:6]}", file=sys.stderr)
    sys.exit(1)
print(f"{reader}: {len(got)} (date, channel) totals as expected, {sum(n for n, _ in got.values())} requests")
