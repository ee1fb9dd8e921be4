#!/usr/bin/env bash
# sx-fetch against a faulty backend: retries, Retry-After, cut and bad answers,
# permanent failures (exit 3, nothing after the failing page, no end).
. "$(dirname "$0")/../lib/test-lib.sh"
# a hung sx-fetch fails its test instead of the whole run
sx-fetch() { timeout 120 "$SX_BUILD/bin/sx-fetch" "$@"; }
. "$(dirname "$0")/../lib/fake-backend.sh"

LOG=$TRASH_ROOT/fake.log
F="sx-fetch -f project=1 --page-size 5 --retry-delay 0.01"
# fetched_twice LOG: pages answered 200 more than once
fetched_twice() { grep '^GET /sdk/' "$1" | awk '$3 == 200 {print $2}' | sort | uniq -d; }
# ids_ok FILE N: the data records of FILE are ids 1..N in order
ids_ok() { assert_eq "$(seq -s, 1 "$2")" "$(grep -v '^{"sx"' "$1" | jq -r .id | paste -sd,)" ids; }
now_ms() { date +%s%3N; }

fake_backend_start --items 23 --log "$LOG" --fail-first 3
test_expect_success '503 on the first requests: retried, every page once, complete' '
    $F > out 2> err &&
    ids_ok out 23 && tail -1 out | jq -e ".sx == \"end\" and .count == 23" &&
    assert_eq 3 "$(grep -c " 503 " "$LOG")" "503 answers" &&
    assert_eq "" "$(fetched_twice "$LOG")" "pages fetched twice" &&
    test ! -s err
'

fake_backend_start --items 23 --log "$LOG" --fail-first 100
test_expect_success '503 for good: exit 3 after --retries, message with the path, no end' '
    : > "$LOG" &&
    expect_code 3 sx-fetch -t ground_truth -f ground_truth_dataset_version=1 --retries 2 --retry-delay 0.01 > out 2> err &&
    assert_grep "^sx-fetch: cannot list .sdk/ground_truth_events/.: HTTP 503 after 3 tries (page 1" err &&
    assert_eq 3 "$(grep -c " 503 " "$LOG")" tries &&
    ! grep -q "\"sx\":\"end\"" out
'

fake_backend_start --items 23 --log "$LOG" --fail-first 2 --fail-status 429 --retry-after 1
test_expect_success '429 with Retry-After in seconds: waits as asked, then completes' '
    t0=$(now_ms) && $F -t ground_truth -f ground_truth_dataset_version=1 > out && t1=$(now_ms) &&
    ids_ok out 23 && test $((t1 - t0)) -ge 1900 &&
    assert_eq "" "$(fetched_twice "$LOG")" "pages fetched twice"
'

until_s=$(( $(date +%s) + 3 ))
fake_backend_start --items 23 --log "$LOG" --fail-first 1 --fail-status 429 \
    --retry-after "$(date -u -d @$until_s "+%a, %d %b %Y %H:%M:%S GMT")"
test_expect_success '429 with Retry-After as an HTTP date: waits until then' '
    $F -t ground_truth -f ground_truth_dataset_version=1 > out && t1=$(now_ms) &&
    ids_ok out 23 && test "$t1" -ge $((until_s * 1000 - 100))
'

fake_backend_start --items 23 --log "$LOG" --cut-page 3
test_expect_success 'a cut body (Content-Length not reached) is retried; no page lost or doubled' '
    $F > out && ids_ok out 23 && tail -1 out | jq -e ".count == 23" &&
    assert_grep "page=3 200 .*enc=cut" "$LOG" &&
    assert_eq "" "$(grep -v "enc=cut" "$LOG" | awk "\$3 == 200 {print \$2}" | sort | uniq -d)" twice
'

fake_backend_start --items 23 --log "$LOG" --reset-page 4:2
test_expect_success 'a connection reset without an answer is retried' '
    $F > out 2> err && ids_ok out 23 && test ! -s err &&
    assert_eq 2 "$(grep -c "page=4 0 .*enc=reset" "$LOG")" resets &&
    assert_eq 1 "$(grep -c "page=4 200" "$LOG")" "page 4 answers"
'

fake_backend_start --items 23 --log "$LOG" --bad-json-page 2
test_expect_success 'a page whose JSON does not parse is retried, never skipped' '
    $F > out && ids_ok out 23 &&
    assert_eq 2 "$(grep -c "page=2 200" "$LOG")" "page 2 answers"
'

fake_backend_start --items 23 --log "$LOG" --slow-page 2 --slow-ms 3000
test_expect_success 'a page slower than --timeout is retried' '
    t0=$(now_ms) && $F --timeout 0.5 > out && t1=$(now_ms) &&
    ids_ok out 23 && test $((t1 - t0)) -lt 2900
'

fake_backend_start --items 23 --log "$LOG" --html-page 3:0
test_expect_success 'HTML instead of JSON for good: exit 3, pages before it written, nothing after, no end' '
    expect_code 3 $F --retries 1 > out 2> err &&
    assert_grep "cannot list .sdk/assignments/.: the answer is not JSON (text/html) after 2 tries (page 3)" err &&
    ids_ok out 10 && ! grep -q "\"sx\":\"end\"" out
'

fake_backend_start --items 23 --log "$LOG" --no-results-page 2:0
test_expect_success 'a page without results: exit 3, clear message, no end' '
    expect_code 3 $F --retries 1 > out 2> err &&
    assert_grep "has no .results. array" err && ids_ok out 5 && ! grep -q "\"sx\":\"end\"" out
'

fake_backend_start --items 23 --log "$LOG" --not-found-page 4:0
test_expect_success 'a 404 page: exit 3 at once with path and reason, no retry, no end' '
    : > "$LOG" &&
    expect_code 3 $F > out 2> err &&
    assert_grep "cannot list .sdk/assignments/.: HTTP 404 (page 4: Not found.)" err &&
    assert_eq 1 "$(grep -c "page=4 " "$LOG")" "page 4 requests" &&
    ids_ok out 15 && ! grep -q "\"sx\":\"end\"" out
'

fake_backend_start --items 23 --log "$LOG" --fail-first 1 --fail-status 403
test_expect_success '403: exit 3 at once, names where the token came from (SYNAPSE_ACCESS_TOKEN)' '
    : > "$LOG" &&
    expect_code 3 sx-fetch -t ground_truth -f ground_truth_dataset_version=1 > out 2> err &&
    assert_grep "HTTP 403" err && assert_grep "SYNAPSE_ACCESS_TOKEN" err &&
    assert_eq 1 "$(grep -c "^GET /sdk/" "$LOG")" requests && ! grep -q "\"sx\":\"end\"" out
'

fake_backend_start --items 23 --log "$LOG"
test_expect_success 'wrong token: exit 3, the message names SYNAPSE_ACCESS_TOKEN, not its value' '
    SYNAPSE_ACCESS_TOKEN=wrong-secret-4711 expect_code 3 sx-fetch -f project=1 > out 2> err &&
    assert_grep "HTTP 401" err && assert_grep "SYNAPSE_ACCESS_TOKEN" err &&
    ! grep -q wrong-secret-4711 err out && test ! -s out &&
    SYNAPSE_ACCESS_TOKEN=wrong-secret-4711 expect_code 3 sx-fetch -t ground_truth -f ground_truth_dataset_version=1 > out 2> err &&
    assert_grep "SYNAPSE_ACCESS_TOKEN" err && ! grep -q wrong-secret-4711 err out && ! grep -q "\"sx\"" out
'

test_expect_success 'refused connection: retried once (not --retries times), then exit 3, no end' '
    expect_code 3 sx-fetch --host http://127.0.0.1:9 -t ground_truth -f ground_truth_dataset_version=1 \
        --retries 2 --retry-delay 0.01 > out 2> err &&
    assert_grep "cannot read ground_truth_dataset_version (.ground_truth_dataset_versions/1/.): .*; retried once" err &&
    test ! -s out &&
    echo "{\"name\": \"gt\", \"path\": \"sdk/ground_truth_events/\"}" > gt.json &&
    expect_code 3 sx-fetch --host http://127.0.0.1:9 --target-file gt.json --retries 2 --retry-delay 0.01 > out 2> err &&
    assert_grep "cannot list .sdk/ground_truth_events/.: .*; retried once (host from --host) (page 1)" err &&
    test ! -s out
'

fake_backend_start --items 23 --log "$LOG" --next-origin http://127.0.0.1:9
test_expect_success 'a next link to another port is refused: exit 3, nothing sent there' '
    expect_code 3 $F > out 2> err &&
    assert_grep "refusing .next. link to another host .http://127.0.0.1:9/sdk/assignments/" err &&
    ! grep -q "\"sx\":\"end\"" out && ! grep -q "^{\"id\"" out
'

fake_backend_start --items 23 --log "$LOG" --relative-next
test_expect_success 'a next link that is a path (same host) is followed' '
    $F > out && ids_ok out 23 && tail -1 out | jq -e ".count == 23"
'

test_expect_success 'the token appears in no output of this script' '
    ! grep -r -- "$FAKE_TOKEN" "$TRASH_ROOT" "$LOG"
'

test_done
