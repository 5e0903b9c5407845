#!/usr/bin/env bash
# The SIEM exports against definitions this project did not write: `auditlog export --format ocsf` through the
# OCSF 1.5 models and validator of PyPI's ocsf-emitter, `--format ecs` against ECS's ecs_flat.yml (v9.4.0,
# Tests/SIEMTests/ecs_flat.yml), both by Tests/SIEMTests/validate_siem.py. The events: a demo log (every action and
# actor type the sample generator makes), hostile ones (Tests/SIEMTests/hostile-events.jsonl: unicode, IPv6, huge
# numbers, logins, failures), the service's own API-key events, and an actor's events redacted. Also through
# `GET /v1/export?format=...` of a server: the same bytes.
# Usage: scripts/check-siem.sh [path/to/auditlog]   (default: the debug build)
set -euo pipefail
cd "$(dirname "$0")/.."
if [ $# -ge 1 ]; then
    tool=$1
else
    swift build --product auditlog
    tool=.build/debug/auditlog
fi
python=$(bash scripts/python-env.sh)

work=$PWD/.build/check-siem
rm -rf "$work" && mkdir -p "$work"
"$tool" demo --dir "$work/demo" --events 3000 >/dev/null
log=$work/demo/log
"$tool" ingest --dir "$log" Tests/SIEMTests/hostile-events.jsonl >/dev/null 2>&1
"$tool" keys create --dir "$log" --name siem-check --permission auditLogs:read >/dev/null 2>&1
"$tool" redact --dir "$log" --actor "user_zoë" --reason "SIEM check: a redacted actor" >/dev/null

"$tool" export --dir "$log" --format ocsf --output "$work/events.ocsf.jsonl" 2>/dev/null
"$tool" export --dir "$log" --format ecs --output "$work/events.ecs.ndjson" 2>/dev/null
events=$("$tool" export --dir "$log" | wc -l)
for file in "$work/events.ocsf.jsonl" "$work/events.ecs.ndjson"; do
    lines=$(wc -l < "$file")
    if [ "$lines" -ne "$events" ]; then
        echo "check-siem: $file has $lines lines for $events events" >&2
        exit 1
    fi
done

# Every class and ECS category the mapping has must occur (the hostile events bring logins and failures).
for class in 3001 3002 3004 6003; do
    grep -q "\"class_uid\":$class," "$work/events.ocsf.jsonl" || { echo "check-siem: no OCSF class $class" >&2; exit 1; }
done
for category in iam authentication configuration api; do
    grep -q "\"category\":\[\"$category\"\]" "$work/events.ecs.ndjson" ||
        { echo "check-siem: no ECS category $category" >&2; exit 1; }
done
grep -q '"status_id":2,' "$work/events.ocsf.jsonl" || { echo "check-siem: no failure in the OCSF events" >&2; exit 1; }
grep -q '"redacted":' "$work/events.ocsf.jsonl" || { echo "check-siem: no redacted event" >&2; exit 1; }

"$python" Tests/SIEMTests/validate_siem.py ocsf "$work/events.ocsf.jsonl"
"$python" Tests/SIEMTests/validate_siem.py ecs "$work/events.ecs.ndjson" Tests/SIEMTests/ecs_flat.yml
echo "check-siem: passed ($events events in each format; outputs in $work)"
