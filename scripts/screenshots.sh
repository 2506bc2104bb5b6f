#!/usr/bin/env bash
# Takes screenshots of a code page and the catalog, light and dark, desktop
# and phone, into docs/screenshots/. Needs Debian's chromium and python3.
# Chromium is kept off the network: a dead proxy and no background services.
set -euo pipefail
cd "$(dirname "$0")/.."

cargo build --release --quiet
serve_dir=$(mktemp -d)
./target/release/errdocs build -o "$serve_dir/docs"
port=8765
python3 -m http.server "$port" --bind 127.0.0.1 --directory "$serve_dir" >/dev/null 2>&1 &
server=$!
trap 'kill $server 2>/dev/null; rm -rf "$serve_dir"' EXIT
sleep 1

shot() { # url size file [flags...]
  local url=$1 size=$2 file=$3
  shift 3
  local profile
  profile=$(mktemp -d)
  timeout 60 chromium --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
    --disable-background-networking --disable-component-update --disable-sync \
    --proxy-server=http://127.0.0.1:9 --user-data-dir="$profile" --hide-scrollbars \
    --window-size="$size" --screenshot="docs/screenshots/$file" "$@" "$url" >/dev/null 2>&1
  rm -rf "$profile"
  echo "docs/screenshots/$file"
}

base="http://127.0.0.1:$port/docs"
for scheme in light dark; do
  flags=()
  [ "$scheme" = dark ] && flags=(--force-dark-mode)
  shot "$base/reference/errors/rate_limit_exceeded/" 1400,2600 "code-page-$scheme-desktop.png" "${flags[@]}"
  shot "$base/reference/errors/rate_limit_exceeded/" 390,844 "code-page-$scheme-phone.png" "${flags[@]}"
  shot "$base/reference/errors/" 1400,1100 "catalog-$scheme-desktop.png" "${flags[@]}"
  shot "$base/reference/errors/" 390,844 "catalog-$scheme-phone.png" "${flags[@]}"
done
