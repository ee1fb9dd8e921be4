#!/usr/bin/env bash
# sx-save downloads url records in parallel from the fake backend: retries,
# range resume, checks, failures per item, signals mid-download.
. "$(dirname "$0")/../lib/test-lib.sh"
. "$(dirname "$0")/../lib/fake-backend.sh"
. "$TEST_DATA/save/lib.sh"

fake_backend_start --log "$TRASH_ROOT/fake.log"
export SYNAPSE_HOST FAKE_BACKEND_PY FAKE_LOG=$TRASH_ROOT/fake.log
unset SYNAPSE_ACCESS_TOKEN
export -f fake_media

# url NAME SIZE [QUERY] [ITEM] [EXTRA]: a url record for media NAME
url() {
    printf '{"sx":"file","path":"img/%s","url":"%s/media/%s?size=%s%s","item":%s%s}\n' \
        "$1" "$SYNAPSE_HOST" "$1" "$2" "${3:+&$3}" "${4:-1}" "${5:-}"
}
export -f url
# requests PATTERN: how many logged requests match
requests() { grep -c -- "$1" "$FAKE_LOG" || true; }
export -f requests

save_test 'downloads land in place with the right bytes, no credential sent' '
    { echo "{\"sx\":\"meta\",\"total\":20}"
      for i in $(seq 1 20); do url "d$i.jpg" $((i * 1000)) "" $i; done
      echo "{\"sx\":\"end\",\"count\":20}"; } >in
    SYNAPSE_ACCESS_TOKEN=secret sx-save -j 4 -o out <in >stdout
    for i in 1 7 20; do fake_media "d$i.jpg" $((i * 1000)) | cmp - out/img/d$i.jpg; done
    check_manifest out --committed
    test "$(jq -c "[.exported_count,.failed_count]" out/export.json)" = "[20,0]"
    assert_eq 20 "$(requests "/media/d")"
    assert_eq 0 "$(grep /media/d "$FAKE_LOG" | grep -vc "auth=none" || true)"
    test "$(jq -c "select(.sx==\"progress\")" stdout | tail -n 1)" = "{\"sx\":\"progress\",\"category\":\"original_file\",\"current\":20,\"total\":20}"
    test "$(jq -c "select(.sx==\"metrics\")" stdout | tail -n 1)" = "{\"sx\":\"metrics\",\"category\":\"original_file\",\"stand_by\":0,\"success\":20,\"failed\":0}"
'

save_test 'a 404 fails its item, not the export; never saved as the file' '
    { url ok.jpg 100 "" 1; echo "{\"sx\":\"file\",\"path\":\"json/2.json\",\"text\":\"{}\",\"item\":2}"
      url nf.jpg 100 fault=404 2; echo "{\"sx\":\"end\",\"count\":2}"; } >in
    sx-save -o out <in >stdout 2>err
    test -f out/img/ok.jpg && test ! -e out/img/nf.jpg && test ! -e out/json/2.json
    test "$(jq -c ".origin_file_name[0]" out/error_file_list.json)" = "[\"nf.jpg\",\"cannot download: HTTP 404\"]"
    test "$(jq -c "[.exported_count,.failed_count]" out/export.json)" = "[1,1]"
    assert_grep "\"status\":\"failed\"" stdout
    assert_eq 1 "$(requests "nf.jpg?size=100&fault=404 404")"
    check_manifest out --committed
'

save_test 'a failed download under --strict rolls back with exit 3' '
    { url ok.jpg 100; url nf.jpg 100 fault=404 2; echo "{\"sx\":\"end\",\"count\":2}"; } >in
    expect_code 3 sx-save --strict -o out <in >/dev/null 2>err
    assert_grep "HTTP 404" err
    assert_grep "rolled back" err
    test ! -e out
'

save_test 'a 500 is retried, then fails the item' '
    url e500.jpg 100 fault=500 >in; echo "{\"sx\":\"end\",\"count\":1}" >>in
    sx-save --retries 2 -o out <in >stdout
    test ! -e out/img/e500.jpg
    assert_eq 3 "$(requests "e500.jpg?size=100&fault=500 500")"
    assert_grep "HTTP 500 after 3 tries" out/error_file_list.json
'

save_test 'a flaky server (503 twice) is retried until the file arrives' '
    url flaky.jpg 5000 "fault=flaky&fails=2" >in; echo "{\"sx\":\"end\",\"count\":1}" >>in
    sx-save -o out <in >/dev/null
    fake_media flaky.jpg 5000 | cmp - out/img/flaky.jpg
    assert_eq 2 "$(requests "flaky.jpg.* 503")"
    test ! -e out/error_file_list.json
'

save_test 'Retry-After is honoured (a server of its own: the fake sends none for media)' '
    python3 "$TEST_DATA/save/retry-after-server.py" 2 >port &
    spid=$!
    trap "kill $spid" EXIT
    for i in $(seq 1 100); do test -s port && break; sleep 0.05; done
    printf "{\"sx\":\"file\",\"path\":\"r\",\"url\":\"http://127.0.0.1:%s/r\"}\n{\"sx\":\"end\",\"count\":0}\n" "$(head -n 1 port)" >in
    t0=$(date +%s%N)
    sx-save --retries 1 -o out <in >/dev/null
    t1=$(date +%s%N)
    assert_eq ok "$(cat out/r)"
    test $(( (t1 - t0) / 1000000 )) -ge 1900
'

save_test 'a body cut short is continued with range requests' '
    url cut.jpg 100000 fault=cut >in; echo "{\"sx\":\"end\",\"count\":1}" >>in
    sx-save --retries 3 -o out <in >stdout
    test ! -e out/img/cut.jpg
    test "$(requests "cut.jpg.* 206")" -ge 3
    check_manifest out --committed
'

save_test 'a slow download times out and is retried, then fails' '
    url slow.jpg 100 "fault=slow&delay_ms=3000" >in; echo "{\"sx\":\"end\",\"count\":1}" >>in
    sx-save --timeout 0.3 --retries 1 -o out <in >/dev/null
    test ! -e out/img/slow.jpg
    assert_grep "after 2 tries" out/error_file_list.json
'

save_test 'size and sha256 are checked' '
    sha=$(fake_media s.jpg 300 | sha256sum | cut -c1-64)
    { url s.jpg 300 "" 1 ",\"sha256\":\"$sha\",\"size\":300"
      url bad.jpg 300 "" 2 ",\"sha256\":\"$sha\""
      url small.jpg 300 "" 3 ",\"size\":301"
      url big.jpg 300 "" 4 ",\"size\":200"
      echo "{\"sx\":\"end\",\"count\":4}"; } >in
    sx-save -o out <in >/dev/null
    test -f out/img/s.jpg && test ! -e out/img/bad.jpg && test ! -e out/img/small.jpg && test ! -e out/img/big.jpg
    assert_grep "sha256 mismatch" out/error_file_list.json
    assert_grep "got 300 bytes, expected 301" out/error_file_list.json
    assert_grep "larger than the expected 200" out/error_file_list.json
    check_manifest out --committed
'

save_test 'only http and https URLs are fetched: never file:, ftp: or another scheme' '
    printf "%s\n" "{\"sx\":\"file\",\"path\":\"a\",\"url\":\"ftp://127.0.0.1/x\",\"item\":1}" \
        "{\"sx\":\"file\",\"path\":\"b\",\"url\":\"file://$PWD/in\",\"item\":2}" \
        "{\"sx\":\"file\",\"path\":\"c\",\"url\":\"FILE:///proc/self/environ\",\"item\":3}" \
        "{\"sx\":\"end\",\"count\":3}" >in
    sx-save -o out <in >/dev/null 2>&1
    test ! -e out/a && test ! -e out/b && test ! -e out/c
    assert_eq 3 "$(jq -r ".origin_file_name[][1]" out/error_file_list.json | grep -c "only http and https URLs")"
'

save_test 'a full disk during a download (ulimit -f) rolls back the export' '
    { url small.jpg 1000 "" 1; url large.jpg 400000 "" 2; echo "{\"sx\":\"end\",\"count\":2}"; } >in
    (ulimit -f 200; expect_code 1 sx-save -o out <in >/dev/null 2>err)
    assert_grep "large.jpg.: File too large" err
    assert_grep "rolled back" err
    test ! -e out
'

for sig in INT TERM; do
    case $sig in INT) code=130 ;; TERM) code=143 ;; esac
    save_test "SIG$sig mid-download rolls back, leaves no temporary file" '
        feed_start -j 4 -o out
        { url a.jpg 100; url b.jpg 100 "fault=slow&delay_ms=5000"; url c.jpg 100 "fault=slow&delay_ms=5000"; } >&3
        wait_for out/img/a.jpg
        sleep 0.2
        kill -'$sig' $pid
        expect_code '$code' wait $pid
        exec 3>&-
        assert_grep "interrupted by SIG'$sig'" err
        test ! -e out
    '
done

save_test 'SIGKILL mid-download, --rollback, then --resume does not download finished files again' '
    { for i in 1 2 3; do url "k$i.jpg" 2000 "" $i; done; } >first
    { cat first; url k4.jpg 2000 "fault=slow&delay_ms=5000" 4; } >in
    feed_start -j 4 -o out
    cat in >&3
    wait_for out/img/k3.jpg
    kill -KILL $pid; wait $pid || true; exec 3>&-; rm feed
    check_manifest out
    sx-save --rollback out
    test ! -e out
    feed_start -j 4 -o out
    cat in >&3
    for i in 1 2 3; do wait_for out/img/k$i.jpg; done   # in place, in any order
    kill -KILL $pid; wait $pid || true; exec 3>&-
    before=$(requests "/media/k")
    { cat first; url k4.jpg 2000 "" 4; url k5.jpg 2000 "" 5; echo "{\"sx\":\"end\",\"count\":5}"; } |
        sx-save --resume -o out >stdout
    assert_eq 2 "$(( $(requests "/media/k") - before ))"
    for i in 1 4 5; do fake_media "k$i.jpg" 2000 | cmp - out/img/k$i.jpg; done
    check_manifest out --committed
    test "$(jq -c "[.exported_count,.failed_count]" out/export.json)" = "[5,0]"
'

save_test 'a live pipeline: sx-progress sees the download progress' '
    { echo "{\"sx\":\"meta\",\"total\":5}"; for i in 1 2 3 4 5; do url "p$i.jpg" 100 "" $i; done
      echo "{\"sx\":\"end\",\"count\":5}"; } | sx-save -o out | sx-progress -q >stdout
    assert_grep "\"category\":\"original_file\",\"current\":5,\"total\":5" stdout
'

save_test 'the download progress ends full when fewer files than items come' '
    { echo "{\"sx\":\"meta\",\"total\":5}"; for i in 1 2 3; do url "q$i.jpg" 100 "" $i; done
      echo "{\"sx\":\"end\",\"count\":5}"; } | sx-save -o out >stdout
    test "$(jq -c "select(.sx==\"progress\")" stdout | tail -n 1)" = "{\"sx\":\"progress\",\"category\":\"original_file\",\"current\":3,\"total\":3}"
'

test_done
