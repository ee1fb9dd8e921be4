#!/usr/bin/env bash
# Bash completion: make install puts pipelines/sx.bash-completion where
# bash-completion loads it for every command; it offers each command's options
# as its --help lists them, and the values of a few.
. "$(dirname "$0")/../lib/test-lib.sh"

san=
case $SX_BUILD in */san) san=1 ;; esac

# complete_in PREFIX CMD WORD...: what bash offers for the last WORD of
# `CMD WORD...`, one a line, with the completion of PREFIX loaded as
# bash-completion loads it (the file named after the command)
complete_in() {
    local prefix=$1 cmd=$2
    shift 2
    PATH=$prefix/bin:$PATH bash -c '
        . "$1/share/bash-completion/completions/$2" || exit 1
        complete -p "$2" | grep -q -- "-F _sx_complete" || { echo "no completion of $2" >&2; exit 1; }
        COMP_WORDS=("${@:2}"); COMP_CWORD=$(($# - 2)); _sx_complete
        printf "%s\n" "${COMPREPLY[@]}"' _ "$prefix" "$cmd" "$@"
}

test_expect_success 'every installed command completes every long option of its --help' '
    make -s -C "$SX_ROOT" install O="$SX_BUILD" ${san:+SAN=1} PREFIX="$TRASH/p" > log 2>&1 &&
    for p in "$TRASH"/p/bin/*; do
        n=$(basename "$p") &&
        test -L "p/share/bash-completion/completions/$n" || { echo "no completion file for $n"; exit 1; }
        complete_in "$TRASH/p" "$n" "$n" "--" > offered &&
        "$p" --help | grep -E "^ {1,8}-" | grep -oE -- "--[a-z][a-z0-9-]*" | sort -u > opts &&
        test -s opts &&
        while read -r o; do
            grep -qxF -- "$o" offered || { echo "$n: $o not offered"; exit 1; }
        done < opts
    done
'

test_expect_success 'a prefix completes to its options; some values complete too' '
    make -s -C "$SX_ROOT" install O="$SX_BUILD" ${san:+SAN=1} PREFIX="$TRASH/p" > log 2>&1 &&
    assert_eq "--max-page-bytes" "$(complete_in "$TRASH/p" sx-fetch sx-fetch --max-p)" &&
    assert_eq "--target --task" "$(complete_in "$TRASH/p" export-yolo export-yolo -o x --ta | xargs)" &&
    assert_eq "ground_truth" "$(complete_in "$TRASH/p" sx-fetch sx-fetch -t g)" &&
    assert_eq "copy" "$(complete_in "$TRASH/p" sx-convert-coco sx-convert-coco --images c)" &&
    test -z "$(complete_in "$TRASH/p" sx-save sx-save -o o)"
'

test_done
