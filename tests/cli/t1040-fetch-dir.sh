#!/usr/bin/env bash
# sx-fetch --dir: a DM dataset on disk read as the same item stream.
. "$(dirname "$0")/../lib/test-lib.sh"
# a hung sx-fetch fails its test instead of the whole run
sx-fetch() { timeout 120 "$SX_BUILD/bin/sx-fetch" "$@"; }

SAMPLE=$TEST_DATA/sample

test_expect_success '--dir with splits: train then valid, sorted names, split and local paths' '
    sx-fetch --dir "$SAMPLE" > out &&
    assert_eq "{\"sx\":\"meta\",\"target\":\"dir\",\"total\":6}" "$(head -1 out | jq -c "{sx,target,total}")" meta &&
    assert_eq "empty_004,street_001,street_002,street_003,street_005,street_006" \
        "$(grep -v "^{\"sx\"" out | jq -r .id | paste -sd,)" ids &&
    assert_eq "train,train,train,train,valid,valid" "$(grep -v "^{\"sx\"" out | jq -r .split | paste -sd,)" splits &&
    sed -n 3p out | jq -e ".files.path == \"$(cd "$SAMPLE" && pwd -P)/train/original_files/street_001.png\" and .files.file_name_original == \"street_001.png\"" &&
    sed -n 3p out | jq -e ".files.width == 64 and .files.height == 48" &&
    for p in $(grep -v "^{\"sx\"" out | jq -r .files.path); do test -f "$p" || exit 1; done &&
    assert_eq "{\"sx\":\"end\",\"count\":6}" "$(tail -1 out)" end
'

test_expect_success '--dir: data is the JSON file as it is on disk' '
    sx-fetch --dir "$SAMPLE" > out &&
    sed -n 3p out | jq -c .data > got && jq -c . "$SAMPLE/train/json/street_001.json" > want && cmp got want
'

test_expect_success '--dir without splits, with origin_files/ (the SDK exporter layout)' '
    mkdir -p ds/json ds/origin_files &&
    echo "{\"b\":2}" > ds/json/b.json && echo "{\"a\":1}" > ds/json/a.json && echo "[]" > ds/json/c.json &&
    echo x > ds/origin_files/a.jpg && echo y > ds/origin_files/b.png && echo z > ds/origin_files/ab.jpg &&
    sx-fetch --dir ds > out &&
    assert_eq "a,b,c" "$(grep -v "^{\"sx\"" out | jq -r .id | paste -sd,)" ids &&
    sed -n 2p out | jq -e "(has(\"split\") | not) and .files.file_name_original == \"a.jpg\" and .data.a == 1" &&
    sed -n 4p out | jq -e ".files == {}" &&
    tail -1 out | jq -e ".count == 3"
'

test_expect_success '--dir --limit and -o FILE.zst' '
    sx-fetch --dir "$SAMPLE" --limit 2 -o out.zst && zstd -dcq out.zst > out &&
    head -1 out | jq -e ".total == 2" && tail -1 out | jq -e ".count == 2" && assert_eq 4 "$(wc -l < out)" lines
'

test_expect_success 'a directory that is not a DM dataset: exit 1 with a clear message' '
    mkdir -p notds/images &&
    expect_code 1 sx-fetch --dir notds > out 2> err && assert_grep "is not a DM dataset" err && test ! -s out &&
    expect_code 1 sx-fetch --dir nosuch > out 2> err && assert_grep "nosuch" err
'

test_expect_success 'a JSON file that does not parse: exit 1 naming it, no end; --keep-going makes it an error record' '
    mkdir -p bad/json && echo "{\"ok\":1}" > bad/json/a.json && echo "{oops" > bad/json/b.json &&
    echo "{\"ok\":3}" > bad/json/c.json &&
    expect_code 1 sx-fetch --dir bad > out 2> err && assert_grep "b.json" err &&
    ! grep -q "\"sx\":\"end\"" out &&
    sx-fetch --dir bad --keep-going > out &&
    assert_eq "a,c" "$(grep -v "^{\"sx\"" out | jq -r .id | paste -sd,)" ids &&
    grep "\"sx\":\"error\"" out | jq -e ".message | test(\"b.json\")" && tail -1 out | jq -e ".count == 2"
'

test_expect_success '--dir refuses backend options' '
    expect_code 2 sx-fetch --dir "$SAMPLE" -f project=1 2> err && assert_grep "dir" err
'

test_done
