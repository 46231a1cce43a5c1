#!/usr/bin/env bash
# Ingest throughput against `gzip -dc` on the same files, one job and all cores, with
# peak RSS: RUNS rounds (default 5), each running every command once in turn (gzip,
# -j 1, -j N, then the peers), so a noisy minute hits all of them alike; medians reported.
# Figures are ratios to gzip because these machines are noisy: compare ratios, not MB/s.
#
#   benches/ingest.sh [PEAK_REQUESTS_PER_HOUR] [DOMAINS] [SHAPE]
#   RUNS=3 benches/ingest.sh                   # fewer rounds
#   PEERS=1 benches/ingest.sh                  # also DuckDB and polars-python doing the
#                                              # same work (benches/peers/), same rounds
#   BASELINE=/path/to/older/cdncost benches/ingest.sh   # also an older binary, -j 1 and
#                                              # -j N, same rounds (before/after a change)
#   S3=1 benches/ingest.sh                     # also ingest to an s3:// lake on a loopback
#                                              # moto server (pip install 'moto[server]');
#                                              # moto shares the cores, so compare CPU s
#                                              # and peak RSS more than wall time
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
runs=${RUNS:-5}
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
cores=$(nproc)
echo "data: ${#files[@]} files, $lines lines, $((gz_bytes / 1000000)) MB gzip, $((text_bytes / 1000000)) MB text; $runs rounds"

names=("gzip -dc (1 core)" "cdncost ingest -j 1" "cdncost ingest -j $cores")
commands=(
  "gzip -dc ${files[*]}"
  "env POLARS_MAX_THREADS=1 $bin ingest --lake bench-data/lake-1 -j 1 -q ${files[*]}"
  "$bin ingest --lake bench-data/lake-n -q ${files[*]}"
)
outputs=("" bench-data/lake-1 bench-data/lake-n)
if [ -n "${BASELINE:-}" ]; then
  names+=("baseline ingest -j 1" "baseline ingest -j $cores")
  commands+=("env POLARS_MAX_THREADS=1 $BASELINE ingest --lake bench-data/lake-b1 -j 1 -q ${files[*]}"
             "$BASELINE ingest --lake bench-data/lake-bn -q ${files[*]}")
  outputs+=(bench-data/lake-b1 bench-data/lake-bn)
fi
if [ -n "${PEERS:-}" ]; then
  names+=("DuckDB $(python3 -c 'import duckdb; print(duckdb.__version__)') ($cores threads)"
          "polars-python $(python3 -c 'import polars; print(polars.__version__)') ($cores threads)")
  commands+=("python3 benches/peers/duckdb_ingest.py bench-data/lake-duckdb ${files[*]}"
             "python3 benches/peers/polars_ingest.py bench-data/lake-polars ${files[*]}")
  outputs+=(bench-data/lake-duckdb bench-data/lake-polars)
fi
if [ -n "${S3:-}" ]; then
  port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  python3 -m moto.server -H 127.0.0.1 -p "$port" > /dev/null 2>&1 &
  moto=$!
  trap 'kill $moto 2>/dev/null' EXIT
  until python3 -c "import socket; socket.create_connection(('127.0.0.1', $port))" 2>/dev/null; do sleep 0.2; done
  s3env="env AWS_ENDPOINT_URL=http://127.0.0.1:$port AWS_ALLOW_HTTP=true AWS_REGION=us-east-1 AWS_ACCESS_KEY_ID=bench AWS_SECRET_ACCESS_KEY=bench-secret"
  $s3env python3 tests/s3_tool.py "http://127.0.0.1:$port" mkbucket bench
  names+=("cdncost ingest -j 1 → s3 (moto)" "cdncost ingest -j $cores → s3 (moto)")
  commands+=("$s3env POLARS_MAX_THREADS=1 $bin ingest --lake s3://bench/lake-1 -j 1 -q ${files[*]}"
             "$s3env $bin ingest --lake s3://bench/lake-n -q ${files[*]}")
  outputs+=("" "")
fi

results=$(mktemp)
sync
gzip -dc "${files[@]}" > /dev/null # warm the page cache
for round in $(seq "$runs"); do
  for i in "${!commands[@]}"; do
    [ -z "${outputs[$i]}" ] || rm -rf "${outputs[$i]}"
    # shellcheck disable=SC2086 # the command lines are word lists on purpose
    /usr/bin/time -f '%e %M %U %S' -o /tmp/cdncost-bench-time ${commands[$i]} > /dev/null
    echo "$i $(cat /tmp/cdncost-bench-time)" >> "$results"
  done
  echo "round $round done"
done
lake_bytes=$(du -sb bench-data/lake-1 | cut -f1)

python3 - "$results" "$text_bytes" "$gz_bytes" "$lake_bytes" "${names[@]}" <<'PY'
import statistics, sys
results, text, gzb, lake, names = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), sys.argv[5:]
runs = {}
for line in open(results):
    i, wall, rss, user, sys_ = line.split()
    runs.setdefault(int(i), []).append((float(wall), int(rss), float(user) + float(sys_)))
gzip = [w for w, _, _ in runs[0]]
print()
print("| run | median wall s | MB/s (text) | × gzip -dc, median (each round) | peak RSS MB | CPU s |")
print("|---|---|---|---|---|---|")
for i, name in enumerate(names):
    walls = [w for w, _, _ in runs[i]]
    # Each round's ratio to that round's gzip run: noise shared within a round cancels.
    ratios = [g / w for g, w in zip(gzip, walls)]
    rss = max(r for _, r, _ in runs[i]) / 1024
    cpu = statistics.median(c for _, _, c in runs[i])
    each = ", ".join(f"{r:.2f}" for r in ratios)
    print(f"| {name} | {statistics.median(walls):.2f} | {text / 1e6 / statistics.median(walls):.0f} | "
          f"**{statistics.median(ratios):.2f}** ({each}) | {rss if i else 0:.0f} | {cpu:.2f} |")
print(f"\ninput {text / 1e6:.0f} MB text / {gzb / 1e6:.0f} MB gzip; cdncost lake {lake / 1e6:.0f} MB Parquet")
PY
for i in "${!outputs[@]}"; do
  [ -z "${outputs[$i]}" ] || [ "$i" = 1 ] || echo "${names[$i]} lake: $(( $(du -sb "${outputs[$i]}" | cut -f1) / 1000000 )) MB"
done
rm -f "$results"
