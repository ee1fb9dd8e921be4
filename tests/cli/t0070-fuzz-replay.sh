#!/usr/bin/env bash
# Every fuzz target (tests/fuzz/fuzz_*.c) replays its checked-in corpus and
# its regression inputs (crashes found and fixed, the findings of earlier
# campaigns) on the build under test: a fixed crash stays fixed. Under the
# sanitizer build this is the fuzz build's check without clang or libFuzzer.
. "$(dirname "$0")/../lib/test-lib.sh"
. "$SX_ROOT/tests/fuzz/env.sh"

F=$SX_ROOT/tests/fuzz
for src in "$F"/fuzz_*.c; do
    t=$(basename "$src" .c)
    t=${t#fuzz_}
    test_expect_success "fuzz target $t replays its corpus and regression inputs" '
        dirs=() &&
        for d in "$F/corpus/'"$t"'" "$F/regress/'"$t"'"; do if test -d "$d"; then dirs+=("$d"); fi; done &&
        n=$(find "${dirs[@]}" -type f ! -name ".*" | wc -l) &&
        test "$n" -gt 0 &&
        "$SX_BUILD/fuzz/replay-'"$t"'" "${dirs[@]}" 2> err &&
        cat err &&
        grep -q "^replay: $n inputs$" err
    '
done

test_done
