#!/usr/bin/env bash
# export-parallel: 20,000 items in 4 shards on local workers against the fake
# backend adding 20 ms per page, beside one worker doing the same export
# alone (export-coco, same options). Prints both times, the speed-up (target
# >= 2.5x) and the merge's share of the parallel total (target < 20%); then
# the fetch alone (4 x sx-fetch --shard against one sx-fetch), the part the
# shards split without competing for this machine's CPUs, GNU parallel's own
# start, and the bound they set: sharded fetch + GNU parallel + merge.
#   SX_BUILD=build-pipe bash tests/bench/parallel.sh
case ${SX_BUILD:-} in "" | /*) ;; *) SX_BUILD=$PWD/$SX_BUILD ;; esac # this script changes directory
. "$(dirname "$0")/lib.sh"

ITEMS=${ITEMS:-20000}
SHARDS=${SHARDS:-4}
work=$(mktemp -d "$BENCH_DATA/parallel.XXXXXX")
trap 'bench_cleanup; rm -rf "$work"' EXIT

start_fake --items "$ITEMS" --delay-ms 20
export SYNAPSE_HOST=$host SYNAPSE_ACCESS_TOKEN=$BENCH_TOKEN

opts="-q --no-sync --no-images -f project=1"
cd "$work"
echo "$ITEMS items, pages of 100 with 20 ms each, $SHARDS shards, $(nproc) CPUs; COCO without images"

measure single "rm -rf one && export-coco $opts -o one > /dev/null"
measure par "rm -rf par par.shards && export-parallel -n $SHARDS $opts -o par > /dev/null"
# the merge alone, on shards kept from one more run
rm -rf par par.shards
export-parallel -n "$SHARDS" $opts -o par --keep-shards > /dev/null
measure merge "rm -rf m && sx-merge-coco --records $(for i in $(seq "$SHARDS"); do printf "par.shards/%s " "$i"; done)| sx-save --link -q --no-sync -o m > /dev/null"
# the fetch alone
measure fetch1 "sx-fetch -f project=1 > /dev/null"
measure fetchN "for i in \$(seq $SHARDS); do sx-fetch -f project=1 --shard \$i/$SHARDS > /dev/null & done; wait"
# GNU parallel starting as many jobs that do nothing
measure gnup "parallel --will-cite -j $SHARDS true ::: \$(seq $SHARDS)"

printf '%-46s %8s\n' "" seconds
printf '%-46s %8s\n' "one worker: export-coco" "$T_single"
printf '%-46s %8s\n' "$SHARDS local workers: export-parallel -n $SHARDS" "$T_par"
printf '%-46s %8s\n' "  of which the merge (sx-merge-coco | sx-save)" "$T_merge"
printf '%-46s %8s\n' "fetch only: one sx-fetch" "$T_fetch1"
printf '%-46s %8s\n' "fetch only: $SHARDS x sx-fetch --shard" "$T_fetchN"
printf '%-46s %8s\n' "GNU parallel running $SHARDS empty jobs" "$T_gnup"
echo "speed-up, export-parallel over one worker: $(ratio "$T_single" "$T_par")x (target >= 2.5)"
echo "merge share of the parallel total: $(awk "BEGIN{printf \"%.0f\", 100 * $T_merge / $T_par}")% (target < 20)"
echo "speed-up, sharded fetch over one sx-fetch: $(ratio "$T_fetch1" "$T_fetchN")x"
# what no export-parallel can beat here: the sharded fetch, GNU parallel's
# start and the merge, one after the other
bound=$(awk "BEGIN{printf \"%.3f\", $T_fetchN + $T_gnup + $T_merge}")
echo "bound on this machine: one worker / (sharded fetch + GNU parallel + merge) = $(ratio "$T_single" "$bound")x"
if [ "$(nproc)" -lt "$SHARDS" ]; then
    echo "note: $(nproc) CPUs for $SHARDS workers, GNU parallel and the fake backend: the shards compete for them"
fi
