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
    test_expect_success "$p: help to a closed pipe is quiet" '
        '"$p"' --help 2> err | true &&
        test ! -s err
    '
done

test_done
