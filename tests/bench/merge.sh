#!/usr/bin/env bash
# sx-merge-coco's peak memory against the number of images: 100,000 (the
# baseline), 1,000,000 and 10,000,000 images in 4 generated shards, in a
# scratch directory under /tmp removed at the end. Flat means the ratio to
# the baseline stays near 1; the target is under 64 MB at 10M.
# BENCH_MERGE_SIZES overrides the sizes (the first is the baseline).
. "$(dirname "$0")/lib.sh"

scratch=$(mktemp -d /tmp/sx-bench-merge.XXXXXX)
trap 'rm -rf "$scratch"; bench_cleanup' EXIT
sizes=${BENCH_MERGE_SIZES:-100000 1000000 10000000}
BENCH_RUNS=1
base=
printf '%-12s %8s %10s %10s %12s\n' images seconds "peak KiB" "vs base" "disk MB in"
for n in $sizes; do
    python3 "$SX_ROOT/tests/bench/coco_shards.py" "$scratch/s$n" "$n" 4 || exit 1
    in_mb=$(du -sm "$scratch/s$n" | cut -f1)
    measure merge "TMPDIR='$scratch' sx-merge-coco -o '$scratch/merged.json' '$scratch/s$n'/s*" || exit 1
    [ -n "$base" ] || base=$M_merge
    printf '%-12s %8s %10s %9sx %12s\n' "$n" "$T_merge" "$M_merge" "$(ratio "$M_merge" "$base")" "$in_mb"
    last=$n last_m=$M_merge
    rm -rf "$scratch/s$n" "$scratch/merged.json"
done
echo "sx-merge-coco peak memory at $last images: $((last_m / 1024)) MB, $(ratio "$last_m" "$base")x the baseline (target < 64 MB, flat)"
