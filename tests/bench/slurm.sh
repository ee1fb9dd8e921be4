#!/usr/bin/env bash
# export-slurm: 20,000 items in 4 shards on a single-node Slurm started here
# (tests/lib/slurm.sh; up to 2 shards share a CPU, as latency-bound jobs may),
# against one worker doing the same export alone (export-coco, same options),
# both against the fake backend adding 200 ms per page (a backend answering a
# page of 100 items in 200 ms: latency-bound work, which shards split). Prints
# both times and the speed-up; then what bounds it on this machine, measured
# in the same run: the fetch alone (N x sx-fetch --shard at once), Slurm's own
# cost (an empty array of N tasks and an afterok job, submitted and followed
# with squeue as export-slurm does) and the merge.
#   SX_BUILD=build bash tests/bench/slurm.sh     (as root: it starts the daemons)
#   ITEMS=, SHARDS=, DELAY= (ms per page) change the sizes
case ${SX_BUILD:-} in "" | /*) ;; *) SX_BUILD=$PWD/$SX_BUILD ;; esac # this script changes directory
. "$(dirname "$0")/lib.sh"
. "$SX_ROOT/tests/lib/slurm.sh"

ITEMS=${ITEMS:-20000}
SHARDS=${SHARDS:-4}
DELAY=${DELAY:-200}
work=$(mktemp -d "$BENCH_DATA/slurm.XXXXXX")
trap 'slurm_stop; bench_cleanup; rm -rf "$work"' EXIT

load=$(cut -d' ' -f1-3 /proc/loadavg)
slurm_start "$work/cluster" 2 || { echo "a single-node Slurm does not start here (see above)"; exit 1; }
start_fake --items "$ITEMS" --delay-ms "$DELAY"
export SYNAPSE_HOST=$host SYNAPSE_ACCESS_TOKEN=$BENCH_TOKEN
cd "$work"
printf '%s\n' "$BENCH_TOKEN" > tok
chmod 600 tok

opts="-q --no-sync --no-images -f project=1"
echo "$ITEMS items, pages of 100 with $DELAY ms each, $SHARDS shards, $(nproc) CPUs (2 shards a CPU); COCO without images"

measure single "rm -rf one && export-coco $opts -o one > /dev/null"
# the CPU the export needs, whoever runs it (user + system, every process)
rm -rf one
/usr/bin/time -f "%U %S" -o cpu.txt export-coco $opts -o one > /dev/null
cpu=$(awk '{ printf "%.3f", $1 + $2 }' cpu.txt)
measure slurm "rm -rf par par.shards && export-slurm --poll 0.1 --token-file tok -n $SHARDS $opts -o par > /dev/null 2>&1"
# the merge alone, on shards kept from one more run
rm -rf par par.shards
export-slurm --poll 0.1 --token-file tok -n "$SHARDS" $opts -o par --keep-shards > /dev/null 2>&1
measure merge "rm -rf m && sx-merge-coco --records $(for i in $(seq "$SHARDS"); do printf "par.shards/%s " "$i"; done)| sx-save --link -q --no-sync -o m > /dev/null"
# the fetch alone
measure fetch1 "sx-fetch -f project=1 > /dev/null"
measure fetchN "for i in \$(seq $SHARDS); do sx-fetch -f project=1 --shard \$i/$SHARDS > /dev/null & done; wait"
# Slurm's own cost: N empty tasks, then an afterok job, followed with squeue
cat > empty.sh <<'EOS'
a=$(sbatch --parsable --array=1-$1 -o /dev/null --wrap true)
m=$(sbatch --parsable --dependency=afterok:$a --kill-on-invalid-dep=yes -o /dev/null --wrap true)
while [ -n "$(squeue -h -j "$a,$m" 2>/dev/null)" ]; do sleep 0.1; done
EOS
measure empty "bash empty.sh $SHARDS"

printf '%-50s %8s\n' "" seconds
printf '%-50s %8s\n' "one worker: export-coco" "$T_single"
printf '%-50s %8s\n' "$SHARDS shards on Slurm: export-slurm -n $SHARDS" "$T_slurm"
printf '%-50s %8s\n' "  the merge alone (sx-merge-coco | sx-save)" "$T_merge"
printf '%-50s %8s\n' "fetch only: one sx-fetch" "$T_fetch1"
printf '%-50s %8s\n' "fetch only: $SHARDS x sx-fetch --shard" "$T_fetchN"
printf '%-50s %8s\n' "Slurm: $SHARDS empty tasks and an afterok job" "$T_empty"
printf '%-50s %8s\n' "CPU time of the export (user + system)" "$cpu"
echo "speed-up, export-slurm over one worker: $(ratio "$T_single" "$T_slurm")x"
echo "speed-up, sharded fetch over one sx-fetch: $(ratio "$T_fetch1" "$T_fetchN")x"
# what no export-slurm can beat here: the shards take the longer of the
# sharded fetch and the export's CPU time spread over this machine's CPUs,
# then Slurm's own cost and the merge, one after the other
bound=$(awk "BEGIN{ s = $T_fetchN; c = $cpu / $(nproc); if (c > s) s = c; printf \"%.3f\", s + $T_empty + $T_merge }")
echo "bound on this machine: one worker / (max(sharded fetch, CPU time / $(nproc) CPUs) + Slurm's cost + merge) = $(ratio "$T_single" "$bound")x"
echo "load average before the run: $load (other work on this machine takes CPUs from the shards)"
