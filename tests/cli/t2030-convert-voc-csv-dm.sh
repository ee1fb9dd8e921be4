#!/usr/bin/env bash
# sx-convert-voc, sx-convert-csv, sx-convert-dm; the bundled sample end to end.
. "$(dirname "$0")/../lib/test-lib.sh"
C=$TEST_DATA/conv
mat() { python3 "$C/materialize.py" "$@"; }

test_expect_success 'VOC: one XML per item, objects with the 1-based rounding' '
    sx-convert-voc < $C/v1.ndjson | mat ds
    f=ds/Annotations/train/street.xml
    python3 -c "
import xml.etree.ElementTree as ET
r = ET.parse(\"$f\").getroot()
assert r.find(\"folder\").text == \"images/train\" and r.find(\"filename\").text == \"street.jpg\"
s = r.find(\"size\"); assert [s.find(k).text for k in (\"width\", \"height\", \"depth\")] == [\"640\", \"480\", \"3\"]
objs = [(o.find(\"name\").text, o.find(\"pose\").text, o.find(\"truncated\").text, o.find(\"difficult\").text,
         [int(o.find(\"bndbox\").find(k).text) for k in (\"xmin\", \"ymin\", \"xmax\", \"ymax\")]) for o in r.findall(\"object\")]
# car (100,50,200,100): 101 51 300 150; person (600,400,100,100) clipped: 601 401 640 480; polygon extent 11 11 110 60
assert objs == [(\"car\", \"Unspecified\", \"0\", \"0\", [101, 51, 300, 150]), (\"person\", \"Unspecified\", \"0\", \"0\", [601, 401, 640, 480]),
                (\"person\", \"Unspecified\", \"0\", \"0\", [11, 11, 110, 60])], objs
"
    test -f ds/Annotations/train/street_12.xml && test -f ds/Annotations/valid/none.xml
    printf "car\nperson\n" > want && diff want ds/classes.txt
'

test_expect_success 'VOC rounding of fractional corners' '
    printf "%s\n" "{\"id\":1,\"files\":{\"url\":\"https://h/u\",\"file_name_original\":\"f.jpg\",\"width\":100,\"height\":100},\"data\":{\"images\":[{\"bounding_box\":[{\"id\":\"a\",\"classification\":\"c\",\"attrs\":[],\"data\":[10.4,10.5,20.2,0.6]},{\"id\":\"b\",\"classification\":\"c\",\"attrs\":[],\"data\":[5.2,5.2,0.2,0.2]}]}]}}" "{\"sx\":\"end\",\"count\":1}" > in.ndjson
    sx-convert-voc < in.ndjson > out.ndjson
    mat ds < out.ndjson
    # a: x1 10.4 -> 11, x2 30.6 -> 31; y1 10.5 -> 12, y2 11.1 -> 11 < 12: dropped. b: 5.2..5.4 -> 6..5: dropped
    ! grep -q "<object>" ds/Annotations/f.xml
    assert_eq 2 "$(jq -r "select(.sx == \"warning\") | .message" out.ndjson | grep -c "no whole pixel")"
    ! grep -q "\"sx\":\"error\"" out.ndjson
    printf "%s\n" "{\"id\":1,\"files\":{\"url\":\"https://h/u\",\"file_name_original\":\"f.jpg\",\"width\":100,\"height\":100},\"data\":{\"images\":[{\"bounding_box\":[{\"id\":\"a\",\"classification\":\"c\",\"attrs\":[],\"data\":[10.4,10.5,20.2,3.6]}]}]}}" "{\"sx\":\"end\",\"count\":1}" > in.ndjson
    sx-convert-voc < in.ndjson | mat ds2
    tr -d " \n" < ds2/Annotations/f.xml | grep -q "<xmin>11</xmin><ymin>12</ymin><xmax>31</xmax><ymax>14</ymax>"
'

test_expect_success 'CSV: header, one row per box, image paths, clipped numbers' '
    sx-convert-csv < $C/v1.ndjson | mat ds
    printf "%s\r\n" "image,width,height,class,xmin,ymin,xmax,ymax,image_classes" \
        "images/train/street.jpg,640,480,car,100,50,300,150," \
        "images/train/street.jpg,640,480,person,600,400,640,480," \
        "images/train/street.jpg,640,480,person,10,10,110,60," \
        "images/valid/kp.png,100,100,car,45,35,55,55," > want
    diff want ds/annotations.csv
'

test_expect_success 'image-level classes (DM v1 tool, DM v2 list): a COCO image attribute and a CSV column' '
    printf "%s\n" "{\"id\":1,\"files\":{\"url\":\"https://h/a.jpg\",\"width\":100,\"height\":100},\"data\":{\"annotations\":{\"image_1\":[{\"id\":\"c1\",\"tool\":\"classification\",\"classification\":{\"class\":\"night\"}},{\"id\":\"b1\",\"tool\":\"bounding_box\",\"classification\":{\"class\":\"car\"}}]},\"annotationsData\":{\"image_1\":[{\"id\":\"b1\",\"coordinate\":{\"x\":1,\"y\":1,\"width\":5,\"height\":5}}]}}}" \
        "{\"id\":2,\"files\":{\"url\":\"https://h/b.jpg\",\"width\":100,\"height\":100},\"data\":{\"images\":[{\"classification\":[{\"id\":\"c2\",\"classification\":\"day\",\"attrs\":[]},{\"id\":\"c3\",\"classification\":\"rain\",\"attrs\":[]}]}]}}" \
        "{\"sx\":\"end\",\"count\":2}" > in.ndjson
    sx-convert-coco < in.ndjson | mat coco
    assert_eq "[[\"night\"],[\"day\",\"rain\"]]" "$(jq -c "[.images[].attributes.classification]" coco/annotations.json)"
    assert_eq 1 "$(jq ".annotations | length" coco/annotations.json)"
    sx-convert-csv < in.ndjson | mat csv
    printf "%s\r\n" "image,width,height,class,xmin,ymin,xmax,ymax,image_classes" \
        "images/a.jpg,100,100,car,1,1,6,6,night" "images/b.jpg,100,100,,,,,,day;rain" > want
    diff want csv/annotations.csv
    sx-convert-voc < in.ndjson > out.ndjson
    assert_eq "1 2" "$(jq -r "select(.sx == \"warning\" and .reason == \"image classification\") | .item" out.ndjson | tr "\n" " " | sed "s/ \$//")"
'

test_expect_success 'DM: json/<stem>.json indented 4 and origin_files/ per split' '
    sx-convert-dm < $C/v1.ndjson > out.ndjson
    mat ds < out.ndjson
    test -f ds/train/json/street.json && test -f ds/train/json/street_12.json && test -f ds/valid/json/kp.json
    assert_eq "https://h/f/12.jpg" "$(jq -r "select(.path == \"train/origin_files/street_12.jpg\") | .url" out.ndjson)"
    sed -n 2p $C/v1.ndjson | jq -S .data > want.json
    jq -S . ds/train/json/street.json > got.json
    diff want.json got.json
    sed -n 2p ds/train/json/street.json | grep -q "^    \"annotations\""
'

test_expect_success 'DM: the sample round-trips through sx-fetch --dir, sx-convert-dm, sx-save' '
    sx-fetch --dir $TEST_DATA/sample | sx-convert-dm --images copy | sx-save -o out > log.ndjson
    test -f out/train/json/street_001.json && test -f out/train/origin_files/street_001.png
    sx-fetch --dir $TEST_DATA/sample | jq -c "select(.id) | .data" | sort > a
    sx-fetch --dir out | jq -c "select(.id) | .data" | sort > b
    diff a b
    cmp $TEST_DATA/sample/train/original_files/street_001.png out/train/origin_files/street_001.png
'

test_expect_success 'the sample through COCO and YOLO into sx-save' '
    sx-fetch --dir $TEST_DATA/sample | sx-convert-coco | sx-save -o coco > /dev/null
    python3 $C/check_coco.py coco/train/annotations.json && python3 $C/check_coco.py coco/valid/annotations.json
    test -f coco/images/train/street_001.png
    sx-fetch --dir $TEST_DATA/sample | sx-convert-yolo | sx-save -o yolo > /dev/null
    test -f yolo/labels/train/street_001.txt && test -f yolo/dataset.yaml && test -f yolo/images/valid/$(ls $TEST_DATA/sample/valid/original_files | head -1)
    test -f yolo/labels/train/empty_004.txt && test ! -s yolo/labels/train/empty_004.txt
'

test_expect_success 'every converter: --help with usage, options and an example; --version' '
    for c in coco yolo voc csv dm; do
        sx-convert-$c --help > h
        grep -q "^usage: sx-convert-$c" h && grep -q -- "--images" h && grep -q "^example" h && grep -q -- "--keep-going" h
        sx-convert-$c --version | grep -q "sx-convert-$c"
        expect_code 2 sx-convert-$c -Z < /dev/null 2> err
        assert_grep "sx-convert-$c" err
    done
'

test_done
