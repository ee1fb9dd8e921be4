#!/usr/bin/env bash
# check.sh PLAIN_BUILD SAN_BUILD : the whole test suite, on the plain build and
# on the sanitizer build; the last line is "N passed, N failed".
set -u
here=$(dirname "$0")
log=$(mktemp)
trap 'rm -f "$log"' EXIT
"$here/run.sh" "$1" plain | tee "$log"
"$here/run.sh" "$2" asan+ubsan | tee -a "$log"
passed=$(grep -c '^\[[^]]*\] ok ' "$log")
failed=$(grep -c '^\[[^]]*\] not ok ' "$log")
if [ "$failed" != 0 ]; then
    echo
    echo "failed:"
    grep '^\[[^]]*\] not ok ' "$log"
fi
echo "$passed passed, $failed failed"
[ "$failed" = 0 ] && [ "$passed" != 0 ]
