#!/usr/bin/env bash
# sx-progress forwarding zstd input against `zstd -dc | wc -l`, on a stream
# that compresses about 12:1 (decompression is cheap: sx-progress's own work
# shows) and one that compresses 3:1 (213 MB of items each); and plain input
# against cat. Wall time is the figure; CPU time (user + system) is printed
# beside it because the machines the benchmarks run on are shared.
. "$(dirname "$0")/lib.sh"

# gen OUT NOISE: 213 MB of items; NOISE random bytes each set the ratio
gen() {
    [ -s "$1.zst" ] && return
    python3 - "$1" "$2" <<'PY'
import random, sys
out, noise = sys.argv[1], int(sys.argv[2])
rng = random.Random(7)
classes = ["car", "person", "bicycle", "truck", "traffic light"]
size, n = 0, 0
with open(out, "w") as f:
    f.write('{"sx":"meta","target":"bench","total":0}\n')
    while size < 213_000_000:
        n += 1
        anns = ",".join('{"id":"a%07d","tool":"bounding_box","isLocked":false,"isVisible":true,'
                        '"classification":{"class":"%s"}}' % (n * 4 + k, classes[(n + k) % 5]) for k in range(1 + n % 4))
        coords = ",".join('{"id":"a%07d","coordinate":{"x":%d,"y":%d,"width":%d,"height":%d}}'
                          % (n * 4 + k, (n * 7 + k) % 1800, (n * 13 + k) % 1000, 100 + k, 50 + k) for k in range(1 + n % 4))
        line = ('{"id":%d,"files":{"url":"http://127.0.0.1:1/media/%d.jpg","file_name_original":"%d.jpg",'
                '"width":1920,"height":1080},"data":{"annotations":{"image_1":[%s]},"annotationsData":'
                '{"image_1":[%s]},"relations":{},"annotationGroups":{},"extra":{"note":"%s"}}}\n'
                % (n, n, n, anns, coords, rng.randbytes(noise).hex()))
        size += len(line)
        f.write(line)
    f.write('{"sx":"end","count":%d}\n' % n)
PY
    zstd -q -f -3 "$1" -o "$1.zst"
}

# cpu NAME CMD: best user+system seconds of 3 runs into $C_NAME
cpu() {
    local best="" i c
    for i in 1 2 3; do
        /usr/bin/time -f "%U %S" -o "$BENCH_DATA/.cpu" bash -c "$2" || return 1
        c=$(awk '{printf "%.3f", $1 + $2}' "$BENCH_DATA/.cpu")
        if [ -z "$best" ] || awk "BEGIN{exit !($c < $best)}"; then best=$c; fi
    done
    printf -v "C_$1" '%s' "$best"
}

printf '%-30s %8s %8s %9s %9s\n' "" "wall s" "cpu s" "MB/s" "ratio"
for s in 11:22 3:420; do
    r=${s%%:*}
    data=$BENCH_DATA/progress-$r.ndjson
    gen "$data" "${s#*:}"
    bytes=$(wc -c < "$data")
    measure zwc "zstd -q -dc '$data.zst' | wc -l > /dev/null"
    measure zprog "sx-progress -q < '$data.zst' > /dev/null"
    cpu zwc "zstd -q -dc '$data.zst' | wc -l > /dev/null"
    cpu zprog "sx-progress -q < '$data.zst' > /dev/null"
    actual=$(awk "BEGIN{printf \"%.1f\", $bytes / $(wc -c < "$data.zst")}")
    printf '%-30s %8s %8s %9s\n' "zstd -dc | wc -l ($actual:1)" "$T_zwc" "$C_zwc" "$(rate "$bytes" "$T_zwc")"
    printf '%-30s %8s %8s %9s %8sx\n' "sx-progress ($actual:1)" "$T_zprog" "$C_zprog" "$(rate "$bytes" "$T_zprog")" \
        "$(ratio "$T_zprog" "$T_zwc")"
    echo "sx-progress zstd $actual:1 / (zstd -dc | wc -l): $(ratio "$T_zprog" "$T_zwc")x wall, $(ratio "$C_zprog" "$C_zwc")x cpu (target <= 1.5)"
done
data=$BENCH_DATA/progress-11.ndjson
bytes=$(wc -c < "$data")
measure cat "cat '$data' > /dev/null"
measure prog "sx-progress -q < '$data' > /dev/null"
printf '%-30s %8s %8s %9s\n' "cat (plain)" "$T_cat" "" "$(rate "$bytes" "$T_cat")"
printf '%-30s %8s %8s %9s %8sx\n' "sx-progress (plain)" "$T_prog" "" "$(rate "$bytes" "$T_prog")" "$(ratio "$T_prog" "$T_cat")"
echo "sx-progress plain: $(rate "$bytes" "$T_prog") MB/s, $(ratio "$T_prog" "$T_cat")x cat"
