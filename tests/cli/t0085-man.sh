#!/usr/bin/env bash
# Man pages: one beside every program (bin/NAME.1) and script (pipelines/NAME.1),
# sx.7 for the protocol and exit codes; every long option of --help is in its
# page; make install puts them where man finds them, and man renders them clean.
. "$(dirname "$0")/../lib/test-lib.sh"

san=
case $SX_BUILD in */san) san=1 ;; esac

# the programs and scripts a user runs, each as NAME SOURCE-DIRECTORY
commands() {
    local p
    for p in "$SX_BUILD"/bin/*; do echo "$(basename "$p") bin"; done
    for p in "$SX_ROOT"/pipelines/sx-* "$SX_ROOT"/pipelines/export-*; do
        case $p in *.1) continue ;; esac
        test -x "$p" && echo "$(basename "$p") pipelines"
    done
}

# page_text FILE: the page's source with a `.so man1/X.1` followed beside it,
# and man's escapes of a hyphen and of fonts undone (what a reader would search)
page_text() {
    local f=$1 so
    so=$(sed -n 's/^\.so man1\///p' "$f")
    [ -n "$so" ] && f=$(dirname "$f")/$so
    sed 's/\\-/-/g; s/\\f[BIRP]//g' "$f"
}

# long_options NAME: the long options --help defines (on the lines that start
# with an option), one a line
long_options() {
    "$1" --help | grep -E '^ {1,8}-' | grep -oE -- '--[a-z][a-z0-9-]*' | sort -u
}

test_expect_success 'every program and script has a page beside its source, naming it' '
    test -n "$(commands)" &&
    commands | while read -r n dir; do
        test -s "$SX_ROOT/$dir/$n.1" || { echo "no $dir/$n.1"; exit 1; }
        page_text "$SX_ROOT/$dir/$n.1" > page &&
        sed -n "/^\.SH NAME/,/^\.SH/p" page | grep -qF "$n" || { echo "$dir/$n.1: NAME lacks $n"; exit 1; }
    done &&
    test -s "$SX_ROOT/sx.7"
'

test_expect_success 'every long option of --help is in the page (a new option needs its doc)' '
    commands | while read -r n dir; do
        page_text "$SX_ROOT/$dir/$n.1" > page &&
        long_options "$n" > opts && test -s opts || { echo "$n: no option found in --help"; exit 1; }
        while read -r o; do
            grep -qF -- "$o" page || { echo "$dir/$n.1 lacks $o (from $n --help)"; exit 1; }
        done < opts
    done
'

test_expect_success 'the checker finds an option missing from a page' '
    page_text "$SX_ROOT/bin/sx-fetch.1" | sed "s/--max-page-bytes/--max-page/g" > page &&
    long_options sx-fetch > opts && grep -qx -- --max-page-bytes opts &&
    ! grep -qF -- --max-page-bytes page
'

test_expect_success 'sx.7 states the protocol and every exit code' '
    page_text "$SX_ROOT/sx.7" > page &&
    for r in meta file error warning progress metrics log result end; do
        grep -q "^\.B $r\$" page || { echo "sx.7: no record $r"; exit 1; }
    done &&
    for c in 0 1 2 3; do grep -q "^\.B $c\$" page || { echo "sx.7: no exit code $c"; exit 1; }; done
'

test_expect_success 'make install puts the pages where man finds them; each renders without warnings' '
    make -s -C "$SX_ROOT" install O="$SX_BUILD" ${san:+SAN=1} PREFIX="$TRASH/p" > log 2>&1 &&
    export MANPATH=$TRASH/p/share/man MANWIDTH=100 &&
    assert_eq "$TRASH/p/share/man/man1/sx-fetch.1" "$(man -w sx-fetch)" &&
    assert_eq "$TRASH/p/share/man/man7/sx.7" "$(man -w 7 sx)" &&
    { commands; echo "sx 7"; } | while read -r n s; do
        case $s in 7) sec=7 ;; *) sec=1 ;; esac
        man -w "$sec" "$n" > /dev/null || { echo "man -w $sec $n: not found"; exit 1; }
        man --warnings=w "$sec" "$n" > out 2> err || { echo "man $n failed"; cat err; exit 1; }
        test ! -s err || { echo "man $n warns:"; cat err; exit 1; }
        grep -q "^NAME" out && grep -q "^ *SYNOPSIS\|^SYNOPSIS" out || { echo "man $n: no NAME or SYNOPSIS"; exit 1; }
        grep -q "$n" out || { echo "man $n: does not name $n"; exit 1; }
    done &&
    test ! -e "$TRASH/p/bin/export-coco.1" && test ! -e "$TRASH/p/bin/sx-shards.1"
'

test_expect_success 'the checkout pages render without warnings (man -l)' '
    for f in "$SX_ROOT"/bin/*.1 "$SX_ROOT"/pipelines/*.1 "$SX_ROOT"/*.7; do
        grep -q "^\.so " "$f" && continue
        MANWIDTH=100 man --warnings=w -l "$f" > out 2> err || { echo "$f failed"; exit 1; }
        test ! -s err || { echo "$f warns:"; cat err; exit 1; }
        test -s out || exit 1
    done
'

test_done
