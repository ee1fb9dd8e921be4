#!/usr/bin/env bash
# The fake backend itself: what other tests and benchmarks rely on (media
# bytes, Range, per-URL faults, the token check, DRF pagination).
. "$(dirname "$0")/../lib/test-lib.sh"
. "$(dirname "$0")/../lib/fake-backend.sh"

LOG=$TRASH_ROOT/fake.log
fake_backend_start --items 7 --log "$LOG"
get() { curl -s -o "$@"; }

test_expect_success 'media: deterministic bytes of the requested size, as --print-media prints them' '
    get a "$SYNAPSE_HOST/media/item-1.jpg?size=5000" -D h && fake_media item-1.jpg 5000 > want && cmp a want &&
    assert_grep "Content-Length: 5000" h &&
    get b "$SYNAPSE_HOST/media/item-1.jpg" && assert_eq 2048 "$(wc -c < b)" "default size" &&
    cmp b <(head -c 2048 want) &&
    get c "$SYNAPSE_HOST/media/other.jpg?size=64" && ! cmp -s c <(head -c 64 want) &&
    python3 -c "import hashlib,sys; sys.stdout.buffer.write(hashlib.shake_256(b\"item-1.jpg\").digest(5000))" | cmp - want
'

test_expect_success 'media: Range bytes=N- answers 206 with the rest' '
    get r "$SYNAPSE_HOST/media/x.bin?size=1000" -H "Range: bytes=600-" -D h &&
    assert_grep "^HTTP/1.1 206" h && assert_grep "Content-Range: bytes 600-999/1000" h &&
    cmp r <(fake_media x.bin 1000 | tail -c 400)
'

test_expect_success 'media faults: 404, 500, slow, cut, flaky' '
    assert_eq 404 "$(curl -s -o /dev/null -w "%{http_code}" "$SYNAPSE_HOST/media/a?fault=404")" 404 &&
    assert_eq 500 "$(curl -s -o /dev/null -w "%{http_code}" "$SYNAPSE_HOST/media/a?fault=500")" 500 &&
    t=$(curl -s -o /dev/null -w "%{time_total}" "$SYNAPSE_HOST/media/a?fault=slow&delay_ms=300") &&
    awk "BEGIN{exit !($t >= 0.3)}" &&
    expect_code 18 curl -s -o /dev/null "$SYNAPSE_HOST/media/a?fault=cut&size=10000" &&
    u="$SYNAPSE_HOST/media/f?fault=flaky&fails=2" &&
    assert_eq "503 503 200 200" "$(for i in 1 2 3 4; do curl -s -o /dev/null -w "%{http_code} " "$u"; done | sed "s/ $//")" flaky &&
    assert_eq 503 "$(curl -s -o /dev/null -w "%{http_code}" "$u&x=1")" "another query is another URL"
'

test_expect_success 'media needs no token; the log says whether one was sent, never its value' '
    : > "$LOG" && curl -s -o /dev/null "$SYNAPSE_HOST/media/z" && assert_grep "^GET /media/z 200 auth=none" "$LOG" &&
    ! grep -q "$FAKE_TOKEN" "$LOG"
'

test_expect_success 'listings need the token (either header); DRF pages with absolute next links' '
    assert_eq 401 "$(curl -s -o /dev/null -w "%{http_code}" "$SYNAPSE_HOST/sdk/assignments/?project=1")" "no token" &&
    curl -s -H "Authorization: Token $FAKE_TOKEN" "$SYNAPSE_HOST/sdk/assignments/?project=1&page_size=3" > p1 &&
    jq -e ".count == 7 and (.results | length) == 3 and .previous == null" p1 &&
    assert_eq "$SYNAPSE_HOST/sdk/assignments/?project=1&page_size=3&page=2" "$(jq -r .next p1)" next &&
    curl -s -H "Synapse-Access-Token: Token $FAKE_TOKEN" "$SYNAPSE_HOST/sdk/assignments/?project=1&page_size=3&page=3" > p3 &&
    jq -e ".next == null and (.results | map(.id)) == [7]" p3 &&
    assert_eq 404 "$(curl -s -o /dev/null -w "%{http_code}" -H "Authorization: Token $FAKE_TOKEN" "$SYNAPSE_HOST/sdk/assignments/?project=1&page_size=3&page=4")" "past the end"
'

test_expect_success 'generated data: DM v1 with every tool, some data null, colliding file names, project classes' '
    curl -s -H "Authorization: Token $FAKE_TOKEN" "$SYNAPSE_HOST/sdk/assignments/?project=1&expand=data&page_size=1000" > all &&
    jq -e "[.results[].data | select(. == null)] | length > 0" all &&
    jq -e "[.results[].data // {} | .annotations.image_1[]?.tool] | unique == [\"bounding_box\",\"keypoint\",\"polygon\",\"polyline\"]" all &&
    jq -e "[.results[].file.file_name_original] | map(select(. == \"img.jpg\")) | length >= 1" all &&
    curl -s -H "Authorization: Token $FAKE_TOKEN" "$SYNAPSE_HOST/projects/1/" | jq -e ".configuration.classification.bounding_box | index(\"car\")"
'

test_done
