#!/usr/bin/env bash
# `cdncost query` against DuckDB on the same lake: the per-channel group-by over every
# request of DAYS bench days (the real line shape, 4 domains, 180,000 requests in the
# busiest hour: 4.7 M requests a China day), RUNS rounds (default 3), each running every
# command once in turn so a noisy minute hits all alike; wall time and peak RSS of each.
#
#   benches/query.sh [DAYS]                    # default 5
#   BASELINE=/path/to/older/cdncost benches/query.sh   # also an older binary, same rounds
#
# Needs python3 with duckdb (pip install duckdb). The logs and the lake go to
# bench-data/ (kept between runs; delete them to regenerate): about 380 MB of gzip and
# 350 MB of Parquet a day.
set -euo pipefail
cd "$(dirname "$0")/.."
days=${1:-5}
runs=${RUNS:-3}
logs=bench-data/logs-query-$days
lake=bench-data/lake-query-$days
bin=${CDNCOST_BIN:-${CARGO_TARGET_DIR:-target}/release/cdncost}

[ -n "${CDNCOST_BIN:-}" ] || cargo build --release --quiet
if [ ! -d "$lake/cdn_requests" ]; then
  [ -d "$logs/cdn_logs" ] || "$bin" generate --out "$logs" --from 2026-11-18 --days "$days" \
    --domains 4 --peak-requests-per-hour 180000 -q
  "$bin" --lake "$lake" ingest "$logs/cdn_logs" -q
fi

sql="select channel, count(*) n, sum(bytes) b from cdn_requests group by 1 order by 1"
duck="select channel, count(*) n, sum(bytes) b from read_parquet('$lake/cdn_requests/**/*.parquet', hive_partitioning = true) group by 1 order by 1"
measure() { # name command...
  local name=$1
  shift
  /usr/bin/time -f "$name %e s %M KB" "$@" >/dev/null 2>/tmp/cdncost-query-bench.$$ ||
    { cat /tmp/cdncost-query-bench.$$; exit 1; }
  tail -1 /tmp/cdncost-query-bench.$$
}
echo "per-channel group-by over $days days ($lake), $runs rounds"
for round in $(seq "$runs"); do
  echo "round $round"
  measure "  cdncost query  " "$bin" --lake "$lake" query "$sql"
  [ -z "${BASELINE:-}" ] || measure "  baseline query " "$BASELINE" --lake "$lake" query "$sql"
  measure "  duckdb         " python3 -c "import duckdb, sys; duckdb.sql(sys.argv[1]).fetchall()" "$duck"
done
rm -f /tmp/cdncost-query-bench.$$
