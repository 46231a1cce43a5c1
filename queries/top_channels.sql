-- Channels by billed-estimate bytes and cost over a date range (WeChat CDN logs).
-- param: from = 2026-11-18  first China day (YYYY-MM-DD)
-- param: to = 2026-11-19  last China day, inclusive
-- param: factor = 1.10  billed bytes per log byte ([prices] billing_factor when set)
-- param: price_cny_per_gb = 0.20  CNY per GB of billed traffic ([prices] WeChat price when set)
-- param: bytes_per_gb = 1000000000  bytes in a GB ([prices] bytes_per_gb)
-- Untagged traffic is the channel "(untagged)". Reads the 5-minute rollup (a few thousand
-- rows a day), not every request.
WITH per_channel AS (
  SELECT
    COALESCE(channel, '(untagged)') AS channel,
    SUM(requests) AS requests,
    SUM(bytes) AS log_bytes
  FROM requests_5min
  WHERE date BETWEEN :from AND :to
  GROUP BY 1
),
total AS (SELECT SUM(log_bytes) AS all_bytes FROM per_channel)
SELECT
  channel,
  requests,
  log_bytes,
  ROUND(log_bytes * CAST(:factor AS DOUBLE)) AS billed_bytes_est,
  ROUND(log_bytes * CAST(:factor AS DOUBLE) / CAST(:bytes_per_gb AS DOUBLE) * CAST(:price_cny_per_gb AS DOUBLE), 2) AS cost_cny_est,
  ROUND(100.0 * log_bytes / all_bytes, 2) AS share_pct
FROM per_channel CROSS JOIN total
ORDER BY log_bytes DESC, channel
