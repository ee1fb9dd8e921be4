#!/usr/bin/env bash
# The stream layer: sx-progress against wc/zstd, sx-jq '.' against jq -c .
# on the same 200 MB of items.
. "$(dirname "$0")/lib.sh"

data=$BENCH_DATA/stream-200mb.ndjson
if [ ! -s "$data" ]; then
    python3 - "$data" <<'PY'
import json, sys
ann = lambda i, k: {"id": "a%d" % k, "tool": "bounding_box", "isLocked": False, "isVisible": True,
                    "classification": {"class": ["car", "person", "bicycle"][k % 3]}}
coord = lambda k: {"id": "a%d" % k, "coordinate": {"x": 10 + k, "y": 20 + k, "width": 30.5, "height": 40.25}}
tmpl = {"id": 0, "files": {"url": "http://127.0.0.1:1/media/img.jpg", "file_name_original": "img.jpg",
                           "width": 1920, "height": 1080},
        "data": {"annotations": {"image_1": [ann(0, k) for k in range(4)]},
                 "annotationsData": {"image_1": [coord(k) for k in range(4)]},
                 "relations": {}, "annotationGroups": {}, "extra": {}}}
line = json.dumps(tmpl, separators=(",", ":"))
head, tail = line.split('"id":0', 1)
n = 200_000_000 // (len(line) + 1)
with open(sys.argv[1], "w") as f:
    f.write('{"sx":"meta","target":"bench","total":%d}\n' % n)
    f.writelines('%s"id":%d%s\n' % (head, i, tail) for i in range(1, n + 1))
    f.write('{"sx":"end","count":%d}\n' % n)
PY
    zstd -q -f -3 "$data" -o "$data.zst"
fi
bytes=$(wc -c < "$data")
echo "input: $(wc -l < "$data") records, $((bytes / 1000000)) MB ($(($(wc -c < "$data.zst") / 1000000)) MB zstd)"

measure wc      "wc -l < '$data' > /dev/null"
measure prog    "sx-progress -q < '$data' > /dev/null"
measure zwc     "zstd -q -dc '$data.zst' | wc -l > /dev/null"
measure zprog   "sx-progress -q < '$data.zst' > /dev/null"
printf '%-34s %8s %9s\n' "" seconds "MB/s"
printf '%-34s %8s %9s\n' "wc -l (plain)"               "$T_wc"    "$(rate "$bytes" "$T_wc")"
printf '%-34s %8s %9s\n' "sx-progress (plain)"         "$T_prog"  "$(rate "$bytes" "$T_prog")"
printf '%-34s %8s %9s\n' "zstd -dc | wc -l (zstd)"     "$T_zwc"   "$(rate "$bytes" "$T_zwc")"
printf '%-34s %8s %9s\n' "sx-progress (zstd)"          "$T_zprog" "$(rate "$bytes" "$T_zprog")"
echo "sx-progress plain: $(rate "$bytes" "$T_prog") MB/s (target >= 1000)"
echo "sx-progress zstd / (zstd -dc | wc -l): $(ratio "$T_zprog" "$T_zwc")x (target <= 1.5)"

BENCH_RUNS=2
measure jq   "jq -c . < '$data' > /dev/null"
measure sxjq "sx-jq . < '$data' > /dev/null"
printf '%-34s %8s %9s %10s\n' "" seconds "MB/s" "peak KiB"
printf '%-34s %8s %9s %10s\n' "jq -c ." "$T_jq" "$(rate "$bytes" "$T_jq")" "$M_jq"
printf '%-34s %8s %9s %10s\n' "sx-jq ." "$T_sxjq" "$(rate "$bytes" "$T_sxjq")" "$M_sxjq"
echo "sx-jq . / jq -c .: $(ratio "$T_sxjq" "$T_jq")x time (target <= 1.0), peak memory $M_sxjq KiB vs $M_jq KiB"
