# lib.sh : helpers shared by the benchmarks.
#   measure NAME CMD...   runs a shell command line 3 times and keeps the best
#                         wall time and the peak RSS in $T_<NAME> (seconds)
#                         and $M_<NAME> (KiB)
#   start_fake OPTIONS... starts tests/fake_backend.py with OPTIONS (and
#                         --token $BENCH_TOKEN), sets $host to its URL; every
#                         server started is stopped on exit, with bench_cleanup
#                         (a script's own EXIT trap calls it)
set -u
SX_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
: "${SX_BUILD:=$SX_ROOT/build}"
export PATH="$SX_BUILD/bin:$SX_ROOT/pipelines:$PATH"
BENCH_DATA=${BENCH_DATA:-$SX_BUILD/bench-data}
mkdir -p "$BENCH_DATA"
BENCH_RUNS=${BENCH_RUNS:-3}

measure() {
    local name=$1 cmd=$2 best="" peak=0 i t m t0 t1
    for i in $(seq 1 "$BENCH_RUNS"); do
        t0=$EPOCHREALTIME
        /usr/bin/time -f "%M" -o "$BENCH_DATA/.time" bash -c "$cmd" || { echo "failed: $cmd" >&2; return 1; }
        t1=$EPOCHREALTIME
        t=$(awk "BEGIN{printf \"%.3f\", $t1 - $t0}")
        m=$(tail -1 "$BENCH_DATA/.time")
        if [ -z "$best" ] || awk "BEGIN{exit !($t < $best)}"; then best=$t; fi
        [ "$m" -gt "$peak" ] && peak=$m
    done
    printf -v "T_$name" '%s' "$best"
    printf -v "M_$name" '%s' "$peak"
}

# ratio A B: A/B with two decimals
ratio() { awk "BEGIN{ if ($2 > 0) printf \"%.2f\", $1 / $2; else print \"inf\" }"; }

# rate BYTES SECONDS: MB/s
rate() { awk "BEGIN{ if ($2 > 0) printf \"%.0f\", $1 / 1e6 / $2; else print \"inf\" }"; }

BENCH_TOKEN=bench-token-$$
bench_pids=()

bench_cleanup() {
    local p
    for p in "${bench_pids[@]+"${bench_pids[@]}"}"; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
    bench_pids=()
}
trap bench_cleanup EXIT

start_fake() {
    local out=$BENCH_DATA/.fake-port.$$ i port=
    python3 "$SX_ROOT/tests/fake_backend.py" --token "$BENCH_TOKEN" "$@" >"$out" 2>/dev/null &
    bench_pids+=($!)
    for i in $(seq 1 100); do port=$(head -1 "$out" 2>/dev/null); [ -n "$port" ] && break; sleep 0.05; done
    rm -f "$out"
    [ -n "$port" ] || { echo "fake backend did not start" >&2; exit 1; }
    host=http://127.0.0.1:$port
}
