-- CDN cache hit ratio by channel and domain, by requests and by bytes.
-- param: from = 2026-11-18  first China day
-- param: to = 2026-11-19  last China day, inclusive
-- Reads the rollup per place (requests_by_place), not every request.
SELECT
  COALESCE(channel, '(untagged)') AS channel,
  domain,
  SUM(requests) AS requests,
  SUM(CASE WHEN cache = 'HIT' THEN requests ELSE 0 END) AS hits,
  ROUND(1.0 * SUM(CASE WHEN cache = 'HIT' THEN requests ELSE 0 END) / SUM(requests), 4) AS hit_ratio,
  ROUND(1.0 * SUM(CASE WHEN cache = 'HIT' THEN bytes ELSE 0 END) / SUM(bytes), 4) AS byte_hit_ratio
FROM requests_by_place
WHERE date BETWEEN :from AND :to
GROUP BY 1, 2
ORDER BY channel, domain
