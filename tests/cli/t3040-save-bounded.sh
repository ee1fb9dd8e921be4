#!/usr/bin/env bash
# sx-save's memory is bounded: duplicate paths are found with a filter of a
# fixed size whose yes is checked, never trusted, and the rollback reads the
# manifest back. SX_BLOOM_BYTES=8 shrinks every filter to 64 bits, so that
# after a few paths nearly every lookup is a false positive.
. "$(dirname "$0")/../lib/test-lib.sh"
. "$TEST_DATA/save/lib.sh"

# texts N: N text records a/I.txt (item I), contents "I"
texts() {
    local i
    for i in $(seq 1 "$1"); do
        printf '{"sx":"file","path":"a/%d.txt","text":"%d","item":%d}\n' "$i" "$i" "$i"
    done
}
export -f texts

save_test 'a saturated path filter refuses no new path and still every duplicate' '
    export SX_BLOOM_BYTES=8
    { texts 300
      echo "{\"sx\":\"file\",\"path\":\"a/7.txt\",\"text\":\"again\",\"item\":1007}"
      echo "{\"sx\":\"file\",\"path\":\"a/300.txt\",\"text\":\"again\",\"item\":1300}"
      echo "{\"sx\":\"file\",\"path\":\"b/bad.txt\",\"text\":\"x\",\"sha256\":\"nope\",\"item\":2000}"
      echo "{\"sx\":\"file\",\"path\":\"b/bad.txt\",\"text\":\"x\",\"item\":2001}"
      echo "{\"sx\":\"end\",\"count\":304}"; } >in
    sx-save -o out <in >stdout
    assert_eq 300 "$(ls out/a | wc -l)"
    assert_eq 7 "$(cat out/a/7.txt)"
    assert_eq 300 "$(cat out/a/300.txt)"
    test ! -e out/b/bad.txt
    assert_eq 3 "$(jq -r "select(.sx==\"log\" and .status==\"failed\") | .error" stdout | grep -c "^duplicate path")"
    assert_eq 3 "$(jq -r ".json_file_name[][1]" out/error_file_list.json | grep -c "^duplicate path")"
    test "$(jq -c "[.exported_count,.failed_count]" out/export.json)" = "[300,4]"
    check_manifest out --committed
'

save_test 'a saturated filter with --force: a file that was there is refused as such, not as a duplicate' '
    export SX_BLOOM_BYTES=8
    mkdir -p out/a && echo mine >out/a/5.txt
    { texts 50; echo "{\"sx\":\"end\",\"count\":50}"; } | sx-save --force -o out >stdout
    assert_eq mine "$(cat out/a/5.txt)"
    assert_eq 1 "$(grep -c "\"status\":\"failed\"" stdout)"
    assert_grep "a file of that name exists" stdout
    ! grep -q "duplicate path" stdout
    assert_eq 49 "$(jq .exported_count out/export.json)"
'

save_test 'a saturated filter with --resume keeps what the interrupted run finished' '
    export SX_BLOOM_BYTES=8
    feed_start -o out
    texts 40 >&3
    wait_for out/a/30.txt
    kill -KILL $pid; wait $pid || true; exec 3>&-; rm feed
    ino=$(stat -c %i out/a/2.txt)
    { texts 60; echo "{\"sx\":\"file\",\"path\":\"a/3.txt\",\"text\":\"dup\",\"item\":99}"; echo "{\"sx\":\"end\",\"count\":61}"; } |
        sx-save --resume -o out >stdout
    assert_eq 60 "$(ls out/a | wc -l)"
    assert_eq 3 "$(cat out/a/3.txt)"
    assert_eq 1 "$(jq -r "select(.sx==\"log\" and .status==\"failed\") | .error" stdout | grep -c "^duplicate path")"
    check_manifest out --committed
'

# a large export, killed: --rollback removes every file, with the filter as
# it is and saturated (every path then a candidate, settled by reading the
# manifest forward)
for bytes in "" 8; do
save_test "rollback of a large export after SIGKILL removes every file${bytes:+ (filter of $bytes bytes)}" "
    ${bytes:+export SX_BLOOM_BYTES=$bytes}
    mkdir keep && echo mine >keep/file
    feed_start --no-sync -o out
    texts 12000 | sed 's|\"a/|\"d\$((RANDOM % 7))/|' >&3
    wait_for out/.sx-manifest.ndjson
    while [ \"\$(grep -c '\"op\":\"done\"' out/.sx-manifest.ndjson)\" -lt 11000 ]; do sleep 0.1; done
    kill -KILL \$pid; wait \$pid || true; exec 3>&-; rm feed
    test \"\$(find out -type f | wc -l)\" -gt 11000
    sx-save --rollback out 2>err
    assert_grep 'files and directories removed' err
    test ! -e out
    assert_eq mine \"\$(cat keep/file)\"
"
done

save_test 'a rollback of a cut stream removes every file, the filter saturated' '
    export SX_BLOOM_BYTES=8
    texts 3000 >in
    expect_code 1 sx-save -o out <in >/dev/null 2>err
    assert_grep "cut short" err
    test ! -e out || { echo "left:"; find out | head; cat err; false; }
'

# A file that was dropped (its item failed) and that someone else then put
# at the same path is not the export's: the rollback leaves it, whether the
# filter sees the drop (no false positive possible) or is saturated.
for bytes in "" 8; do
save_test "--rollback leaves a file put where a dropped file was${bytes:+ (filter of $bytes bytes)}" "
    ${bytes:+export SX_BLOOM_BYTES=$bytes}
    { texts 20
      echo '{\"sx\":\"file\",\"path\":\"j/1.json\",\"text\":\"{}\",\"item\":500}'
      echo \"{\\\"sx\\\":\\\"file\\\",\\\"path\\\":\\\"img/1.jpg\\\",\\\"src\\\":\\\"\$PWD/missing.jpg\\\",\\\"item\\\":500}\"
      texts 40 | tail -n 20
      echo '{\"sx\":\"end\",\"count\":41}'; } >in
    sx-save --allow-src \"\$PWD\" -o out <in >/dev/null
    test ! -e out/j/1.json
    grep -q '\"op\":\"drop\",\"path\":\"j/1.json\"' out/.sx-manifest.ndjson
    echo user >out/j/1.json
    sx-save --rollback out
    assert_eq user \"\$(cat out/j/1.json)\"
    test ! -e out/a && test ! -e out/export.json && test ! -e out/.sx-manifest.ndjson
"
done

# --resume reads the earlier runs' records back from a table sorted on disk:
# its memory does not grow with them. (Under ASan the quarantine of freed
# memory grows with the work done, so the bound is checked on the plain build.)
save_test '--resume holds nothing per file of the earlier run: the same peak after 2,000 files and 60,000 (within the 2 MiB sort)' '
    for n in 2000 60000; do
        { echo "{\"sx\":\"meta\",\"total\":$n}"; texts $n; echo "{\"sx\":\"end\",\"count\":$n}"; } >in$n
        sx-save --no-sync -o out$n <in$n >/dev/null
        sed -i "\$d" out$n/.sx-manifest.ndjson     # the commit record: a crash just before it
        ino=$(stat -c %i out$n/a/$n.txt)
        /usr/bin/time -f %M -o rss$n sx-save --no-sync --resume -o out$n <in$n >stdout$n
        assert_eq "$n 0" "$(jq -r "\"\(.exported_count) \(.failed_count)\"" out$n/export.json)"
        assert_eq "$ino" "$(stat -c %i out$n/a/$n.txt)"   # kept, not written again
        check_manifest out$n --committed
    done
    small=$(tail -1 rss2000) big=$(tail -1 rss60000)
    echo "peak: $small KiB after 2,000 files, $big KiB after 60,000"
    case $SX_BUILD in */san) ;; *) test "$big" -lt $((small + 8192)) ;; esac
'

save_test 'resumed twice: what each run finished is kept (the same inode), the rest written' '
    feed_start -o out
    texts 30 >&3
    wait_for out/a/20.txt
    kill -KILL $pid; wait $pid || true; exec 3>&-; rm feed
    ino2=$(stat -c %i out/a/2.txt)
    feed_start --resume -o out
    texts 45 >&3
    wait_for out/a/40.txt
    kill -KILL $pid; wait $pid || true; exec 3>&-; rm feed
    ino40=$(stat -c %i out/a/40.txt)
    test "$(grep -c "\"op\":\"resume\"" out/.sx-manifest.ndjson)" = 1
    { texts 50; echo "{\"sx\":\"end\",\"count\":50}"; } | sx-save --resume -o out >stdout
    assert_eq 50 "$(ls out/a | wc -l)"
    assert_eq "$ino2 2" "$(stat -c %i out/a/2.txt) $(cat out/a/2.txt)"
    assert_eq "$ino40 40" "$(stat -c %i out/a/40.txt) $(cat out/a/40.txt)"
    assert_eq 50 "$(cat out/a/50.txt)"
    assert_eq 50 "$(jq .exported_count out/export.json)"
    check_manifest out --committed
    sx-save --rollback out
    test ! -e out
'

save_test 'items past the window are counted once each' '
    { echo "{\"sx\":\"meta\",\"total\":20000}"; texts 20000; echo "{\"sx\":\"end\"}"; } >in
    sx-save --no-sync -o out <in >/dev/null
    test "$(jq -c "[.exported_count,.failed_count,.total_count]" out/export.json)" = "[20000,0,20000]"
'

test_done
