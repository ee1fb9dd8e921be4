#!/usr/bin/env bash
# A manifest read back after a crash is untrusted bytes: --rollback and
# --resume refuse a torn or tampered one with a message naming the manifest
# and the line, touch nothing, and never reach outside DIR.
. "$(dirname "$0")/../lib/test-lib.sh"
. "$TEST_DATA/save/lib.sh"

# crashed: an export to ./out killed by SIGKILL after 3 files, with ./outside
# beside it (a directory the manifest must never reach)
crashed() {
    mkdir outside && echo keep >outside/victim
    feed_start -o out
    recs 4 >&3
    wait_for out/json/3.json
    for i in $(seq 1 200); do grep -q "\"op\":\"done\"" out/.sx-manifest.ndjson && break; sleep 0.05; done
    kill -KILL $pid; wait $pid || true; exec 3>&-; rm feed
    grep -q "\"op\":\"done\"" out/.sx-manifest.ndjson || { echo "no done record" >&2; return 1; }
}

# snapshot: every path under out/ and outside/ with its inode, size and sum
snapshot() {
    find out outside -printf "%p %i %s\n" | sort
    cat out/.sx-manifest.ndjson outside/* 2>/dev/null | cksum
}

# tamper S_COMMAND: edits the first done record of the manifest with sed's
# s command; prints its line
tamper() {
    local n
    n=$(grep -n -m1 "\"op\":\"done\"" out/.sx-manifest.ndjson | cut -d: -f1)
    sed -i "$n$1" out/.sx-manifest.ndjson
    echo "$n"
}

export -f crashed snapshot tamper

for case in 'no size::s|,"size":[0-9]*||' 'size 1e300::s|"size":[0-9]*|"size":1e300|' \
            'size as a string::s|"size":\([0-9]*\)|"size":"\1"|' 'a negative size::s|"size":[0-9]*|"size":-1|' \
            'no sha256::s|,"sha256":"[0-9a-f]*"||'; do
    desc=${case%%::*} edit=${case#*::}
    save_test "a done record with $desc: --rollback and --resume refuse it at its line and touch nothing" '
        crashed
        n=$(tamper '"$(printf %q "$edit")"')
        snapshot >before
        expect_code 1 sx-save --rollback out 2>err
        assert_grep "^sx-save: /.*/out/.sx-manifest.ndjson:$n: a \"done\" record without" err
        assert_grep "torn or was tampered with; nothing was removed" err
        snapshot >after
        cmp before after
        { recs 4; echo "{\"sx\":\"end\",\"count\":4}"; } | expect_code 1 sx-save --resume -o out >/dev/null 2>err
        assert_grep "^sx-save: /.*/out/.sx-manifest.ndjson:$n: a \"done\" record without" err
        snapshot >after
        cmp before after
    '
done

for f in manifest-done-nosize manifest-done-hugesize manifest-done-strsize; do
    save_test "the fuzzing finding $f is refused, not an abort" '
        mkdir out && echo data >out/a
        cp "$SX_ROOT/tests/fuzz/regress/manifest/'$f'.ndjson" out/.sx-manifest.ndjson
        expect_code 1 sx-save --rollback out 2>err
        assert_grep "out/.sx-manifest.ndjson:1: the first record is not \"begin\"" err
        expect_code 1 sx-save --resume -o out </dev/null 2>err
        assert_grep "out/.sx-manifest.ndjson:1: the first record is not \"begin\"" err
        assert_eq data "$(cat out/a)"
    '
done

save_test 'a path through a link out of DIR: --rollback removes nothing outside' '
    mkdir -p out outside && echo keep >outside/victim && echo keep >outside/.victim.sx-000001
    ln -s ../outside out/link
    printf "%s\n" "{\"op\":\"begin\",\"version\":1,\"created_root\":true}" \
        "{\"op\":\"file\",\"path\":\"link/victim\",\"tmp\":\"link/.victim.sx-000001\"}" \
        "{\"op\":\"done\",\"path\":\"link/victim\",\"size\":5,\"sha256\":\"$(sha256sum outside/victim | cut -c1-64)\"}" \
        >out/.sx-manifest.ndjson
    sx-save --rollback out
    assert_eq keep "$(cat outside/victim)"
    assert_eq keep "$(cat outside/.victim.sx-000001)"
    test -L out/link
'

save_test 'a path that leaves DIR or a tmp naming another file is refused at its line' '
    mkdir -p out/json outside && echo keep >outside/victim && echo mine >out/json/mine.txt
    begin="{\"op\":\"begin\",\"version\":1,\"created_root\":false}"
    printf "%s\n" "$begin" "{\"op\":\"dir\",\"path\":\"json\"}" "{\"op\":\"file\",\"path\":\"../outside/victim\",\"tmp\":\"../outside/.victim.sx-000001\"}" \
        >out/.sx-manifest.ndjson
    expect_code 1 sx-save --rollback out 2>err
    assert_grep "out/.sx-manifest.ndjson:3: a \"file\" record without an acceptable \"path\"" err
    printf "%s\n" "$begin" "{\"op\":\"file\",\"path\":\"json/1.json\",\"tmp\":\"json/mine.txt\"}" >out/.sx-manifest.ndjson
    expect_code 1 sx-save --rollback out 2>err
    assert_grep "out/.sx-manifest.ndjson:2: a \"file\" record whose \"tmp\" is not a temporary name of its path" err
    assert_eq mine "$(cat out/json/mine.txt)"
    assert_eq keep "$(cat outside/victim)"
'

save_test 'a record a crash cut is dropped by --resume: the manifest reads back whole' '
    mkdir outside
    crashed
    printf "{\"op\":\"fi" >>out/.sx-manifest.ndjson
    { recs 4; echo "{\"sx\":\"end\",\"count\":4}"; } | sx-save --resume -o out >/dev/null
    check_manifest out --committed
    ! grep -q "^{\"op\":\"fi\(\$\|{\)" out/.sx-manifest.ndjson
    sx-save --rollback out
    test ! -e out
'

save_test 'a begin record a crash cut: --resume writes it again, and --rollback reads the manifest' '
    mkdir out && printf "{\"op\":\"beg" >out/.sx-manifest.ndjson
    { recs 2; echo "{\"sx\":\"end\",\"count\":2}"; } | sx-save --resume -o out >/dev/null
    check_manifest out --committed
    assert_eq "{\"op\":\"begin\",\"version\":1,\"created_root\":false}" "$(head -1 out/.sx-manifest.ndjson)"
    sx-save --rollback out
    test -d out && test -z "$(ls -A out)"
'

test_done
