-- Per channel, WeChat CDN log bytes and Polyv bytes side by side over a date range.
-- param: from = 2026-11-18  first China day
-- param: to = 2026-11-19  last China day, inclusive
-- A channel on one platform only shows null on the other. Needs polyv_traffic in the lake.
WITH wechat AS (
  SELECT COALESCE(channel, '(untagged)') AS channel, SUM(bytes) AS wechat_log_bytes
  FROM requests_5min
  WHERE date BETWEEN :from AND :to
  GROUP BY 1
),
polyv AS (
  SELECT channel AS polyv_channel, SUM(total_bytes) AS polyv_bytes
  FROM polyv_traffic
  WHERE date BETWEEN :from AND :to
  GROUP BY 1
)
SELECT
  COALESCE(wechat.channel, polyv.polyv_channel) AS channel,
  wechat.wechat_log_bytes,
  polyv.polyv_bytes
FROM wechat FULL JOIN polyv ON wechat.channel = polyv.polyv_channel
ORDER BY COALESCE(wechat.wechat_log_bytes, 0) + COALESCE(polyv.polyv_bytes, 0) DESC, channel
