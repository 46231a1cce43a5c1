#!/usr/bin/env bash
# Renders a report.html in headless Chromium and saves a PNG, to look at the page as a
# browser draws it (Debian: apt-get install chromium fonts-noto-cjk).
#   contrib/screenshot.sh demo-out/report/report.html report.png
set -euo pipefail
page=${1:-demo-out/report/report.html}
png=${2:-report.png}
profile=$(mktemp -d)
trap 'rm -rf "$profile"' EXIT
# The background-networking flags keep Chromium from calling out (no network needed).
chromium --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
  --disable-background-networking --disable-component-update --disable-sync \
  --user-data-dir="$profile" --window-size=1100,2200 \
  --screenshot="$(realpath -m "$png")" "file://$(realpath "$page")" 2>/dev/null
echo "wrote $png"
