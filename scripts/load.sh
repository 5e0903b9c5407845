#!/usr/bin/env bash
# Load test of `auditlog serve` (release build) from another process on loopback, with wrk:
#   1. batches: 500-event JSON Lines POSTs from 4 connections, durability sync (target: >= 150k events/s);
#   2. singles: one-event POSTs from 64 connections (group commit): events/s and latency percentiles;
#   3. reads under load: GET /v1/events?limit=50 from 4 connections while (2) runs: requests/s and p99.
# Usage: scripts/load.sh [seconds per run, default 10]. Prints a table; nothing is asserted (it is a benchmark).
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-10}
binary=.build/release/auditlog
swift build -c release --product auditlog
swift build -c release --product auditlog-serve
command -v wrk >/dev/null || bash scripts/install-deps.sh --tools

work=$(mktemp -d)
server=
cleanup() {
    [ -n "$server" ] && kill "$server" 2>/dev/null && wait "$server" 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT

# Sample events (the demo's generator), 500 per batch body, one per single body.
"$binary" demo --dir "$work/demo" --events 1000 >/dev/null 2>&1
head -n 500 "$work/demo/events.jsonl" >"$work/batch.jsonl"
head -n 1 "$work/demo/events.jsonl" | tr -d '\n' >"$work/single.json"

token=$("$binary" keys create --dir "$work/log" --name load --permission auditLogs:write \
    --permission auditLogs:read 2>/dev/null)
"$binary" serve --dir "$work/log" --listen 127.0.0.1:0 --durability sync 2>"$work/serve.err" &
server=$!
for _ in $(seq 1 100); do
    grep -q "listening on" "$work/serve.err" && break
    sleep 0.1
done
url=$(grep -o "http://127.0.0.1:[0-9]*" "$work/serve.err" | head -1)
[ -n "$url" ] || { cat "$work/serve.err"; exit 1; }

# wrk scripts: the body is read from a file, the token from the environment (never on a command line).
cat >"$work/post.lua" <<'EOF'
local file = io.open(os.getenv("LOAD_BODY"), "rb")
wrk.method = "POST"
wrk.body = file:read("*a")
file:close()
wrk.headers["Content-Type"] = os.getenv("LOAD_TYPE")
wrk.headers["Authorization"] = "Bearer " .. os.getenv("LOAD_TOKEN")
function response(status, headers, body)
    if status ~= 201 then
        io.stderr:write("unexpected status " .. status .. ": " .. body .. "\n")
    end
end
EOF
cat >"$work/get.lua" <<'EOF'
wrk.headers["Authorization"] = "Bearer " .. os.getenv("LOAD_TOKEN")
EOF
export LOAD_TOKEN=$token

# Requests/s and a latency percentile from wrk --latency output.
rate() { awk '/Requests\/sec/ { print $2 }' "$1"; }
percentile() { awk -v p="$2" '$1 == p { print $2 }' "$1"; }
errors() { grep -c "unexpected status" "$1" || true; }

echo "load: $seconds s per run against $url (release build, durability sync, $(nproc) cores)"

LOAD_BODY=$work/batch.jsonl LOAD_TYPE=application/x-ndjson \
    wrk -t 2 -c 4 -d "${seconds}s" --latency -s "$work/post.lua" "$url/v1/events" >"$work/batches.out" 2>&1
LOAD_BODY=$work/single.json LOAD_TYPE=application/json \
    wrk -t 2 -c 64 -d "${seconds}s" --latency -s "$work/post.lua" "$url/v1/events" >"$work/singles.out" 2>&1 &
singles=$!
sleep 1
wrk -t 1 -c 4 -d "$((seconds - 2))s" --latency -s "$work/get.lua" "$url/v1/events?limit=50" >"$work/reads.out" 2>&1
wait "$singles"

batch_rate=$(rate "$work/batches.out")
printf '%-44s %14s %10s %10s %8s\n' "run" "events/s" "p50" "p99" "errors"
printf '%-44s %14.0f %10s %10s %8s\n' "POST 500-event batches, 4 connections" "$(awk -v r="$batch_rate" 'BEGIN { print r * 500 }')" \
    "$(percentile "$work/batches.out" 50%)" "$(percentile "$work/batches.out" 99%)" "$(errors "$work/batches.out")"
printf '%-44s %14.0f %10s %10s %8s\n' "POST single events, 64 connections" "$(rate "$work/singles.out")" \
    "$(percentile "$work/singles.out" 50%)" "$(percentile "$work/singles.out" 99%)" "$(errors "$work/singles.out")"
printf '%-44s %14s %10s %10s %8s\n' "GET /v1/events?limit=50 during singles (req/s)" "$(rate "$work/reads.out")" \
    "$(percentile "$work/reads.out" 50%)" "$(percentile "$work/reads.out" 99%)" "-"

kill -TERM "$server"
wait "$server" || { echo "the server did not stop cleanly"; exit 1; }
server=
echo "events in the log: $("$binary" stats --dir "$work/log" --json | grep -o '"events":[0-9]*' | cut -d: -f2)"
