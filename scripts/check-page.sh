#!/usr/bin/env bash
# The audit-log page in a real browser (Tests/PageTests/page_test.py): headless Chromium and chromedriver from
# Debian, Selenium from PyPI, against `auditlog serve` on a demo log. Then the performance check on a log of
# 1,000,000 events (built once with the release tool and kept in .build/page-perf; PAGE_PERF=0 skips it).
# Screenshots and timings land in .build/check-page.
# Usage: scripts/check-page.sh [path/to/auditlog]   (default: the debug build)
set -euo pipefail
cd "$(dirname "$0")/.."
if [ $# -ge 1 ]; then
    binary=$1
else
    swift build --product auditlog
    swift build --product auditlog-serve
    binary=.build/debug/auditlog
fi
bash scripts/install-deps.sh --browser
python=$(bash scripts/python-env.sh)

work=$PWD/.build/check-page
rm -rf "$work" && mkdir -p "$work"
servers=()
cleanup() {
    for pid in "${servers[@]}"; do kill "$pid" 2>/dev/null || true; done
}
trap cleanup EXIT

# Starts `auditlog serve` on a log and sets $url to its address; its output goes to $work/NAME.err. (Not run
# in a command substitution: the server would hold the substitution's pipe open.)
start_server() {
    local name=$1 log=$2
    shift 2
    "$binary" serve --dir "$log" --listen 127.0.0.1:0 "$@" >"$work/$name.out" 2>"$work/$name.err" &
    servers+=($!)
    for _ in $(seq 1 300); do
        if grep -q "listening on" "$work/$name.err"; then
            url=$(grep -o "http://127.0.0.1:[0-9]*" "$work/$name.err" | head -1)
            return 0
        fi
        sleep 0.1
    done
    cat "$work/$name.err" >&2
    return 1
}

key() {
    local log=$1 name=$2
    shift 2
    local arguments=()
    for permission in "$@"; do arguments+=(--permission "auditLogs:$permission"); done
    "$binary" keys create --dir "$log" --name "$name" "${arguments[@]}" 2>/dev/null
}

"$binary" demo --dir "$work/demo" --events 3000 >/dev/null
rm -f "$work/demo/events.jsonl" "$work/demo/export.jsonl"
log=$work/demo/log
"$binary" keygen --name page.test/log --out "$work/sign" >/dev/null
"$binary" keygen --name other.test/log --out "$work/other" >/dev/null
# Plain assignments first, so that set -e stops the script when one of them fails.
PAGE_READER=$(key "$log" reader read export)
PAGE_READ_ONLY=$(key "$log" read-only read)
PAGE_WRITER=$(key "$log" writer write read admin)
PAGE_NO_READ=$(key "$log" no-read write)
PAGE_VKEY=$(cat "$work/sign.vkey")
PAGE_OTHER_VKEY=$(cat "$work/other.vkey")
export PAGE_DIR=$work PAGE_READER PAGE_READ_ONLY PAGE_WRITER PAGE_NO_READ PAGE_VKEY PAGE_OTHER_VKEY
start_server page "$log" --key "$work/sign.key" --checkpoint-interval 1s
export PAGE_URL=$url

perf_log=$PWD/.build/page-perf/log
if [ "${PAGE_PERF:-1}" != 0 ]; then
    if [ ! -f "$PWD/.build/page-perf/complete" ]; then
        echo "check-page: building a 1,000,000-event log for the performance check (once; kept in .build/page-perf)"
        swift build -c release --product auditlog >/dev/null
        rm -rf "$PWD/.build/page-perf"
        .build/release/auditlog demo --dir "$PWD/.build/page-perf" --events 1000000 >/dev/null
        rm -f "$PWD/.build/page-perf/events.jsonl" "$PWD/.build/page-perf/export.jsonl"
        touch "$PWD/.build/page-perf/complete"
    fi
    rm -f "$perf_log/api-keys.json"
    PERF_READER=$(key "$perf_log" reader read export)
    start_server perf "$perf_log"
    export PERF_URL=$url PERF_READER
fi

status=0
if ! "$python" Tests/PageTests/page_test.py 2>&1 | tee "$work/page_test.out"; then status=1; fi
for pid in "${servers[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
if grep -q "alk_" "$work"/*.err "$work"/*.out; then
    echo "check-page: a token appears in the server's output" >&2
    status=1
fi
[ "$status" -eq 0 ] && echo "check-page: passed; screenshots in $work/screenshots"
exit "$status"
