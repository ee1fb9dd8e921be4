#!/usr/bin/env bash
# run.sh BUILD SECONDS TARGET... : runs each libFuzzer target (BUILD/fuzz/fuzz-TARGET)
# for SECONDS on its working corpus BUILD/corpus/TARGET, seeded with the
# checked-in corpus and regression inputs; prints per target the executions,
# the coverage (edges: cov, features: ft) and the corpus size, and where a
# crash was written. Exit 1 when any target found something.
set -u
build=$1 secs=$2
shift 2
here=$(cd "$(dirname "$0")" && pwd)
. "$here/env.sh"
# the targets that write files (manifest, merge) run 8x faster in memory
[ -d /dev/shm ] && [ -w /dev/shm ] && export TMPDIR=/dev/shm
status=0
for t in "$@"; do
    bin=$build/fuzz/fuzz-$t
    corpus=$build/corpus/$t
    crashes=$build/crashes/$t
    log=$build/logs/$t.log
    mkdir -p "$corpus" "$crashes" "$(dirname "$log")"
    for d in "$here/corpus/$t" "$here/regress/$t"; do
        [ -d "$d" ] && cp -n "$d"/* "$corpus"/ 2>/dev/null
    done
    opts=(-max_total_time="$secs" -timeout=10 -rss_limit_mb=3072 -print_final_stats=1
          -artifact_prefix="$crashes/")
    # a dictionary of its own, else JSON's for the targets that read JSON
    if [ -f "$here/$t.dict" ]; then
        opts+=(-dict="$here/$t.dict")
    else
        case $t in stream|imgsize|number) ;; *) opts+=(-dict="$here/json.dict") ;; esac
    fi
    [ -f "$here/$t.options" ] && read -r -a more < "$here/$t.options" && opts+=("${more[@]}")
    before=$(ls "$crashes" | wc -l)
    # in a subshell: the shell's own "Aborted" goes to the log too
    ( "$bin" "${opts[@]}" "$corpus" ) > "$log" 2>&1
    rc=$?
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
    cov=$(grep -a -o 'cov: [0-9]* ft: [0-9]*' "$log" | tail -1)
    files=$(ls "$corpus" | wc -l)
    after=$(ls "$crashes" | wc -l)
    if [ $rc = 0 ] && [ "$after" = "$before" ]; then
        printf '%-10s %12s executions in %ss, %s, corpus %s files: nothing found\n' \
            "$t" "${execs:-?}" "$secs" "${cov:-cov: ?}" "$files"
    else
        status=1
        printf '%-10s FOUND something (exit %s) after %s executions: see %s and %s\n' \
            "$t" "$rc" "${execs:-?}" "$log" "$crashes"
        grep -a -m3 -E 'ERROR|property failed|runtime error' "$log" | sed 's/^/           /'
    fi
done
exit $status
