#!/usr/bin/env bash
# Converters and bad input: invalid JSON, records that are not items, impossible
# coordinates, unknown sizes, short polygons, many annotations, hostile class names.
. "$(dirname "$0")/../lib/test-lib.sh"
C=$TEST_DATA/conv
mat() { python3 "$C/materialize.py" "$@"; }
END='{"sx":"end","count":9}'
# item ID BOX_COORDINATE_JSON [FILES_JSON]: a DM v1 item with one box
item() {
    printf '{"id":%s,"files":%s,"data":{"annotations":{"image_1":[{"id":"a","tool":"%s","classification":{"class":"car"}}]},"annotationsData":{"image_1":[{"id":"a","coordinate":%s}]}}}\n' \
        "$1" "${4:-{\"url\":\"https://h/u\",\"file_name_original\":\"i$1.jpg\",\"width\":100,\"height\":100\}}" "${3:-bounding_box}" "$2"
}

test_expect_success 'invalid JSON: exit 1 naming the line, no end' '
    { item 1 "{\"x\":1,\"y\":1,\"width\":5,\"height\":5}"; item 2 "{\"x\":1,\"y\":1,\"width\":5,\"height\":5}"; echo "{\"id\":3,"; echo "$END"; } > in.ndjson
    expect_code 1 sx-convert-coco < in.ndjson > out.ndjson 2> err
    assert_grep "^sx-convert-coco: <stdin>:3: invalid JSON" err
    ! grep -q "\"sx\":\"end\"" out.ndjson
    expect_code 1 sx-convert-yolo in.ndjson > /dev/null 2> err
    assert_grep "^sx-convert-yolo: in.ndjson:3: " err
'

test_expect_success 'invalid JSON with --keep-going: an error record, the rest converted, exit 1' '
    { item 1 "{\"x\":1,\"y\":1,\"width\":5,\"height\":5}"; echo "{\"id\":3,"; item 2 "{\"x\":1,\"y\":1,\"width\":5,\"height\":5}"; echo "$END"; } > in.ndjson
    expect_code 1 sx-convert-coco --keep-going < in.ndjson > out.ndjson 2> err
    jq -r "select(.sx == \"error\") | .message" out.ndjson | grep -q "^<stdin>:2: invalid JSON"
    mat ds < out.ndjson
    assert_eq 2 "$(jq ".images | length" ds/annotations.json)"
    tail -1 out.ndjson | grep -q "\"sx\":\"end\""
'

test_expect_success 'records that are not items are error records, the stream goes on' '
    { echo "[1,2]"; echo "{\"foo\":1}"; echo "{\"id\":5}"; echo "{\"id\":6,\"files\":{},\"data\":null}"; item 7 "{\"x\":1,\"y\":1,\"width\":5,\"height\":5}"; echo "$END"; } > in.ndjson
    sx-convert-coco < in.ndjson > out.ndjson
    jq -r "select(.sx == \"error\") | \"\(.item) \(.message)\"" out.ndjson > errs
    printf "%s\n" "null not an item (array)" "null not an item (no id)" "5 not an item (no data)" "6 data is Null" > want
    diff want errs
    assert_eq "{\"sx\":\"metrics\",\"category\":\"dataset_conversion\",\"stand_by\":0,\"success\":1,\"failed\":4}" "$(grep "\"dataset_conversion\",\"stand_by\"" out.ndjson)"
'

test_expect_success 'NaN, infinite, huge and negative-sized boxes are dropped with a warning; the items stay' '
    { item 1 "{\"x\":nan,\"y\":1,\"width\":5,\"height\":5}"; item 2 "{\"x\":1e999,\"y\":1,\"width\":5,\"height\":5}"
      item 3 "{\"x\":1,\"y\":1,\"width\":1e12,\"height\":5}"; item 4 "{\"x\":\"1\",\"y\":1,\"width\":5,\"height\":5}"
      item 5 "{\"x\":1,\"y\":1,\"width\":-5,\"height\":5}"; echo "$END"; } > in.ndjson
    sx-convert-coco < in.ndjson > out.ndjson
    ! grep -q "\"sx\":\"error\"" out.ndjson
    assert_eq "1 2 3 4 5" "$(jq -r "select(.sx == \"warning\" and .kind == \"dropped\") | .item" out.ndjson | tr "\n" " " | sed "s/ \$//")"
    assert_eq 4 "$(jq -r "select(.sx == \"warning\") | .reason" out.ndjson | grep -c "coordinates that are not finite numbers")"
    jq -r "select(.sx == \"warning\" and .item == 5) | .reason" out.ndjson | grep -q "box with a negative size"
    mat ds < out.ndjson
    assert_eq "5 0" "$(jq -r "\"\(.images | length) \(.annotations | length)\"" ds/annotations.json)"
    assert_eq "0 5" "$(jq -r "select(.sx == \"metrics\" and .category == \"annotation\") | \"\(.success) \(.failed)\"" out.ndjson)"
'

test_expect_success 'negative coordinates are clipped; a box wholly outside is dropped' '
    { item 1 "{\"x\":-10,\"y\":-20,\"width\":30,\"height\":40}"; item 2 "{\"x\":-50,\"y\":-50,\"width\":10,\"height\":10}"; echo "$END"; } > in.ndjson
    sx-convert-coco < in.ndjson > out.ndjson
    mat ds < out.ndjson
    python3 $C/check_coco.py ds/annotations.json
    assert_eq "[[0,0,20,20]]" "$(jq -c "[.annotations[].bbox]" ds/annotations.json)"
    jq -r "select(.sx == \"warning\") | \"\(.item) \(.message)\"" out.ndjson | grep -q "^2 bounding_box a has no area"
    assert_eq 2 "$(jq ".images | length" ds/annotations.json)"
'

test_expect_success 'width or height 0, or no size at all, fails the item' '
    { item 1 "{\"x\":1,\"y\":1,\"width\":5,\"height\":5}" "" "{\"url\":\"https://h/u\",\"width\":0,\"height\":10}"
      item 2 "{\"x\":1,\"y\":1,\"width\":5,\"height\":5}" "" "{\"url\":\"https://h/u\"}"
      item 3 "{\"x\":1,\"y\":1,\"width\":5,\"height\":5}" "" "{\"url\":\"https://h/u\",\"width\":10.5,\"height\":10}"; echo "$END"; } > in.ndjson
    for c in coco yolo voc csv; do
        sx-convert-$c < in.ndjson > out.ndjson
        assert_eq "1 2 3" "$(jq -r "select(.sx == \"error\") | .item" out.ndjson | tr "\n" " " | sed "s/ \$//")"
    done
    jq -r "select(.sx == \"error\" and .item == 1) | .message" out.ndjson | grep -q "0x10 is not a positive"
    jq -r "select(.sx == \"error\" and .item == 2) | .message" out.ndjson | grep -q "image size unknown"
'

test_expect_success 'short polygons and polylines, missing coordinates and classes are dropped; unknown tools ignored; items stay' '
    { item 1 "[{\"x\":1,\"y\":1},{\"x\":5,\"y\":5}]" polygon; item 2 "[{\"x\":1,\"y\":1}]" polyline
      item 3 "{\"x\":1,\"y\":1}" circle
      echo "{\"id\":4,\"files\":{\"url\":\"https://h/u\",\"width\":9,\"height\":9},\"data\":{\"annotations\":{\"image_1\":[{\"id\":\"z\",\"tool\":\"bounding_box\",\"classification\":{\"class\":\"c\"}}]}}}"
      echo "{\"id\":5,\"files\":{\"url\":\"https://h/u\",\"width\":9,\"height\":9},\"data\":{\"images\":[{\"bounding_box\":[{\"id\":\"q\",\"data\":[1,2,3,4]}]}]}}"
      echo "$END"; } > in.ndjson
    for c in coco yolo voc csv; do
        sx-convert-$c < in.ndjson > out.ndjson
        ! grep -q "\"sx\":\"error\"" out.ndjson
        assert_eq 5 "$(jq -r "select(.sx == \"end\") | .items" out.ndjson)" "items converted by sx-convert-$c"
    done
    sx-convert-coco < in.ndjson > out.ndjson
    jq -r "select(.sx == \"warning\") | \"\(.item) \(.kind) \(.reason): \(.message)\"" out.ndjson > warns
    printf "%s\n" "1 dropped polygon with fewer than 3 points: polygon a has 2 points (needs 3)" \
        "2 dropped polyline with fewer than 2 points: polyline a has 1 point (needs 2)" \
        "3 ignored tool '"'"'circle'"'"': " \
        "4 dropped annotation without coordinates: bounding_box z has none in annotationsData" \
        "5 dropped annotation without a class: bounding_box q" > want
    diff want warns
    mat ds < out.ndjson
    assert_eq "5 0" "$(jq -r "\"\(.images | length) \(.annotations | length)\"" ds/annotations.json)"
'

test_expect_success '10,000 annotations on one image, every converter' '
    python3 -c "
import json
n=10000
anns=[{\"id\":\"a%d\"%i,\"tool\":\"bounding_box\",\"classification\":{\"class\":\"c%d\"%(i%3)}} for i in range(n)]
data=[{\"id\":\"a%d\"%(n-1-i),\"coordinate\":{\"x\":(n-1-i)%90,\"y\":1,\"width\":10,\"height\":10}} for i in range(n)]
print(json.dumps({\"id\":1,\"files\":{\"url\":\"https://h/u\",\"file_name_original\":\"m.jpg\",\"width\":100,\"height\":100},\"data\":{\"annotations\":{\"image_1\":anns},\"annotationsData\":{\"image_1\":data}}}, separators=(\",\",\":\")))
print(json.dumps({\"sx\":\"end\",\"count\":1}, separators=(\",\",\":\")))" > many.ndjson
    sx-convert-coco < many.ndjson | mat coco && python3 $C/check_coco.py coco/annotations.json | grep -q "ok 1 10000 3"
    assert_eq "[89,1,10,10]" "$(jq -c ".annotations[89].bbox" coco/annotations.json)"
    sx-convert-yolo < many.ndjson | mat yolo && assert_eq 10000 "$(wc -l < yolo/labels/m.txt)"
    sx-convert-voc < many.ndjson | mat voc && assert_eq 10000 "$(grep -c "<object>" voc/Annotations/m.xml)"
    sx-convert-csv < many.ndjson | mat csv && assert_eq 10001 "$(wc -l < csv/annotations.csv)"
'

test_expect_success 'class names with quotes, commas, newlines, <&> and non-ASCII: COCO JSON' '
    sx-convert-coco < $C/names.ndjson | mat ds
    python3 -c "
import json
c = json.load(open(\"ds/annotations.json\", encoding=\"utf-8\"))
names = sorted([\"say \\\"hi\\\"\", \"a,b\", \"two\\nlines\", \"<&>\", \"Überwald ñandú 猫\"], key=lambda s: s.encode())
assert [x[\"name\"] for x in c[\"categories\"]] == names, c[\"categories\"]
assert c[\"images\"][0][\"file_name\"] == \"we\\\"ird,<&>.jpg\"
"
'

test_expect_success 'the same names in VOC XML' '
    sx-convert-voc < $C/names.ndjson | mat ds
    python3 -c "
import xml.etree.ElementTree as ET, glob
f = glob.glob(\"ds/Annotations/*.xml\")[0]
r = ET.parse(f).getroot()
got = [o.find(\"name\").text for o in r.findall(\"object\")]
assert got == [\"say \\\"hi\\\"\", \"a,b\", \"two\\nlines\", \"<&>\", \"Überwald ñandú 猫\"], got
assert r.find(\"filename\").text == \"we\\\"ird,<&>.jpg\"
assert open(f, encoding=\"utf-8\").read().startswith(\"<?xml version=\\\"1.0\\\" encoding=\\\"utf-8\\\"?>\")
"
    assert_eq 5 "$(wc -l < ds/classes.txt)"
    grep -qx "two lines" ds/classes.txt
'

test_expect_success 'the same names in CSV (RFC 4180)' '
    sx-convert-csv < $C/names.ndjson | mat ds
    python3 -c "
import csv
rows = list(csv.reader(open(\"ds/annotations.csv\", encoding=\"utf-8\", newline=\"\")))
assert rows[0] == \"image,width,height,class,xmin,ymin,xmax,ymax,image_classes\".split(\",\"), rows[0]
assert [r[3] for r in rows[1:]] == [\"say \\\"hi\\\"\", \"a,b\", \"two\\nlines\", \"<&>\", \"Überwald ñandú 猫\"], rows
assert rows[1][0] == \"images/we\\\"ird,<&>.jpg\" and rows[1][4:] == [\"0\", \"5\", \"10\", \"15\", \"\"], rows[1]
"
'

test_expect_success 'the same names in YOLO dataset.yaml (quoted) and classes.txt' '
    sx-convert-yolo < $C/names.ndjson | mat ds
    python3 -c "
import json
names = [json.loads(l.split(\": \", 1)[1]) for l in open(\"ds/dataset.yaml\", encoding=\"utf-8\") if l.startswith(\"  \")]
assert names == sorted([\"say \\\"hi\\\"\", \"a,b\", \"two\\nlines\", \"<&>\", \"Überwald ñandú 猫\"], key=lambda s: s.encode()), names
"
    assert_eq 5 "$(wc -l < ds/classes.txt)"
'

# The converters read strict JSON themselves and hand anything else to libjq
# (lib/sx_tape.h): what libjq repairs is converted, what it refuses stops.
test_expect_success 'JSON that only libjq reads: invalid UTF-8 repaired, escapes decoded, refusals named' '
    { printf "{\"id\":1,\"files\":{\"url\":\"https://h/u\",\"width\":100,\"height\":100},\"data\":{\"annotations\":{\"image_1\":[{\"id\":\"a\",\"tool\":\"bounding_box\",\"classification\":{\"class\":\"bad \\377 byte\"}}]},\"annotationsData\":{\"image_1\":[{\"id\":\"a\",\"coordinate\":{\"x\":1,\"y\":1,\"width\":5,\"height\":5}}]}}}\n"
      item 2 "{\"x\":1,\"y\":1,\"width\":5,\"height\":5}" | sed "s/\"car\"/\"caf\\\\u00e9 \\\\ud83d\\\\ude00\"/"
      echo "$END"; } > in.ndjson
    sx-convert-coco < in.ndjson | mat ds
    jq -r ".categories[].name" ds/annotations.json > names
    printf "%s\n" "bad $(printf "\357\277\275") byte" "café 😀" | LC_ALL=C sort > want
    LC_ALL=C sort names | diff want -
    { item 1 "{\"x\":1,\"y\":1,\"width\":5,\"height\":5}"; item 2 "{\"x\":1,\"y\":1,\"width\":5,\"height\":5}" | sed "s/\"car\"/\"\\\\ud800\"/"; echo "$END"; } > in.ndjson
    expect_code 1 sx-convert-yolo < in.ndjson > /dev/null 2> err
    assert_grep "^sx-convert-yolo: <stdin>:2: invalid JSON: .*surrogate" err
'

test_done
