#!/usr/bin/env bash
# sx-fetch pagination: concurrency in order, bounded window, limit, page size,
# shards, a listing that grows or shrinks while it is read, output options.
. "$(dirname "$0")/../lib/test-lib.sh"
# a hung sx-fetch fails its test instead of the whole run
sx-fetch() { timeout 120 "$SX_BUILD/bin/sx-fetch" "$@"; }
. "$(dirname "$0")/../lib/fake-backend.sh"

LOG=$TRASH_ROOT/fake.log
ids_ok() { assert_eq "$(seq -s, 1 "$2")" "$(grep -v '^{"sx"' "$1" | jq -r .id | paste -sd,)" ids; }
page_lines() { grep "^GET /sdk/" "$LOG" | grep -c "[?&]page=$1 "; }
now_ms() { date +%s%3N; }

fake_backend_start --items 100 --delay-ms 100 --log "$LOG"
test_expect_success '--jobs 8 fetches pages concurrently, writes them in order, each page once' '
    t0=$(now_ms) && sx-fetch -f project=1 --page-size 5 --jobs 1 > one && t1=$(now_ms) &&
    sx-fetch -f project=1 --page-size 5 --jobs 8 > eight && t2=$(now_ms) &&
    echo "jobs 1: $((t1 - t0)) ms, jobs 8: $((t2 - t1)) ms" &&
    test $(( (t2 - t1) * 2 )) -lt $((t1 - t0)) &&
    ids_ok eight 100 && cmp one eight &&
    for p in $(seq 1 20); do assert_eq 2 "$(page_lines $p)" "requests of page $p (two runs)" || exit 1; done
'

fake_backend_start --items 23 --log "$LOG" --slow-page 2 --slow-ms 800
test_expect_success 'at most --jobs pages in memory: page 4 is asked for only after page 2 was written' '
    sx-fetch -f project=1 --page-size 5 --jobs 2 > out && ids_ok out 23 &&
    l2=$(grep -n "page=2 200" "$LOG" | cut -d: -f1) && l3=$(grep -n "page=3 200" "$LOG" | cut -d: -f1) &&
    l4=$(grep -n "page=4 200" "$LOG" | cut -d: -f1) &&
    test "$l3" -lt "$l2" && test "$l4" -gt "$l2"
'

fake_backend_start --items 30 --log "$LOG" --slow-page 3 --slow-ms 2500
test_expect_success 'records flow downstream page by page: a slow page does not hold back those before it' '
    sx-fetch -f project=1 --page-size 10 --jobs 1 > out & pid=$! &&
    sleep 1.5 && n=$(wc -l < out) && wait $pid &&
    echo "lines after 1.5 s: $n" && test "$n" -ge 21 && tail -1 out | jq -e ".count == 30"
'

fake_backend_start --items 23 --log "$LOG"
test_expect_success '--limit: that many items, total says so, no page past them asked for' '
    sx-fetch -f project=1 --page-size 5 --limit 12 > out && ids_ok out 12 &&
    head -1 out | jq -e ".total == 12" && tail -1 out | jq -e ".count == 12" &&
    assert_eq 0 "$(page_lines 4)" "page 4 requests"
'

test_expect_success '--page-size is sent and pages are numbered by it' '
    sx-fetch -f project=1 --page-size 7 > out && ids_ok out 23 &&
    assert_grep "page_size=7&page=4 200" "$LOG" && assert_eq 0 "$(page_lines 5)" "page 5 requests"
'

test_expect_success '--shard I/N: pages I, I+N, ...; the union of the shards is the listing, each item once' '
    : > "$LOG" &&
    for i in 1 2 3; do sx-fetch -f project=1 --page-size 5 --shard $i/3 > s$i || exit 1; done &&
    cat s1 s2 s3 | grep -v "^{\"sx\"" | jq -r .id | sort -n | paste -sd, > ids &&
    assert_eq "$(seq -s, 1 23)" "$(cat ids)" "union of shards" &&
    assert_eq "10 8 5" "$(for i in 1 2 3; do head -1 s$i | jq .total; done | paste -sd" ")" "shard totals" &&
    assert_eq "10 8 5" "$(for i in 1 2 3; do tail -1 s$i | jq .count; done | paste -sd" ")" "shard counts" &&
    assert_eq "2/3" "$(head -1 s2 | jq -r .source.shard)" source.shard &&
    : > "$LOG" && sx-fetch -f project=1 --page-size 5 --shard 2/3 > /dev/null &&
    assert_eq "2,5" "$(grep "^GET /sdk/" "$LOG" | sed "s/.*[?&]page=\([0-9]*\) .*/\1/" | sort -n | paste -sd,)" "pages of shard 2" &&
    assert_eq 1 "$(page_lines 5)" "page 5 requests"
'

test_expect_success 'a shard past the last page is empty and complete' '
    sx-fetch -f project=1 --page-size 5 --shard 7/8 > out &&
    assert_eq 2 "$(wc -l < out)" lines && head -1 out | jq -e ".total == 0" && tail -1 out | jq -e ".count == 0"
'

fake_backend_start --items 23 --log "$LOG" --max-page-size 4
test_expect_success 'a backend that caps page_size: pages numbered by what it gives, nothing lost' '
    sx-fetch -f project=1 --page-size 10 > out && ids_ok out 23 && head -1 out | jq -e ".total == 23" &&
    sx-fetch -f project=1 --page-size 10 --limit 9 > out && ids_ok out 9 &&
    for i in 1 2; do sx-fetch -f project=1 --page-size 10 --shard $i/2 > s$i || exit 1; done &&
    assert_eq "$(seq -s, 1 23)" "$(cat s1 s2 | grep -v "^{\"sx\"" | jq -r .id | sort -n | paste -sd,)" "union of shards" &&
    assert_eq 12 "$(head -1 s1 | jq .total)" "shard 1 total"
'

fake_backend_start --items 23 --log "$LOG" --grow-after-page 1 --grow-by 37
test_expect_success 'items added during the export are not lost: next, not count, ends the listing' '
    sx-fetch -f project=1 --page-size 5 --jobs 4 > out &&
    head -1 out | jq -e ".total == 23" && ids_ok out 60 && tail -1 out | jq -e ".count == 60"
'

fake_backend_start --items 23 --log "$LOG" --grow-after-page 1 --grow-by -12
test_expect_success 'a listing that shrinks during the export ends at the page whose next is null, no hang' '
    timeout 20 sx-fetch -f project=1 --page-size 5 --jobs 4 > out &&
    ids_ok out 11 && tail -1 out | jq -e ".count == 11"
'

fake_backend_start --items 600 --log "$LOG" --chaos 25 --seed 11
test_expect_success 'chaos (a quarter of the answers fail at random): every page once, in order, complete' '
    sx-fetch -f project=1 --page-size 5 --jobs 8 --retries 10 --retry-delay 0.001 > out &&
    ids_ok out 600 && tail -1 out | jq -e ".count == 600" &&
    for f in " 503 " " 429 " enc=cut enc=reset enc=html enc=badjson; do grep -q -- "$f" "$LOG" || exit 1; done &&
    grep "^GET /sdk/" "$LOG" | grep "enc=gzip" | awk "\$3 == 200 {print \$2}" > good &&
    assert_eq "" "$(sort good | uniq -d)" "pages answered twice" && assert_eq 120 "$(sort -u good | wc -l)" "pages answered"
'

fake_backend_start --items 0 --log "$LOG"
test_expect_success 'an empty listing: meta with total 0 and end' '
    sx-fetch -f project=1 > out &&
    head -1 out | jq -e ".sx == \"meta\" and .total == 0" && assert_eq "{\"sx\":\"end\",\"count\":0}" "$(tail -1 out)" end
'

fake_backend_start --items 2000 --log "$LOG"
test_expect_success '-o FILE.zst and --zstd write zstd; -o writes the same records' '
    sx-fetch -f project=1 -o plain.ndjson && sx-fetch -f project=1 -o out.ndjson.zst &&
    sx-fetch -f project=1 --zstd > piped.zst &&
    zstd -dcq out.ndjson.zst | cmp - plain.ndjson && zstd -dcq piped.zst | cmp - plain.ndjson &&
    tail -1 plain.ndjson | jq -e ".count == 2000"
'

test_expect_success 'a closed downstream pipe ends sx-fetch quietly with exit 0' '
    set +e; sx-fetch -f project=1 --jobs 8 2> err | head -1 > /dev/null; rc=${PIPESTATUS[0]}; set -e &&
    assert_eq 0 "$rc" "exit code" && test ! -s err
'

test_expect_success 'the token appears in no output of this script' '
    ! grep -r -- "$FAKE_TOKEN" "$TRASH_ROOT" "$LOG"
'

test_done
