#!/usr/bin/env bash
# dataset.yaml as YAML readers read it (Debian's python3-yaml, the PyYAML of
# Ultralytics, Datumaro and FiftyOne): every class name comes back as it was;
# pose has a flip_idx; --layout datumaro writes data.yaml with labels Datumaro's
# YOLO importer accepts.
. "$(dirname "$0")/../lib/test-lib.sh"
C=$TEST_DATA/conv
mat() { python3 "$C/materialize.py" "$@"; }
# Debian's python3 with python3-yaml (TEST_DEBS), not whatever python3 is first on PATH
yaml() { /usr/bin/python3 -c "import sys, yaml, json; print(json.dumps(yaml.safe_load(open(sys.argv[1], encoding=\"utf-8\")), sort_keys=True))" "$1"; }

# names no YAML writer may put raw: controls, DEL, C1 (NEL, CSI), the line and
# paragraph separators, BOM, U+FFFE, quotes, backslash, YAML syntax and types
NAMES='["tab\there", "line\nbreak", "cr\rx", "bell\u0007", "esc\u001b[2J", "del\u007f", "nel\u0085", "csi\u009b31m", "ls\u2028ps\u2029", "bom\ufeff", "nonchar\ufffe\uffff", "quote\"back\\slash", "colon: space", "# hash", "- dash", "null", "yes", "~", "1e3", "0x1F", "[flow]", "{map}", "&anchor", "*alias", "!tag", "%pct", "@at", "`tick", "'"'"'single'"'"'", "emoji 😀", "ümlaut ß", ""]'

test_expect_success 'every class name comes back from dataset.yaml as it was (PyYAML)' '
    jq -c -n --argjson names "$NAMES" "{sx: \"meta\", total: 1, configuration: {classification: {bounding_box: \$names[:-1]}}},
        {id: 1, files: {file_name_original: \"a.jpg\", width: 10, height: 10},
         data: {annotations: {image_1: [{id: \"b\", tool: \"bounding_box\", classification: {class: \$names[0]}}]},
                annotationsData: {image_1: [{id: \"b\", coordinate: {x: 1, y: 1, width: 2, height: 2}}]}}},
        {sx: \"end\", count: 1}" | sx-convert-yolo --images none --dataset-path "/data/my \"set\": 1" | mat ds &&
    yaml ds/dataset.yaml > got.json &&
    jq -e --argjson names "$NAMES" "(.names | to_entries | map(.value)) == \$names[:-1]" got.json &&
    jq -e ".nc == $(jq -n --argjson n "$NAMES" "\$n | length - 1") and .path == \"/data/my \\\"set\\\": 1\" and .train == \"images\"" got.json &&
    ! LC_ALL=C grep -q -P "[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]|\xc2[\x80-\x9f]|\xe2\x80[\xa8\xa9]|\xef\xbb\xbf|\xef\xbf[\xbe\xbf]" ds/dataset.yaml
'

test_expect_success 'a --classes file with bytes that are not UTF-8: U+FFFD in dataset.yaml, the file still parses' '
    printf "ok\nbad\377byte\n" > classes.txt &&
    sx-convert-yolo --images none --classes classes.txt < /dev/null > /dev/null &&
    { echo "{\"sx\":\"meta\",\"total\":0}"; echo "{\"sx\":\"end\",\"count\":0}"; } |
        sx-convert-yolo --images none --classes classes.txt > recs &&
    jq -j "select(.path == \"dataset.yaml\") | .text" recs > dataset.yaml &&
    ! LC_ALL=C grep -q -P "\xff" dataset.yaml && yaml dataset.yaml > got.json &&
    jq -e ".names == {\"0\": \"ok\", \"1\": \"bad\ufffdbyte\"}" got.json
'

pose() { # pose META_CONFIGURATION: the pose sample with this configuration in meta
    { jq -c ".configuration = $1" <(head -1 $C/pose.ndjson); tail -n +2 $C/pose.ndjson; }
}

test_expect_success 'pose: flip_idx swaps the configuration'"'"'s pairs (names or indices), as Ultralytics needs it' '
    pose "{classification: {bounding_box: [\"person\"], keypoint: {classification_schema: [\"nose\", \"left_eye\", \"right_eye\", \"left_ear\", \"right_ear\"], flip_pairs: [[\"left_eye\", \"right_eye\"], [3, 4]]}}}" |
        sx-convert-yolo --task pose --images none 2> err | mat ds && test ! -s err &&
    yaml ds/dataset.yaml > got.json &&
    jq -e ".kpt_shape == [5, 3] and .flip_idx == [0, 2, 1, 4, 3]" got.json &&
    jq -e ".kpt_names == {\"0\": \"nose\", \"1\": \"left_eye\", \"2\": \"right_eye\", \"3\": \"left_ear\", \"4\": \"right_ear\"}" got.json &&
    jq -e "(.flip_idx | length) == .kpt_shape[0] and ([.flip_idx as \$f | range(0; \$f | length) | \$f[\$f[.]] == .] | all)" got.json
'

test_expect_success 'pose without pairs: the identity, said so in dataset.yaml; a bad pair is warned about and left out' '
    sx-convert-yolo --task pose --images none < $C/pose.ndjson | mat ds &&
    yaml ds/dataset.yaml > got.json && jq -e ".flip_idx == [0, 1, 2]" got.json &&
    assert_grep "^# the identity: the configuration lists no flip_pairs" ds/dataset.yaml &&
    pose "{classification: {keypoint: [\"eye\", \"nose\", \"tail\"]}, flip_pairs: [[\"eye\", \"ear\"], [\"eye\", \"tail\"], [\"tail\", \"nose\"], [1]]}" |
        sx-convert-yolo --task pose --images none 2> err | mat ds &&
    yaml ds/dataset.yaml > got.json && jq -e ".flip_idx == [2, 1, 0]" got.json &&
    assert_eq 3 "$(grep -c "^sx-convert-yolo: flip pair .* left out" err)" warnings &&
    assert_grep "flip pair .\[\"tail\",\"nose\"\]. of the configuration names a keypoint already paired" err
'

test_expect_success '--layout datumaro: data.yaml, and labels Datumaro'"'"'s YOLO importer takes (its own checks)' '
    sx-convert-yolo --layout datumaro --split train=0.5,val=0.5 < $C/yolo.ndjson | mat ds &&
    test -f ds/data.yaml && test ! -e ds/dataset.yaml &&
    yaml ds/data.yaml > got.json && jq -e ".names | type == \"object\" and length > 0" got.json &&
    ls ds/labels/*/*.txt > /dev/null &&
    python3 -c "
import glob, sys
# datumaro/plugins/data_formats/yolo/importer.py: _YoloLooseImporter._check_ann_file_impl,
# empty files allowed for the ultralytics flavour; labels at most one directory below labels/
for f in glob.glob(\"ds/labels/**/*.txt\", recursive=True):
    assert f.count(\"/\") <= 3, f
    for line in open(f):
        fields = line.rstrip(\"\\n\").split(\" \")
        assert len(fields) == 5, (f, fields)
        assert all(x.replace(\".\", \"\").isdigit() for x in fields), (f, fields)
        break
" &&
    expect_code 2 sx-convert-yolo --layout fiftyone < /dev/null 2> err && assert_grep "not sx or datumaro" err
'

test_done
