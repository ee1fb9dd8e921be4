#!/usr/bin/env bash
# run.sh BUILD_DIR LABEL : runs the unit tests and the command-line tests
# against one build, prints every result line, and the counts as the last
# line "LABEL: N passed, N failed".
set -u
build=$1 label=$2
root=$(cd "$(dirname "$0")/.." && pwd)
case $build in /*) ;; *) build=$root/$build ;; esac
export SX_BUILD=$build
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
out=$(mktemp)
trap 'rm -f "$out"' EXIT
for t in "$build"/tests/*; do
    [ -x "$t" ] || continue
    timeout 900 "$t" > "$out" 2>&1
    rc=$?
    sed "s/^/[$label] /" "$out"
    if [ $rc != 0 ] && ! grep -q '^not ok' "$out"; then
        echo "[$label] not ok - $(basename "$t") exited $rc"
    fi
done
for t in "$root"/tests/cli/t*.sh; do
    [ -f "$t" ] || continue
    # a hung script fails alone instead of stalling the whole run
    timeout 900 bash "$t" > "$out" 2>&1
    rc=$?
    sed "s/^/[$label] /" "$out"
    if [ $rc != 0 ] && ! grep -q '^not ok' "$out"; then
        echo "[$label] not ok - $(basename "$t") exited $rc"
    fi
done
