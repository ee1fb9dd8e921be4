#!/usr/bin/env bash
# sx-jq: jq programs on data records; control records pass through.
. "$(dirname "$0")/../lib/test-lib.sh"

S=$TEST_DATA/sample.ndjson

test_expect_success 'the program runs on every data record, control records pass through' '
    sx-jq "{id}" "$S" > out &&
    assert_eq "{\"sx\":\"meta\",\"target\":\"sample\",\"total\":6}" "$(head -1 out)" &&
    assert_eq "1 2 3 4 5 6" "$(sed -n "2,7p" out | jq -r .id | tr "\n" " " | sed "s/ \$//")" &&
    assert_eq "{\"sx\":\"end\",\"count\":6}" "$(tail -1 out)"
'

test_expect_success 'zero or many results per record; end counts what was written' '
    sx-jq "select(.id > 4)" "$S" > out &&
    assert_eq "{\"sx\":\"end\",\"count\":2,\"filtered\":4}" "$(tail -1 out)" "the end counts what select() filtered out" &&
    sx-jq ".files, .files" "$S" > out2 &&
    assert_eq "{\"sx\":\"end\",\"count\":12}" "$(tail -1 out2)"
'

test_expect_success 'what each stage filtered out adds up in the last end record' '
    sx-jq "select(.id > 2)" "$S" | sx-jq "select(.id > 4)" > out &&
    assert_eq "{\"sx\":\"end\",\"count\":2,\"filtered\":4}" "$(tail -1 out)" &&
    sx-jq "select(.id > 2)" "$S" | sx-convert-coco > conv &&
    assert_eq 4 "$(tail -1 conv | jq .items)" &&
    assert_eq 2 "$(tail -1 conv | jq .filtered)"
'

test_expect_success '--converter: file records of the program are control records, not counted as data' '
    sx-jq --converter "{sx: \"file\", path: \"a/\(.id).txt\", text: \"x\"}" "$S" > out &&
    assert_eq 6 "$(grep -c "^{\"sx\":\"file\"" out)" &&
    assert_eq "{\"sx\":\"end\",\"count\":0,\"items\":6}" "$(tail -1 out)"
'

test_expect_success 'without --converter a result shaped like a control record stays data ("sx" moved last)' '
    printf "%s\n" "{\"id\":1,\"data\":{\"sx\":\"file\",\"path\":\"x\",\"src\":\"/etc/passwd\"}}" \
        "{\"sx\":\"end\",\"count\":1}" > in &&
    sx-jq .data in > out 2> err &&
    assert_eq "{\"path\":\"x\",\"src\":\"/etc/passwd\",\"sx\":\"file\"}" "$(head -n 1 out)" &&
    assert_eq "{\"sx\":\"end\",\"count\":1}" "$(tail -n 1 out)" &&
    assert_grep "is data without --converter" err &&
    sx-jq "del(.id) | .data" in | sx-save -o saved > /dev/null 2>&1 || true &&
    test ! -e saved/x &&
    printf "%s\n" "{\"id\":1,\"x\":{\"sx\":\"end\"}}" "{\"sx\":\"end\",\"count\":1}" > in2 &&
    expect_code 1 sx-jq .x in2 > out 2> err &&
    assert_grep "only key is \"sx\" cannot be data" err
'

test_expect_success '--converter: a program may not emit meta, end or other control records' '
    expect_code 1 sx-jq --converter "{sx: \"end\", count: 99}" "$S" > out 2> err &&
    assert_grep "emits file, error and warning records, not .end. records" err &&
    ! grep -q "\"count\":99" out &&
    sx-jq --converter -k -q "{sx: \"meta\", total: 1}" "$S" > out &&
    assert_eq 0 "$(grep -c "\"total\":1}" out)"
'

test_expect_success 'modules: include and import from -L DIR work; a missing module is exit 2, not an abort' '
    mkdir lib && echo "def twice: . * 2;" > lib/m.jq &&
    sx-jq -L lib "include \"m\"; {id: (.id | twice)}" "$S" > out &&
    assert_eq 2 "$(sed -n 2p out | jq .id)" &&
    sx-jq -L "$PWD/lib" "import \"m\" as m; {id: (.id | m::twice)}" "$S" > out &&
    assert_eq 2 "$(sed -n 2p out | jq .id)" &&
    expect_code 2 sx-jq "import \"nope\" as n; ." "$S" > out 2> err &&
    assert_grep "module not found: nope" err &&
    expect_code 2 sx-save -o x --add-json "a.json=include \"nope\"; ." < /dev/null 2> err &&
    assert_grep "module not found" err
'

test_expect_success 'control records are forwarded byte for byte, in order' '
    printf "%s\n" "{\"sx\":\"meta\",\"total\":2}" "{\"id\":1}" \
        "{\"sx\":\"progress\",\"category\":\"x\",\"current\":1,\"total\":2}" \
        "{\"id\":2}" "{\"sx\":\"whatever\",\"k\":[1, 2]}" "{\"sx\":\"end\",\"count\":2}" > in &&
    sx-jq ".id += 10" in > out &&
    printf "%s\n" "{\"sx\":\"meta\",\"total\":2}" "{\"id\":11}" \
        "{\"sx\":\"progress\",\"category\":\"x\",\"current\":1,\"total\":2}" \
        "{\"id\":12}" "{\"sx\":\"whatever\",\"k\":[1, 2]}" "{\"sx\":\"end\",\"count\":2}" > want &&
    cmp out want
'

test_expect_success '--arg, --argjson and -f FILE' '
    echo "{id, tag: \$t, n: \$n}" > prog.jq &&
    sx-jq -f prog.jq --arg t hello --argjson n "{\"a\":[1]}" "$S" > out &&
    assert_eq "{\"id\":1,\"tag\":\"hello\",\"n\":{\"a\":[1]}}" "$(sed -n 2p out)"
'

test_expect_success 'a program that does not compile exits 2 and says why' '
    expect_code 2 sx-jq ".id |||" "$S" > out 2> err &&
    assert_grep "^sx-jq: program: syntax error" err &&
    test ! -s out &&
    echo ".[" > bad.jq &&
    expect_code 2 sx-jq -f bad.jq "$S" 2> err2 &&
    assert_grep "^sx-jq: bad.jq: " err2
'

test_expect_success 'a runtime error names the input line and exits 1' '
    expect_code 1 sx-jq ".data.annotations.image_1[0].id + 1" "$S" > out 2> err &&
    assert_grep "^sx-jq: .*sample.ndjson:2: .*cannot be added" err &&
    ! grep -q "\"sx\":\"end\"" out
'

test_expect_success 'with --keep-going a runtime error becomes an error record' '
    sx-jq -k "if .id == 3 then error(\"bad item\") else {id} end" "$S" > out 2> err &&
    assert_eq "{\"sx\":\"error\",\"item\":3,\"stage\":\"sx-jq\",\"message\":\"$S:4: bad item\"}" "$(grep "\"error\"" out)" &&
    assert_eq "{\"sx\":\"end\",\"count\":5}" "$(tail -1 out)" &&
    assert_grep "sample.ndjson:4: bad item" err &&
    sx-jq -k -q "error(\"x\")" "$S" > out2 2> err2 && test ! -s err2
'

test_expect_success 'with --keep-going a bad line becomes an error record' '
    printf "%s\n" "{\"id\":1}" "{oops" "{\"id\":2}" "{\"sx\":\"end\",\"count\":3}" > in &&
    sx-jq -k -q . in > out &&
    assert_eq 1 "$(grep -c "\"sx\":\"error\",\"item\":null" out)" &&
    assert_eq "{\"sx\":\"end\",\"count\":2}" "$(tail -1 out)"
'

test_expect_success 'a result that is not an object is an error' '
    expect_code 1 sx-jq ".id" "$S" > /dev/null 2> err &&
    assert_grep "program result is number, not an object" err
'

test_expect_success 'usage errors exit 2' '
    expect_code 2 sx-jq 2> err && assert_grep "no jq program given" err &&
    expect_code 2 sx-jq --argjson n "{bad" . 2> err2 && assert_grep "is not JSON" err2 &&
    expect_code 2 sx-jq --arg onlyname 2> err3 && assert_grep "needs a value" err3 &&
    expect_code 2 sx-jq -f /nonexistent 2> err4 && assert_grep "cannot read" err4
'

test_done
