#!/usr/bin/env bash
# sx-fetch follows the backend: cursor pagination (next followed one page at
# a time), next links written under another scheme or host name (moved onto
# the configured host), redirects on the backend's own origin; anything that
# would send the token elsewhere is refused.
. "$(dirname "$0")/../lib/test-lib.sh"
# a hung sx-fetch fails its test instead of the whole run
sx-fetch() { timeout 120 "$SX_BUILD/bin/sx-fetch" "$@"; }
. "$(dirname "$0")/../lib/fake-backend.sh"

LOG=$TRASH_ROOT/fake.log
# ids_ok FILE N: the data records of FILE are ids 1..N in order
ids_ok() { assert_eq "$(seq -s, 1 "$2")" "$(grep -v '^{"sx"' "$1" | jq -r .id | paste -sd,)" ids; }
listing() { grep "^GET /sdk/" "$LOG"; }

# a second fake backend, which must never be asked anything
CANARY_LOG=$TRASH_ROOT/canary.log
python3 "$FAKE_BACKEND_PY" --token other --log "$CANARY_LOG" > "$TRASH_ROOT/canary.port" 2>&1 &
CANARY_PID=$!
test_at_exit "kill $CANARY_PID"
for i in $(seq 1 200); do
    CANARY_PORT=$(head -n 1 "$TRASH_ROOT/canary.port" 2>/dev/null)
    case $CANARY_PORT in [0-9]*) break ;; esac
    sleep 0.05
done

fake_backend_start --items 23 --log "$LOG" --cursor
test_expect_success 'cursor pagination: next followed one page at a time, every item once, total unknown' '
    sx-fetch -f project=1 --page-size 5 --jobs 8 > out &&
    ids_ok out 23 && head -1 out | jq -e ".total == null" && tail -1 out | jq -e ".count == 23" &&
    assert_eq 5 "$(listing | wc -l)" "requests: one per page" &&
    assert_eq 4 "$(listing | grep -c "cursor=")" "pages asked for by their cursor" &&
    ! listing | grep -q "page=[2-9]" &&
    assert_eq "" "$(listing | awk "{print \$2}" | sort | uniq -d)" "pages asked for twice"
'

test_expect_success 'cursor pagination: --limit stops early, shards split the listing, each item once' '
    : > "$LOG" && sx-fetch -f project=1 --page-size 5 --limit 7 > out && ids_ok out 7 &&
    assert_eq 2 "$(listing | wc -l)" "requests for 7 items" &&
    for i in 1 2 3; do sx-fetch -f project=1 --page-size 5 --shard $i/3 > s$i || exit 1; done &&
    assert_eq "1,2,3,4,5,16,17,18,19,20" "$(grep -v "^{\"sx\"" s1 | jq -r .id | paste -sd,)" "shard 1: pages 1 and 4" &&
    assert_eq "$(seq -s, 1 23)" "$(cat s1 s2 s3 | grep -v "^{\"sx\"" | jq -r .id | sort -n | paste -sd,)" "union" &&
    assert_eq "10 8 5" "$(for i in 1 2 3; do tail -1 s$i | jq .count; done | paste -sd" ")" "shard counts"
'

fake_backend_start --items 23 --log "$LOG" --cursor --relative-next --moved /api
test_expect_success 'a host with a path prefix, relative cursor links: the prefix is kept, not doubled' '
    sx-fetch --host "$SYNAPSE_HOST/api" -f project=1 --page-size 5 > out && ids_ok out 23 &&
    test -z "$(listing | grep -v "^GET /api/sdk/assignments/")" && ! grep -q " 301 " "$LOG"
'

fake_backend_start --items 23 --log "$LOG" --next-host localhost
test_expect_success 'next links under another host name: moved onto the configured host, pages still concurrent' '
    sx-fetch -f project=1 --page-size 5 --jobs 4 > out && ids_ok out 23 && head -1 out | jq -e ".total == 23" &&
    test -z "$(grep -v "host=127.0.0.1:$FAKE_PORT " "$LOG")" &&
    assert_eq 5 "$(listing | grep -c "page=")" "pages asked for by number"
'

fake_backend_start --items 23 --log "$LOG" --next-host localhost --cursor
test_expect_success 'cursor links under another host name: moved onto the configured host too' '
    sx-fetch -f project=1 --page-size 5 > out && ids_ok out 23 &&
    test -z "$(grep -v "host=127.0.0.1:$FAKE_PORT " "$LOG")"
'

# TLS needs a certificate: openssl makes a self-signed one (skipped without openssl)
if openssl req -x509 -newkey rsa:2048 -nodes -keyout "$TRASH_ROOT/key.pem" -out "$TRASH_ROOT/cert.pem" \
    -days 2 -subj /CN=localhost >/dev/null 2>&1; then
for mode in "" --cursor; do
fake_backend_start --items 23 --log "$LOG" --tls-cert "$TRASH_ROOT/cert.pem" --tls-key "$TRASH_ROOT/key.pem" \
    --next-scheme http $mode
test_expect_success "a TLS proxy's http:// next links ${mode:+($mode) }are followed over https" '
    case $SYNAPSE_HOST in https://*) ;; *) false ;; esac &&
    sx-fetch -f project=1 --page-size 5 --insecure > out && ids_ok out 23
'
done
fi

fake_backend_start --items 23 --log "$LOG" --next-origin "http://127.0.0.1:$CANARY_PORT"
test_expect_success 'a next link to another port: refused, exit 3, nothing sent there, no end' '
    expect_code 3 sx-fetch -f project=1 --page-size 5 > out 2> err &&
    assert_grep "refusing .next. link to another host .http://127.0.0.1:$CANARY_PORT/" err &&
    test ! -s "$CANARY_LOG" && ! grep -q "\"sx\":\"end\"" out && ! grep -q "^{\"id\"" out
'

fake_backend_start --items 23 --log "$LOG" --next-origin "file://127.0.0.1:$CANARY_PORT"
test_expect_success 'a next link that is not http or https: refused, exit 3' '
    expect_code 3 sx-fetch -f project=1 --page-size 5 > out 2> err &&
    assert_grep "refusing a link that is not an http or https URL" err && ! grep -q "\"sx\":\"end\"" out
'

fake_backend_start --items 23 --log "$LOG" --moved /v2
test_expect_success 'same-origin redirects (301) are followed: the project, every page, concurrently' '
    sx-fetch -f project=1 --page-size 5 --jobs 4 > out && ids_ok out 23 &&
    head -1 out | jq -e ".configuration.classification.bounding_box[0] == \"car\"" &&
    assert_eq 6 "$(grep -c " 301 " "$LOG")" "redirects (the project, 5 pages)" &&
    assert_eq 5 "$(grep -c "^GET /v2/sdk/assignments/.* 200 " "$LOG")" "pages served after the redirect" &&
    sx-fetch -t ground_truth -f ground_truth_dataset_version=7 --page-size 5 > out && ids_ok out 23 &&
    head -1 out | jq -e ".ground_truth_dataset_version.id == 7 and .configuration != null"
'

fake_backend_start --items 23 --log "$LOG" --moved-to "http://127.0.0.1:$CANARY_PORT/v2"
test_expect_success 'a redirect to another origin is refused: exit 3, nothing sent there, the token nowhere' '
    expect_code 3 sx-fetch -f project=1 > out 2> err &&
    assert_grep "cannot read project 1 .*refusing a redirect to another host .*http://127.0.0.1:$CANARY_PORT/v2/projects/1/" err &&
    expect_code 3 sx-fetch --target-file <(echo "{\"name\": \"a\", \"path\": \"sdk/assignments/\"}") > out 2> err &&
    assert_grep "cannot list .sdk/assignments/.: refusing a redirect to another host" err &&
    test ! -s "$CANARY_LOG" && test ! -s out
'

test_expect_success 'the token appears in no output of this script' '
    ! grep -r -- "$FAKE_TOKEN" "$TRASH_ROOT" "$LOG"
'

test_done
