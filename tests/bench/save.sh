#!/usr/bin/env bash
# sx-save downloading 2,000 files of 50 KB from the fake backend, which adds
# 20 ms to every media request: `sx-save --jobs 16` beside one-at-a-time
# (`sx-save --jobs 1`) and beside `curl --parallel --parallel-max 16` on the
# same URL list. Then sx-save's peak memory for a small file and for a 1 GB
# file (served by python3 -m http.server on 127.0.0.1): it must not grow
# with the file. Last, many small
# files against tar -x of the same files, and the memory each file costs.
#   SX_BUILD=build-save bash tests/bench/save.sh
#   SAVE_BENCH_FILES=500 SAVE_BENCH_SMALL=2000 … for a quicker run
. "$(dirname "$0")/lib.sh"

N=${SAVE_BENCH_FILES:-2000}
SIZE=51200
trap 'bench_cleanup; rm -rf "$BENCH_DATA/save"' EXIT

start_fake --media-delay-ms 20

rm -rf "$BENCH_DATA/save" && mkdir -p "$BENCH_DATA/save"
W=$(cd "$BENCH_DATA/save" && pwd)
{
    echo "{\"sx\":\"meta\",\"total\":$N}"
    for i in $(seq 1 "$N"); do
        printf '{"sx":"file","path":"img/%d.jpg","url":"%s/media/b%d.jpg?size=%d","item":%d}\n' "$i" "$host" "$i" "$SIZE" "$i"
    done
    echo "{\"sx\":\"end\",\"count\":$N}"
} >"$W/in.ndjson"
: >"$W/curl.cfg"
for i in $(seq 1 "$N"); do
    printf 'url = "%s/media/b%d.jpg?size=%d"\noutput = "%s/curl/%d.jpg"\n' "$host" "$i" "$SIZE" "$W" "$i" >>"$W/curl.cfg"
done

measure sx16 "rm -rf '$W/o16'; sx-save -q --jobs 16 -o '$W/o16' <'$W/in.ndjson' >/dev/null"
n=$(find "$W/o16/img" -type f | wc -l)
[ "$n" = "$N" ] || { echo "sx-save --jobs 16 wrote $n of $N files" >&2; exit 1; }
measure sx16ns "rm -rf '$W/o16'; sx-save -q --jobs 16 --no-sync -o '$W/o16' <'$W/in.ndjson' >/dev/null"
measure curl16 "rm -rf '$W/curl'; mkdir -p '$W/curl'; curl -s --no-progress-meter --fail --parallel --parallel-max 16 -K '$W/curl.cfg' 2>/dev/null"
runs=$BENCH_RUNS
BENCH_RUNS=1   # 2,000 x 20 ms: once is enough
measure sx1 "rm -rf '$W/o1'; sx-save -q --jobs 1 -o '$W/o1' <'$W/in.ndjson' >/dev/null"
BENCH_RUNS=$runs

bytes=$((N * SIZE))
printf '%d files of %d KB, fake backend adding 20 ms per file (best of %s; one-at-a-time run once)\n' "$N" $((SIZE / 1024)) "$BENCH_RUNS"
printf '  %-34s %8ss %6s MB/s %8s KiB peak\n' "sx-save --jobs 16" "$T_sx16" "$(rate $bytes $T_sx16)" "$M_sx16"
printf '  %-34s %8ss %6s MB/s %8s KiB peak\n' "sx-save --jobs 16 --no-sync" "$T_sx16ns" "$(rate $bytes $T_sx16ns)" "$M_sx16ns"
printf '  %-34s %8ss %6s MB/s %8s KiB peak\n' "curl --parallel --parallel-max 16" "$T_curl16" "$(rate $bytes $T_curl16)" "$M_curl16"
printf '  %-34s %8ss %6s MB/s %8s KiB peak\n' "sx-save --jobs 1 (one at a time)" "$T_sx1" "$(rate $bytes $T_sx1)" "$M_sx1"
printf '  speed-up over one at a time: %sx (target >= 10x)\n' "$(ratio $T_sx1 $T_sx16)"
printf '  time against curl --parallel:  %sx (target <= 1.5x)\n' "$(ratio $T_sx16 $T_curl16)"

# flat memory: a small file against a 1 GB file
mkdir -p "$W/www"
head -c 1024 /dev/urandom >"$W/www/small.bin"
head -c $((1 << 30)) /dev/zero >"$W/www/big.bin"
python3 -u -m http.server --bind 127.0.0.1 --directory "$W/www" 0 >"$W/www.out" 2>/dev/null &
bench_pids+=($!)
for i in $(seq 1 100); do
    www=$(sed -n 's|.* port \([0-9]*\) .*|\1|p' "$W/www.out" | head -1)
    [ -n "$www" ] && break
    sleep 0.05
done
[ -n "$www" ] || { echo "python3 -m http.server did not start" >&2; exit 1; }
for f in small big; do
    printf '{"sx":"file","path":"%s.bin","url":"http://127.0.0.1:%s/%s.bin","item":1}\n{"sx":"end","count":1}\n' "$f" "$www" "$f" >"$W/$f.ndjson"
done
BENCH_RUNS=1
measure small "rm -rf '$W/os'; sx-save -q -o '$W/os' <'$W/small.ndjson' >/dev/null"
measure big "rm -rf '$W/ob'; sx-save -q -o '$W/ob' <'$W/big.ndjson' >/dev/null"
BENCH_RUNS=$runs
[ "$(stat -c %s "$W/ob/big.bin")" = $((1 << 30)) ] || { echo "the 1 GB file was not written whole" >&2; exit 1; }
printf 'peak memory, one download: 1 KB file %s KiB, 1 GB file %s KiB (ratio %s; %ss for 1 GB, %s MB/s)\n' \
    "$M_small" "$M_big" "$(ratio $M_big $M_small)" "$T_big" "$(rate $((1 << 30)) $T_big)"

# many small files (a YOLO export's labels): sx-save writing 20,000 and
# 200,000 text files of one line, beside tar extracting the same files (the
# file system's own cost), and how sx-save's memory grows with the count (it
# should not: save-scale.sh takes it to 10,000,000 files).
SMALLN=${SAVE_BENCH_SMALL:-20000}
BIGN=$((SMALLN * 10))
for n in "$SMALLN" "$BIGN"; do
    python3 - "$n" >"$W/labels$n.ndjson" <<'PY'
import sys
n = int(sys.argv[1])
w = sys.stdout.write
w('{"sx":"meta","total":%d}\n' % n)
for i in range(n):
    w('{"sx":"file","path":"labels/train/img_%07d.txt","item":%d,"category":"data_file","text":"0 0.5 0.5 0.1 0.1\\n"}\n' % (i, i))
w('{"sx":"end","count":%d}\n' % n)
PY
done
mkdir -p "$W/tarsrc/labels/train"
(cd "$W/tarsrc/labels/train" && for i in $(seq 0 $((SMALLN - 1))); do printf '0 0.5 0.5 0.1 0.1\n' >"$(printf 'img_%07d.txt' "$i")"; done)
tar -C "$W/tarsrc" -cf "$W/labels.tar" labels
BENCH_RUNS=1
measure lsx "rm -rf '$W/ol'; sx-save -q --no-sync -o '$W/ol' <'$W/labels$SMALLN.ndjson' >/dev/null"
measure ltar "rm -rf '$W/ot'; mkdir '$W/ot'; tar -C '$W/ot' -xf '$W/labels.tar'"
measure lsxb "rm -rf '$W/ol'; sx-save -q --no-sync -o '$W/ol' <'$W/labels$BIGN.ndjson' >/dev/null"
BENCH_RUNS=$runs
[ "$(find "$W/ol/labels" -type f | wc -l)" = "$BIGN" ] || { echo "sx-save did not write $BIGN files" >&2; exit 1; }
rm -rf "$W/ol" "$W/ot" "$W/tarsrc"
printf '%d small files: sx-save --no-sync %ss, tar -x of the same files %ss (%sx); peak memory %s KiB\n' \
    "$SMALLN" "$T_lsx" "$T_ltar" "$(ratio "$T_lsx" "$T_ltar")" "$M_lsx"
printf '%d small files: sx-save --no-sync %ss, peak memory %s KiB: %s bytes a file more than at %d files\n' \
    "$BIGN" "$T_lsxb" "$M_lsxb" "$(awk "BEGIN{printf \"%.0f\", ($M_lsxb - $M_lsx) * 1024 / ($BIGN - $SMALLN)}")" "$SMALLN"
