#!/usr/bin/env bash
# A converter written in jq: pipelines/formats/labelme.jq through sx-jq and
# sx-save, checked field by field.
. "$(dirname "$0")/../lib/test-lib.sh"

LM=$SX_ROOT/pipelines/formats/labelme.jq
# the sample stream with local image paths, as sx-fetch --dir gives them
local_items() {
    jq -c --arg d "$TEST_DATA/sample" \
        'if .files then .files.path = "\($d)/\(.split)/original_files/\(.files.file_name_original)" else . end' \
        "$TEST_DATA/sample.ndjson"
}

test_expect_success 'one LabelMe JSON per image, with the images, committed by sx-save' '
    local_items | sx-jq --converter -f "$LM" | sx-save --allow-src "$TEST_DATA/sample" -o out > log &&
    assert_eq "empty_004.json empty_004.png street_001.json street_001.png street_002.json street_002.png street_003.json street_003.png street_005.json street_005.png street_006.json street_006.png" \
        "$(cd out && ls *.json *.png | grep -v export.json | tr "\n" " " | sed "s/ \$//")" &&
    cmp out/street_001.png "$TEST_DATA/sample/train/original_files/street_001.png" &&
    assert_grep "\"sx\":\"result\"" log
'

test_expect_success 'rectangle, polygon and point shapes carry label, points and shape_type' '
    local_items | sx-jq --converter -f "$LM" | sx-save --allow-src "$TEST_DATA/sample" -o out > /dev/null &&
    assert_eq "\"5.0.1\" \"street_001.png\" 64 48 null 2" \
        "$(jq -r "[.version, .imagePath, .imageWidth, .imageHeight, .imageData, (.shapes | length)] | map(tojson) | join(\" \")" out/street_001.json)" &&
    assert_eq "[\"car\",\"rectangle\",[[4,10],[24,22]]]" \
        "$(jq -c ".shapes[0] | [.label, .shape_type, .points]" out/street_001.json)" &&
    assert_eq "[\"road\",\"polygon\",[[0,40],[63,40],[63,47],[0,47]]]" \
        "$(jq -c ".shapes[1] | [.label, .shape_type, .points]" out/street_002.json)" &&
    assert_eq "[\"nose\",\"point\",[[16,12]]]" \
        "$(jq -c ".shapes[0] | [.label, .shape_type, .points]" out/street_003.json)" &&
    assert_eq "[]" "$(jq -c .shapes out/empty_004.json)"
'

test_expect_success 'DM v2 items convert too; polylines become linestrips' '
    printf "%s\n" "{\"sx\":\"meta\",\"total\":1}" \
      "{\"id\":9,\"files\":{\"file_name_original\":\"v2.jpg\",\"width\":100,\"height\":50},\"data\":{\"images\":[{\"bounding_box\":[{\"id\":\"b\",\"classification\":\"car\",\"attrs\":[],\"data\":[1,2,3,4]}],\"polyline\":[{\"id\":\"l\",\"classification\":\"lane\",\"attrs\":[],\"data\":[[0,0],[5,5]]}],\"keypoint\":[{\"id\":\"k\",\"classification\":\"nose\",\"attrs\":[],\"data\":[7,8]}]}]}}" \
      "{\"sx\":\"end\",\"count\":1}" | sx-jq --converter -f "$LM" --arg images none | sx-save -o out > /dev/null &&
    assert_eq "[[\"car\",\"rectangle\",[[1,2],[4,6]]],[\"lane\",\"linestrip\",[[0,0],[5,5]]],[\"nose\",\"point\",[[7,8]]]]" \
        "$(jq -c "[.shapes[] | [.label, .shape_type, .points]]" out/v2.json)" &&
    test ! -e out/v2.jpg
'

test_expect_success 'images=url hands the URL to sx-save; prefix=id keeps shared names apart' '
    printf "%s\n" "{\"sx\":\"meta\",\"total\":2}" \
      "{\"id\":1,\"files\":{\"url\":\"http://127.0.0.1:9/a/img.jpg\",\"file_name_original\":\"img.jpg\",\"width\":10,\"height\":10},\"data\":{}}" \
      "{\"id\":2,\"files\":{\"url\":\"http://127.0.0.1:9/b/img.jpg\",\"file_name_original\":\"img.jpg\",\"width\":10,\"height\":10},\"data\":{}}" \
      "{\"sx\":\"end\",\"count\":2}" > in &&
    sx-jq --converter -f "$LM" --arg prefix id in > out &&
    assert_eq "1_img.json 1_img.jpg 2_img.json 2_img.jpg" "$(jq -r "select(.sx == \"file\") | .path" out | tr "\n" " " | sed "s/ \$//")" &&
    assert_eq "http://127.0.0.1:9/b/img.jpg" "$(jq -r "select(.path == \"2_img.jpg\") | .url" out)" &&
    assert_eq "\"2_img.jpg\"" "$(jq -r "select(.path == \"2_img.json\") | .text" out | jq -c .imagePath)"
'

test_expect_success 'an item that cannot be converted stops the run, naming its line' '
    { local_items | head -2; echo "{\"id\":7,\"files\":{\"file_name_original\":\"x.png\",\"width\":5,\"height\":5},\"data\":null}"; local_items | tail -n +3; } > in &&
    expect_code 1 sx-jq --converter -f "$LM" --arg images none in > out 2> err &&
    assert_grep "^sx-jq: in:3: data is Null" err &&
    ! grep -q "\"sx\":\"end\"" out
'

test_expect_success 'with --keep-going the item fails alone and the export commits the rest' '
    { local_items | head -2; echo "{\"id\":7,\"files\":{\"file_name_original\":\"x.png\",\"width\":5,\"height\":5},\"data\":{\"annotations\":{\"image_1\":[{\"id\":\"p\",\"tool\":\"polygon\",\"classification\":{\"class\":\"c\"}}]},\"annotationsData\":{\"image_1\":[{\"id\":\"p\",\"coordinate\":[{\"x\":1,\"y\":1},{\"x\":2,\"y\":2}]}]}}}"; local_items | tail -n +3; } > in &&
    sx-jq --converter -k -q -f "$LM" --arg images none in | sx-save -o out > log &&
    assert_eq 6 "$(ls out/*.json | grep -v -c -e export.json -e error_file_list.json)" &&
    test ! -e out/x.json &&
    assert_grep "fewer than 3 points" log &&
    assert_eq "7.json" "$(jq -r ".json_file_name[0][0]" out/error_file_list.json)"
'

test_expect_success 'unknown tools, missing sizes and NaN coordinates are item errors' '
    printf "%s\n" \
      "{\"id\":1,\"files\":{\"file_name_original\":\"a.png\",\"width\":5,\"height\":5},\"data\":{\"annotations\":{\"i\":[{\"id\":\"x\",\"tool\":\"cuboid\",\"classification\":{\"class\":\"c\"}}]},\"annotationsData\":{\"i\":[{\"id\":\"x\",\"coordinate\":{}}]}}}" \
      "{\"id\":2,\"files\":{\"file_name_original\":\"b.png\"},\"data\":{}}" \
      "{\"id\":3,\"files\":{\"file_name_original\":\"c.png\",\"width\":5,\"height\":5},\"data\":{\"images\":[{\"keypoint\":[{\"classification\":\"n\",\"data\":[1,null]}]}]}}" \
      "{\"sx\":\"end\",\"count\":3}" | sx-jq --converter -k -q -f "$LM" --arg images none > out &&
    assert_eq "unknown tool \"cuboid\"|image height unknown: LabelMe needs the image size|impossible coordinate: null" \
        "$(jq -r "select(.sx == \"error\") | .message | sub(\"^[^ ]*:[0-9]+: \"; \"\")" out | tr "\n" "|" | sed "s/|\$//")"
'

test_expect_success 'a jq converter cannot write outside the export' '
    printf "%s\n" "{\"id\":1}" "{\"sx\":\"end\",\"count\":1}" |
        sx-jq --converter "{sx: \"file\", path: \"../evil.txt\", text: \"x\", item: .id}, {sx: \"file\", path: \"ok.txt\", text: \"y\", item: 2}" |
        sx-save -o out > log &&
    test ! -e evil.txt &&
    test -f out/ok.txt &&
    assert_grep "\"sx\":\"error\"" log
'

test_done
