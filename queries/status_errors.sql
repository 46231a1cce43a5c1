-- 4xx and 5xx responses by channel, domain and province.
-- param: from = 2026-11-18  first China day
-- param: to = 2026-11-19  last China day, inclusive
-- Reads the rollup per place (requests_by_place), not every request.
SELECT
  COALESCE(channel, '(untagged)') AS channel,
  domain,
  province,
  SUM(CASE WHEN status BETWEEN 400 AND 499 THEN requests ELSE 0 END) AS status_4xx,
  SUM(CASE WHEN status >= 500 THEN requests ELSE 0 END) AS status_5xx,
  SUM(requests) AS errors
FROM requests_by_place
WHERE date BETWEEN :from AND :to
  AND status >= 400
GROUP BY 1, 2, 3
ORDER BY errors DESC, channel, domain, province
