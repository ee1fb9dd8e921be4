#!/usr/bin/env bash
# bare.sh BUILD_DIR [GOAL...] : proves that a bare Debian 12 (minbase, plus
# git and make: nothing else) goes from `git clone` to a working sx with one
# command. Makes a minbase chroot with mmdebstrap from the mirror apt uses on
# this machine, clones this repository's HEAD into it and runs
# `make -j2 GOAL` for each GOAL in turn (default: demo) as root, in a mount
# namespace of its own (/proc, /sys, /dev), then removes the chroot. It
# checks that make installed the packages before the first compilation.
#
# Environment: SX_BARE_MIRROR (default: the first Debian URI of
# /etc/apt/sources.list.d/*.sources or /etc/apt/sources.list), SX_BARE_KEEP=1
# keeps the chroot (its path is printed). A mirror that cannot be reached is a
# failure (exit 1) that says so: this is a real check, not a best effort.
# Needs root (mmdebstrap, chroot, mount).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:?usage: bare.sh BUILD_DIR [GOAL...]}
shift
goals=("$@")
[ ${#goals[@]} -gt 0 ] || goals=(demo)
case $build in /*) ;; *) build=$root/$build ;; esac
prog=bare.sh

die() { printf '%s: %s\n' "$prog" "$*" >&2; exit 1; }
now() { date +%s; }

[ "$(id -u)" = 0 ] || die "needs root (mmdebstrap, chroot and mount)"
if ! command -v mmdebstrap >/dev/null; then
    echo "installing: mmdebstrap"
    DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -qq mmdebstrap >/dev/null 2>&1 ||
        { apt-get -o DPkg::Lock::Timeout=600 update -qq >/dev/null 2>&1 &&
          DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -qq mmdebstrap >/dev/null 2>&1; } ||
        die "cannot install mmdebstrap (apt-get install mmdebstrap failed)"
fi

# The mirror apt uses here: deb822 sources first, then the one-line format.
mirror_of_host() {
    local f
    for f in /etc/apt/sources.list.d/*.sources; do
        [ -f "$f" ] || continue
        awk '/^URIs:/ { for (i = 2; i <= NF; i++) if ($i ~ /\/debian\/?$/) { print $i; exit } }' "$f"
    done | head -n 1
    if [ -f /etc/apt/sources.list ]; then
        awk '$1 == "deb" { for (i = 2; i <= NF; i++) if ($i ~ /^https?:\/\/.*\/debian\/?$/) { print $i; exit } }' \
            /etc/apt/sources.list
    fi
}
mirror=${SX_BARE_MIRROR:-$(mirror_of_host | head -n 1)}
mirror=${mirror:-http://deb.debian.org/debian}

git -C "$root" rev-parse --verify -q HEAD >/dev/null || die "'$root' is not a git checkout with a commit"
head=$(git -C "$root" rev-parse --short HEAD)
if [ -n "$(git -C "$root" status --porcelain --untracked-files=no)" ]; then
    echo "$prog: note: uncommitted changes are not tested: the chroot clones HEAD ($head)" >&2
fi

mkdir -p "$build"
work=$(mktemp -d "$build/bare.XXXXXX")
chroot_dir=$work/root
log=$work/log
mounted() { grep -qF " $work/" /proc/self/mountinfo; }
cleanup() {
    # the mounts live in a namespace that ended with its process; never
    # remove a tree that still has something mounted under it
    if mounted; then
        echo "$prog: '$work' still has mounts under it; not removed" >&2
    elif [ "${SX_BARE_KEEP:-0}" = 1 ]; then
        echo "$prog: kept the chroot in '$chroot_dir'"
    else
        rm -rf -- "$work"
    fi
}
trap cleanup EXIT

t0=$(now)
echo "== Debian 12 minbase + git + make from $mirror"
if ! mmdebstrap --variant=minbase --include=git,make --aptopt='Acquire::Retries "3"' \
    bookworm "$chroot_dir" "deb $mirror bookworm main" >"$log" 2>&1; then
    tail -n 15 "$log" >&2
    die "cannot make a Debian 12 chroot from '$mirror': mmdebstrap failed (the end of its log is above): is the mirror reachable from here?"
fi
t1=$(now)
cp /etc/resolv.conf "$chroot_dir/etc/resolv.conf" 2>/dev/null || true

# the repository as a newcomer gets it: a clone, by the chroot's own git
git -C "$root" bundle create -q "$chroot_dir/tmp/sx.bundle" HEAD 2>>"$log" ||
    die "cannot bundle HEAD of '$root'"

inside="set -e
git clone -q /tmp/sx.bundle /root/sx 2>&1
cd /root/sx
git log -1 --format='checkout: %h %s'
for goal in ${goals[*]}; do
    echo \"== make -j2 \$goal\"
    make -j2 \$goal
done
case ' ${goals[*]} ' in *' demo '*)
    test -s build/demo/coco/train/annotations.json && test -s build/demo/yolo/dataset.yaml ||
        { echo 'make demo made no COCO and YOLO export'; exit 1; } ;;
esac"
echo "== in the chroot: git clone; $(printf 'make -j2 %s; ' "${goals[@]}")"
code=0
unshare --mount --propagation private -- sh -c '
    r=$1; shift
    mount -t proc proc "$r/proc" && mount --rbind /sys "$r/sys" && mount --rbind /dev "$r/dev" || exit 99
    exec chroot "$r" env -i HOME=/root TERM=dumb LANG=C.UTF-8 \
        PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin bash -c "$1"
' sh "$chroot_dir" "$inside" >>"$log" 2>&1 || code=$?
t2=$(now)
if [ "$code" != 0 ]; then
    tail -n 40 "$log" >&2
    [ "$code" = 99 ] && die "cannot mount /proc, /sys and /dev in the chroot"
    die "$(grep '^== make -j2 ' "$log" | tail -n 1 | sed 's/^== //') failed in the bare Debian 12 (exit $code)"
fi
# the packages were missing and installed before the first compilation
first_install=$(grep -n -m1 '^installing: ' "$log" | cut -d: -f1)
first_cc=$(grep -n -m1 '^cc .* -c ' "$log" | cut -d: -f1)
[ -n "$first_install" ] || die "make installed nothing: the chroot was not bare?"
[ -n "$first_cc" ] && [ "$first_install" -lt "$first_cc" ] ||
    die "a compilation started before the packages were installed (log: $log)"
grep -m1 '^installing: ' "$log"
sed -n '/^checkout: /p' "$log"
tail -n 12 "$log"
printf '%s: ok: bare Debian 12 -> git clone -> %s%ss (chroot %ss, clone and make %ss)\n' \
    "$prog" "$(printf 'make -j2 %s -> ' "${goals[@]}")" "$((t2 - t0))" "$((t1 - t0))" "$((t2 - t1))"
