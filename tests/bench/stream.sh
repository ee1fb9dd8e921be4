#!/usr/bin/env bash
# The stream layer: sx-progress against wc/zstd, sx-jq '.' against jq -c .
# on the same 200 MB of items.
. "$(dirname "$0")/lib.sh"

data=$BENCH_DATA/stream-200mb.ndjson
if [ ! -s "$data" ]; then
    python3 - "$data" <<'PY'
import json, random, sys
rng = random.Random(7)
classes = ["car", "person", "bicycle", "truck", "traffic light"]
def item(i):
    anns, coords = [], []
    for k in range(rng.randint(1, 8)):
        aid = "%08x" % rng.getrandbits(32)
        anns.append({"id": aid, "tool": "bounding_box", "isLocked": False, "isVisible": True,
                     "classification": {"class": rng.choice(classes)}})
        coords.append({"id": aid, "coordinate": {"x": round(rng.uniform(0, 1800), 2), "y": round(rng.uniform(0, 1000), 2),
                                                "width": round(rng.uniform(5, 300), 2), "height": round(rng.uniform(5, 300), 2)}})
    return {"id": i, "files": {"url": "http://127.0.0.1:1/media/%d.jpg" % i, "file_name_original": "%d.jpg" % i,
                               "width": 1920, "height": 1080},
            "data": {"annotations": {"image_1": anns}, "annotationsData": {"image_1": coords},
                     "relations": {}, "annotationGroups": {}, "extra": {}}}
size, n, lines = 0, 0, []
while size < 200_000_000:
    n += 1
    line = json.dumps(item(n), separators=(",", ":"))
    size += len(line) + 1
    lines.append(line)
with open(sys.argv[1], "w") as f:
    f.write('{"sx":"meta","target":"bench","total":%d}\n' % n)
    f.write("\n".join(lines) + "\n")
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
