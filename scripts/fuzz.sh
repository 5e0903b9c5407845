#!/usr/bin/env bash
# Runs each libFuzzer target of Fuzz/ for a set time (what `make fuzz` does after building auditlog-fuzz).
#   scripts/fuzz.sh SECONDS TARGET...
# First replays the saved inputs of Fuzz/Regressions/<target>/ (crashes found earlier, now fixed). Corpora grow in
# .fuzz/corpus/<target>/ from run to run; a crash is saved in .fuzz/crashes/<target>/ and fails the run.
set -uo pipefail

seconds=$1
shift
fuzzer=Fuzz/.build/release/auditlog-fuzz
export SWIFT_BACKTRACE=enable=no # the Swift backtracer reads memory in ways AddressSanitizer reports
failed=0
summary=()

for target in "$@"; do
    corpus=.fuzz/corpus/$target
    crashes=.fuzz/crashes/$target
    mkdir -p "$corpus" "$crashes"
    regressions=(Fuzz/Regressions/"$target"/*)
    if [ -e "${regressions[0]}" ]; then
        if ! "$fuzzer" "$target" "${regressions[@]}" >".fuzz/$target.replay.log" 2>&1; then
            echo "fuzz: $target: a saved regression input fails again; see .fuzz/$target.replay.log" >&2
            failed=1
        fi
    fi
    echo "fuzz: $target for ${seconds}s ..." >&2
    "$fuzzer" "$target" "$corpus" -max_total_time="$seconds" -print_final_stats=1 \
        -artifact_prefix="$crashes/" >".fuzz/$target.log" 2>&1
    status=$?
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' ".fuzz/$target.log")
    rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' ".fuzz/$target.log")
    size=$(find "$corpus" -type f | wc -l)
    if [ "$status" -ne 0 ]; then
        failed=1
        verdict="FAILED ($(grep -m1 -E 'property violated|Fatal error|ERROR:' ".fuzz/$target.log"))"
        echo "fuzz: $target failed; input saved in $crashes/, log in .fuzz/$target.log" >&2
    else
        verdict="ok"
    fi
    summary+=("$(printf '%-11s %12s %9s %8s  %s' "$target" "${runs:-?}" "${rate:-?}" "$size" "$verdict")")
done

printf '%-11s %12s %9s %8s  %s\n' target executions "exec/s" corpus result
printf '%s\n' "${summary[@]}"
exit $failed
