#!/usr/bin/env bash
# The reader's line bound: a zstd bomb (a few KiB that decode to one huge
# line) is an error naming the input and the line, not a buffer as large as
# the line; SX_MAX_LINE moves the bound.
. "$(dirname "$0")/../lib/test-lib.sh"

# bomb FILE MIB: a meta record, one record of MIB MiB and an end record, zstd
bomb() {
    { echo '{"sx":"meta","total":1}'; printf '{"blob":"'; head -c "$2M" /dev/zero | tr '\0' x; echo '"}'
      echo '{"sx":"end","count":1}'; } | zstd -q -1 -c > "$1"
}

test_expect_success 'a line over SX_MAX_LINE stops every reader, naming input and line' '
    bomb b.zst 20 &&
    test $(stat -c %s b.zst) -lt 65536 &&
    SX_MAX_LINE=1M expect_code 1 sx-jq . b.zst > /dev/null 2> err &&
    assert_grep "^sx-jq: b.zst:2: line longer than 1048576 bytes" err &&
    SX_MAX_LINE=1M expect_code 1 sx-progress -q b.zst > /dev/null 2> err &&
    assert_grep "^sx-progress: b.zst:2: line longer than 1048576 bytes" err &&
    SX_MAX_LINE=1M expect_code 1 sx-convert-coco b.zst > /dev/null 2> err &&
    assert_grep "^sx-convert-coco: b.zst:2: line longer than 1048576 bytes" err &&
    SX_MAX_LINE=1M expect_code 1 sx-save -o out b.zst > /dev/null 2> err &&
    assert_grep "^sx-save: b.zst:2: line longer than 1048576 bytes" err &&
    ! test -e out
'

test_expect_success 'SX_MAX_LINE raises the bound (K, M, G suffixes)' '
    bomb b.zst 2 &&
    SX_MAX_LINE=1M expect_code 1 sx-progress -q b.zst > /dev/null &&
    SX_MAX_LINE=3M sx-progress -q b.zst > out &&
    zstd -q -dc b.zst | cmp - out &&
    SX_MAX_LINE=3000000 sx-progress -q b.zst > out &&
    zstd -q -dc b.zst | cmp - out
'

test_expect_success 'by default a line stops at 256 MiB' '
    bomb b.zst 300 &&
    expect_code 1 sx-progress -q b.zst > /dev/null 2> err &&
    assert_grep "b.zst:2: line longer than 268435456 bytes" err
'

test_expect_success 'an SX_MAX_LINE that is not a size is refused' '
    echo "{\"id\":1}" > in &&
    SX_MAX_LINE=lots expect_code 1 sx-jq . in > /dev/null 2> err &&
    assert_grep "SX_MAX_LINE: .lots. is not a size" err &&
    SX_MAX_LINE=0 expect_code 1 sx-jq . in > /dev/null 2> err &&
    assert_grep "SX_MAX_LINE: .0. is not a size" err
'

test_done
