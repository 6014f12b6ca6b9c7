#!/usr/bin/env bash
# The dashboard in a real headless Chromium: builds `admin` (debug) if needed, generates a store
# in a temporary folder, starts `admin serve --port 0`, runs Tests/Browser/dashboard_test.py
# against it and stops the server. Installs chromium, chromium-driver and selenium when missing.
# Exit status: the test's. Screenshots: $OUT (default .build/browser-test/).
set -euo pipefail
cd "$(dirname "$0")/.."

OUT=${OUT:-.build/browser-test}
EVENTS=${EVENTS:-5000}
ADMIN=.build/debug/admin

as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }
if ! command -v chromium >/dev/null 2>&1 || ! command -v chromedriver >/dev/null 2>&1; then
  echo "installing chromium and chromium-driver" >&2
  as_root apt-get update -q >/dev/null
  as_root apt-get install -y -q chromium chromium-driver >/dev/null
fi
python3 -c 'import selenium' 2>/dev/null || {
  echo "installing selenium" >&2
  python3 -m pip install -q selenium || python3 -m pip install -q --break-system-packages selenium
}

scripts/deps.sh
swift build --product admin

work=$(mktemp -d)
server=""
cleanup() {
  if [ -n "$server" ] && kill -0 "$server" 2>/dev/null; then
    kill -TERM "$server"
    wait "$server" || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT

"$ADMIN" generate --events "$EVENTS" --seed 2020 --out "$work/history.jsonl" >/dev/null
"$ADMIN" --store "$work/store" init >/dev/null
"$ADMIN" --store "$work/store" import "$work/history.jsonl" >/dev/null
"$ADMIN" --store "$work/store" project >/dev/null

"$ADMIN" --store "$work/store" serve --port 0 --poll 0.2 --snapshots "$work/snapshots" 2>"$work/serve.log" &
server=$!
port=""
for _ in $(seq 1 300); do
  port=$(sed -n 's|.*on http://127\.0\.0\.1:\([0-9]*\) .*|\1|p' "$work/serve.log" | head -n 1)
  [ -n "$port" ] && break
  kill -0 "$server" 2>/dev/null || { cat "$work/serve.log" >&2; exit 1; }
  sleep 0.1
done
[ -n "$port" ] || { echo "error: admin serve did not say its port" >&2; cat "$work/serve.log" >&2; exit 1; }
echo "admin serve on port $port (store $work/store, $EVENTS events generated)"

mkdir -p "$OUT"
status=0
python3 Tests/Browser/dashboard_test.py --admin "$ADMIN" --store "$work/store" \
  --base "http://127.0.0.1:$port" --out "$OUT" || status=$?
if [ "$status" -ne 0 ]; then
  kill -0 "$server" 2>/dev/null && echo "admin serve is still running" >&2 || echo "admin serve has stopped" >&2
  echo "the last lines admin serve wrote:" >&2
  tail -n 20 "$work/serve.log" >&2
fi
exit $status
