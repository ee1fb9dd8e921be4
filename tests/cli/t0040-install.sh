#!/usr/bin/env bash
# make install puts programs, library, headers and help texts under PREFIX.
. "$(dirname "$0")/../lib/test-lib.sh"

san=
case $SX_BUILD in */san) san=1 ;; esac

test_expect_success 'make install PREFIX=... installs a working toolkit' '
    make -s -C "$SX_ROOT" install O="$SX_BUILD" ${san:+SAN=1} PREFIX="$TRASH/p" > log 2>&1 &&
    for p in "$SX_BUILD"/bin/*; do
        n=$(basename "$p") &&
        test -x "p/bin/$n" &&
        test -s "p/share/doc/sx/$n.txt" &&
        grep -q "^usage: $n" "p/share/doc/sx/$n.txt" || exit 1
    done &&
    test -s p/lib/libsx.a &&
    test -s p/include/sx/sx_stream.h &&
    test -s p/share/doc/sx/README.md &&
    p/bin/sx-jq "{id}" "$TEST_DATA/sample.ndjson" | tail -1 | grep -q "\"count\":6"
'

test_expect_success 'the installed library and headers build a program' '
    make -s -C "$SX_ROOT" install O="$SX_BUILD" ${san:+SAN=1} PREFIX="$TRASH/p" > log 2>&1 &&
    cat > use.c <<-\EOC &&
	#include <sx_proto.h>
	#include <sx_stream.h>
	int main(void) {
	    sx_writer *w = sx_writer_open("-", 0);
	    sx_writer_jv(w, sx_rec_end(7));
	    return sx_writer_close(w) != 0;
	}
	EOC
    cc -std=c11 -Ip/include/sx use.c p/lib/libsx.a ${san:+-fsanitize=address,undefined} -lcurl -ljq -lonig -lzstd -lm -pthread -o use &&
    assert_eq "{\"sx\":\"end\",\"count\":7}" "$(./use)"
'

test_done
