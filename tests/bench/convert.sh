#!/usr/bin/env bash
# The converters: sx-convert-coco and sx-convert-yolo against a parse-only
# libjq pass over the same items (the floor of any stage that reads values)
# and against a Python reference converter (stdlib json, the SDK's COCO
# algorithm); then peak memory at 100,000 vs 1,000,000 items.
#   SX_BUILD=build-conv bash tests/bench/convert.sh
# BENCH_ITEMS (default 200000) and BENCH_BIG (default 1000000) scale it down.
. "$(dirname "$0")/lib.sh"
TOOLS=$SX_BUILD/tools
for t in gen-items parse-only; do
    [ -x "$TOOLS/$t" ] || { echo "missing $TOOLS/$t: run make O=$SX_BUILD test-build" >&2; exit 1; }
done
N=${BENCH_ITEMS:-200000}
BIG=${BENCH_BIG:-1000000}
SMALL=$((BIG / 10))
data=$BENCH_DATA/conv-$N.ndjson
[ -s "$data" ] || "$TOOLS/gen-items" "$N" 1 > "$data"
bytes=$(wc -c < "$data")
anns=$(grep -o '"tool"' "$data" | wc -l)
echo "input: $N items, $anns annotations, $((bytes / 1000000)) MB"
work=$(mktemp -d "$BENCH_DATA/conv.XXXXXX")
trap 'rm -rf "$work"' EXIT
export TMPDIR=$work

BENCH_RUNS=${BENCH_RUNS:-3}
measure parse "'$TOOLS/parse-only' '$data' > /dev/null"
measure coco  "sx-convert-coco < '$data' > /dev/null"
measure cocom "sx-convert-coco --move < '$data' > /dev/null; rm -f '$work'/sx-spool.*"
measure yolo  "sx-convert-yolo < '$data' > /dev/null"
BENCH_RUNS=1
measure py    "python3 '$SX_ROOT/tests/bench/coco_ref.py' '$work/py' < '$data'"

printf '%-36s %8s %9s %10s %12s %12s\n' "" seconds "MB/s" "peak KiB" "/ parse-only" "Python /"
row() { printf '%-36s %8s %9s %10s %12s %12s\n' "$1" "$2" "$(rate "$bytes" "$2")" "$3" "$(ratio "$2" "$T_parse")x" "$(ratio "$T_py" "$2")x"; }
row "parse-only (libjq, the floor)" "$T_parse" "$M_parse"
row "sx-convert-coco (text records)" "$T_coco" "$M_coco"
row "sx-convert-coco --move" "$T_cocom" "$M_cocom"
row "sx-convert-yolo" "$T_yolo" "$M_yolo"
row "coco_ref.py (Python, stdlib json)" "$T_py" "$M_py"
echo "sx-convert-coco / parse-only: $(ratio "$T_coco" "$T_parse")x (--move: $(ratio "$T_cocom" "$T_parse")x), sx-convert-yolo / parse-only: $(ratio "$T_yolo" "$T_parse")x (target <= 1.3)"
echo "Python / sx-convert-coco: $(ratio "$T_py" "$T_coco")x, Python / sx-convert-yolo: $(ratio "$T_py" "$T_yolo")x (target >= 3)"

# Peak memory: the generator feeds the converter through a pipe (no 1 GB file);
# the generator's own RSS is small and constant.
BENCH_RUNS=1
measure gen_s  "'$TOOLS/gen-items' $SMALL 2 > /dev/null"
measure coco_s "'$TOOLS/gen-items' $SMALL 2 | sx-convert-coco > /dev/null"
measure coco_b "'$TOOLS/gen-items' $BIG 2 | sx-convert-coco > /dev/null"
measure yolo_s "'$TOOLS/gen-items' $SMALL 2 | sx-convert-yolo > /dev/null"
measure yolo_b "'$TOOLS/gen-items' $BIG 2 | sx-convert-yolo > /dev/null"
printf '%-22s %14s %14s %8s\n' "peak RSS (KiB)" "$SMALL items" "$BIG items" "growth"
printf '%-22s %14s %14s %8s\n' "sx-convert-coco" "$M_coco_s" "$M_coco_b" "$(ratio "$M_coco_b" "$M_coco_s")x"
printf '%-22s %14s %14s %8s\n' "sx-convert-yolo" "$M_yolo_s" "$M_yolo_b" "$(ratio "$M_yolo_b" "$M_yolo_s")x"
echo "(gen-items alone: $M_gen_s KiB) targets: < 65536 KiB at $BIG items, growth <= 1.10x"
