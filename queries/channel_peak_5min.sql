-- Each channel's peak 5-minute bandwidth per day, and when it happened (China time).
-- param: from = 2026-11-18  first China day
-- param: to = 2026-11-19  last China day, inclusive
-- param: factor = 1.10  billed bytes per log byte ([prices] billing_factor when set, as the report)
-- Buckets start at :00, :05, ... of the China clock; Mbps = bytes x 8 x factor / 300 s / 10^6.
-- Reads the 5-minute rollup (requests_5min), not every request.
WITH buckets AS (
  SELECT
    date,
    COALESCE(channel, '(untagged)') AS channel,
    CAST(FLOOR(EXTRACT(EPOCH FROM bucket_start) / 300) AS BIGINT) AS bucket,
    SUM(bytes) AS bucket_bytes
  FROM requests_5min
  WHERE date BETWEEN :from AND :to
  GROUP BY 1, 2, 3
),
ranked AS (
  SELECT
    date,
    channel,
    bucket,
    bucket_bytes,
    -- Seconds since China midnight of the bucket's start (UTC+8, no daylight saving).
    (bucket * 300 + 28800) % 86400 AS start_second,
    ROW_NUMBER() OVER (PARTITION BY date, channel ORDER BY bucket_bytes DESC, -bucket DESC) AS rank
  FROM buckets
)
SELECT
  date,
  channel,
  LPAD(CAST(CAST(FLOOR(start_second / 3600) AS BIGINT) AS VARCHAR), 2, '0') || ':' ||
    LPAD(CAST(CAST(FLOOR((start_second % 3600) / 60) AS BIGINT) AS VARCHAR), 2, '0') AS peak_start,
  bucket_bytes AS peak_bucket_bytes,
  ROUND(bucket_bytes * 8 * CAST(:factor AS DOUBLE) / 300 / 1000000, 3) AS peak_mbps
FROM ranked
WHERE rank = 1
ORDER BY date, peak_mbps DESC, channel
