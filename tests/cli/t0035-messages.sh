#!/usr/bin/env bash
# Messages say what happened and what to do: where the refused token came
# from, no long retries of a host that cannot be reached, plurals that agree,
# quoted input cut between characters and said to be cut, an empty input
# called empty, how to feed a converter hand-made items.
. "$(dirname "$0")/../lib/test-lib.sh"
# a hung program fails its test instead of the whole run
sx-fetch() { timeout 120 "$SX_BUILD/bin/sx-fetch" "$@"; }
. "$(dirname "$0")/../lib/fake-backend.sh"

fake_backend_start --items 3
# without_token CMD...: CMD (a function too) without SYNAPSE_ACCESS_TOKEN
without_token() { (unset SYNAPSE_ACCESS_TOKEN; "$@"); }
# a target without lookups: sx-fetch goes straight to its listing
GT=$TRASH_ROOT/gt.json
echo '{"name": "gt", "path": "sdk/ground_truth_events/"}' > "$GT"

# the refusal of every token source, sx-fetch's listing and its project read
test_expect_success '401 names the token file it came from, not SYNAPSE_ACCESS_TOKEN' '
    echo wrong-secret-4711 > tok &&
    without_token expect_code 3 sx-fetch -f project=1 --token-file tok > out 2> err &&
    assert_grep "HTTP 401.*the backend refused the access token from --token-file .tok." err &&
    ! grep -q SYNAPSE_ACCESS_TOKEN err && ! grep -q wrong-secret-4711 err &&
    without_token expect_code 3 sx-fetch --target-file "$GT" --token-file tok > out 2> err &&
    assert_grep "cannot list .sdk/ground_truth_events/.: HTTP 401.*refused the access token from --token-file .tok." err
'

test_expect_success '401 names ~/.synapse/config.json when the token came from there' '
    mkdir -p "$HOME/.synapse" &&
    echo "{\"access_token\": \"wrong-secret-4711\"}" > "$HOME/.synapse/config.json" &&
    without_token expect_code 3 sx-fetch -f project=1 > out 2> err; rc=$?;
    rm -r "$HOME/.synapse" && test $rc = 0 &&
    assert_grep "refused the access token from the access_token of ~/.synapse/config.json" err &&
    ! grep -q SYNAPSE_ACCESS_TOKEN err
'

test_expect_success '401 names SYNAPSE_PLUGIN_RUN_USER_TOKEN, or SYNAPSE_ACCESS_TOKEN, when it came from there' '
    SYNAPSE_PLUGIN_RUN_USER_TOKEN=wrong without_token expect_code 3 sx-fetch -f project=1 2> err &&
    assert_grep "refused the access token from SYNAPSE_PLUGIN_RUN_USER_TOKEN$" err &&
    SYNAPSE_ACCESS_TOKEN=wrong expect_code 3 sx-fetch -f project=1 2> err &&
    assert_grep "refused the access token from SYNAPSE_ACCESS_TOKEN$" err
'

test_expect_success 'no token at all: the message names all three places a token may come from' '
    without_token expect_code 2 sx-fetch -f project=1 2> err &&
    assert_grep "SYNAPSE_ACCESS_TOKEN, use --token-file FILE or put \"access_token\" in ~/.synapse/config.json" err
'

# Not timed: --retry-delay 30 makes any retry wait 15 s or more, and the
# programs run under `timeout 14`; the message says how many tries were made.
test_expect_success 'a host name that does not resolve is not retried, and the message says so' '
    expect_code 3 timeout 14 "$SX_BUILD/bin/sx-fetch" --host http://nohost.invalid:8000 -f project=1 \
        --retry-delay 30 > out 2> err &&
    assert_grep "^sx-fetch: cannot read project 1 (.projects/1/.): could not resolve host: nohost.invalid; not retried (host from --host)$" err &&
    test ! -s out &&
    SYNAPSE_HOST=http://nohost.invalid expect_code 3 timeout 14 "$SX_BUILD/bin/sx-fetch" --target-file "$GT" \
        --retry-delay 30 > out 2> err &&
    assert_grep "cannot list .sdk/ground_truth_events/.: could not resolve host: nohost.invalid; not retried (host from SYNAPSE_HOST) (page 1)$" err
'

test_expect_success 'a refused connection is retried once, and the message says so' '
    port=$(python3 -c "import socket; s = socket.socket(); s.bind((\"127.0.0.1\", 0)); print(s.getsockname()[1])") &&
    expect_code 3 timeout 60 "$SX_BUILD/bin/sx-fetch" --host "http://127.0.0.1:$port" --target-file "$GT" \
        --retry-delay 0.01 > out 2> err &&
    assert_grep "cannot list .sdk/ground_truth_events/.: failed to connect to 127.0.0.1 port $port.*; retried once (host from --host) (page 1)$" err &&
    expect_code 3 timeout 14 "$SX_BUILD/bin/sx-fetch" --host "http://127.0.0.1:$port" -f project=1 \
        --retry-delay 0.01 --retries 0 2> err &&
    assert_grep "failed to connect to 127.0.0.1 port $port.*Couldn.t connect to server (host from --host)$" err &&
    ! grep -q "tries" err
'

test_expect_success 'timeouts and 5xx keep their retries' '
    fake_backend_start --items 3 --fail-first 100 &&
    expect_code 3 sx-fetch -t ground_truth -f ground_truth_dataset_version=1 --retries 2 --retry-delay 0.01 2> err &&
    assert_grep "HTTP 503 after 3 tries (page 1" err &&
    fake_backend_start --items 3 --delay-ms 3000 &&
    expect_code 3 sx-fetch -f project=1 --timeout 0.5 --retries 1 --retry-delay 0.01 2> err &&
    assert_grep "^sx-fetch: cannot list .sdk/assignments/.: operation timed out .* after 2 tries (page 1)$" err
'

closed_port() { python3 -c "import socket; s = socket.socket(); s.bind((\"127.0.0.1\", 0)); print(s.getsockname()[1])"; }

test_expect_success 'downloads: an unresolved host is not retried, a refused connection once; plurals agree' '
    port=$(closed_port) &&
    { echo "{\"sx\":\"meta\",\"total\":2}" &&
      echo "{\"id\":1,\"files\":{\"url\":\"http://nohost.invalid/a.jpg\"},\"data\":{}}" &&
      echo "{\"id\":2,\"files\":{\"url\":\"http://127.0.0.1:$port/b.jpg\"},\"data\":{}}" &&
      echo "{\"sx\":\"end\",\"count\":2}"; } > in &&
    mkdir sp && sx-download --spool-dir "$PWD/sp" < in > out 2> err &&
    assert_eq "'"'"'a.jpg'"'"': Could not resolve host: nohost.invalid; not retried" \
        "$(jq -r "select(.item == 1) | .message" out)" &&
    jq -r "select(.item == 2) | .message" out | grep -q "^.b.jpg.: Failed to connect to 127.0.0.1 port $port.*; retried once$" &&
    assert_grep "^sx-download: 2 of 2 downloads failed" err &&
    head -n 2 in > in1 && echo "{\"sx\":\"end\",\"count\":1}" >> in1 &&
    sx-download --spool-dir "$PWD/sp" < in1 > out 2> err &&
    assert_grep "^sx-download: 1 of 1 download failed (see the error records)$" err
'

test_expect_success 'sx-progress: "1 record", not "1 records"' '
    printf "{\"sx\":\"meta\",\"total\":1}\n{\"id\":1}\n{\"sx\":\"end\",\"count\":1}\n" > one &&
    sx-progress < one > out 2> err && cmp one out &&
    assert_grep "^sx-progress: 1 record, 0 failed" err && ! grep -q "1 records" err
'

test_expect_success 'a quoted input line is cut between characters, and the message says it was cut' '
    python3 -c "print(\"{\\\"id\\\": 1, \\\"data\\\": \\\"\" + \"é\" * 2000 + \"\\\", oops}\")" > long.ndjson &&
    expect_code 1 sx-jq . long.ndjson 2> err &&
    assert_grep "^sx-jq: long.ndjson:1: invalid JSON: .* (while parsing .{\"id\": 1, \"data\": \"éé*.… (cut: the first 1[0-9][0-9] of 40[0-9][0-9] bytes))$" err &&
    test "$(wc -c < err)" -lt 400 &&
    expect_code 1 sx-convert-coco long.ndjson > out 2> err &&
    assert_grep "(cut: the first 1[0-9][0-9] of 40[0-9][0-9] bytes))$" err &&
    iconv -f UTF-8 -t UTF-8 err > /dev/null &&
    printf "{\"a\":1,\n" | expect_code 1 sx-jq . 2> err &&
    assert_grep "(while parsing .{\"a\":1,.)$" err
'

test_expect_success 'a message too long for the terminal says it was cut' '
    python3 -c "print(\"{\\\"a\\\": \\\"\" + \"é\" * 3000 + \"\\\"}\")" |
        expect_code 1 sx-jq "error(.a)" 2> err &&
    assert_grep "\.\.\. (message cut at 2 KiB)$" err && iconv -f UTF-8 -t UTF-8 err > /dev/null
'

test_expect_success 'bytes that are not UTF-8 show as ?, whichever reader met them first' '
    printf "{\"id\":\"a\\377\" oops\n" > bad1 &&
    expect_code 1 sx-jq . bad1 2> err && assert_grep "(while parsing .{\"id\":\"a?\" oops.)$" err &&
    printf "{\"a\":\"x\\377y\"}\n" | expect_code 1 sx-jq "error(.a)" 2> err &&
    assert_grep "^sx-jq: <stdin>:1: x?y$" err && ! grep -q "$(printf "\\357\\277\\275")" err
'

test_expect_success 'an empty input is called empty, not cut short, by converters, sx-progress and sx-save' '
    : > empty &&
    for c in coco yolo voc csv dm; do
        sx-convert-$c < empty > out 2> err && test ! -s out &&
        assert_grep "^sx-convert-$c: the input is empty: nothing converted (did the stage before fail? sx-fetch writes a meta and an end record even for an empty listing" err &&
        ! grep -q "cut short" err || return 1
    done &&
    sx-convert-coco -q < empty 2> err && test ! -s err &&
    sx-progress < empty > out 2> err && test ! -s out &&
    assert_grep "^sx-progress: the input is empty: nothing came from the stage before" err &&
    sx-progress -q < empty 2> err && test ! -s err &&
    expect_code 1 sx-save -o x < empty 2> err && test ! -e x &&
    assert_grep "^sx-save: the input is empty: .*sx-fetch ... | sx-convert-coco | sx-save -o DIR" err &&
    ! grep -q "cut short" err
'

test_expect_success 'items without meta and end: every converter says how (--items), and --items converts them' '
    sx-fetch --dir "$TEST_DATA/sample" | grep -v "^{\"sx\"" > items.ndjson &&
    for c in coco yolo voc csv dm; do
        expect_code 1 sx-convert-$c items.ndjson > out 2> err &&
        assert_grep "^sx-convert-$c: items.ndjson: items without the meta and end records of an sx stream (made by hand?): a converter takes them with --items, where the end of the input is their end: no dataset written$" err &&
        sx-convert-$c --help | grep -q -- "--items" || return 1
    done &&
    sx-convert-coco --items --images none items.ndjson | sx-save -q -o ds > /dev/null &&
    assert_eq 6 "$(jq -s "map(.images | length) | add" ds/train/annotations.json ds/valid/annotations.json)" images &&
    printf "{\"sx\":\"meta\"}\n" | cat - items.ndjson | expect_code 1 sx-convert-coco --items > out 2> err &&
    assert_grep "^sx-convert-coco: <stdin>:1: --items, but the input has a meta record" err &&
    : | sx-convert-coco --items | sx-save -q -o empty-ds > /dev/null &&
    assert_eq 0 "$(jq ".images | length" empty-ds/annotations.json)" images
'

test_expect_success 'items made by hand with local files: the converter says what lets them in, nothing that cannot' '
    sx-fetch --dir "$TEST_DATA/sample" | grep -v "^{\"sx\"" > items.ndjson &&
    sx-convert-coco --items items.ndjson > out &&
    jq -r "select(.sx == \"error\") | .message" out | head -1 > msg &&
    assert_grep "not under a directory sx may read (only the dataset that sx-fetch --dir names in its meta record is; an item made by hand can give files.url instead, or --images none leaves images out)" msg &&
    ! grep -q allow-src msg
'

test_expect_success 'sx-jq, sx-progress and sx-download on items without meta and end: not "cut short"' '
    sx-fetch --dir "$TEST_DATA/sample" | grep -v "^{\"sx\"" > items.ndjson &&
    expect_code 1 sx-jq . items.ndjson > out 2> err && cmp items.ndjson out &&
    assert_grep "^sx-jq: items.ndjson: items without the meta and end records of an sx stream (made by hand?): a converter takes them with --items" err &&
    expect_code 1 sx-progress items.ndjson > out 2> err && cmp items.ndjson out &&
    assert_grep "^sx-progress: items.ndjson: items without the meta and end records" err &&
    mkdir sp && expect_code 1 sx-download --spool-dir "$PWD/sp" items.ndjson > out 2> err &&
    assert_grep "^sx-download: items.ndjson: items without the meta and end records .*sx-download needs an sx stream" err &&
    ! grep -q "cut short" err &&
    head -3 items.ndjson | sed "1i {\"sx\":\"meta\"}" > cut.ndjson &&
    expect_code 1 sx-jq . cut.ndjson > out 2> err && assert_grep "cut short" err
'

test_expect_success 'sx-save suggests --resume only where it can work' '
    sx-fetch --dir "$TEST_DATA/sample" | sx-convert-coco | sx-save -q -o done > /dev/null &&
    sx-fetch --dir "$TEST_DATA/sample" | sx-convert-coco | expect_code 1 sx-save -o done > /dev/null 2> err &&
    assert_grep "^sx-save: .done. holds the complete export of an earlier run: write elsewhere (--unique picks a new name beside it), or remove it first (sx-save --rollback .done. removes what that run wrote)$" err &&
    ! grep -q -- --resume err &&
    expect_code 1 sx-save --resume -o done < /dev/null 2> err && assert_grep "complete already" err &&
    mkdir other && touch other/f &&
    expect_code 1 sx-save -o other < /dev/null 2> err &&
    assert_grep "^sx-save: .other. exists and is not empty (use --force to write into it, or --unique)$" err &&
    ! grep -q -- --resume err
'

test_expect_success '--max-page-bytes below 1 MiB: the limit in bytes, not "0 MiB"' '
    fake_backend_start --items 30 &&
    expect_code 3 sx-fetch -f project=1 --max-page-bytes 2K > out 2> err &&
    assert_grep "the answer is larger than 2048 bytes (--max-page-bytes)" err && ! grep -q "0 MiB" err
'

test_done
