#!/usr/bin/env bash
# The synapse-sdk export-actions page's examples, as sx pipelines
# (pipelines/examples/), against the fake backend.
. "$(dirname "$0")/../lib/test-lib.sh"
. "$(dirname "$0")/../lib/fake-backend.sh"

EX=$SX_ROOT/pipelines/examples
fake_backend_start --items 40 --seed 3

# the items the backend holds for project 1, as the examples read them
sx-fetch -f project=1 > "$TRASH_ROOT/items.ndjson"
ITEMS=$TRASH_ROOT/items.ndjson
# COCO's annotations: one per box, polygon and polyline, and one per image
# for all its keypoints (a keypoint annotation lists them)
ANNOTATIONS='[.[] | select(.sx == null and .data != null) | [.data.annotations // {} | .[][]]
  | ([.[] | select(.tool != "keypoint")] | length) + (if any(.[]; .tool == "keypoint") then 1 else 0 end)] | add'

test_expect_success 'CocoExportAction: COCO of the project, the action result last' '
    "$EX/coco-export-action" --project-id 1 -o out > result 2> err &&
    assert_eq "{\"format\":\"coco\",\"exported_count\":$(jq -s "map(select(.data != null and .sx == null)) | length" "$ITEMS"),\"annotation_count\":$(jq -s "$ANNOTATIONS" "$ITEMS"),\"export_path\":\"out\"}" \
        "$(tail -1 result)" &&
    jq -e "[.categories[].id] | min == 1" out/annotations.json &&
    jq -e "[.annotations[].id] | (unique | length) == length" out/annotations.json &&
    jq -e "(.info | type) == \"object\" and (.licenses | type) == \"array\"" out/annotations.json
'

test_expect_success 'CocoExportAction: include_images brings the images, --no-include-images does not' '
    "$EX/coco-export-action" --project-id 1 -o with > /dev/null 2>&1 &&
    "$EX/coco-export-action" --project-id 1 -o without --no-include-images > /dev/null 2>&1 &&
    test "$(find with -name "*.jpg" -o -name "*.png" | wc -l)" -gt 0 &&
    test "$(find without -name "*.jpg" -o -name "*.png" | wc -l)" = 0
'

test_expect_success 'MultiFormatExportAction: coco, yolo and csv into the output dir' '
    for f in coco yolo csv; do
        "$EX/multi-format-export" --project-id 1 --output-format $f --output-dir "d-$f" > "r-$f" 2> /dev/null || exit 1
    done &&
    assert_eq "{\"format\":\"coco\",\"output_path\":\"d-coco/annotations.json\",\"exported_count\":$(jq -s "map(select(.data != null and .sx == null)) | length" "$ITEMS")}" "$(tail -1 r-coco)" &&
    test -s d-coco/annotations.json &&
    test -s d-yolo/dataset.yaml && test -s d-yolo/classes.txt && test -d d-yolo/labels &&
    assert_eq "image,width,height,class,xmin,ymin,xmax,ymax,image_classes" "$(head -1 d-csv/annotations.csv | tr -d "\r")"
'

test_expect_success 'MyExporter: converted items as json/, originals, metadata.json' '
    "$EX/my-exporter" --name "My Export" -o out --save-original-file -f project=1 > result 2> /dev/null &&
    n=$(jq -s "map(select(.sx == null and .data != null)) | length" "$ITEMS") &&
    assert_eq "$n" "$(ls out/json | wc -l)" &&
    first=$(jq -c "select(.sx == null and .data != null)" "$ITEMS" | head -1) &&
    stem=$(echo "$first" | jq -r ".files.file_name_original | sub(\"\\\\.[^.]*$\"; \"\")") &&
    assert_eq "$(echo "$first" | jq -c "{id, filename: .files.file_name_original, annotations: .data.annotations}")" \
        "$(jq -c . "out/json/$stem.json")" &&
    assert_eq "$n" "$(ls out/origin_files | wc -l)" &&
    assert_eq "{\"export_name\":\"My Export\",\"total_items\":40,\"format_version\":\"1.0\"}" "$(jq -c . out/metadata.json)" &&
    assert_eq "{\"export_path\":\"$PWD/out\",\"exported_count\":$n,\"failed_count\":$((40 - n)),\"total_count\":40}" "$(tail -1 result)"
'

test_expect_success 'MyExporter without --save-original-file writes no originals' '
    "$EX/my-exporter" --name x -o out -f project=1 > /dev/null 2>&1 &&
    test -d out/json && test ! -e out/origin_files && test -s out/metadata.json
'

test_expect_success 'the examples answer --help and refuse bad usage' '
    expect_code 2 "$EX/my-exporter" -o x -f project=1 2> err && assert_grep "name is required" err &&
    for e in coco-export-action multi-format-export my-exporter; do
        "$EX/$e" --help | grep -q "^usage: $e" || exit 1
        if [ $e = my-exporter ]; then
            # its other arguments are sx-fetch'"'"'s, which refuses this one
            expect_code 2 "$EX/$e" --name x -o d --bogus 2> err || exit 1
            grep -q "^sx-fetch: unknown option .--bogus." err || exit 1
            test ! -e d || exit 1
        else
            expect_code 2 "$EX/$e" --bogus 2> err || exit 1
            grep -q "^$e: unknown option .--bogus." err || exit 1
        fi
        [ $e = my-exporter ] || expect_code 2 "$EX/$e" --project-id abc 2> /dev/null || exit 1
    done
'

# last: it replaces the backend with a failing one
test_expect_success 'a failing step rolls the save back and the example exits non-zero' '
    expect_code 2 "$EX/multi-format-export" --project-id 1 --output-format xml 2> err &&
    assert_grep "is not one of coco, yolo, csv" err &&
    fake_backend_start --items 250 --seed 3 --not-found-page 2 &&
    expect_code 3 "$EX/coco-export-action" --project-id 1 -o cut > /dev/null 2> err2 &&
    assert_grep "rolled back" err2 &&
    test ! -e cut/annotations.json
'

test_done
