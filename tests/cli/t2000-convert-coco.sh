#!/usr/bin/env bash
# sx-convert-coco: the COCO of FORMATS.md, re-read and checked.
. "$(dirname "$0")/../lib/test-lib.sh"
C=$TEST_DATA/conv
mat() { python3 "$C/materialize.py" "$@"; }
check() { python3 "$C/check_coco.py" "$1"; }

test_expect_success 'per-split annotations.json, re-read and checked' '
    sx-convert-coco < $C/v1.ndjson > out.ndjson
    mat ds < out.ndjson
    check ds/train/annotations.json && check ds/valid/annotations.json
    ! test -e ds/annotations.json
'

test_expect_success 'info and licenses present, images without annotations kept' '
    sx-convert-coco < $C/v1.ndjson | mat ds
    assert_eq "true true" "$(jq -c "[has(\"info\"), has(\"licenses\")] | map(tostring) | join(\" \")" -r ds/train/annotations.json)"
    assert_eq "[1,2]" "$(jq -c "[.images[].id]" ds/train/annotations.json)"
    assert_eq "[]" "$(jq -c "[.annotations[] | select(.image_id == 2)]" ds/train/annotations.json)"
    assert_eq "2" "$(jq ".images | length" ds/valid/annotations.json)"
'

test_expect_success 'boxes clipped to the image, areas w*h and shoelace' '
    sx-convert-coco < $C/v1.ndjson | mat ds
    a=ds/train/annotations.json
    assert_eq "[100,50,200,100] 20000" "$(jq -r ".annotations[0] | \"\(.bbox|tojson) \(.area)\"" $a)"
    assert_eq "[600,400,40,80] 3200" "$(jq -r ".annotations[1] | \"\(.bbox|tojson) \(.area)\"" $a)"
    assert_eq "[[10,10,110,10,110,60,10,60]] 5000" "$(jq -r ".annotations[2] | \"\(.segmentation|tojson) \(.area)\"" $a)"
'

test_expect_success 'sorted class names without a class list; attributes kept' '
    sx-convert-coco < $C/v1.ndjson | mat ds
    assert_eq "[\"car\",\"lane\",\"person\"]" "$(jq -c "[.categories[] | select(.keypoints == null) | .name]" ds/train/annotations.json)"
    assert_eq "[1,3,3,2]" "$(jq -c "[.annotations[].category_id]" ds/train/annotations.json)"
    assert_eq "{\"color\":\"red\"}" "$(jq -c ".annotations[0].attributes" ds/train/annotations.json)"
    assert_eq "[0,470,640,300]" "$(jq -c ".annotations[3].polyline" ds/train/annotations.json)"
'

test_expect_success 'same categories in every split file' '
    sx-convert-coco < $C/v1.ndjson | mat ds
    assert_eq "$(jq -c .categories ds/train/annotations.json)" "$(jq -c .categories ds/valid/annotations.json)"
'

test_expect_success 'keypoints: one annotation per image, keypoint category with names' '
    sx-convert-coco < $C/v1.ndjson | mat ds
    a=ds/valid/annotations.json
    assert_eq "[\"eye\",\"nose\"]" "$(jq -c ".categories[] | select(.name == \"keypoints\") | .keypoints" $a)"
    assert_eq "[45,30,2,50,40,2] 2" "$(jq -r ".annotations[] | select(.keypoints) | \"\(.keypoints|tojson) \(.num_keypoints)\"" $a)"
    kid=$(jq ".categories[] | select(.name == \"keypoints\") | .id" $a)
    assert_eq "$kid" "$(jq ".annotations[] | select(.keypoints) | .category_id" $a)"
'

test_expect_success 'a rotated box gives its axis-aligned extent and keeps the rotation' '
    sx-convert-coco < $C/v1.ndjson | mat ds
    assert_eq "[45,35,10,20]" "$(jq -c ".annotations[] | select(.attributes.rotation) | .bbox" ds/valid/annotations.json)"
'

test_expect_success 'colliding image names get distinct names, COCO points at them' '
    sx-convert-coco < $C/v1.ndjson > out.ndjson
    assert_eq "images/train/street.jpg images/train/street_12.jpg" "$(jq -r "select(.category == \"original_file\") | .path" out.ndjson | head -2 | tr "\n" " " | sed "s/ \$//")"
    mat ds < out.ndjson
    assert_eq "street.jpg street_12.jpg" "$(jq -r "[.images[].file_name] | join(\" \")" ds/train/annotations.json)"
    assert_eq "https://h/f/12.jpg" "$(jq -r "select(.path == \"images/train/street_12.jpg\") | .url" out.ndjson)"
'

test_expect_success 'control records forwarded in order, meta first, own end last' '
    sx-convert-coco < $C/v1.ndjson > out.ndjson
    assert_eq meta "$(head -1 out.ndjson | jq -r .sx)"
    assert_eq "upstream failure" "$(jq -r "select(.sx == \"error\") | .message" out.ndjson)"
    assert_eq end "$(tail -1 out.ndjson | jq -r .sx)"
    assert_eq "0 6" "$(tail -1 out.ndjson | jq -r "\"\(.count) \(.files)\"")"
    test "$(grep -c "\"sx\":\"end\"" out.ndjson)" = 1
    assert_eq "{\"sx\":\"metrics\",\"category\":\"dataset_conversion\",\"stand_by\":0,\"success\":4,\"failed\":0}" "$(grep dataset_conversion out.ndjson | grep metrics)"
    grep -q "\"sx\":\"progress\",\"category\":\"dataset_conversion\",\"current\":4,\"total\":4" out.ndjson
'

test_expect_success 'DM v2 input' '
    sx-convert-coco < $C/v2.ndjson | mat ds
    check ds/annotations.json
    assert_eq "[200,100]" "$(jq -c ".images[0] | [.width, .height]" ds/annotations.json)"
    assert_eq "[10,20,30,40] {\"color\":\"red\",\"rotation\":0}" "$(jq -r ".annotations[0] | \"\(.bbox|tojson) \(.attributes|tojson)\"" ds/annotations.json)"
    assert_eq "600" "$(jq ".annotations[1].area" ds/annotations.json)"
'

test_expect_success '--classes FILE fixes the category ids; an annotation of a class outside is dropped, the item stays' '
    printf "person\ncar\nlane\n" > classes.txt
    sx-convert-coco --classes classes.txt < $C/v1.ndjson | mat ds
    assert_eq "[\"person\",\"car\",\"lane\"]" "$(jq -c "[.categories[] | select(.keypoints == null) | .name]" ds/train/annotations.json)"
    printf "car\n" > one.txt
    sx-convert-coco --classes one.txt < $C/v1.ndjson > out.ndjson
    jq -r "select(.sx == \"warning\" and .item == 11) | \"\(.kind) \(.reason): \(.message)\"" out.ndjson |
        grep -q "dropped class not in the class list: class .person. of bounding_box b2"
    ! grep -q "\"sx\":\"error\"" out.ndjson
    mat ds2 < out.ndjson
    jq -e "[.images[] | .sx_item] | index(11) != null" ds2/train/annotations.json
'

test_expect_success 'the project configuration from meta numbers the categories' '
    { echo "{\"sx\":\"meta\",\"total\":1,\"configuration\":{\"classification\":{\"bounding_box\":[{\"code\":\"truck\",\"name\":\"Truck\"},\"car\"],\"polygon\":[{\"name\":\"person\"}],\"polyline\":[\"lane\",\"car\"]}}}"
      sed -n 2p $C/v1.ndjson; echo "{\"sx\":\"end\",\"count\":1}"; } > in.ndjson
    sx-convert-coco < in.ndjson | mat ds
    assert_eq "[\"truck\",\"car\",\"person\",\"lane\"]" "$(jq -c "[.categories[].name]" ds/train/annotations.json)"
'

test_expect_success '--split assigns splits by id hash, deterministically' '
    python3 -c "
import json
def d(o): return json.dumps(o, separators=(\",\", \":\"))
print(d({\"sx\":\"meta\",\"total\":200}))
for i in range(200):
    print(d({\"id\":i,\"files\":{\"url\":\"https://h/u\",\"file_name_original\":\"%d.jpg\"%i,\"width\":10,\"height\":10},\"data\":{}}))
print(d({\"sx\":\"end\",\"count\":200}))" > in.ndjson
    sx-convert-coco --split train=0.8,val=0.2 --seed 7 < in.ndjson | mat a
    SOURCE_DATE_EPOCH=1 sx-convert-coco --split train=0.8,val=0.2 --seed 7 < in.ndjson > 1.nd
    SOURCE_DATE_EPOCH=1 sx-convert-coco --split train=0.8,val=0.2 --seed 7 < in.ndjson > 2.nd
    cmp 1.nd 2.nd
    t=$(jq ".images|length" a/train/annotations.json); v=$(jq ".images|length" a/val/annotations.json)
    test $((t + v)) = 200 && test $t -gt 140 && test $t -lt 180
    check a/train/annotations.json && check a/val/annotations.json
    SOURCE_DATE_EPOCH=1 sx-convert-coco --split train=0.8,val=0.2 --seed 8 < in.ndjson > 3.nd
    ! cmp -s 1.nd 3.nd
'

test_expect_success 'a stream without end: no annotations.json, no end, exit 1' '
    head -4 $C/v1.ndjson > cut.ndjson
    expect_code 1 sx-convert-coco < cut.ndjson > out.ndjson 2> err
    assert_grep "cut short" err
    ! grep -q annotations.json out.ndjson
    ! grep -q "\"sx\":\"end\"" out.ndjson
'

test_expect_success 'empty input: no output, exit 0' '
    : > empty
    sx-convert-coco < empty > out.ndjson
    test ! -s out.ndjson
'

test_expect_success 'a big annotations.json is split into contiguous append chunks' '
    python3 -c "
import json
def d(o): return json.dumps(o, separators=(\",\", \":\"))
anns=[{\"id\":\"a%d\"%i,\"tool\":\"bounding_box\",\"classification\":{\"class\":\"c%d\"%(i%7)}} for i in range(10000)]
data=[{\"id\":\"a%d\"%i,\"coordinate\":{\"x\":i%500,\"y\":i%300,\"width\":5.5,\"height\":3.25}} for i in range(10000)]
print(d({\"sx\":\"meta\",\"total\":3}))
for k in range(3):
    print(d({\"id\":k,\"files\":{\"url\":\"https://h/u\",\"file_name_original\":\"x.jpg\",\"width\":500,\"height\":300},\"data\":{\"annotations\":{\"image_1\":anns},\"annotationsData\":{\"image_1\":data}}}))
print(d({\"sx\":\"end\",\"count\":3}))" > big.ndjson
    sx-convert-coco < big.ndjson > out.ndjson
    test "$(grep -c "\"append\":true" out.ndjson)" -ge 1
    mat ds < out.ndjson
    check ds/annotations.json | grep -q "ok 3 30000 7"
'

test_expect_success '--move hands annotations.json over as a finished temporary file' '
    export TMPDIR=$PWD/tmp; mkdir tmp
    sx-convert-coco --move < $C/v2.ndjson > out.ndjson
    src=$(jq -r "select(.path == \"annotations.json\") | .src" out.ndjson)
    assert_eq true "$(jq -r "select(.path == \"annotations.json\") | .move" out.ndjson)"
    test "$(stat -c %s "$src")" = "$(jq -r "select(.path == \"annotations.json\") | .size" out.ndjson)"
    case $src in "$PWD"/tmp/sx-spool.??????/*) ;; *) echo "not in a spool directory: $src" >&2; false ;; esac
    assert_eq 700 "$(stat -c %a "${src%/*}")" "the spool directory is closed to others"
    sx-save -o ds < out.ndjson > /dev/null && check ds/annotations.json
    test -z "$(ls tmp)"
'

test_expect_success 'temporary spool files are gone after a failure too' '
    export TMPDIR=$PWD/tmp; mkdir tmp
    head -4 $C/v1.ndjson | expect_code 1 sx-convert-coco --move > /dev/null 2>&1
    printf "{\"id\":1,\"data\":{}}\nnot json\n" | expect_code 1 sx-convert-coco > /dev/null 2>&1
    test -z "$(ls tmp)"
'

test_expect_success '--move to a reader that is gone: the file handed over is removed' '
    export TMPDIR=$PWD/tmp; mkdir tmp
    sx-convert-coco --move < $C/v2.ndjson | (exec 0<&-; sleep 0.3)
    test -z "$(ls tmp)"
'

test_expect_success 'local images: size from the PNG header, link/copy/none' '
    python3 -c "
import struct, zlib
def png(w, h):
    raw = b\"\".join(b\"\\0\" + b\"\\0\" * w for _ in range(h))
    def ch(t, d): return struct.pack(\">I\", len(d)) + t + d + struct.pack(\">I\", zlib.crc32(t + d) & 0xffffffff)
    return b\"\\x89PNG\\r\\n\\x1a\\n\" + ch(b\"IHDR\", struct.pack(\">IIBBBBB\", w, h, 8, 0, 0, 0, 0)) + ch(b\"IDAT\", zlib.compress(raw)) + ch(b\"IEND\", b\"\")
open(\"pic.png\", \"wb\").write(png(33, 17))"
    printf "%s\n" "{\"sx\":\"meta\",\"total\":1,\"src_roots\":[\"$PWD\"]}" \
        "{\"id\":1,\"files\":{\"path\":\"pic.png\",\"file_name_original\":\"pic.png\"},\"data\":{}}" "{\"sx\":\"end\",\"count\":1}" > in.ndjson
    sx-convert-coco < in.ndjson > out.ndjson
    mat ds < out.ndjson
    assert_eq "[33,17]" "$(jq -c ".images[0] | [.width, .height]" ds/annotations.json)"
    assert_eq "$PWD/pic.png true" "$(jq -r "select(.path == \"images/pic.png\") | \"\(.src) \(.link)\"" out.ndjson)"
    sx-convert-coco --images copy < in.ndjson > out.ndjson
    assert_eq "$PWD/pic.png null" "$(jq -r "select(.path == \"images/pic.png\") | \"\(.src) \(.link)\"" out.ndjson)"
    sx-convert-coco --images none < in.ndjson > out.ndjson
    ! grep -q original_file out.ndjson
'

test_expect_success 'a local path outside the src_roots of meta is neither read nor named: the item fails' '
    printf "\211PNG\r\n\032\n\0\0\0\rIHDR\0\0\0\041\0\0\0\021\010\0\0\0\0" > pic.png
    mkdir ds && ln -s "$PWD/pic.png" ds/link.png
    printf "%s\n" "{\"sx\":\"meta\",\"total\":3,\"src_roots\":[\"$PWD/ds\"]}" \
        "{\"id\":1,\"files\":{\"path\":\"$PWD/pic.png\"},\"data\":{}}" \
        "{\"id\":2,\"files\":{\"path\":\"$PWD/ds/link.png\"},\"data\":{}}" \
        "{\"id\":3,\"files\":{\"path\":\"/proc/self/environ\"},\"data\":{}}" "{\"sx\":\"end\",\"count\":3}" |
        sx-convert-coco > out.ndjson
    assert_eq 3 "$(grep -c "\"sx\":\"error\"" out.ndjson)"
    assert_eq 2 "$(jq -r "select(.sx == \"error\") | .message" out.ndjson | grep -c "not under a directory sx may read")"
    assert_eq 1 "$(jq -r "select(.sx == \"error\") | .message" out.ndjson | grep -c "a link leads out")"
    ! grep -q "\"src\"" out.ndjson
'

test_expect_success 'usage errors exit 2; --help and --version exit 0' '
    expect_code 2 sx-convert-coco --images ftp < /dev/null 2> err && assert_grep "images" err
    expect_code 2 sx-convert-coco --split train=x < /dev/null 2> err && assert_grep "split" err
    expect_code 2 sx-convert-coco --bogus < /dev/null
    sx-convert-coco --help | grep -q "^usage: sx-convert-coco"
    sx-convert-coco --help | grep -q "example"
    sx-convert-coco --version | grep -q "sx-convert-coco"
'

test_done
