#!/usr/bin/env bash
# Shows that a release build of `auditlog` carries none of the test hooks: the crash points that debug builds read
# from AUDITLOG_CRASH_AT (Sources/AuditLog/Internal/FaultInjection.swift) are not compiled in, so setting the
# variable changes nothing. The debug build's tests (RetentionRedactionTests) show the same command crashing.
set -euo pipefail
cd "$(dirname "$0")/.."
swift build -c release --product auditlog >/dev/null
tool=.build/release/auditlog

if grep -q AUDITLOG_CRASH_AT "$tool"; then
    echo "check-release-build: FAILED: the release auditlog contains AUDITLOG_CRASH_AT" >&2
    exit 1
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"$tool" demo --dir "$work/demo" --events 2000 >/dev/null
log="$work/demo/log"
# Six actors, one per crash point a redaction passes (debug builds exit with status 86 at the named one).
mapfile -t actors < <("$tool" query --dir "$log" --limit 500 --format jsonl 2>/dev/null |
    sed -E 's/.*"actor":\{"type":"[a-z_]+","id":"([^"]+)".*/\1/' | sort -u | head -6)
i=0
for point in journal-written event-committed sealed copy-written segment-replaced applied; do
    actor=${actors[$i]}
    i=$((i + 1))
    status=0
    AUDITLOG_CRASH_AT=$point "$tool" redact --dir "$log" --actor "$actor" --reason "release check $point" \
        >/dev/null 2>"$work/err" || status=$?
    if [ "$status" -ne 0 ]; then
        echo "check-release-build: FAILED: with AUDITLOG_CRASH_AT=$point redact exited $status: $(cat "$work/err")" >&2
        exit 1
    fi
done
"$tool" verify "$log" >/dev/null
echo "check-release-build: ok: the release auditlog has no crash points (AUDITLOG_CRASH_AT ignored at 6 points)"
