#!/usr/bin/env bash
# demo.sh BUILD_DIR : a real export of the bundled sample dataset
# (tests/data/sample: DM v1 JSON and PNG images, train/valid splits) into
# COCO and YOLO datasets under BUILD_DIR/demo/, with live progress.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=$1
case $build in /*) ;; *) build=$root/$build ;; esac
export PATH="$build/bin:$PATH"
sample=$root/tests/data/sample
out=$build/demo
rm -rf "$out"
mkdir -p "$out"

echo "== sx-jq + sx-progress: class counts of the sample stream"
sx-jq '{id, classes: [.data.annotations[][]?.classification.class]}' "$root/tests/data/sample.ndjson" |
    sx-progress -o "$out/classes.ndjson"
cat "$out/classes.ndjson"

have() { [ -x "$build/bin/$1" ]; }
if have sx-fetch && have sx-convert-coco && have sx-save; then
    echo
    echo "== sx-fetch --dir | sx-convert-coco | sx-save | sx-progress"
    sx-fetch --dir "$sample" | sx-convert-coco --images copy | sx-save -o "$out/coco" | sx-progress > "$out/coco.log"
    find "$out/coco" -type f -not -name '.sx-manifest.ndjson' | sort | sed "s|$out/||"
    echo "categories: $(jq -c '[.categories[] | {id, name}]' "$out/coco/train/annotations.json")"
fi
if have sx-fetch && have sx-convert-yolo && have sx-save; then
    echo
    echo "== sx-fetch --dir | sx-convert-yolo | sx-save | sx-progress"
    sx-fetch --dir "$sample" | sx-convert-yolo --images copy | sx-save -o "$out/yolo" | sx-progress > "$out/yolo.log"
    find "$out/yolo" -type f -not -name '.sx-manifest.ndjson' | sort | sed "s|$out/||"
    echo "labels of street_001: $(tr '\n' ';' < "$(find "$out/yolo" -name 'street_001*.txt' | head -1)")"
fi
echo
echo "demo output is in $out"
