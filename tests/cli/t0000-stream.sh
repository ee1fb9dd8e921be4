#!/usr/bin/env bash
# The stream layer, seen through sx-jq '.' (parses every record) and
# sx-progress (forwards byte for byte): formats, bad input, pipes.
. "$(dirname "$0")/../lib/test-lib.sh"

S=$TEST_DATA/sample.ndjson

test_expect_success 'a complete stream passes through sx-jq unchanged' '
    sx-jq . "$S" > out &&
    cmp out "$S"
'

test_expect_success 'zstd input is detected by its magic bytes' '
    zstd -q -c "$S" > s.zst &&
    sx-jq . < s.zst > out &&
    cmp out "$S" &&
    sx-progress -q s.zst > out2 &&
    cmp out2 "$S"
'

test_expect_success 'concatenated zstd frames are read as one stream' '
    head -3 "$S" | zstd -q -c > a.zst &&
    tail -n +4 "$S" | zstd -q -c > b.zst &&
    cat a.zst b.zst | sx-jq . > out &&
    cmp out "$S"
'

test_expect_success 'a .zst output name or --zstd writes zstd' '
    sx-jq . -o out.ndjson.zst "$S" &&
    zstd -q -dc out.ndjson.zst | cmp - "$S" &&
    sx-progress -q --zstd < "$S" | zstd -q -dc | cmp - "$S"
'

test_expect_success 'CRLF line ends, a UTF-8 BOM and blank lines are tolerated' '
    { printf "\357\273\277"; sed "s/\$/\r/" "$S" | sed "2i\\
" ; } > crlf &&
    sx-jq . crlf > out &&
    cmp out "$S"
'

test_expect_success 'sx-progress forwards CRLF, BOM and blank lines byte for byte' '
    { printf "\357\273\277"; sed "s/\$/\r/" "$S"; printf "\n\n"; } > crlf &&
    sx-progress -q crlf > out &&
    cmp out crlf
'

test_expect_success 'invalid JSON is an error naming the input and line (exit 1)' '
    { head -2 "$S"; echo "{\"id\": 3,"; tail -n +3 "$S"; } > bad &&
    expect_code 1 sx-jq . bad > out 2> err &&
    assert_grep "^sx-jq: bad:3: invalid JSON" err
'

test_expect_success 'a line that is not an object is an error with its line' '
    printf "{\"sx\":\"meta\",\"total\":1}\n[1,2]\n" > arr &&
    expect_code 1 sx-jq . arr 2> err &&
    assert_grep "^sx-jq: arr:2: not a JSON object (array)" err &&
    printf "{\"a\":1}\nhello\n" | { expect_code 1 sx-progress -q > /dev/null 2> err2; } &&
    assert_grep "^sx-progress: <stdin>:2: not a JSON object" err2
'

test_expect_success 'garbage bytes are an error, not a crash' '
    head -c 100000 /dev/urandom > junk &&
    expect_code 1 sx-jq . junk 2> err &&
    assert_grep "^sx-jq: junk:[0-9]*: " err
'

test_expect_success 'empty input gives a clean, empty result' '
    : > empty &&
    sx-jq . empty > out && test ! -s out &&
    sx-progress -q < empty > out && test ! -s out &&
    printf "\n\n" | sx-jq . > out && test ! -s out
'

test_expect_success 'a truncated zstd frame is reported as such' '
    zstd -q -c "$S" > s.zst &&
    head -c $(( $(wc -c < s.zst) - 5 )) s.zst > cut.zst &&
    expect_code 1 sx-jq . cut.zst > /dev/null 2> err &&
    assert_grep "^sx-jq: cut.zst:[0-9]*: truncated zstd frame" err &&
    expect_code 1 sx-progress -q cut.zst > /dev/null 2> err2 &&
    assert_grep "truncated zstd frame" err2
'

test_expect_success 'a corrupt zstd frame is reported as such' '
    seq 1 20000 | sed "s/.*/{\"id\":&}/" | zstd -q -c > s.zst &&
    size=$(wc -c < s.zst) &&
    { head -c 40 s.zst; head -c 400 /dev/urandom; tail -c $((size - 440)) s.zst; } > bad.zst &&
    expect_code 1 sx-jq . bad.zst > /dev/null 2> err &&
    assert_grep "^sx-jq: bad.zst:[0-9]*: corrupt zstd data" err
'

test_expect_success 'a stream without end is reported as cut short (exit 1)' '
    head -4 "$S" > cut &&
    expect_code 1 sx-jq . cut > out 2> err &&
    assert_grep "cut short" err &&
    ! grep -q "\"sx\":\"end\"" out
'

test_expect_success 'a 100 MB record goes through' '
    python3 -c "
import sys
sys.stdout.write(\"{\\\"sx\\\":\\\"meta\\\",\\\"total\\\":1}\n{\\\"id\\\":1,\\\"blob\\\":\\\"\" + \"x\" * 100000000 + \"\\\"}\n{\\\"sx\\\":\\\"end\\\",\\\"count\\\":1}\n\")
" > big &&
    sx-jq "{id, n: (.blob | length)}" big > out &&
    assert_eq "{\"id\":1,\"n\":100000000}" "$(sed -n 2p out)" &&
    sx-progress -q big | cmp - big
'

test_expect_success 'a 1 GB stream flows through sx-progress in flat memory' '
    rec="{\"id\":1,\"data\":{\"annotations\":{\"image_1\":[]},\"pad\":\"$(printf %0200d 0)\"}}" &&
    { echo "{\"sx\":\"meta\",\"total\":4000000}"; yes "$rec" | head -n 4000000; echo "{\"sx\":\"end\",\"count\":4000000}"; } |
        /usr/bin/time -f "%M" -o rss sx-progress -q | wc -c > bytes &&
    test "$(cat bytes)" -gt 900000000 &&
    test "$(tail -1 rss)" -lt 65536
'

test_expect_success 'a closed downstream pipe ends quietly with exit 0' '
    { seq 1 300000 | sed "s/.*/{\"id\":&}/"; echo "{\"sx\":\"end\",\"count\":300000}"; } > many &&
    set -o pipefail &&
    sx-jq . many 2> err1 | head -1 > /dev/null &&
    sx-progress -q many 2> err2 | head -1 > /dev/null &&
    cat err1 err2 && test ! -s err1 && test ! -s err2
'

test_expect_success 'several input files are read in order' '
    head -3 "$S" > a && tail -n +4 "$S" > b &&
    sx-jq . a b > out 2> err || true &&
    head -3 "$S" | cmp - <(head -3 out)
'

test_expect_success 'an unreadable input file is an error naming it' '
    expect_code 1 sx-jq . no-such-file 2> err &&
    assert_grep "^sx-jq: no-such-file:1: cannot open: No such file" err
'

test_done
