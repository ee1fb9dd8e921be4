#!/usr/bin/env bash
# sx-merge-coco and sx-merge-yolo: shards of one export into one.
. "$(dirname "$0")/../lib/test-lib.sh"
. "$(dirname "$0")/../lib/fake-backend.sh"

D=$TEST_DATA/pipelines
fake_backend_start --items 130

# COCO normalised by item and category name, ids dropped: what must not
# change between a sharded and a single-machine export.
norm='(.images | map({key: (.id | tostring), value: .sx_item}) | from_entries) as $im
    | (.categories | map({key: (.id | tostring), value: .name}) | from_entries) as $c
    | [.annotations[] | .image_id = $im[.image_id | tostring] | .category_id = $c[.category_id | tostring] | del(.id)]
    | sort_by(.image_id)'

test_expect_success 'sx-merge-coco --help, --version, usage errors' '
    sx-merge-coco --help > out && assert_grep "^usage: sx-merge-coco \[options\] SHARD" out &&
    assert_grep "^ *--records" out && assert_grep "^examples:" out &&
    assert_eq "sx-merge-coco (sx) $(sx-jq --version | sed "s/.* //")" "$(sx-merge-coco --version)" &&
    expect_code 2 sx-merge-coco 2> err && assert_grep "no shards given" err &&
    expect_code 2 sx-merge-coco --nope x 2> err && assert_grep "unknown option" err
'

test_expect_success 'sx-merge-coco --records to a reader that is gone: the merged file is removed' '
    export TMPDIR=$PWD/tmp; mkdir tmp
    sx-merge-coco --records "$D/a" "$D/b" | (exec 0<&-; sleep 0.3)
    test -z "$(ls tmp)"
'

test_expect_success 'ids renumbered, categories unified by name, duplicates dropped, names told apart' '
    sx-merge-coco -o merged.json "$D/a" "$D/b/annotations.json" &&
    jq -S -c "del(.info, .licenses)" merged.json > got &&
    jq -S -c . "$D/expected.json" > want && cmp want got &&
    assert_eq "\"shard a\"" "$(jq .info.description merged.json)"
'

test_expect_success 'shards that agree on category ids keep them' '
    sx-merge-coco "$D/a" "$D/a/annotations.json" --partial > merged.json &&
    assert_eq "[[1,\"car\"],[2,\"person\"]]" "$(jq -c "[.categories[] | [.id, .name]]" merged.json)" &&
    assert_eq 2 "$(jq ".images | length" merged.json)"
'

test_expect_success 'a malformed shard: exit 1, nothing written' '
    head -c 300 "$D/a/annotations.json" > cut.json &&
    expect_code 1 sx-merge-coco -o merged.json "$D/a" cut.json 2> err &&
    assert_grep "^sx-merge-coco: .cut.json.: not a COCO file" err &&
    test ! -e merged.json && test -z "$(ls | grep sx-)" &&
    echo "{\"images\": []}" > noann.json &&
    expect_code 1 sx-merge-coco -o merged.json noann.json 2> err &&
    test ! -e merged.json
'

test_expect_success 'keypoint categories that differ are refused' '
    jq ".categories += [{\"id\": 3, \"name\": \"kp\", \"keypoints\": [\"a\", \"b\"]}]" "$D/a/annotations.json" > k1.json &&
    jq ".categories += [{\"id\": 3, \"name\": \"kp\", \"keypoints\": [\"b\", \"a\"]}]" "$D/a/annotations.json" > k2.json &&
    expect_code 1 sx-merge-coco -o merged.json k1.json k2.json 2> err &&
    assert_grep "category .kp. has other keypoints" err && test ! -e merged.json
'

test_expect_success 'COCO shards of the fake backend merge into the single-machine export' '
    for i in 1 2 3; do
        export-coco -q --no-sync -o s$i -f project=5 --shard $i/3 --page-size 20 > /dev/null || exit 1
    done &&
    export-coco -q --no-sync -o single -f project=5 --page-size 20 > /dev/null &&
    sx-merge-coco --records s1 s2 s3 | sx-save --link --no-sync -o merged > /dev/null &&
    jq -c "$norm" merged/annotations.json > got && jq -c "$norm" single/annotations.json > want && cmp want got &&
    jq -c .categories merged/annotations.json > got && jq -c .categories single/annotations.json > want && cmp want got &&
    jq -r ".images[] | \"\(.sx_item) \(.file_name)\"" merged/annotations.json | sort > got &&
    jq -r ".images[] | \"\(.sx_item) \(.file_name)\"" single/annotations.json | sort > want && cmp want got &&
    (cd merged/images && ls) > got && (cd single/images && ls) > want && cmp want got &&
    cmp merged/images/img_45.jpg single/images/img_45.jpg &&
    test ! -e merged/sx-shard.json
'

mk_shards() { # mk_shards FORMAT FILTER N I... : shards I of N in sI/
    local f=$1 filter=$2 n=$3 i
    shift 3
    for i in "$@"; do
        export-$f -q --no-sync --no-images -o s$i -f "$filter" --shard $i/$n --page-size 20 > /dev/null || return 1
    done
}

test_expect_success 'split shards: --records merges each split; a single file is refused' '
    for i in 1 2; do
        export-coco -q --no-sync --no-images -o s$i -f project=5 --shard $i/2 --page-size 20 \
            --split train=0.5,val=0.5 > /dev/null || exit 1
    done &&
    expect_code 1 sx-merge-coco -o merged.json s1 s2 2> err &&
    assert_grep "holds splits (train/annotations.json" err && test ! -e merged.json &&
    sx-merge-coco --records s1 s2 | sx-save --no-sync -o merged > /dev/null &&
    test -f merged/train/annotations.json && test -f merged/val/annotations.json &&
    assert_eq "$(cat s1/train/annotations.json s2/train/annotations.json | jq -s "map(.images | length) | add")" \
              "$(jq ".images | length" merged/train/annotations.json)" &&
    mkdir flat && cp s1/train/annotations.json flat/ && cp s1/sx-shard.json flat/ &&
    expect_code 1 sx-merge-coco --records --partial flat s2 > /dev/null 2> err &&
    assert_grep "not laid out alike" err
'

test_expect_success 'COCO shards of different exports: refused, nothing written' '
    mk_shards coco project=5 2 1 && mv s1 p5 && mk_shards coco project=6 2 2 &&
    expect_code 1 sx-merge-coco -o merged.json p5 s2 2> err &&
    assert_grep "^sx-merge-coco: .*are shards of different exports" err && test ! -e merged.json &&
    code=0 && { sx-merge-coco --records p5 s2 2> err | sx-save --no-sync -o merged > /dev/null 2>&1 || code=$?; } &&
    assert_eq 1 "$code" && test ! -e merged
'

test_expect_success 'COCO: a part twice, a part missing, another N, a shard without marker' '
    mk_shards coco project=5 3 1 2 &&
    expect_code 1 sx-merge-coco s1 s1 s2 > out 2> err && assert_grep "shard 1/3 is given twice" err &&
    expect_code 1 sx-merge-coco s1 s2 > out 2> err && assert_grep "shard 3/3 is missing" err && test ! -s out &&
    sx-merge-coco --partial s1 s2 > out && jq -e ".images | length > 10" out &&
    mkdir other && export-coco -q --no-sync --no-images -o other/s -f project=5 --shard 2/2 --page-size 20 > /dev/null &&
    expect_code 1 sx-merge-coco --partial s1 other/s 2> err && assert_grep "shard 2/2 but .* one of 3" err &&
    expect_code 1 sx-merge-coco --partial s1 "$D/a" 2> err && assert_grep "has no shard marker" err
'

test_expect_success 'sx-merge-yolo --help, --version, usage errors' '
    sx-merge-yolo --help > out && assert_grep "^usage: sx-merge-yolo -o DIR" out &&
    assert_grep "^example:" out && assert_grep "^ *-h, --help" out &&
    assert_eq "sx-merge-yolo (sx) $(sx-jq --version | sed "s/.* //")" "$(sx-merge-yolo --version)" &&
    expect_code 2 sx-merge-yolo x 2> err && assert_grep "no output directory" err &&
    expect_code 2 sx-merge-yolo -o y 2> err && assert_grep "no shards given" err &&
    expect_code 2 sx-merge-yolo --bad 2> err && assert_grep "unknown option .--bad." err
'

# YOLO normalised: each image's bytes with its label, whatever the names.
ynorm() { # ynorm DIR
    (cd "$1" && for l in labels/*.txt; do
        s=${l#labels/}; s=${s%.txt}
        printf "%s %s\n" "$(sha256sum images/$s.jpg 2>/dev/null | cut -c1-16)" "$(tr "\n" "|" < "$l")"
    done) | sort
}

test_expect_success 'YOLO shards merge into the single-machine export: one class list' '
    for i in 1 2 3; do
        export-yolo -q --no-sync -o s$i -f project=5 --shard $i/3 --page-size 20 > /dev/null || exit 1
    done &&
    export-yolo -q --no-sync -o single -f project=5 --page-size 20 > /dev/null &&
    sx-merge-yolo -q --no-sync -o merged s1 s2 s3 &&
    cmp single/classes.txt merged/classes.txt && cmp single/dataset.yaml merged/dataset.yaml &&
    assert_eq "$(ls single/labels | wc -l)" "$(ls merged/labels | wc -l)" &&
    assert_eq "$(ls single/images | wc -l)" "$(ls merged/images | wc -l)" &&
    ynorm single > want && ynorm merged > got && cmp want got &&
    ls merged/labels | grep -q "_s[23]\.txt$" &&
    grep -q "^{\"op\":\"commit\"" merged/.sx-manifest.ndjson && test ! -e merged/sx-shard.json
'

test_expect_success 'YOLO with the shards logs: single-export names, an item in two shards kept once' '
    for i in 1 2; do
        export-yolo -q --no-sync -o s$i -f project=5 --shard $i/2 --page-size 20 --log s$i.log > /dev/null || exit 1
    done &&
    export-yolo -q --no-sync -o single -f project=5 --page-size 20 > /dev/null &&
    cp s1/labels/frame_00001.txt s2/labels/frame_00001.txt && cp s1/images/frame_00001.jpg s2/images/ &&
    grep "\"file\":\"labels/frame_00001.txt\"" s1.log >> s2.log &&
    sx-merge-yolo -q --no-sync -o merged s1 s2 &&
    (cd single && find labels images -type f | sort) > want &&
    (cd merged && find labels images -type f | sort) > got && cmp want got
'

test_expect_success 'YOLO shards with different classes: refused, nothing written' '
    mk_shards yolo project=5 2 1 2 &&
    echo extra >> s2/classes.txt &&
    expect_code 1 sx-merge-yolo --no-sync -o merged s1 s2 2> err &&
    assert_grep "^sx-merge-yolo: .s2/classes.txt. differs from .s1/classes.txt." err &&
    test ! -e merged
'

test_expect_success 'YOLO shards of different exports, a part missing: refused, nothing written' '
    mk_shards yolo project=5 2 1 && mv s1 p5 && mk_shards yolo project=6 2 2 &&
    expect_code 1 sx-merge-yolo --no-sync -o merged p5 s2 2> err &&
    assert_grep "are shards of different exports" err && test ! -e merged &&
    expect_code 1 sx-merge-yolo --no-sync -o merged p5 2> err &&
    assert_grep "shard 2/2 is missing" err && test ! -e merged &&
    sx-merge-yolo -q --no-sync --partial -o merged p5 && test -f merged/classes.txt
'

test_done
