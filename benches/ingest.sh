#!/usr/bin/env bash
# Ingest throughput against `gzip -dc` on the same files, single job and all cores, with
# peak RSS. Figures are ratios to gzip because these machines are noisy; run it twice and
# compare ratios, not MB/s.
#
#   benches/ingest.sh [PEAK_REQUESTS_PER_HOUR] [DOMAINS] [SHAPE]
#
# The default makes about 2 GB of uncompressed log text (one China day, 4 domains) in the
# real line shape (quoted agent and range, (null)/NULL markers); SHAPE=classic measures the
# documented illustrative shape.
# Data goes to bench-data/ (kept between runs; delete it to regenerate).
set -euo pipefail
cd "$(dirname "$0")/.."
peak=${1:-180000}
domains=${2:-4}
shape=${3:-real}
data=bench-data/logs-$peak-$domains-$shape
# CDNCOST_BIN measures a binary built earlier (say, to compare two commits).
bin=${CDNCOST_BIN:-${CARGO_TARGET_DIR:-target}/release/cdncost}

[ -n "${CDNCOST_BIN:-}" ] || cargo build --release --quiet
if [ ! -d "$data/cdn_logs" ]; then
  "$bin" generate --out "$data" --from 2026-11-18 --days 1 --domains "$domains" \
    --peak-requests-per-hour "$peak" --malformed 100 --shape "$shape" -q
fi
mapfile -t files < <(find "$data/cdn_logs" -name '*.gz' | sort)
gz_bytes=$(cat "${files[@]}" | wc -c)
text_bytes=$(gzip -dc "${files[@]}" | wc -c)
lines=$(gzip -dc "${files[@]}" | wc -l)
echo "data: ${#files[@]} files, $lines lines, $((gz_bytes / 1000000)) MB gzip, $((text_bytes / 1000000)) MB text"

# Seconds of wall time and peak RSS (KB) of a command, from GNU time.
measure() {
  /usr/bin/time -f '%e %M %U %S' -o /tmp/cdncost-bench-time "$@" > /dev/null
  cat /tmp/cdncost-bench-time
}

sync
gzip -dc "${files[@]}" > /dev/null # warm the page cache
read -r gz_s _ _ _ < <(measure gzip -dc "${files[@]}")
echo "gzip -dc: ${gz_s}s"

rm -rf bench-data/lake-1 bench-data/lake-n
read -r one_s one_rss one_user one_sys < <(POLARS_MAX_THREADS=1 measure "$bin" ingest --lake bench-data/lake-1 -j 1 -q "$data/cdn_logs")
read -r all_s all_rss all_user all_sys < <(measure "$bin" ingest --lake bench-data/lake-n -q "$data/cdn_logs")
lake_bytes=$(du -sb bench-data/lake-1 | cut -f1)

python3 - "$text_bytes" "$gz_s" "$one_s" "$one_rss" "$one_user" "$one_sys" "$all_s" "$all_rss" "$(nproc)" "$lake_bytes" "$gz_bytes" <<'PY'
import sys
text, gz, one, one_rss, one_user, one_sys, alln, all_rss, cores, lake, gzb = sys.argv[1:]
text, gz, one, alln = int(text), float(gz), float(one), float(alln)
mb = text / 1e6
print()
print("| run | wall s | MB/s (text) | × gzip -dc | peak RSS MB | CPU s (user+sys) |")
print("|---|---|---|---|---|---|")
print(f"| gzip -dc (1 core) | {gz:.2f} | {mb/gz:.0f} | 1.00 | - | - |")
print(f"| cdncost ingest -j 1 | {one:.2f} | {mb/one:.0f} | {gz/one:.2f} | {int(one_rss)/1024:.0f} | {float(one_user)+float(one_sys):.2f} |")
print(f"| cdncost ingest -j {cores} | {alln:.2f} | {mb/alln:.0f} | {gz/alln:.2f} | {int(all_rss)/1024:.0f} | - |")
print(f"\ninput {mb:.0f} MB text / {int(gzb)/1e6:.0f} MB gzip; lake {int(lake)/1e6:.0f} MB Parquet")
PY
