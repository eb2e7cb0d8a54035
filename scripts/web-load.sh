#!/usr/bin/env bash
# Requests per second of the web example with logging on (production: Logbook lines into
# the daily file, notifications to a loopback Rollbar stand-in answering 200) against the
# same binary with logging off (RUST_LOG=off), measured with wrk over loopback.
#
#   bash scripts/web-load.sh            # wrk -t2 -c32 -d10s per run
#   DURATION=30s CONNECTIONS=64 bash scripts/web-load.sh
#
# Needs wrk (Debian: apt-get install -y wrk) and python3 (the Rollbar stand-in). Not part
# of the test suite: the figures depend on the machine.
set -euo pipefail
cd "$(dirname "$0")/.."

DURATION=${DURATION:-10s}
THREADS=${THREADS:-2}
CONNECTIONS=${CONNECTIONS:-32}
PORT=${PORT:-3999}
ROLLBAR_PORT=${ROLLBAR_PORT:-3998}
PATHS=${PATHS:-/items/7 /fail}

command -v wrk >/dev/null || { echo "wrk not found: apt-get install -y wrk" >&2; exit 1; }
cargo build --release --quiet -p tracing-logbook-example-web
BIN=target/release/web
WORK=$(mktemp -d)
PIDS=()
cleanup() {
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  rm -rf "$WORK"
}
trap cleanup EXIT

# The Rollbar stand-in: answers every POST with 200 and counts the items.
python3 - "$ROLLBAR_PORT" "$WORK/items" <<'PY' &
import http.server, sys
port, count_file = int(sys.argv[1]), sys.argv[2]
items = 0
class H(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        global items
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self.send_response(200); self.send_header("Content-Length", "2"); self.end_headers()
        self.wfile.write(b"{}")
        items += 1
        open(count_file, "w").write(str(items))
    def log_message(self, *a): pass
http.server.HTTPServer(("127.0.0.1", port), H).serve_forever()
PY
PIDS+=($!)

# Starts the service with the given environment, waits for its address line.
start() {
  env PORT="$PORT" "$@" "$BIN" >"$WORK/stdout" 2>"$WORK/stderr" &
  SERVICE=$!
  for _ in $(seq 100); do
    grep -q listening "$WORK/stdout" 2>/dev/null && return 0
    kill -0 "$SERVICE" 2>/dev/null || { cat "$WORK/stderr" >&2; exit 1; }
    sleep 0.1
  done
  echo "the service did not start" >&2; exit 1
}

# Runs wrk against $1; prints the requests per second.
measure() {
  wrk -t"$THREADS" -c"$CONNECTIONS" -d"$DURATION" --latency "http://127.0.0.1:$PORT$1" >"$WORK/wrk"
  grep -E "Requests/sec|Non-2xx|Latency  " "$WORK/wrk" | sed 's/^/    /' >&2
  awk '/Requests\/sec/ {print $2}' "$WORK/wrk"
}

stop() {
  kill -INT "$SERVICE"
  wait "$SERVICE" || true
}

echo "wrk -t$THREADS -c$CONNECTIONS -d$DURATION, $(nproc) cores"
for path in $PATHS; do
  echo "== $path, logging on (APP_ENV=production, daily file, notifications)"
  start APP_ENV=production LOG_FILE="$WORK/logs/web.log" ROLLBAR_ACCESS_TOKEN=test \
    ROLLBAR_ENDPOINT="http://127.0.0.1:$ROLLBAR_PORT/api/1/item/"
  on=$(measure "$path")
  stop
  echo "    lines in the file: $(cat "$WORK"/logs/*.log | grep -c '^\[')"
  echo "    items received: $(cat "$WORK/items" 2>/dev/null || echo 0)"
  rm -rf "$WORK/logs"
  echo "== $path, logging off (RUST_LOG=off)"
  start APP_ENV=production LOG_FILE="$WORK/logs/web.log" RUST_LOG=off
  off=$(measure "$path")
  stop
  rm -rf "$WORK/logs"
  echo "$path: on $on req/s, off $off req/s, on/off = $(awk -v a="$on" -v b="$off" 'BEGIN {printf "%.3f", a / b}')"
done
