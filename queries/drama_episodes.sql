-- Episode by episode, per drama: requests, viewers, bytes, estimated cost, and where viewers drop off.
-- Viewers are distinct client IPs; viewers_vs_episode_1_pct is each episode's viewers as a
-- share of the drama's first episode (100 at episode 1; a steep fall marks where people stop).
-- param: from = 2026-11-18  first China day (YYYY-MM-DD)
-- param: to = 2026-11-19  last China day, inclusive
-- param: factor = 1.10  billed bytes per log byte ([prices] billing_factor when set)
-- param: price_cny_per_gb = 0.20  CNY per GB of billed traffic ([prices] WeChat price when set)
-- param: bytes_per_gb = 1000000000  bytes in a GB ([prices] bytes_per_gb)
-- Matching as in drama_channel_cost.sql; requests of no known media are left out here.
WITH requests AS (
  SELECT
    client_ip,
    LEFT(path, LENGTH(path) - STRPOS(REVERSE(path), '/') + 1) AS dir,
    bytes
  FROM cdn_requests
  WHERE date BETWEEN :from AND :to
),
per_episode AS (
  SELECT
    h.drama_id,
    h.drama_name,
    h.episode,
    COUNT(*) AS requests,
    COUNT(DISTINCT r.client_ip) AS viewers,
    SUM(r.bytes) AS log_bytes
  FROM requests r
  JOIN media_history h ON r.dir = h.path_prefix
  GROUP BY 1, 2, 3
),
first_episode AS (
  SELECT drama_id, viewers AS first_viewers FROM per_episode WHERE episode = 1
)
SELECT
  e.drama_name,
  e.episode,
  e.requests,
  e.viewers,
  e.log_bytes,
  ROUND(e.log_bytes * CAST(:factor AS DOUBLE) / CAST(:bytes_per_gb AS DOUBLE) * CAST(:price_cny_per_gb AS DOUBLE), 2) AS cost_cny_est,
  ROUND(100.0 * e.viewers / f.first_viewers, 1) AS viewers_vs_episode_1_pct
FROM per_episode e
LEFT JOIN first_episode f ON e.drama_id = f.drama_id
ORDER BY e.drama_name, e.episode
