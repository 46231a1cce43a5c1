"""Reads a cdncost lake directory with Spark (pyspark, local mode), as an analyst's
cluster would, and checks per-(date, channel) totals against the generator's truth.

    spark_read_lake.py LAKE EXPECTED_TOTALS_CSV

Spark reads the hive partitions as they are (`date` a date, `hour` an integer) and skips
`_manifest`, `_leases` and hidden temporaries by itself. Exit 1 on mismatch; 77 when
pyspark or a Java runtime is missing.
"""
import csv
import shutil
import sys

try:
    from pyspark.sql import SparkSession, functions as F
except ImportError:
    sys.exit(77)
if not shutil.which("java"):
    sys.exit(77)

lake, expected_csv = sys.argv[1:3]
want = {}
with open(expected_csv, encoding="utf-8") as f:
    for row in csv.DictReader(f):
        want[(row["date"], row["channel"])] = (int(row["requests"]), int(row["bytes"]))

spark = (SparkSession.builder.master("local[2]").appName("cdncost-test")
         .config("spark.ui.enabled", "false")
         .config("spark.sql.session.timeZone", "Asia/Shanghai")
         .config("spark.driver.bindAddress", "127.0.0.1")
         .config("spark.driver.host", "127.0.0.1")
         .getOrCreate())
spark.sparkContext.setLogLevel("ERROR")
frame = spark.read.parquet(f"{lake}/cdn_requests")
types = dict(frame.dtypes)
rows = (frame.groupBy("date", F.coalesce("channel", F.lit("(untagged)")).alias("channel"))
        .agg(F.count("*").alias("n"), F.sum("bytes").alias("b")).collect())
got = {(str(r["date"]), r["channel"]): (int(r["n"]), int(r["b"])) for r in rows}
# Every row's hour partition is the China hour of its timestamp.
misplaced = frame.filter(F.hour("ts") != F.col("hour")).count()
spark.stop()

failures = []
if types.get("date") != "date" or types.get("hour") != "int":
    failures.append(f"partition types: date {types.get('date')}, hour {types.get('hour')}")
if misplaced:
    failures.append(f"{misplaced} rows outside their hour partition")
if got != want:
    failures.append(f"totals differ: {sorted(set(got.items()) ^ set(want.items()))[:6]}")
if failures:
    print("spark: " + "; ".join(failures), file=sys.stderr)
    sys.exit(1)
print(f"spark: {len(got)} (date, channel) totals as expected, {sum(n for n, _ in got.values())} requests; ts {types.get('ts')}")
