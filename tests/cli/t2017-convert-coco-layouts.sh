#!/usr/bin/env bash
# sx-convert-coco --layout: the places Datumaro and FiftyOne look for a COCO
# dataset, checked by their own importers' rules; attributes with reserved
# names moved out of the way there, kept as the SDK names them by default.
. "$(dirname "$0")/../lib/test-lib.sh"
C=$TEST_DATA/conv
mat() { python3 "$C/materialize.py" "$@"; }

# an item whose DM attributes have the names FiftyOne and COCO reserve
ATTRS='{"class":"car","confidence":0.9,"label":"x","bounding_box":"y","mask":1,"index":"i","id":"z","area":"north","_cls":"c","attr_label":"mine","color":"red"}'
items() {
    echo '{"sx":"meta","total":3}'
    for i in 1 2 3; do
        printf '{"id":%s,"files":{"url":"http://h/%s.jpg","file_name_original":"f%s.jpg","width":64,"height":48},"data":{"annotations":{"image_1":[{"id":"a","tool":"bounding_box","classification":%s},{"id":"k","tool":"keypoint","classification":{"class":"nose","confidence":1}}]},"annotationsData":{"image_1":[{"id":"a","coordinate":{"x":1,"y":2,"width":10,"height":8}},{"id":"k","coordinate":{"x":5,"y":5}}]}}}\n' $i $i $i "$ATTRS"
    done
    echo '{"sx":"end","count":3}'
}

# fiftyone_check DIR LABELS IMAGES_DIR: the rules of FiftyOne's COCO importer
# (fiftyone/utils/coco.py: COCODetectionDatasetImporter finds DIR/<split>/LABELS and
# the images in DIR/<split>/IMAGES_DIR; COCOObject.from_anno_dict merges `attributes`
# into the annotation and calls cls(**d); to_detection/to_keypoints pass label,
# bounding_box, mask, confidence, points by name next to **attributes, with
# extra_attrs=True, the default). ./images lists the image paths written.
fiftyone_check() {
    python3 - "$@" <<'PY'
import glob, json, os.path as osp, sys
root, labels_name, data_name = sys.argv[1:4]
named = {"id", "image_id", "category_id", "bbox", "segmentation", "keypoints", "score", "area", "iscrowd"}
label_fields = {"label", "bounding_box", "mask", "mask_path", "confidence", "index", "points", "tags", "attributes"}
saved = set(open("images").read().split())
n = 0
for labels in glob.glob(osp.join(root, "*", labels_name)):
    d = json.load(open(labels))
    split = osp.basename(osp.dirname(labels))
    for im in d["images"]:
        assert any(p.endswith("/" + im["file_name"]) and split in p for p in saved), im
    for a in d["annotations"]:
        attrs = a.get("attributes", {})
        if set(attrs) & named:
            sys.exit("would overwrite %s" % sorted(set(attrs) & named))
        merged = dict(a)
        merged.update(merged.pop("attributes", {}))
        extra = set(merged) - named
        if extra & label_fields:
            sys.exit("duplicate keyword %s" % sorted(extra & label_fields))
        if any(k.startswith("_") for k in extra):
            sys.exit("private field %s" % sorted(extra))
        n += 1
if n != 6:
    sys.exit("%d annotations" % n)
PY
}

test_expect_success 'default layout: the SDK'"'"'s names, attributes as the DM has them' '
    items | sx-convert-coco --split train=0.5,val=0.5 --seed 3 | mat ds &&
    ls ds/train/annotations.json ds/val/annotations.json &&
    jq -e ".annotations[0].attributes | .confidence == 0.9 and .label == \"x\" and .id == \"z\" and .area == \"north\"" ds/train/annotations.json
'

test_expect_success '--layout coco: annotations/instances_<split>.json and images/<split>/, as Datumaro finds them' '
    items | sx-convert-coco --layout coco --split train=0.5,val=0.5 --seed 3 > recs && mat ds < recs &&
    assert_eq "ds/annotations/instances_train.json ds/annotations/instances_val.json" "$(ls ds/annotations/* | paste -sd" ")" &&
    ! find ds -name annotations.json | grep -q . &&
    jq -r "select(.category == \"original_file\") | .path" recs > images &&
    python3 -c "
import glob, json, os.path as osp
# datumaro/plugins/data_formats/coco: CocoInstancesImporter.detect (annotations/instances_*.json),
# find_sources (subset after instances_), DirPathExtracter (root above annotations/, images/<subset>/)
saved = set(open(\"images\").read().split())
subsets = 0
for ann in glob.glob(\"ds/annotations/instances_*.json\"):
    subset = osp.splitext(osp.basename(ann))[0].split(\"instances_\", 1)[1]
    root = osp.dirname(osp.dirname(ann))
    images_dir = osp.join(\"images\", subset)
    for im in json.load(open(ann))[\"images\"]:
        assert osp.join(images_dir, im[\"file_name\"]) in saved, (im, saved)
    subsets += 1
assert subsets == 2
" &&
    items | sx-convert-coco --layout coco | mat flat && ls flat/annotations/instances_default.json &&
    items | sx-convert-coco --layout coco > flatrecs && jq -r "select(.category == \"original_file\") | .path" flatrecs | grep -q "^images/f1.jpg$"
'

test_expect_success '--layout fiftyone: [<split>/]labels.json and data/, loadable with extra_attrs=True' '
    items | sx-convert-coco --layout fiftyone --split train=0.5,val=0.5 --seed 3 > recs && mat ds < recs &&
    ls ds/train/labels.json ds/val/labels.json && ! find ds -name annotations.json | grep -q . &&
    jq -r "select(.category == \"original_file\") | .path" recs > images &&
    fiftyone_check ds labels.json data &&
    items | sx-convert-coco --split train=0.5,val=0.5 --seed 3 > recs && mat sx < recs &&
    jq -r "select(.category == \"original_file\") | .path" recs > images &&
    expect_code 1 fiftyone_check sx annotations.json images 2> err && assert_grep "would overwrite .*area.*id" err &&
    jq -c ".annotations[0].attributes" ds/train/labels.json > got &&
    assert_eq "{\"attr_confidence\":0.9,\"attr_attr_label\":\"x\",\"attr_bounding_box\":\"y\",\"attr_mask\":1,\"attr_index\":\"i\",\"attr_id\":\"z\",\"attr_area\":\"north\",\"attr__cls\":\"c\",\"attr_label\":\"mine\",\"color\":\"red\"}" "$(cat got)" &&
    items | sx-convert-coco --layout coco | mat c && jq -e ".annotations[0].attributes.attr_confidence == 0.9" c/annotations/instances_default.json
'

test_expect_success '--layout must be sx, coco or fiftyone' '
    expect_code 2 sx-convert-coco --layout voc < /dev/null 2> err && assert_grep "not sx, coco or fiftyone" err
'

test_done
