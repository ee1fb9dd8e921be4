#!/usr/bin/env bash
# Class ids from the project configuration, whatever shape it has, the same
# for an assignment and a ground-truth export of the project; a configuration
# that gives no class is said so on stderr.
. "$(dirname "$0")/../lib/test-lib.sh"
. "$(dirname "$0")/../lib/fake-backend.sh"
C=$TEST_DATA/conv
mat() { python3 "$C/materialize.py" "$@"; }
# the configuration's boxes, polygons, polylines, backwards (not name order)
WANT='["truck","bicycle","person","car","building","sidewalk","road","lane"]'

for shape in list objects schema; do
fake_backend_start --items 40 --config-shape $shape --config-order reversed
test_expect_success "configuration of shape '$shape': category ids in its order, ground truth as assignment" '
    sx-fetch -f project=1 | sx-convert-coco --images none 2> err | mat a &&
    assert_eq "$WANT" "$(jq -c "[.categories[] | select(.name != \"keypoints\") | .name]" a/annotations.json)" &&
    assert_eq "[\"right_eye\",\"left_eye\",\"nose\"]" "$(jq -c ".categories[] | select(.name == \"keypoints\") | .keypoints" a/annotations.json)" &&
    sx-fetch -t ground_truth -f ground_truth_dataset_version=3 | sx-convert-coco --images none | mat g &&
    cmp <(jq -c .categories a/annotations.json) <(jq -c .categories g/annotations.json) &&
    sx-fetch -t ground_truth -f ground_truth_dataset_version=3 | sx-convert-yolo --images none | mat y &&
    assert_eq "$(jq -r ".[:7][]" <<< "$WANT")" "$(cat y/classes.txt)" &&
    test ! -s err
'
done

fake_backend_start --items 40 --config-shape empty
test_expect_success 'a configuration that lists no class: a warning, classes in name order' '
    sx-fetch -f project=1 > items &&
    for c in coco yolo voc csv; do
        sx-convert-$c --images none < items 2> err > /dev/null &&
        assert_grep "^sx-convert-$c: the project configuration in meta lists no class" err || exit 1
    done &&
    sx-convert-coco --images none < items 2> /dev/null | mat a &&
    jq -c "[.categories[] | select(.name != \"keypoints\") | .name]" a/annotations.json > got &&
    jq -c "sort" got | cmp - got &&
    sx-convert-coco -q --images none < items 2> err > /dev/null && test ! -s err &&
    printf "car\nperson\nbicycle\ntruck\nroad\nsidewalk\nbuilding\nlane\n" > classes.txt &&
    sx-convert-coco --classes classes.txt --images none < items 2> err > /dev/null && test ! -s err
'

fake_backend_start --items 40 --config-shape none
test_expect_success 'no configuration at all: no warning, classes in name order' '
    sx-fetch -f project=1 | sx-convert-coco --images none 2> err | mat a && test ! -s err &&
    jq -c "[.categories[] | select(.name != \"keypoints\") | .name]" a/annotations.json > got &&
    jq -c "sort" got | cmp - got
'

test_done
