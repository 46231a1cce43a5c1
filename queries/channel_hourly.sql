-- A channel's traffic by hour of day (China time), summed over a date range.
-- param: channel = wxad  the channel ("(untagged)" for untagged traffic)
-- param: from = 2026-11-18  first China day
-- param: to = 2026-11-19  last China day, inclusive
-- `hour` is the China hour of the requests. Reads the rollup per place (requests_by_place).
SELECT
  hour,
  SUM(requests) AS requests,
  SUM(bytes) AS log_bytes
FROM requests_by_place
WHERE date BETWEEN :from AND :to
  AND COALESCE(channel, '(untagged)') = :channel
GROUP BY hour
ORDER BY hour
