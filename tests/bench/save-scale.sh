#!/usr/bin/env bash
# sx-save's peak memory against the number of files it writes: 100,000,
# 1,000,000 and 10,000,000 files (small text files of one line, one file in
# a hundred a download from the fake backend), each figure beside the one at
# the smallest count (the ratio shows it flat). Then `sx-save --rollback` of
# each export (it reads the manifest back). --no-sync: durability does not
# change what sx-save holds.
#
# The files go to an ext4 file system made for the run in a sparse image
# under $BENCH_DATA (loop mount; inline_data keeps a one-line file in its
# inode, so 10M files take inodes, not 40 GB of blocks), unmounted and
# deleted at the end. Without root or a loop device, the files go to
# $BENCH_DATA itself and a count its free inodes cannot hold is skipped.
#   SAVE_SCALE="100000 1000000" bash tests/bench/save-scale.sh   (quicker)
. "$(dirname "$0")/lib.sh"

SIZES=${SAVE_SCALE:-100000 1000000 10000000}
max=0
for n in $SIZES; do [ "$n" -gt "$max" ] && max=$n; done
work=$(mktemp -d "$BENCH_DATA/save-scale.XXXXXX")
mnt=""
cleanup() {
    bench_cleanup
    [ -n "$mnt" ] && { umount "$mnt" 2>/dev/null || umount -l "$mnt"; }
    rm -rf "$work"
}
trap cleanup EXIT

# an ext4 image with an inode for every file (and room for the manifest:
# about 250 bytes a file)
fs=$work/files
mkdir -p "$fs"
if [ "$(id -u)" = 0 ] && command -v mkfs.ext4 >/dev/null && losetup -f >/dev/null 2>&1; then
    img=$work/fs.img
    truncate -s $(( (max * 600 / 1000000 + 2048) ))M "$img"
    mkfs.ext4 -q -F -O inline_data -N $((max + max / 10 + 10000)) -E lazy_itable_init=1,nodiscard "$img"
    mount -o loop,noatime,noinit_itable "$img" "$fs" && mnt=$fs
fi
where=${mnt:+"ext4 (inline_data) on a loop device, image in $work"}
echo "files on: ${where:-$fs (no loop mount: not root, or no loop device)}"

start_fake
gen() { # gen N: N file records, one in a hundred a url
    python3 - "$1" "$host" <<'PY'
import sys
n, host = int(sys.argv[1]), sys.argv[2]
out = sys.stdout
out.write('{"sx":"meta","total":%d}\n' % n)
buf = []
for i in range(n):
    d = i // 10000
    if i % 100 == 99:
        buf.append('{"sx":"file","path":"img/%04d/%07d.jpg","item":%d,"url":"%s/media/%d.jpg?size=40"}\n' % (d, i, i, host, i))
    else:
        buf.append('{"sx":"file","path":"labels/%04d/%07d.txt","item":%d,"text":"0 0.5 0.5 0.1 0.1\\n"}\n' % (d, i, i))
    if len(buf) == 10000:
        out.write(''.join(buf))
        buf = []
out.write(''.join(buf))
out.write('{"sx":"end","count":%d}\n' % n)
PY
}

first=""
for n in $SIZES; do
    free=$(df -P -i "$fs" | awk 'NR==2{print $4}')
    if [ "$free" -lt $((n + n / 50 + 1000)) ]; then
        printf '%10d files: skipped, %s has %s free inodes\n' "$n" "$fs" "$free"
        continue
    fi
    out=$fs/out
    t0=$EPOCHREALTIME
    gen "$n" | /usr/bin/time -f "%M" -o "$work/time" sx-save -q --no-sync -o "$out" >/dev/null ||
        { echo "sx-save failed at $n files" >&2; exit 1; }
    t1=$EPOCHREALTIME
    m=$(tail -1 "$work/time")
    got=$(jq .exported_count "$out/export.json")
    [ "$got" = "$n" ] || { echo "sx-save exported $got of $n items" >&2; exit 1; }
    used=$(df -P -i "$fs" | awk 'NR==2{print $3}')
    t2=$EPOCHREALTIME
    /usr/bin/time -f "%M" -o "$work/time" sx-save -q --rollback "$out" ||
        { echo "sx-save --rollback failed at $n files" >&2; exit 1; }
    t3=$EPOCHREALTIME
    r=$(tail -1 "$work/time")
    [ ! -e "$out" ] || { echo "--rollback left $out" >&2; exit 1; }
    left=$(df -P -i "$fs" | awk 'NR==2{print $3}')
    [ -z "$first" ] && { first=$n; m0=$m; r0=$r; }
    printf '%10d files (%d inodes used, %d after --rollback): sx-save %6d KiB peak (%sx the %d-file figure), %ss; --rollback %6d KiB (%sx), %ss\n' \
        "$n" "$used" "$left" "$m" "$(ratio "$m" "$m0")" "$first" "$(awk "BEGIN{printf \"%.0f\", $t1 - $t0}")" \
        "$r" "$(ratio "$r" "$r0")" "$(awk "BEGIN{printf \"%.0f\", $t3 - $t2}")"
    [ "$m" -le $((64 * 1024)) ] || echo "  over the 64 MB bound"
done
