#!/usr/bin/env bash
# `cdncost report` over DAYS bench days against DuckDB's raw per-channel group-by over
# the same request files, RUNS rounds (default 3), each running every command once in
# turn so a noisy minute hits all alike; wall time and peak RSS of each. Also `query` of
# the same group-by. The bench day: the real line shape, 4 domains, 180,000 requests in
# the busiest hour (4.7 M requests a China day).
#
#   benches/report.sh [DAYS]                        # default 5; 30 for the month
#   BASELINE=/path/to/older/cdncost benches/report.sh   # also an older binary, same rounds
#
# The lake goes to bench-data/lake-query-DAYS (kept; about 350 MB of Parquet a day). It
# is made a day at a time (generate one day, ingest it, delete its logs), so a month
# needs 11 GB of disk, not 22. It holds requests only (no usage series): the report
# says its days are incomplete (status 3) and does all its work.
# Needs python3 with duckdb (pip install duckdb).
set -euo pipefail
cd "$(dirname "$0")/.."
days=${1:-5}
runs=${RUNS:-3}
lake=bench-data/lake-query-$days
bin=${CDNCOST_BIN:-${CARGO_TARGET_DIR:-target}/release/cdncost}
first=2026-11-01

[ -n "${CDNCOST_BIN:-}" ] || cargo build --release --quiet
if [ ! -d "$lake/cdn_requests" ]; then
  # The same seed a day at a time: each day's logs as `generate --days N` writes them.
  for i in $(seq 0 $((days - 1))); do
    day=$(date -u -d "$first + $i day" +%F)
    logs=bench-data/logs-one-day
    rm -rf "$logs"
    "$bin" generate --out "$logs" --from "$day" --days 1 --domains 4 \
      --peak-requests-per-hour 180000 -q
    "$bin" --lake "$lake" ingest "$logs/cdn_logs" -q
  done
  rm -rf bench-data/logs-one-day
fi
# The days compacted, as `run` leaves them (`ingest` by hand leaves each file's parts).
"$bin" --lake "$lake" rollup -q
last=$(ls "$lake/cdn_requests" | sed -n 's/^date=//p' | sort | tail -1)
from=$(ls "$lake/cdn_requests" | sed -n 's/^date=//p' | sort | head -1)

duck="select channel, count(*) n, sum(bytes) b from read_parquet('$lake/cdn_requests/**/*.parquet', hive_partitioning = true) group by 1 order by 1"
sql="select channel, count(*) n, sum(bytes) b from cdn_requests group by 1 order by 1"
measure() { # name command...
  local name=$1
  shift
  /usr/bin/time -f "$name %e s %M KB" "$@" >/dev/null 2>/tmp/cdncost-report-bench.$$ ||
    [ $? -le 4 ] || { cat /tmp/cdncost-report-bench.$$; exit 1; }
  tail -1 /tmp/cdncost-report-bench.$$
}
out=$(mktemp -d)
echo "report $from..$last over $lake, against DuckDB's raw per-channel group-by; $runs rounds"
for round in $(seq "$runs"); do
  echo "round $round"
  measure "  cdncost report " "$bin" --lake "$lake" report --from "$from" --to "$last" --out "$out/r" -q
  [ -z "${BASELINE:-}" ] || measure "  baseline report" "$BASELINE" --lake "$lake" report --from "$from" --to "$last" --out "$out/b" -q
  measure "  cdncost query  " "$bin" --lake "$lake" query "$sql"
  measure "  duckdb group-by" python3 -c "import duckdb, sys; duckdb.sql(sys.argv[1]).fetchall()" "$duck"
done
rm -rf "$out" /tmp/cdncost-report-bench.$$
