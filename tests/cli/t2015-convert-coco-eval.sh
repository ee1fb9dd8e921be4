#!/usr/bin/env bash
# sx-convert-coco's ground truth as COCO tools read it: evaluated against
# itself by pycocotools' rules (tests/tools/coco_eval.py, the cocoapi's
# matching, rasterisation and accumulation in the Python standard library),
# it scores AP 1.0 for bbox and segm; every annotation has a box with an area
# and a segmentation COCO can rasterise.
. "$(dirname "$0")/../lib/test-lib.sh"
. "$(dirname "$0")/../lib/fake-backend.sh"
C=$TEST_DATA/conv
mat() { python3 "$C/materialize.py" "$@"; }
coco_eval() { python3 "$SX_ROOT/tests/tools/coco_eval.py" "$@"; }

# item ID [ANNOTATION DATA]...: a 640x480 DM v1 item; each pair is a tool+class and its coordinate
item() {
    local id=$1 anns="" datas="" n=0
    shift
    while [ $# -ge 2 ]; do
        n=$((n + 1))
        anns="$anns${anns:+,}{\"id\":\"a$n\",\"tool\":\"${1%:*}\",\"classification\":{\"class\":\"${1#*:}\"}}"
        datas="$datas${datas:+,}{\"id\":\"a$n\",\"coordinate\":$2}"
        shift 2
    done
    printf '{"id":%s,"files":{"file_name_original":"i%s.jpg","width":640,"height":480},"data":{"annotations":{"image_1":[%s]},"annotationsData":{"image_1":[%s]}}}\n' \
        "$id" "$id" "$anns" "$datas"
}

test_expect_success 'the evaluator fails what pycocotools fails (0.2525 there too): a box without width, segmentation [] or none' '
    jq -n "{images: [{id: 1, width: 640, height: 480}], categories: [{id: 1, name: \"a\"}],
            annotations: [{id: 1, image_id: 1, category_id: 1, bbox: [10, 10, 0, 5], area: 0, iscrowd: 0,
                           segmentation: [[10, 10, 10, 15, 10, 12]]},
                          {id: 2, image_id: 1, category_id: 1, bbox: [10, 10, 4, 5], area: 20, iscrowd: 0,
                           segmentation: [[10, 10, 14, 10, 14, 15, 10, 15]]}]}" > bad.json &&
    expect_code 1 coco_eval bad.json > out &&
    assert_grep "^bbox AP 0.2525 (2 annotations, 1 not matched with themselves: 1)" out &&
    assert_grep "^segm AP 0.2525 (2 annotations, 1 not matched with themselves: 1)" out &&
    jq ".annotations[0].segmentation = []" bad.json > empty.json && expect_code 1 coco_eval empty.json segm > out &&
    assert_grep "segm crash: annotation 1 has segmentation \[\] (IndexError" out &&
    jq "del(.annotations[1].segmentation)" bad.json > none.json && expect_code 1 coco_eval none.json segm > out &&
    assert_grep "segm crash: annotation 2 has no segmentation" out
'

test_expect_success 'a keypoint, a straight polyline, a box thinner than a pixel: whole pixels, rectangles' '
    { echo "{\"sx\":\"meta\",\"total\":3}"
      item 1 keypoint:nose "{\"x\":10.3,\"y\":20.7}"
      item 2 keypoint:nose "{\"x\":5,\"y\":5}" keypoint:eye "{\"x\":15,\"y\":5}" polyline:lane "[{\"x\":0,\"y\":479.5},{\"x\":640,\"y\":479.5}]"
      item 3 bounding_box:car "{\"x\":100.2,\"y\":50,\"width\":0.3,\"height\":10}" bounding_box:car "{\"x\":639.9,\"y\":0,\"width\":5,\"height\":5}"
      echo "{\"sx\":\"end\",\"count\":3}"; } | sx-convert-coco --images none | mat ds &&
    a=ds/annotations.json &&
    assert_eq "[10,20,1,1] 1 [[10,20,11,20,11,21,10,21]]" "$(jq -r ".annotations[] | select(.image_id == 1) | \"\(.bbox|tojson) \(.area) \(.segmentation|tojson)\"" $a)" &&
    assert_eq "[0,479,640,1] [5,5,10,1]" "$(jq -r "[.annotations[] | select(.image_id == 2) | .bbox | tojson] | join(\" \")" $a)" &&
    assert_eq "[100,50,1,10] [639,0,1,5]" "$(jq -r "[.annotations[] | select(.image_id == 3) | .bbox | tojson] | join(\" \")" $a)" &&
    assert_eq "[[100,50,101,50,101,60,100,60]]" "$(jq -c ".annotations[] | select(.image_id == 3) | .segmentation" $a | head -1)" &&
    coco_eval $a
'

fake_backend_start --items 250 --seed 3
test_expect_success 'a project with boxes, polygons, keypoints and polylines: AP 1.0 for bbox and segm' '
    sx-fetch -f project=1 | sx-convert-coco --images none --split train=0.7,val=0.3 | mat ds &&
    for s in train val; do
        a=ds/$s/annotations.json &&
        assert_eq 0 "$(jq "[.annotations[] | select(.bbox[2] <= 0 or .bbox[3] <= 0 or (.segmentation | length) == 0)] | length" $a)" "degenerate annotations" &&
        test "$(jq "[.annotations[] | select(.keypoints)] | length" $a)" -gt 0 &&
        test "$(jq "[.annotations[] | select(.polyline)] | length" $a)" -gt 0 &&
        coco_eval $a > ev && cat ev && assert_grep "^bbox AP 1.0000" ev && assert_grep "^segm AP 1.0000" ev || exit 1
    done
'

test_expect_success 'polygons thinner than a pixel: dropped exactly when COCO rasterises them to nothing' '
    python3 $C/thin_polygons.py 1 150 > thin.ndjson &&
    sx-convert-coco --images none < thin.ndjson > recs && mat ds < recs &&
    jq -r "select(.sx == \"warning\" and .kind == \"dropped\") | .message | split(\" \")[1]" recs | sort > dropped &&
    test "$(wc -l < dropped)" -gt 100 && test "$(jq ".annotations | length" ds/annotations.json)" -gt 100 &&
    python3 -c "
import json, sys
sys.path.insert(0, \"$SX_ROOT/tests/tools\")
import coco_eval as E
for line in open(\"thin.ndjson\"):
    r = json.loads(line)
    if r.get(\"sx\"): continue
    W, H = r[\"files\"][\"width\"], r[\"files\"][\"height\"]
    for a in r[\"data\"][\"annotationsData\"][\"image_1\"]:
        p = [v for q in a[\"coordinate\"] for v in (min(max(q[\"x\"], 0), W), min(max(q[\"y\"], 0), H))]
        if not E.area(E.fr_poly(p, H, W)):
            print(a[\"id\"])" | sort > empty &&
    cmp dropped empty && coco_eval ds/annotations.json
'

test_done
