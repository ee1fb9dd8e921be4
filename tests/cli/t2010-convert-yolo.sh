#!/usr/bin/env bash
# sx-convert-yolo: label numbers checked against values computed by hand.
. "$(dirname "$0")/../lib/test-lib.sh"
C=$TEST_DATA/conv
mat() { python3 "$C/materialize.py" "$@"; }

# Hand computation for street.jpg (640x480):
#  b1 car (100,50,200,100): cx 200/640, cy 100/480, w 200/640, h 100/480
#  b2 person (-50,-20,100,60) clipped to (0,0)-(50,40): cx 25/640 = 0.0390625
#     (printf rounds the tie to even: 0.039062), cy 20/480, w 50/640, h 40/480
#  b3 car at x=700: outside, dropped
#  b4 car (1e-7,0,64,48): cx 32.0000001/640, no exponent form anywhere
test_expect_success 'detect: clipped in corner form, normalised, %.6f' '
    sx-convert-yolo < $C/yolo.ndjson | mat ds
    printf "%s\n" "0 0.312500 0.208333 0.312500 0.208333" \
                  "1 0.039062 0.041667 0.078125 0.083333" \
                  "0 0.050000 0.050000 0.100000 0.100000" > want
    diff want ds/labels/train/street.txt
    ! grep -q "e" ds/labels/train/street.txt
'

test_expect_success 'detect: a polygon gives its extent, polylines are skipped' '
    sx-convert-yolo < $C/yolo.ndjson | mat ds
    printf "%s\n" "1 0.250000 0.250000 0.500000 0.500000" "0 0.100000 0.200000 0.100000 0.200000" > want
    diff want ds/labels/train/poly.txt
'

test_expect_success 'segment: polygon points and box corners' '
    sx-convert-yolo --task segment < $C/yolo.ndjson | mat ds
    printf "%s\n" "1 0.000000 0.000000 0.500000 0.000000 0.500000 0.500000" \
        "0 0.050000 0.100000 0.150000 0.100000 0.150000 0.300000 0.050000 0.300000" > want
    diff want ds/labels/train/poly.txt
'

test_expect_success 'a vanished box is dropped, counted and reported' '
    sx-convert-yolo < $C/yolo.ndjson > out.ndjson
    jq -r "select(.sx == \"warning\") | \"\(.item) \(.kind) \(.reason): \(.message)\"" out.ndjson |
        grep -q "^1 dropped annotation outside the image: bounding_box b3 has no area inside the 640x480 image"
    ! grep -q "\"sx\":\"error\"" out.ndjson
    assert_eq "5 1" "$(jq -r "select(.sx == \"metrics\" and .category == \"annotation\") | \"\(.success) \(.failed)\"" out.ndjson)"
'

test_expect_success 'an image without objects gets an empty label file' '
    sx-convert-yolo < $C/yolo.ndjson | mat ds
    test -f ds/labels/valid/empty.txt && test ! -s ds/labels/valid/empty.txt
'

test_expect_success 'classes.txt and dataset.yaml' '
    sx-convert-yolo < $C/yolo.ndjson | mat ds
    printf "car\nperson\n" > want && diff want ds/classes.txt
    grep -qx "train: \"images/train\"" ds/dataset.yaml
    grep -qx "val: \"images/valid\"" ds/dataset.yaml
    grep -qx "nc: 2" ds/dataset.yaml
    grep -qx "  0: \"car\"" ds/dataset.yaml && grep -qx "  1: \"person\"" ds/dataset.yaml
    grep -q "^path: " ds/dataset.yaml
    ! grep -q "^test:" ds/dataset.yaml && ! grep -q kpt_shape ds/dataset.yaml
'

test_expect_success 'without splits: flat images/ and labels/' '
    grep -v "\"split\"" $C/yolo.ndjson > /dev/null; sed "s/\"split\":\"[a-z]*\",//" $C/yolo.ndjson > flat.ndjson
    sx-convert-yolo --dataset-path /data/x < flat.ndjson | mat ds
    test -f ds/labels/street.txt && test -f ds/labels/empty.txt
    grep -qx "train: \"images\"" ds/dataset.yaml && grep -qx "path: \"/data/x\"" ds/dataset.yaml
'

test_expect_success 'pose: keypoints in name order inside the smallest box, kpt_shape' '
    sx-convert-yolo --task pose < $C/pose.ndjson > out.ndjson
    mat ds < out.ndjson
    echo "0 0.350000 0.350000 0.500000 0.500000 0.400000 0.200000 2 0.200000 0.300000 2 0.000000 0.000000 0" > want
    diff want ds/labels/p.txt
    grep -qx "kpt_shape: \[3, 3\]" ds/dataset.yaml
    jq -r "select(.sx == \"warning\") | .message" out.ndjson | grep -q "keypoint k3 is not inside any bounding box"
    ! grep -q "\"sx\":\"error\"" out.ndjson
'

test_expect_success 'known class ids (--classes): labels written as items are read' '
    printf "person\ncar\n" > cls.txt
    sx-convert-yolo --classes cls.txt < $C/yolo.ndjson > out.ndjson
    l=$(grep -n "labels/train/street.txt" out.ndjson | cut -d: -f1)
    i=$(grep -n "images/train/poly.jpg" out.ndjson | cut -d: -f1)
    test "$l" -lt "$i"
    mat ds < out.ndjson
    head -1 ds/labels/train/street.txt | grep -q "^1 0.312500"
    printf "person\ncar\n" > want && diff want ds/classes.txt
'

test_expect_success 'an annotation of a class outside --classes is dropped with a warning; the item stays' '
    printf "car\n" > cls.txt
    sx-convert-yolo --classes cls.txt < $C/yolo.ndjson > out.ndjson
    assert_eq "1 3" "$(jq -r "select(.sx == \"warning\" and .reason == \"class not in the class list\") | .item" out.ndjson | sort -u | tr "\n" " " | sed "s/ \$//")"
    ! grep -q "\"sx\":\"error\"" out.ndjson
    mat ds < out.ndjson
    test -f ds/labels/train/street.txt
    ! grep -q "^1 " ds/labels/train/street.txt
'

test_expect_success 'usage: --task must be detect, segment or pose' '
    expect_code 2 sx-convert-yolo --task classify < /dev/null 2> err
    assert_grep "task" err
    sx-convert-yolo --help | grep -q -- "--task"
'

test_done
