#!/usr/bin/env bash
# Every program speaks the same way: --help, --version, usage errors.
. "$(dirname "$0")/../lib/test-lib.sh"

progs=$(cd "$SX_BUILD/bin" && ls)

test_expect_success 'there are programs to check' '
    test -n "$progs" && echo "$progs" | grep -qx sx-jq && echo "$progs" | grep -qx sx-progress
'

for p in $progs; do
    test_expect_success "$p --help: usage, options and an example on stdout, exit 0" '
        '"$p"' --help > out 2> err &&
        test ! -s err &&
        assert_grep "^usage: '"$p"' " out &&
        assert_grep "^ *-h, --help" out &&
        assert_grep "version" out &&
        grep -qi "^examples\?:" out &&
        '"$p"' -h | cmp - out
    '
    test_expect_success "$p --version" '
        '"$p"' --version > out &&
        assert_eq "'"$p"' (sx) $(sed -n "s/^#define SX_VERSION \"\(.*\)\"/\1/p" "$SX_ROOT/lib/sx_cli.h")" "$(cat out)"
    '
    test_expect_success "$p: an unknown option is a usage error (exit 2)" '
        expect_code 2 '"$p"' --no-such-option > out 2> err &&
        test ! -s out &&
        assert_grep "^'"$p"': unknown option .--no-such-option." err &&
        assert_grep "Try .'"$p"' --help." err
    '
    test_expect_success "$p: a long option is taken only in full, never abbreviated" '
        all=$('"$p"' --help | grep -E -o "^ +(-[a-zA-Z], )?--[a-z][a-z-]*[a-z]" | grep -o -- "--.*") &&
        opt="" && for o in $all; do
            [ "$(echo "$all" | grep -c -- "^${o%?}")" = 1 ] && { opt=$o; break; }
        done &&
        test -n "$opt" &&
        expect_code 2 '"$p"' "${opt%?}" secret-value > out 2> err &&
        test ! -s out &&
        assert_grep "unknown option .${opt%?}. (options are not abbreviated" err &&
        ! grep -q secret-value err
    '
    test_expect_success "$p: help to a closed pipe is quiet" '
        '"$p"' --help 2> err | true &&
        test ! -s err
    '
done

# Messages quote their input; binary garbage must not reach the terminal as
# it is: control characters and bytes that are not UTF-8 become '?'.
test_expect_success 'a message quoting binary garbage is printable UTF-8, cut at 2 KiB' '
    head -c 100000 /dev/urandom > garbage &&
    printf "\033[2J\001\377 bad\n" >> garbage &&
    for p in sx-convert-coco "sx-jq ." sx-progress; do
        expect_code 1 $p < garbage > /dev/null 2> err
        assert_grep "^${p%% *}: " err
        python3 -c "
import sys
d = open(\"err\", \"rb\").read()
d.decode(\"utf-8\")  # raises when it is not UTF-8
bad = [c for c in d if (c < 32 and c not in (9, 10)) or c == 127]
sys.exit(1 if bad or len(d) > 2100 else 0)"
    done
'

test_done
