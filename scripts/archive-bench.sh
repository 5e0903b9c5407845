#!/usr/bin/env bash
# The archive against Ceph's S3 gateway on this machine, side by side in one run (make compare-s3):
#   upload     auditlog archive of a log's sealed segments  vs  aws s3 cp --recursive of the same files
#   verify     auditlog verify s3://…  vs  auditlog verify of the local directory
#   query      the first page of one actor with --archive (cold cache, warm cache)  vs  from the local directory;
#              segments are read on demand (ranged GETs of 1 MiB chunks), so the cold read also says how much it fetched
# Usage: scripts/archive-bench.sh [EVENTS]   (default 300000: ~50 MB of log in 8 MiB segments; the gateway keeps
#        objects in memory). Needs a release build of auditlog (make tool).
set -euo pipefail
cd "$(dirname "$0")/.."
events=${1:-300000}
tool=$PWD/.build/release/auditlog
[ -x "$tool" ] || { echo "archive-bench: build the tool first: make tool" >&2; exit 1; }
work=$PWD/.build/archive-bench
state=$work/server
rm -rf "$work" && mkdir -p "$work"
trap 'bash scripts/s3-server.sh stop "$state" >/dev/null 2>&1 || true' EXIT
bash scripts/s3-server.sh start "$state" >"$work/server.out" 2>&1 || { cat "$work/server.out"; exit 1; }
set -a
source "$state/env"
set +a
aws=$(bash scripts/aws-cli.sh)

echo "== a log of $events events in 8 MiB segments"
"$tool" demo --dir "$work/demo" --events "$events" >/dev/null 2>&1
"$tool" keygen --name bench.example --out "$work/sign" >/dev/null 2>&1
"$tool" ingest --dir "$work/log" --segment-size 8MiB "$work/demo/events.jsonl" >/dev/null 2>&1
# What the archive uploads, as plain files for aws s3 cp: the sealed segments and their index files.
mkdir -p "$work/files"
sealed=$(ls "$work/log"/*.seg | sort | head -n -1)
for seg in $sealed; do
    base=${seg%.seg}
    cp "$seg" "$work/files/"
    for ext in idx aix fct; do [ -f "$base.$ext" ] && cp "$base.$ext" "$work/files/"; done
done
bytes=$(du -cb "$work"/files/* | tail -1 | cut -f1)
segbytes=$(du -cb $sealed | tail -1 | cut -f1)
"$aws" s3 mb s3://bench >/dev/null

now() { date +%s.%N; }
rate() { python3 -c "import sys; b,t=float(sys.argv[1]),float(sys.argv[2]); print(f'{t:7.2f} s  {b/t/1e6:7.1f} MB/s')" "$1" "$2"; }

t0=$(now); "$tool" archive --dir "$work/log" s3://bench/archive --log-id bench >/dev/null 2>"$work/archive.err"; t1=$(now)
archive_s=$(python3 -c "print($t1-$t0)")
t0=$(now); "$aws" s3 cp --recursive --only-show-errors "$work/files" s3://bench/awscli/ ; t1=$(now)
aws_s=$(python3 -c "print($t1-$t0)")
t0=$(now); "$tool" verify s3://bench/archive/bench >"$work/verify-s3.out"; t1=$(now)
vs3_s=$(python3 -c "print($t1-$t0)")
# The same segments on disk, verified locally (a directory of the sealed segments alone).
mkdir -p "$work/local"
cp $sealed "$work/local/"
t0=$(now); "$tool" verify "$work/local" >"$work/verify-local.out"; t1=$(now)
vlocal_s=$(python3 -c "print($t1-$t0)")
grep -q VALID "$work/verify-s3.out" && grep -q VALID "$work/verify-local.out"
# The first page of one actor's events (limit 50), as a new process each time: from the bucket with an empty cache
# (index files and checkpoints copied, segments as stubs, their chunks fetched as the query reads them), again (one
# listing, chunks from the cache), and from the local directory.
actor=$(head -1 "$work/demo/events.jsonl" | python3 -c "import json,sys; print(json.load(sys.stdin)['actor']['id'])")
page() { "$tool" query "$@" --actor "$actor" --limit 50 --format jsonl >/dev/null 2>&1; }
t0=$(now); page --archive s3://bench/archive/bench --cache-dir "$work/cache"; t1=$(now)
cold_s=$(python3 -c "print($t1-$t0)")
t0=$(now); page --archive s3://bench/archive/bench --cache-dir "$work/cache"; t1=$(now)
warm_s=$(python3 -c "print($t1-$t0)")
view=$(ls -d "$work"/cache/*/)
chunks=$(du -cb "$view"archive-cache/* | tail -1 | cut -f1)
indexes=$(du -cb "$view"*.idx "$view"*.aix "$view"*.fct 2>/dev/null | tail -1 | cut -f1)
t0=$(now); page --dir "$work/log"; t1=$(now)
local_s=$(python3 -c "print($t1-$t0)")
ms() { python3 -c "import sys; print(f'{float(sys.argv[1])*1000:7.1f} ms')" "$1"; }

echo
echo "| workload | seconds, MB/s |"
echo "|---|---|"
echo "| upload $(($bytes / 1000000)) MB (segments + index files): auditlog archive (checked end to end, journal fdatasynced) | $(rate "$bytes" "$archive_s") |"
echo "| the same files: aws s3 cp --recursive | $(rate "$bytes" "$aws_s") |"
echo "| verify $(($segbytes / 1000000)) MB of sealed segments: auditlog verify s3://… | $(rate "$segbytes" "$vs3_s") |"
echo "| the same segments: auditlog verify of a local directory | $(rate "$segbytes" "$vlocal_s") |"
echo "| first page of one actor (limit 50, a new process): query --archive, empty cache | $(ms "$cold_s") |"
echo "| the same, cache up to date (one listing, chunks from the cache) | $(ms "$warm_s") |"
echo "| the same from the log directory | $(ms "$local_s") |"
echo
echo "the cold page fetched $(($indexes / 1000)) kB of index files and $(($chunks / 1000)) kB of segment chunks," \
    "of $(($segbytes / 1000)) kB of segments"
