#!/usr/bin/env bash
# sx-save rolls back a cut stream, a full disk and signals, and recovers
# from SIGKILL with --rollback and --resume.
. "$(dirname "$0")/../lib/test-lib.sh"
. "$TEST_DATA/save/lib.sh"


save_test 'a stream cut short (no end) is rolled back' '
    recs 5 | expect_code 1 sx-save -o out >stdout 2>err
    assert_grep "cut short" err
    assert_grep "rolled back" err
    test ! -e out
    ! grep -q "\"sx\":\"end\"" stdout
'

save_test 'an empty input is refused, saying so; nothing is left' '
    expect_code 1 sx-save -o out </dev/null 2>err
    assert_grep "the input is empty: the stage before sx-save wrote nothing" err
    test ! -e out
'

save_test 'the parents of -o DIR are made when missing, and removed again by a rollback' '
    { recs 1; echo "{\"sx\":\"end\",\"count\":1}"; } | sx-save -o a/b/out > /dev/null
    test -f a/b/out/json/1.json
    recs 1 | expect_code 1 sx-save -o c/d/out > /dev/null 2> err
    test ! -e c
    assert_grep "was rolled back ([0-9]* files and directories removed)" err
'

save_test 'records after the end record count as a cut stream' '
    { recs 1; echo "{\"sx\":\"end\",\"count\":1}"; echo "{\"sx\":\"progress\",\"category\":\"x\",\"current\":1,\"total\":1}"; } |
        expect_code 1 sx-save -o out 2>err
    test ! -e out
'

save_test 'a full disk (ulimit -f) is rolled back with the reason' '
    big=$(head -c 300000 /dev/zero | tr "\0" a)
    { recs 3; printf "{\"sx\":\"file\",\"path\":\"big/b.txt\",\"text\":\"%s\"}\n" "$big"; echo "{\"sx\":\"end\",\"count\":3}"; } >in
    (ulimit -f 100; expect_code 1 sx-save -o out <in >/dev/null 2>err)
    assert_grep "File too large" err
    assert_grep "rolled back" err
    test ! -e out
'

for sig in INT TERM HUP; do
    case $sig in INT) code=130 ;; TERM) code=143 ;; HUP) code=1 ;; esac
    save_test "SIG$sig mid-stream rolls back and exits $code" '
        feed_start -o out
        recs 3 >&3
        wait_for out/json/2.json
        kill -'$sig' $pid
        expect_code '$code' wait $pid
        exec 3>&-
        assert_grep "interrupted by SIG'$sig'" err
        assert_grep "rolled back" err
        test ! -e out
    '
done

save_test 'after SIGKILL, DIR holds what the manifest says and --rollback removes it all' '
    mkdir keepme && echo mine >keepme/file
    feed_start -o out
    recs 4 >&3
    wait_for out/json/3.json
    kill -KILL $pid; wait $pid || true; exec 3>&-; rm feed
    check_manifest out
    expect_code 1 sx-save -o out </dev/null 2>err
    assert_grep "use --resume" err
    sx-save --rollback out 2>err
    assert_grep "5 files and directories removed" err
    test ! -e out
    assert_eq mine "$(cat keepme/file)"
'

save_test '--rollback leaves what it did not create' '
    mkdir out
    feed_start -o out
    recs 2 >&3
    wait_for out/json/1.json
    kill -KILL $pid; wait $pid || true; exec 3>&-; rm feed
    echo user >out/json/user.txt; echo user >out/top.txt
    sx-save --rollback out
    assert_eq user "$(cat out/json/user.txt)"
    assert_eq user "$(cat out/top.txt)"
    test ! -e out/json/1.json && test ! -e out/.sx-manifest.ndjson
'

save_test '--rollback undoes a committed export' '
    { recs 3; echo "{\"sx\":\"end\",\"count\":3}"; } | sx-save -o out >/dev/null
    sx-save --rollback out
    test ! -e out
    expect_code 1 sx-save --rollback out 2>err
'

save_test 'a temporary file left by SIGKILL is removed by --rollback' '
    mkdir -p out/json
    printf "%s\n" "{\"op\":\"begin\",\"version\":1,\"created_root\":true}" \
        "{\"op\":\"file\",\"path\":\"json/1.json\",\"tmp\":\"json/.1.json.sx-000001\"}" >out/.sx-manifest.ndjson
    printf "{\"op\":\"dir\",\"pa" >>out/.sx-manifest.ndjson
    echo half >out/json/.1.json.sx-000001
    sx-save --rollback out
    test ! -e out/json/.1.json.sx-000001 && test ! -e out/.sx-manifest.ndjson
    test -d out/json
'

save_test 'SIGKILL, then --resume completes the export and keeps finished files' '
    feed_start -o out
    recs 4 >&3
    wait_for out/json/3.json
    kill -KILL $pid; wait $pid || true; exec 3>&-; rm feed
    ino=$(stat -c %i out/json/2.json)
    { echo "{\"sx\":\"meta\",\"total\":6}"; recs 6; echo "{\"sx\":\"end\",\"count\":6}"; } | sx-save --resume -o out >stdout2
    assert_eq "$ino" "$(stat -c %i out/json/2.json)"
    assert_eq "{\"id\":6}" "$(cat out/json/6.json)"
    check_manifest out --committed
    test "$(jq -c "[.exported_count,.failed_count,.total_count]" out/export.json)" = "[6,0,6]"
    expect_code 1 sx-save --resume -o out </dev/null 2>err
    assert_grep "complete already" err
'

save_test '--resume replaces a file whose content changed' '
    feed_start -o out
    recs 2 >&3
    wait_for out/json/1.json
    kill -KILL $pid; wait $pid || true; exec 3>&-; rm feed
    { printf "%s\n" "{\"sx\":\"file\",\"path\":\"json/1.json\",\"text\":\"new\",\"item\":1}"; echo "{\"sx\":\"end\",\"count\":1}"; } |
        sx-save --resume -o out >/dev/null
    assert_eq new "$(cat out/json/1.json)"
    check_manifest out --committed
'

save_test 'a live export is locked: --rollback and --resume wait for the writer to die' '
    feed_start -o out
    recs 2 >&3
    wait_for out/json/1.json
    expect_code 1 sx-save --rollback out 2>err2
    assert_grep "a running sx-save is writing it" err2
    expect_code 1 sx-save --resume -o out </dev/null 2>err2
    assert_grep "a running sx-save is writing it" err2
    test -f out/json/1.json
    kill -KILL $pid; wait $pid || true; exec 3>&-
    sx-save --rollback out
    test ! -e out
'

save_test '--resume refuses a DIR without a manifest' '
    mkdir out
    expect_code 1 sx-save --resume -o out </dev/null 2>err
    assert_grep "no .sx-manifest.ndjson" err
'

test_done
