#!/usr/bin/env bash
# Renders a report.html in headless Chromium and saves a PNG, to look at the page as a
# browser draws it (Debian: apt-get install chromium fonts-noto-cjk).
#   contrib/screenshot.sh demo-out/report/report.html report.png [WIDTH]
#   contrib/screenshot.sh --docs     the README's pictures, from the demo: docs/report-demo.png
#                                    (1280 px), docs/report-phone.png (390 px, a phone as
#                                    finance opens the page from the chat), docs/report-en.png
set -euo pipefail
shot() {
  local page=$1 png=$2 width=${3:-1280} height=${4:-2600}
  local profile
  profile=$(mktemp -d)
  # The background-networking flags keep Chromium from calling out (no network needed).
  chromium --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
    --disable-background-networking --disable-component-update --disable-sync \
    --hide-scrollbars --user-data-dir="$profile" --window-size="$width,$height" \
    --screenshot="$(realpath -m "$png")" "file://$(realpath "$page")" 2>/dev/null
  rm -rf "$profile"
  echo "wrote $png (${width} px wide)"
}
if [ "${1:-}" = "--docs" ]; then
  cd "$(dirname "$0")/.."
  work=$(mktemp -d)
  trap 'rm -rf "$work"' EXIT
  cargo run --release --quiet -- demo --out "$work/zh" >/dev/null
  cargo run --release --quiet -- demo --out "$work/en" --lang en >/dev/null
  shot "$work/zh/report/report.html" docs/report-demo.png 1280 3000
  shot "$work/zh/report/report.html" docs/report-phone.png 390 3600
  shot "$work/en/report/report.html" docs/report-en.png 1280 3000
  exit 0
fi
shot "${1:-demo-out/report/report.html}" "${2:-report.png}" "${3:-1280}"
