#!/usr/bin/env bash
# sx-save --add and --add-json: extra files (the SDK's additional_file_saving)
# under the export's manifest.
. "$(dirname "$0")/../lib/test-lib.sh"

S=$TEST_DATA/sample.ndjson
coco() { sx-convert-coco --images none "$S"; }

test_expect_success '--add places a local file in the export, recorded in the manifest' '
    printf "notes\n" > notes.txt &&
    coco | sx-save -o out --add docs/NOTES.txt="$PWD/notes.txt" > log &&
    cmp out/docs/NOTES.txt notes.txt &&
    grep -q "\"path\":\"docs/NOTES.txt\"" out/.sx-manifest.ndjson &&
    sx-save --rollback out 2> /dev/null &&
    test ! -e out && test -f notes.txt
'

test_expect_success '--add-json writes a value computed from the result and the meta' '
    coco | SX_NAME="My Export" sx-save -o out \
        --add-json "metadata.json={export_name: \$ENV.SX_NAME, total_items: .total_count, exported: .exported_count, format_version: \"1.0\", target: .meta.target}" > log &&
    assert_eq "{\"export_name\":\"My Export\",\"total_items\":6,\"exported\":6,\"format_version\":\"1.0\",\"target\":\"sample\"}" "$(jq -c . out/metadata.json)" &&
    assert_eq "    \"total_items\": 6," "$(sed -n 3p out/metadata.json)" &&
    grep -q "\"path\":\"metadata.json\"" out/.sx-manifest.ndjson
'

test_expect_success 'a cut stream rolls back the extras with everything else' '
    printf "x\n" > x.txt &&
    coco | head -3 | expect_code 1 sx-save -o out --add x.txt="$PWD/x.txt" --add-json "m.json={}" > /dev/null 2> err &&
    test ! -e out &&
    assert_grep "rolled back" err
'

test_expect_success '--add of a missing file or a directory is a usage error; nothing is written' '
    coco | expect_code 2 sx-save -o out --add a.txt=/no/such/file 2> err &&
    assert_grep "^sx-save: --add a.txt: cannot read ./no/such/file.: No such file" err &&
    coco | expect_code 2 sx-save -o out --add a.txt=/tmp 2> err2 &&
    assert_grep "is not a regular file" err2 &&
    test ! -e out
'

test_expect_success 'a hostile or doubled --add path, or a bad argument, is a usage error' '
    : > f &&
    expect_code 2 sx-save -o out --add ../evil=$PWD/f < /dev/null 2> err && assert_grep "^sx-save: --add: .\.\./evil.: " err &&
    expect_code 2 sx-save -o out --add /etc/x=$PWD/f < /dev/null 2> err && assert_grep "^sx-save: --add: ./etc/x.: " err &&
    expect_code 2 sx-save -o out --add a=$PWD/f --add-json a={} < /dev/null 2> err && assert_grep "added twice" err &&
    expect_code 2 sx-save -o out --add nothing < /dev/null 2> err && assert_grep "is not PATH=FILE" err &&
    test ! -e out
'

test_expect_success 'a --add-json program that does not compile is a usage error naming it' '
    coco | expect_code 2 sx-save -o out --add-json "m.json={a:" 2> err &&
    assert_grep "^sx-save: --add-json m.json: syntax error" err &&
    test ! -e out
'

test_expect_success 'a --add-json program that fails rolls the export back' '
    coco | expect_code 1 sx-save -o out --add-json "m.json=error(\"no metadata\")" > /dev/null 2> err &&
    assert_grep "add-json m.json: no metadata; the export to .out. was rolled back" err &&
    test ! -e out
'

test_expect_success 'an extra path that the stream also wrote fails the export' '
    : > f &&
    printf "%s\n" "{\"sx\":\"file\",\"path\":\"a.txt\",\"text\":\"x\"}" "{\"sx\":\"end\",\"count\":0}" |
        expect_code 1 sx-save -o out --add a.txt="$PWD/f" > /dev/null 2> err &&
    assert_grep "also written by the stream" err &&
    test ! -e out
'

test_done
