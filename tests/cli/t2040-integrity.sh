#!/usr/bin/env bash
# Integrity: an item fails only when nothing of it can be exported; what is
# left out of an item is a warning; the counts of every stage and of the
# result agree with the files; the error list names every failed item.
. "$(dirname "$0")/../lib/test-lib.sh"
. "$(dirname "$0")/../lib/fake-backend.sh"

fake_backend_start --items 250

# DM v1 and v2 items with relations, groups, an image-level classification
# and an unknown tool beside their boxes.
tolerant_items() {
    cat <<'EOF'
{"sx":"meta","target":"assignment","total":3}
{"id":1,"files":{"url":"https://h/1.jpg","file_name_original":"a.jpg","width":100,"height":80},"data":{"annotations":{"image_1":[{"id":"b1","tool":"bounding_box","classification":{"class":"car"}},{"id":"r1","tool":"relation","classification":{"class":"x"}},{"id":"c1","tool":"classification","classification":{"class":"night"}}]},"annotationsData":{"image_1":[{"id":"b1","coordinate":{"x":1,"y":2,"width":10,"height":8}}]},"relations":{"image_1":[{"id":"rel1","annotationId":"b1","targetAnnotationId":"b1"}]},"annotationGroups":{"image_1":[{"id":"g1","annotationList":["b1"]}]}}}
{"id":2,"files":{"url":"https://h/2.jpg","file_name_original":"b.jpg","width":100,"height":80},"data":{"images":[{"bounding_box":[{"id":"b2","classification":"person","attrs":[],"data":[5,5,20,20]}],"relation":[{"id":"r2","annotationId":"b2","targetAnnotationId":"b2"}],"group":[{"id":"g2","annotationList":["b2"]}],"classification":[{"id":"c2","classification":"day","attrs":[]}],"cuboid":[{"id":"q","data":[1,2,3]}]}]}}
{"id":3,"files":{"url":"https://h/3.jpg","file_name_original":"c.jpg","width":100,"height":80},"data":null}
{"sx":"end","count":3}
EOF
}

test_expect_success 'relations, groups, classification tools and unknown tools never fail an item' '
    tolerant_items | sed "s|https://h/|$SYNAPSE_HOST/media/|g" > in.ndjson
    for f in coco yolo voc csv; do
        sx-convert-$f < in.ndjson > conv-$f
        assert_eq 2 "$(tail -n 1 conv-$f | jq .items)" "items sx-convert-$f converted"
        assert_eq "3" "$(jq -r "select(.sx == \"error\") | .item" conv-$f)" "only the null item fails ($f)"
        sx-save --no-sync -o out-$f < conv-$f > log-$f 2> err-$f
        assert_eq "[2,1,0,3]" "$(jq -c "[.exported_count,.failed_count,.filtered_count,.total_count]" out-$f/export.json)"
    done
    jq -r "select(.sx == \"warning\" and .kind == \"ignored\") | \"\(.item) \(.reason) \(.count)\"" conv-coco > ignored
    printf "%s\n" "1 tool '"'"'relation'"'"' 1" "1 relations 1" "1 annotation groups 1" \
        "2 tool '"'"'relation'"'"' 1" "2 tool '"'"'group'"'"' 1" "2 tool '"'"'cuboid'"'"' 1" > want
    diff want ignored
    assert_eq "[[\"night\"],[\"day\"]]" "$(jq -c "[.images[].attributes.classification]" out-coco/annotations.json)"
    assert_eq 2 "$(jq ".annotations | length" out-coco/annotations.json)"
    assert_grep "^sx-save: not exported, in 2 items: .*tool .relation. (items 1, 2)" err-coco
    assert_grep "image classification (items 1, 2)" err-voc
    assert_eq "[\"c.json\",\"data is Null\"]" "$(jq -c ".json_file_name[0]" out-coco/error_file_list.json)"
'

test_expect_success 'a pose export where keypoints are dropped keeps every item with data' '
    export-yolo -q --no-sync --task pose -o pose -f project=1 > result 2> err
    nulls=$(sx-fetch -f project=1 | jq -c "select(.sx == null and .data == null)" | wc -l)
    assert_eq "[$((250 - nulls)),$nulls,250]" "$(jq -c "[.exported_count,.failed_count,.total_count]" result)"
    assert_eq "$((250 - nulls))" "$(find pose/images -type f | wc -l)" "an image for every exported item"
    assert_eq "$((250 - nulls))" "$(find pose/labels -type f | wc -l)" "a label file for every exported item"
    assert_grep "^sx-save: [0-9]* annotations left out, in [0-9]* items: [0-9]* keypoint outside every box (items " err
    assert_grep "^sx-save: $nulls items failed (see .*): $nulls data is Null (items 7, 14, 21, …)" err
'

test_expect_success 'a detect export with boxes outside the image keeps its items; counts agree everywhere' '
    box() { printf "{\"id\":\"%s\",\"tool\":\"bounding_box\",\"classification\":{\"class\":\"car\"}}" "$1"; }
    at() { printf "{\"id\":\"%s\",\"coordinate\":{\"x\":%s,\"y\":1,\"width\":5,\"height\":5}}" "$1" "$2"; }
    { echo "{\"sx\":\"meta\",\"total\":2}"
      for i in 1 2; do
          printf "{\"id\":%s,\"files\":{\"url\":\"%s\",\"width\":64,\"height\":48},\"data\":{\"annotations\":{\"image_1\":[%s,%s]},\"annotationsData\":{\"image_1\":[%s,%s]}}}\n" \
              $i "$SYNAPSE_HOST/media/$i.jpg?size=64" "$(box in)" "$(box out)" "$(at in 1)" "$(at out 700)"
      done
      echo "{\"sx\":\"end\",\"count\":2}"; } > in.ndjson
    sx-convert-yolo < in.ndjson | sx-save --no-sync -o det 2> err | sx-progress > /dev/null 2> perr
    assert_eq "[2,0,2]" "$(jq -c "[.exported_count,.failed_count,.total_count]" det/export.json)"
    assert_eq 2 "$(ls det/labels | wc -l)" && assert_eq 2 "$(ls det/images | wc -l)"
    assert_grep "^sx-save: 2 annotations left out, in 2 items: 2 annotation outside the image (items 1, 2)" err
    assert_grep "^sx-progress: 2 warnings, .*; exported 2, failed 0 of 2" perr
'

test_expect_success 'a filtered export: what a select() left out is neither exported nor failed' '
    export-coco -q --no-sync -o sel -f project=1 --jq "select(.id <= 50)" > result
    nulls=$(sx-fetch -f project=1 | jq -c "select(.sx == null and .data == null and .id <= 50)" | wc -l)
    assert_eq "[$((50 - nulls)),$nulls,200,250]" \
        "$(jq -c "[.exported_count,.failed_count,.filtered_count,.total_count]" result)"
    assert_eq "$((50 - nulls))" "$(jq ".images | length" sel/annotations.json)" "exported_count is the images"
'

test_expect_success 'no size in the item: it comes from the image header, in every supported image type' '
    kinds="png jpeg webp webp-lossless webp-extended bmp bmp-topdown bmp-os2 gif tiff tiff-be"
    { echo "{\"sx\":\"meta\",\"total\":11}"; i=0
      for k in $kinds; do i=$((i + 1))
          printf "{\"id\":%d,\"files\":{\"url\":\"%s/media/%s-%d?kind=%s&w=%d&h=%d\",\"file_name_original\":\"%s.img\"},\"data\":{\"annotations\":{\"image_1\":[{\"id\":\"b\",\"tool\":\"bounding_box\",\"classification\":{\"class\":\"c\"}}]},\"annotationsData\":{\"image_1\":[{\"id\":\"b\",\"coordinate\":{\"x\":1,\"y\":1,\"width\":4,\"height\":4}}]}}}\n" \
              $i "$SYNAPSE_HOST" $k $i $k $((100 + i)) $((50 + i)) $k
      done; echo "{\"sx\":\"end\",\"count\":11}"; } > in.ndjson
    sx-download -q < in.ndjson | sx-convert-coco | sx-save --no-sync -o out > /dev/null
    assert_eq "[11,0]" "$(jq -c "[.exported_count,.failed_count]" out/export.json)"
    i=0; for k in $kinds; do i=$((i + 1))
        assert_eq "[$((100 + i)),$((50 + i))]" "$(jq -c ".images[] | select(.sx_item == $i) | [.width, .height]" out/annotations.json)" "$k"
    done
    sx-convert-coco < in.ndjson > direct
    assert_eq 11 "$(jq -r "select(.sx == \"error\") | .message" direct | grep -c "image size unknown")" "without the image, no size"
'

fake_backend_start --items 60 --media-404-every 9

test_expect_success 'images that cannot be downloaded: every index of every format names only files in the export' '
    nulls=$(sx-fetch -f project=1 | jq -c "select(.sx == null and .data == null)" | wc -l)
    gone=$(sx-fetch -f project=1 | jq -c "select(.sx == null and .data != null and (.files.url | test(\"fault=404\")))" | wc -l)
    test "$gone" -gt 0
    for f in coco yolo voc raw; do
        export-$f -q --no-sync -o $f -f project=1 > result-$f 2> err-$f
        assert_eq "[$((60 - nulls - gone)),$((nulls + gone)),60]" \
            "$(jq -c "[.exported_count,.failed_count,.total_count]" result-$f)" "counts of $f"
        assert_eq "$gone" "$(jq "[.origin_file_name[] | select(.[1] | test(\"HTTP 404\"))] | length" $f/error_file_list.json)"
    done
    # COCO: every image named is on disk, and every image on disk is named
    jq -r ".images[].file_name" coco/annotations.json | sort > named
    (cd coco/images && ls) | sort > there
    cmp named there
    assert_eq "$((60 - nulls - gone))" "$(wc -l < named)"
    # YOLO: a label file per image, an image per label file
    (cd yolo/labels && ls | sed "s/\.txt\$//") | sort > labels
    (cd yolo/images && ls | sed "s/\.[^.]*\$//") | sort > images
    cmp labels images
    # VOC: every annotation names an image in the export
    for x in voc/Annotations/*.xml; do
        img=$(sed -n "s:.*<filename>\(.*\)</filename>.*:\1:p" "$x")
        test -f "voc/images/$img" || { echo "$x names $img, which is not there" >&2; false; }
    done
    # raw: a json file per original file
    (cd raw/json && ls | sed "s/\.json\$//") | sort > js
    (cd raw/origin_files && ls | sed "s/\.[^.]*\$//") | sort > orig
    cmp js orig
    # CSV (via sx-convert-csv): every row names an image in the export
    sx-fetch -f project=1 | sx-download -q | sx-convert-csv | sx-save --no-sync -o csv > /dev/null 2>&1
    tail -n +2 csv/annotations.csv | cut -d, -f1 | sort -u | while read -r img; do
        test -f "csv/$img" || { echo "annotations.csv names $img, which is not there" >&2; exit 1; }
    done
    test -z "$(ls -d "$PWD"/sx-spool.* 2>/dev/null)"
'

fake_backend_start --items 250

test_expect_success 'every number a run prints about failures is the same number' '
    export-coco --no-sync -o one -f project=1 > result 2> err
    failed=$(jq .failed_count result)
    test "$failed" -gt 0
    assert_grep "^sx-save: $failed items failed" err
    assert_grep "^sx-progress: [0-9.]*s; exported [0-9]*, failed $failed of 250" err
    assert_eq "$failed" "$(jq "(.json_file_name | length) + (.origin_file_name | length)" one/error_file_list.json)"
'

test_done
