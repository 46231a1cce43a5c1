-- Untagged traffic (no `us` tag, or a platform-only one) by path and referer: which links were handed out untagged.
-- param: from = 2026-11-18  first China day
-- param: to = 2026-11-19  last China day, inclusive
-- The 50 biggest (path, referer) pairs.
SELECT
  path,
  COALESCE(referer, '-') AS referer,
  COUNT(*) AS requests,
  SUM(bytes) AS log_bytes
FROM cdn_requests
WHERE date BETWEEN :from AND :to
  AND channel IS NULL
GROUP BY 1, 2
ORDER BY log_bytes DESC, path, referer
LIMIT 50
