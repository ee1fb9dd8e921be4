#!/usr/bin/env bash
# The whole pipeline `sx-fetch | sx-download | sx-convert-coco | sx-save`
# against the fake backend adding 20 ms to every listing page and to every
# media file, beside each stage alone on the same data (sx-fetch alone,
# sx-download alone on the fetched items, the converter alone on the
# downloaded items, sx-save alone on the converter's records). The stages
# overlap, so the pipeline should take about the time of its slowest stage,
# not their sum. Then sx-download's peak memory at two numbers of items and
# at two sizes of files: it must not grow with either.
#   SX_BUILD=build bash tests/bench/pipeline.sh
#   PIPELINE_BENCH_ITEMS=500 … for a quicker run
. "$(dirname "$0")/lib.sh"

N=${PIPELINE_BENCH_ITEMS:-2000}
W=$BENCH_DATA/pipeline
trap 'bench_cleanup; rm -rf "$W"' EXIT
rm -rf "$W" && mkdir -p "$W/sp" "$W/sp2"

export SYNAPSE_ACCESS_TOKEN=$BENCH_TOKEN
start_fake --items "$N" --delay-ms 20 --media-delay-ms 20
export SYNAPSE_HOST=$host

convert="sx-convert-coco -q"   # spooled images become move records

sx-fetch -f project=1 > /dev/null   # the fake generates its records once
measure fetch "sx-fetch -f project=1 > '$W/items'"
measure download "rm -rf '$W'/sp/*; sx-download -q --spool-dir '$W/sp' < '$W/items' > '$W/dl'"
measure convert "$convert < '$W/dl' > '$W/conv'"
# sx-save moves the spooled files out: each run gets them back first, made
# durable before the clock starts (else its syncfs would write the copy)
spool=$(head -n 1 "$W/dl" | jq -r .spool)
cp -a "$spool" "$W/spool-copy"
runs=$BENCH_RUNS
BENCH_RUNS=1
T_save=""
for i in $(seq 1 "$runs"); do
    rm -rf "$W/out" "$spool"
    cp -a "$W/spool-copy" "$spool"
    sync
    measure save1 "sx-save -q -o '$W/out' < '$W/conv' > /dev/null"
    if [ -z "$T_save" ] || awk "BEGIN{exit !($T_save1 < $T_save)}"; then T_save=$T_save1; fi
done
BENCH_RUNS=$runs
measure pipe "rm -rf '$W/out2' '$W'/sp2/*; sx-fetch -f project=1 | sx-download -q --spool-dir '$W/sp2' \
    | $convert | sx-save -q -o '$W/out2' > /dev/null"

images=$(find "$W/out2" -path '*images*' -type f | wc -l)
want=$(grep -c '"data":{' "$W/items")   # items with data (every 7th has null data)
[ "$images" = "$want" ] || { echo "the pipeline exported $images images, not $want" >&2; exit 1; }
cmp <(jq -S .images "$W/out/annotations.json") <(jq -S .images "$W/out2/annotations.json") ||
    { echo "the pipeline's COCO differs from the stages'" >&2; exit 1; }
[ -z "$(ls -A "$W/sp2")" ] || { echo "the pipeline left its spool behind" >&2; exit 1; }

slowest=$T_fetch
for t in $T_download $T_convert $T_save; do awk "BEGIN{exit !($t > $slowest)}" && slowest=$t; done
sum=$(awk "BEGIN{printf \"%.3f\", $T_fetch + $T_download + $T_convert + $T_save}")
printf '%d items (%d with an image of 2 KB), +20 ms per listing page and per media file (best of %s):\n' \
    "$N" "$want" "$BENCH_RUNS"
printf '  %-52s %8s s\n' "sx-fetch alone" "$T_fetch" "sx-download alone (--jobs 8)" "$T_download" \
    "sx-convert-coco alone" "$T_convert" "sx-save alone (moves the spooled images)" "$T_save" \
    "the four one after the other (sum)" "$sum" "the pipeline" "$T_pipe"
printf '  the pipeline against its slowest stage: %sx (target about 1.0x; the sum would be %sx)\n' \
    "$(ratio "$T_pipe" "$slowest")" "$(ratio "$sum" "$slowest")"

# Memory: the window bounds what sx-download holds, whatever the number of
# items or the size of their files (written to disk as they arrive).
bench_cleanup
start_fake --items $((N * 10))
export SYNAPSE_HOST=$host
sx-fetch -f project=1 --limit "$N" > "$W/small"
sx-fetch -f project=1 > "$W/large"
{ echo '{"sx":"meta"}'
  for i in 1 2 3 4; do
      printf '{"id":%d,"files":{"url":"%s/media/big%d.bin?size=67108864"},"data":{}}\n' "$i" "$host" "$i"
  done
  echo '{"sx":"end","count":4}'; } > "$W/bigfiles"
BENCH_RUNS=1
measure msmall "rm -rf '$W'/sp/*; sx-download -q -j 16 --spool-dir '$W/sp' < '$W/small' > /dev/null"
measure mlarge "rm -rf '$W'/sp/*; sx-download -q -j 16 --spool-dir '$W/sp' < '$W/large' > /dev/null"
measure mbig "rm -rf '$W'/sp/*; sx-download -q -j 4 --spool-dir '$W/sp' < '$W/bigfiles' > '$W/bigout'"
[ "$(jq -r 'select(.id) | .files.path' "$W/bigout" | xargs stat -c %s | sort -u)" = 67108864 ] ||
    { echo "the 64 MB files were not downloaded whole" >&2; exit 1; }
rm -rf "$W"/sp/*
echo "peak memory of sx-download (--window 256):"
printf '  %-52s %8s KiB\n' "$N items of 2 KB" "$M_msmall" "$((N * 10)) items of 2 KB" "$M_mlarge" \
    "4 files of 64 MB" "$M_mbig"
printf '  %d items / %d items: %sx; 64 MB files / 2 KB files: %sx (target about 1.0x)\n' \
    $((N * 10)) "$N" "$(ratio "$M_mlarge" "$M_msmall")" "$(ratio "$M_mbig" "$M_msmall")"
