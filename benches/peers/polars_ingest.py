"""Equal-work peer: polars (Python) parses every field of the CDN logs, derives the
channel and writes the hive-partitioned zstd Parquet lake (date=/hour=), as `cdncost
ingest` does.

  python3 benches/peers/polars_ingest.py OUT_DIR FILE.gz...   (threads: POLARS_MAX_THREADS)

Lines polars cannot split into 16 fields are skipped (cdncost keeps them aside); empty
markers (-, NULL, (null)) become NULL as in cdncost."""
import os
import sys

import polars as pl

from codes import COLUMNS, ISPS, PROVINCES

out, files = sys.argv[1], sys.argv[2:]
provinces = pl.DataFrame({"province_code": list(PROVINCES), "province": list(PROVINCES.values())},
                         schema={"province_code": pl.Int32, "province": pl.String})
isps = pl.DataFrame({"isp_code": list(ISPS), "isp": list(ISPS.values())},
                    schema={"isp_code": pl.Int32, "isp": pl.String})
EMPTY = ["-", "NULL", "(null)", ""]


def text(name):
    return pl.when(pl.col(name).is_in(EMPTY)).then(None).otherwise(pl.col(name)).alias(name)


frames = []
for path in files:
    raw = pl.read_csv(path, separator=" ", quote_char='"', has_header=False, new_columns=COLUMNS,
                      schema_overrides={c: pl.String for c in COLUMNS}, ignore_errors=True,
                      truncate_ragged_lines=True, encoding="utf8-lossy")
    url = pl.col("url")
    us = url.str.extract(r"[?&]us=([^&]*)", 1).str.replace_all("%2D", "-", literal=True)
    frame = raw.lazy().select(
        pl.col("time").str.strptime(pl.Datetime("ms"), "%Y%m%d%H%M%S", strict=False)
        .dt.replace_time_zone("Asia/Shanghai").alias("ts"),
        "client_ip", "domain",
        url.str.split_exact("?", 1).struct.field("field_0").alias("path"),
        url.str.split_exact("?", 1).struct.field("field_1").alias("query"),
        us.alias("us"),
        us.str.extract(r"^(.+)-[^-]*$", 1).alias("channel"),
        pl.col("bytes").cast(pl.Int64, strict=False),
        pl.col("province_code").cast(pl.Int32, strict=False),
        pl.col("isp_code").cast(pl.Int32, strict=False),
        pl.col("status").cast(pl.Int32, strict=False),
        text("referer"),
        pl.col("request_ms").cast(pl.Int64, strict=False),
        text("user_agent"), text("range"),
        pl.col("range").str.extract(r"^(?:bytes=)?([0-9]+)-", 1).cast(pl.Int64, strict=False).alias("range_start"),
        pl.col("range").str.extract(r"-([0-9]+)$", 1).cast(pl.Int64, strict=False).alias("range_end"),
        "method", "protocol", pl.col("cache").str.to_uppercase(),
        pl.col("port").cast(pl.Int32, strict=False),
        pl.lit(os.path.basename(path)).alias("source_file"),
    ).join(provinces.lazy(), on="province_code", how="left").join(isps.lazy(), on="isp_code", how="left")
    frames.append(frame.with_columns(
        pl.col("province").fill_null("未知"), pl.col("isp").fill_null("未知"),
        pl.col("ts").dt.strftime("%Y-%m-%d").alias("date"), pl.col("ts").dt.hour().alias("hour"),
    ).collect())
lake = pl.concat(frames)
lake.write_parquet(out, compression="zstd", partition_by=["date", "hour"])
print(lake.height, "rows")
