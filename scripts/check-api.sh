#!/usr/bin/env bash
# Checks the HTTP API against its published OpenAPI document with external tools:
#   1. openapi-spec-validator validates the document the server serves at /v1/openapi.json;
#   2. schemathesis generates requests from it (every check, scripts/schemathesis.toml) against a server started
#      here, with an admin key, and fails on any server error, undocumented status or response that breaks the
#      schema;
#   3. the server is stopped with SIGTERM and must exit 0, and the log must verify afterwards.
# Usage: scripts/check-api.sh [path/to/auditlog]   (default: the debug build)
#        SCHEMATHESIS_SEED=N replays the run that printed "Seed: N"; SCHEMATHESIS_EXAMPLES=N per operation (40)
set -euo pipefail
cd "$(dirname "$0")/.."
if [ $# -ge 1 ]; then
    binary=$1
else
    swift build --product auditlog
    binary=.build/debug/auditlog
fi
command -v curl >/dev/null || bash scripts/install-deps.sh --tools
python=$(bash scripts/python-env.sh)
bin=$(dirname "$python")

# The run's files (log, server output, schemathesis report) stay in .build/check-api for a look afterwards.
work=$PWD/.build/check-api
rm -rf "$work" && mkdir -p "$work"
server=
cleanup() {
    [ -n "$server" ] && kill "$server" 2>/dev/null || true
}
trap cleanup EXIT

"$binary" keygen --name check-api.example --out "$work/sign" >/dev/null 2>&1
token=$("$binary" keys create --dir "$work/log" --name schemathesis --permission auditLogs:admin \
    --permission auditLogs:write --permission auditLogs:read --permission auditLogs:export 2>/dev/null)
"$binary" serve --dir "$work/log" --listen 127.0.0.1:0 --key "$work/sign.key" --checkpoint-interval 1s \
    --idle-timeout 5s 2>"$work/serve.err" &
server=$!
for _ in $(seq 1 100); do
    grep -q "listening on" "$work/serve.err" && break
    kill -0 "$server" 2>/dev/null || { cat "$work/serve.err"; exit 1; }
    sleep 0.1
done
url=$(grep -o "http://127.0.0.1:[0-9]*" "$work/serve.err" | head -1)
[ -n "$url" ] || { echo "the server did not start:"; cat "$work/serve.err"; exit 1; }

# A few events so that pages, details, facets and proofs have something to show.
for i in 1 2 3; do
    curl -sf -X POST "$url/v1/events" -H "Authorization: Bearer $token" -H "Content-Type: application/json" \
        -d "{\"actor\":{\"type\":\"user\",\"id\":\"u$i\"},\"action\":\"project.update\",\"resource\":{\"type\":\"project\",\"id\":\"p$i\"},\"org\":{\"id\":\"org_$i\"},\"before\":{\"n\":$i},\"after\":{\"n\":$((i + 1))}}" \
        >/dev/null
done

echo "== the committed document is the generator's"
if ! "$python" scripts/openapi.py | cmp -s - Sources/AuditLogServer/Resources/openapi.json; then
    echo "Sources/AuditLogServer/Resources/openapi.json differs from scripts/openapi.py's output: run make openapi"
    exit 1
fi

echo "== openapi-spec-validator"
curl -sf "$url/v1/openapi.json" -o "$work/openapi.json"
"$bin/openapi-spec-validator" "$work/openapi.json"

echo "== schemathesis"
# Revoking keys would revoke the one the run uses; that route is covered by the Swift tests.
# One worker: with two, runs failed now and then inside the tools themselves (a "Runtime Error" from an exception
# in Hypothesis, not from an answer of the server; Hypothesis and Python 3.11's AST module share state between
# threads), and a check that fails on its own tools' races cannot be trusted to mean anything when it fails.
status=0
"$python" scripts/run-schemathesis.py \
    --config-file scripts/schemathesis.toml run "$work/openapi.json" --url "$url" \
    -H "Authorization: Bearer $token" --exclude-method DELETE \
    --max-examples "${SCHEMATHESIS_EXAMPLES:-40}" ${SCHEMATHESIS_SEED:+--seed "$SCHEMATHESIS_SEED"} --workers 1 --no-color \
    --report junit --report-dir "$work/report" >"$work/schemathesis.out" 2>&1 || status=$?
if [ "$status" -ne 0 ]; then
    # The whole report: the details of a failure or an error come before the summary.
    sed -n '/^=\+ \(FAILURES\|ERRORS\|WARNINGS\|SUMMARY\)/,$p' "$work/schemathesis.out"
    echo "schemathesis found problems (exit $status); see $work/schemathesis.out and $work/serve.err"
    grep -n "at $PWD/Sources" "$work/serve.err" | head -n 20 || true
    exit 1
fi
tail -n 25 "$work/schemathesis.out"

echo "== SIGTERM"
kill -TERM "$server"
wait "$server" || { echo "the server exited with $? on SIGTERM"; cat "$work/serve.err"; exit 1; }
server=
grep -q "the log is closed" "$work/serve.err"
if grep -q "alk_" "$work/serve.err"; then
    echo "the server's log contains a token"
    exit 1
fi
"$binary" verify --dir "$work/log" --key "$work/sign.vkey" >/dev/null
echo "API checks passed"
