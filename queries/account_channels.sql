-- Each account's channels by log bytes over a date range, each account apart (WeChat CDN logs).
-- The billed estimate, and each channel's share of its account's traffic.
-- param: from = 2026-11-18  first China day (YYYY-MM-DD)
-- param: to = 2026-11-19  last China day, inclusive
-- param: factor = 1.10  billed bytes per log byte ([prices] billing_factor when set)
-- Every rollup (requests_5min, requests_by_dir, requests_by_place) has the account column:
-- group or filter by it as here. Reads the 5-minute rollup, not every request.
WITH per_channel AS (
  SELECT
    account,
    COALESCE(channel, '(untagged)') AS channel,
    SUM(requests) AS requests,
    SUM(bytes) AS log_bytes
  FROM requests_5min
  WHERE date BETWEEN :from AND :to AND platform = 'wechat'
  GROUP BY 1, 2
)
SELECT
  account,
  channel,
  requests,
  log_bytes,
  ROUND(log_bytes * CAST(:factor AS DOUBLE)) AS billed_bytes_est,
  ROUND(100.0 * log_bytes / SUM(log_bytes) OVER (PARTITION BY account), 2) AS share_of_account_pct
FROM per_channel
ORDER BY account, log_bytes DESC, channel
