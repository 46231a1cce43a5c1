-- Dramas by channel over a date range: requests, bytes, estimated cost and share (WeChat CDN logs).
-- param: from = 2026-11-18  first China day (YYYY-MM-DD)
-- param: to = 2026-11-19  last China day, inclusive
-- param: factor = 1.10  billed bytes per log byte ([prices] billing_factor when set)
-- param: price_cny_per_gb = 0.20  CNY per GB of billed traffic ([prices] WeChat price when set)
-- param: bytes_per_gb = 1000000000  bytes in a GB ([prices] bytes_per_gb)
-- A request belongs to the media whose path prefix (from `fetch media`, kept in
-- media_history) is its path's directory; the rest is "(unmatched)". Costs here are
-- estimates from the logs; the bill-anchored, to-the-fen split is the report's
-- drama_daily table (also a table here when --reports points at a report).
WITH requests AS (
  -- The rollup per directory: `dir` is the path up to its last '/', as matched here.
  SELECT
    COALESCE(channel, '(untagged)') AS channel,
    dir,
    requests,
    bytes
  FROM requests_by_dir
  WHERE date BETWEEN :from AND :to
),
per_drama AS (
  SELECT
    COALESCE(h.drama_name, '(unmatched)') AS drama_name,
    r.channel,
    SUM(r.requests) AS requests,
    SUM(r.bytes) AS log_bytes
  FROM requests r
  LEFT JOIN media_history h ON r.dir = h.path_prefix
  GROUP BY 1, 2
),
total AS (SELECT SUM(log_bytes) AS all_bytes FROM per_drama)
SELECT
  drama_name,
  channel,
  requests,
  log_bytes,
  ROUND(log_bytes * CAST(:factor AS DOUBLE)) AS billed_bytes_est,
  ROUND(log_bytes * CAST(:factor AS DOUBLE) / CAST(:bytes_per_gb AS DOUBLE) * CAST(:price_cny_per_gb AS DOUBLE), 2) AS cost_cny_est,
  ROUND(100.0 * log_bytes / all_bytes, 2) AS share_pct
FROM per_drama CROSS JOIN total
ORDER BY log_bytes DESC, drama_name, channel
