#!/usr/bin/env bash
# sx-merge-coco keeps its per-image state on disk (sorted runs and tables in
# $TMPDIR), not in memory: its output must stay what the in-memory merge
# wrote, byte for byte. The oracle is that merge itself, built here from the
# last commit that had it.
. "$(dirname "$0")/../lib/test-lib.sh"

GEN=$SX_ROOT/tests/data/merge-shards.py
ORACLE_COMMIT=2e687ee

# builds the in-memory sx-merge-coco of $ORACLE_COMMIT as ./merge-old,
# against this build's libsx (plain or with sanitizers, as it was built)
build_oracle() {
    git -C "$SX_ROOT" show "$ORACLE_COMMIT:lib/sx_merge.c" > old_merge.c &&
    git -C "$SX_ROOT" show "$ORACLE_COMMIT:bin/sx-merge-coco.c" > old_cli.c &&
    local libs="$SX_BUILD/lib/libsx.a -lcurl -ljq -lonig -lzstd -lm -pthread"
    cc -D_GNU_SOURCE -I"$SX_ROOT/lib" -O1 -std=c11 -w old_cli.c old_merge.c $libs -o merge-old 2> /dev/null ||
        cc -D_GNU_SOURCE -I"$SX_ROOT/lib" -O1 -std=c11 -w -fsanitize=address,undefined old_cli.c old_merge.c $libs -o merge-old
}

# same_as_oracle ARGS...: both merges exit alike; on success the same file
same_as_oracle() {
    ../merge-old -o old.json "$@" 2> old.err; local a=$?
    sx-merge-coco -o new.json "$@" 2> new.err; local b=$?
    if [ $a != $b ]; then echo "exit $a before, $b now" >&2; cat old.err new.err >&2; return 1; fi
    if [ $a = 0 ]; then cmp old.json new.json; else cmp old.err new.err; fi
}

test_expect_success 'the oracle builds' '
    build_oracle && mv merge-old "$TRASH_ROOT/merge-old"
'

test_expect_success 'shards with duplicates, shared and look-alike names, odd sx_items: the same bytes' '
    for args in "1 3000 3" "2 500 1" "3 2000 4" "5 100 8" "7 40 2" "9 6000 2 2000"; do
        rm -rf s && python3 "$GEN" s $args && same_as_oracle s/s* || { echo "differs: $args" >&2; return 1; }
    done &&
    sx-merge-coco -v -o /dev/null s/s* 2> err &&
    assert_grep "duplicates dropped, [1-9][0-9]* renamed" err
'

test_expect_success 'a made-up name that a dropped duplicate owned is free' '
    # a_7.jpg is owned by an image dropped as a duplicate of b.jpg: the
    # image renamed from a.jpg (tag "7") takes a_7.jpg, not a_7_1.jpg
    mkdir p q &&
    echo "{\"categories\":[],\"images\":[{\"id\":1,\"file_name\":\"b.jpg\",\"sx_item\":7}],\"annotations\":[]}" > p/annotations.json &&
    echo "{\"categories\":[],\"images\":[{\"id\":1,\"file_name\":\"a_7.jpg\",\"sx_item\":7},{\"id\":2,\"file_name\":\"a.jpg\",\"sx_item\":\"7\"},{\"id\":3,\"file_name\":\"a.jpg\",\"sx_item\":\"0\"}],\"annotations\":[]}" > q/annotations.json &&
    same_as_oracle p q &&
    assert_eq "[\"b.jpg\",\"a_7.jpg\",\"a.jpg\"]" "$(jq -c "[.images[].file_name]" new.json)"
'

test_expect_success 'shards without images: the same bytes' '
    mkdir p q &&
    echo "{\"categories\":[{\"id\":1,\"name\":\"car\"}],\"images\":[],\"annotations\":[]}" > p/annotations.json &&
    cp p/annotations.json q/annotations.json &&
    same_as_oracle p q && assert_eq 0 "$(jq ".images | length" new.json)"
'

test_expect_success 'more images than the sorters hold in memory, a name 150000 images share: the same bytes' '
    python3 "$GEN" s 8 300000 3 150000 &&
    same_as_oracle s/s1 s/s2 s/s3 &&
    assert_eq 300000 "$(jq "[.images[]] | length" s/s*/annotations.json | paste -sd+ | bc)"
'

test_expect_success '--records: the same records and the same merged file' '
    python3 "$GEN" s 4 4000 3 &&
    ../merge-old --records s/s1 s/s2 s/s3 > old.rec &&
    sx-merge-coco --records s/s1 s/s2 s/s3 > new.rec &&
    grep -v "\"path\":\"annotations.json\"" old.rec > old.files &&
    grep -v "\"path\":\"annotations.json\"" new.rec > new.files && cmp old.files new.files &&
    cmp "$(grep "\"path\":\"annotations.json\"" old.rec | jq -r .src)" \
        "$(grep "\"path\":\"annotations.json\"" new.rec | jq -r .src)"
'

test_expect_success 'an image id twice in a shard, an image without id: the same refusal, nothing written' '
    python3 "$GEN" s 5 600 2 &&
    python3 -c "
import json, sys
p = \"s/s2/annotations.json\"; d = json.load(open(p))
d[\"images\"][40][\"id\"] = d[\"images\"][30][\"id\"]
json.dump(d, open(p, \"w\"))
p = \"s/s1/annotations.json\"; d = json.load(open(p))
del d[\"images\"][250][\"id\"]
json.dump(d, open(p, \"w\"))" &&
    same_as_oracle s/s2 s/s1 && assert_grep "appears twice" new.err && test ! -e new.json &&
    same_as_oracle s/s1 s/s2 && assert_grep "an image without id" new.err && test ! -e new.json
'

test_expect_success 'the temporary files are gone after a merge, and after a refusal' '
    python3 "$GEN" s 6 20000 2 && mkdir tmp &&
    TMPDIR=$PWD/tmp sx-merge-coco -o m.json s/s1 s/s2 && test -z "$(ls -A tmp)" &&
    echo "{\"images\":[{\"id\":1,\"file_name\":\"a\"},{\"id\":1,\"file_name\":\"b\"}],\"annotations\":[],\"categories\":[]}" > bad.json &&
    expect_code 1 env TMPDIR=$PWD/tmp sx-merge-coco -o m2.json bad.json && test -z "$(ls -A tmp)"
'

test_done
