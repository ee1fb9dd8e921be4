#!/usr/bin/env bash
# sx-merge-coco reads shards written by other machines: a bad shard is
# refused with exit 1 and no output file (not an abort, not an unreadable
# file with exit 0), and whatever it writes with exit 0 is JSON.
. "$(dirname "$0")/../lib/test-lib.sh"

R=$SX_ROOT/tests/fuzz/regress/merge

# strict_json FILE: Python's reader, UTF-8 strict
strict_json() { python3 -c 'import json, sys; json.load(open(sys.argv[1], encoding="utf-8", errors="strict"))' "$1"; }

# no_output: neither the merged file nor a temporary one is left
no_output() { test ! -e merged.json && test -z "$(ls -a | grep "merged.json.sx-")"; }

test_expect_success 'an annotation without category_id: refused with its file and number' '
    cp "$R/merge-ann-no-category.json" shard.json &&
    expect_code 1 sx-merge-coco -o merged.json shard.json 2> err &&
    assert_grep "^sx-merge-coco: .shard.json.: annotation 1 has no category_id" err &&
    no_output &&
    expect_code 1 sx-merge-coco shard.json > out 2> err &&
    assert_grep "annotation 1 has no category_id" err
'

test_expect_success 'an annotation that is not JSON after its ids: refused' '
    cp "$R/merge-annfast-garbage.txt" shard.json &&
    expect_code 1 sx-merge-coco -o merged.json shard.json 2> err &&
    assert_grep "^sx-merge-coco: .shard.json.: annotation 1 is not a JSON object" err &&
    no_output
'

test_expect_success 'bytes that are not UTF-8 in an annotation: merged as U+FFFD, the file is JSON' '
    cp "$R/merge-annfast-invalid-utf8.json" shard.json &&
    sx-merge-coco -o merged.json shard.json &&
    strict_json merged.json &&
    assert_eq "$(jq -a ".annotations[0].note" shard.json)" "$(jq -a ".annotations[0].note" merged.json)" &&
    jq -a ".annotations[0].note" merged.json | grep -q "^\"\\\\ufffd" &&
    assert_eq 1 "$(jq ".annotations[0].category_id" merged.json)"
'

test_expect_success 'an image_id key spelled with an escape is the image_id' '
    printf "%s" "{\"categories\":[{\"id\":1,\"name\":\"car\"}],\"images\":[{\"id\":5,\"file_name\":\"a.png\"}],\"annotations\":[{\"id\":1,\"image_id\":5,\"category_id\":1,\"image\\u005fid\":5}]}" > shard.json &&
    sx-merge-coco -o merged.json shard.json &&
    strict_json merged.json &&
    assert_eq "[1]" "$(jq -c "[.annotations[].image_id]" merged.json)"
'

test_expect_success 'categories that are not objects: refused' '
    echo "{\"categories\":[1],\"images\":[],\"annotations\":[]}" > shard.json &&
    expect_code 1 sx-merge-coco -o merged.json shard.json 2> err &&
    assert_grep "category 1 has no numeric id or no name" err &&
    no_output
'

test_expect_success 'shards of different exports: refused before anything is written' '
    mkdir a b &&
    awk "BEGIN{RS=\"\\n--\\n\"} NR==1" "$R/merge-marker-mismatch-leak.txt" > part1 &&
    awk "BEGIN{RS=\"\\n--\\n\"} NR==2" "$R/merge-marker-mismatch-leak.txt" > part2 &&
    sed -n "1p" part1 > a/annotations.json && sed -n "3p" part1 > a/sx-shard.json &&
    sed -n "1p" part2 > b/annotations.json && sed -n "3p" part2 > b/sx-shard.json &&
    grep -q task a/sx-shard.json && grep -q assignment b/sx-shard.json &&
    expect_code 1 sx-merge-coco -o merged.json a b 2> err &&
    assert_grep "are shards of different exports" err &&
    ! grep -q LeakSanitizer err &&
    no_output &&
    expect_code 1 sx-merge-coco --records a b > out 2> err &&
    ! grep -q "\"sx\":\"end\"" out
'

test_expect_success 'a shard marker that is not JSON: refused' '
    mkdir a b &&
    echo "{\"categories\":[],\"images\":[],\"annotations\":[]}" | tee a/annotations.json > b/annotations.json &&
    echo "{\"format\":\"coco\",\"shard\":\"1/2\"}" > a/sx-shard.json &&
    echo "{\"format\":\"coco\",\"shard\":\"2/2\"" > b/sx-shard.json &&
    expect_code 1 sx-merge-coco -o merged.json a b 2> err &&
    assert_grep "b/sx-shard.json.: not a shard marker" err &&
    no_output
'

test_done
