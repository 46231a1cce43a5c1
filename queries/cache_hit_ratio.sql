-- CDN cache hit ratio by channel and domain, by requests and by bytes.
-- param: from = 2026-11-18  first China day
-- param: to = 2026-11-19  last China day, inclusive
SELECT
  COALESCE(channel, '(untagged)') AS channel,
  domain,
  COUNT(*) AS requests,
  SUM(CASE WHEN cache = 'HIT' THEN 1 ELSE 0 END) AS hits,
  ROUND(1.0 * SUM(CASE WHEN cache = 'HIT' THEN 1 ELSE 0 END) / COUNT(*), 4) AS hit_ratio,
  ROUND(1.0 * SUM(CASE WHEN cache = 'HIT' THEN bytes ELSE 0 END) / SUM(bytes), 4) AS byte_hit_ratio
FROM cdn_requests
WHERE date BETWEEN :from AND :to
GROUP BY 1, 2
ORDER BY channel, domain
