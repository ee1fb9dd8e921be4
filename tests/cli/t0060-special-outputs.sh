#!/usr/bin/env bash
# -o naming a pipe or a device writes into it, and never replaces it (a
# temporary file renamed over /dev/null once broke a whole machine).
. "$(dirname "$0")/../lib/test-lib.sh"

S=$TEST_DATA/sample.ndjson
has() { test -x "$SX_BUILD/bin/$1"; }

# out_to_fifo CMD...: runs CMD with its -o aimed at a fifo; the fifo must
# still be one afterwards, and what came through it lands in ./got
out_to_fifo() {
    rm -f fifo got && mkfifo fifo &&
    { cat fifo > got & } &&
    "$@" -o fifo &&
    wait &&
    test -p fifo &&
    test -s got
}

test_expect_success 'sx-jq and sx-progress write into a fifo' '
    out_to_fifo sx-jq . "$S" && cmp got "$S" &&
    out_to_fifo sx-progress -q "$S" && cmp got "$S"
'

if has sx-convert-coco; then
    test_expect_success 'sx-convert-coco writes into a fifo' '
        out_to_fifo sx-convert-coco --images none "$S" &&
        tail -1 got | grep -q "\"sx\":\"end\""
    '
fi

if has sx-merge-coco && has sx-save && has sx-convert-coco; then
    test_expect_success 'sx-merge-coco writes into a fifo, not over it' '
        sx-convert-coco --images none "$S" | sx-save -o e > /dev/null &&
        out_to_fifo sx-merge-coco e/train/annotations.json e/valid/annotations.json &&
        jq -e ".images | length == 6" got
    '
fi

test_expect_success '/dev/null is still a character device' '
    test -c /dev/null
'

test_done
