#!/usr/bin/env bash
# run.sh BUILD_DIR : runs every benchmark in tests/bench/ against one build.
# Each prints its figures beside its baseline from the same run: ratios
# matter, not seconds (machines are shared and noisy).
set -u
here=$(cd "$(dirname "$0")" && pwd)
build=${1:-build}
case $build in /*) ;; *) build=$(cd "$here/../.." && pwd)/$build ;; esac
export SX_BUILD=$build
status=0
for b in "$here"/*.sh; do
    [ "$(basename "$b")" = run.sh ] && continue
    [ "$(basename "$b")" = lib.sh ] && continue
    echo "== $(basename "$b" .sh)"
    bash "$b" || { echo "benchmark $(basename "$b") failed"; status=1; }
    echo
done
exit $status
