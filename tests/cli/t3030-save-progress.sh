#!/usr/bin/env bash
# The whole pipeline at a terminal: one live bar that follows the downloads
# and ends with the metrics summary. The done count never goes back; the
# total may shrink at the end (items that failed conversion have no file), so
# the order check looks at the done count alone (sort -s: no tie-break on the
# rest of the line).
. "$(dirname "$0")/../lib/test-lib.sh"
. "$(dirname "$0")/../lib/fake-backend.sh"

fake_backend_start --items 40 --media-delay-ms 40

test_expect_success 'fetch | convert | save | progress: a live download bar, then the summary' '
    script -qec "sx-fetch -f project=1 | sx-convert-coco --images url | sx-save -o out -j 2 | sx-progress -i 0.05 > /dev/null" /dev/null > tty.out &&
    tr "\r" "\n" < tty.out | sed "s/\x1b\[[0-9;]*m//g" > lines &&
    bars=$(grep -c "^\[original_file\] *[0-9.]*% \[" lines) &&
    test "$bars" -ge 3 &&
    grep "^\[original_file\]" lines | sed -n "s|.*\] \([0-9]*\)/\([0-9]*\) .*|\1 \2|p" > counts &&
    sort -s -n -c -k1,1 counts &&
    test "$(tail -1 counts)" = "$(awk "{print \$2, \$2}" counts | tail -1)" &&
    ! sed -n "/^\[original_file\]/,\$p" lines | grep -q "^\[dataset_conversion\] .*%" &&
    n=$(ls out/images | wc -l) &&
    assert_grep "^\[original_file\] Metrics: stand_by 0, success $n, failed 0" lines &&
    assert_grep "^sx-progress: .*exported [0-9]*, failed [0-9]* of 40 to $PWD/out" lines
'

test_done
