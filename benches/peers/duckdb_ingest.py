"""Equal-work peer: DuckDB parses every field of the CDN logs, derives the channel and
writes the hive-partitioned zstd Parquet lake (date=/hour=), as `cdncost ingest` does.

  python3 benches/peers/duckdb_ingest.py OUT_DIR FILE.gz...   (threads: DuckDB's default)

Lines DuckDB cannot split into 16 fields are skipped (cdncost keeps them aside); empty
markers (-, NULL, (null)) become NULL as in cdncost."""
import sys

import duckdb

from codes import COLUMNS, ISPS, PROVINCES

out, files = sys.argv[1], sys.argv[2:]
con = duckdb.connect()
con.execute("SET TimeZone = 'Asia/Shanghai'")
con.execute("CREATE TABLE provinces AS SELECT * FROM (VALUES " + ",".join(f"({c}, '{n}')" for c, n in PROVINCES.items()) + ") t(code, name)")
con.execute("CREATE TABLE isps AS SELECT * FROM (VALUES " + ",".join(f"({c}, '{n}')" for c, n in ISPS.items()) + ") t(code, name)")
types = {c: "VARCHAR" for c in COLUMNS}
file_list = "[" + ",".join(f"'{f}'" for f in files) + "]"
empty = "IN ('-', 'NULL', '(null)', '')"
con.execute(f"""
COPY (
  WITH raw AS (
    SELECT * FROM read_csv({file_list}, delim = ' ', quote = '"', escape = '"', header = false,
                           columns = {types}, ignore_errors = true, filename = true, strict_mode = false)
  ), parsed AS (
    SELECT strptime("time", '%Y%m%d%H%M%S')::TIMESTAMP AT TIME ZONE 'Asia/Shanghai' AS ts,
           client_ip, domain,
           split_part(url, '?', 1) AS path,
           CASE WHEN contains(url, '?') THEN substr(url, strpos(url, '?') + 1) END AS query,
           url_decode(nullif(regexp_extract(url, '[?&]us=([^&]*)', 1), '')) AS us,
           CAST(bytes AS BIGINT) AS bytes,
           CAST(province_code AS INTEGER) AS province_code,
           CAST(isp_code AS INTEGER) AS isp_code,
           CAST(status AS INTEGER) AS status,
           CASE WHEN referer {empty} THEN NULL ELSE referer END AS referer,
           CAST(request_ms AS BIGINT) AS request_ms,
           CASE WHEN user_agent {empty} THEN NULL ELSE user_agent END AS user_agent,
           CASE WHEN "range" {empty} THEN NULL ELSE "range" END AS "range",
           method, protocol, upper(cache) AS cache,
           TRY_CAST(port AS INTEGER) AS port,
           parse_filename(filename) AS source_file
    FROM raw
  )
  SELECT p.ts, p.client_ip, p.domain, p.path, p.query, p.us,
         CASE WHEN strpos(p.us, '-') > 1 THEN regexp_extract(p.us, '^(.*)-[^-]*$', 1) END AS channel,
         p.bytes, p.province_code, coalesce(pr.name, '未知') AS province,
         p.isp_code, coalesce(i.name, '未知') AS isp, p.status, p.referer, p.request_ms,
         p.user_agent, p."range",
         TRY_CAST(regexp_extract(p."range", '^(bytes=)?([0-9]+)-', 2) AS BIGINT) AS range_start,
         TRY_CAST(regexp_extract(p."range", '-([0-9]+)$', 1) AS BIGINT) AS range_end,
         p.method, p.protocol, p.cache, p.port, p.source_file,
         strftime(p.ts, '%Y-%m-%d') AS date, hour(p.ts) AS hour
  FROM parsed p
  LEFT JOIN provinces pr ON pr.code = p.province_code
  LEFT JOIN isps i ON i.code = p.isp_code
) TO '{out}' (FORMAT parquet, COMPRESSION zstd, PARTITION_BY (date, hour), OVERWRITE_OR_IGNORE)
""")
print(con.execute(f"SELECT count(*) FROM read_parquet('{out}/**/*.parquet')").fetchone()[0], "rows")
