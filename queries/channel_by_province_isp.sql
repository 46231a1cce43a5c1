-- One channel's traffic by province and ISP (names, not codes), biggest first.
-- param: channel = wxad  the channel ("(untagged)" for untagged traffic)
-- param: from = 2026-11-18  first China day
-- param: to = 2026-11-19  last China day, inclusive
-- Reads the rollup per place (requests_by_place), not every request.
SELECT
  province,
  isp,
  SUM(requests) AS requests,
  SUM(bytes) AS log_bytes
FROM requests_by_place
WHERE date BETWEEN :from AND :to
  AND COALESCE(channel, '(untagged)') = :channel
GROUP BY province, isp
ORDER BY log_bytes DESC, province, isp
