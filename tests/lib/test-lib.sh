# test-lib.sh : command-line tests that read like a story (after git's t/).
#
#   . "$(dirname "$0")/../lib/test-lib.sh"
#   test_expect_success 'cut stream is rolled back' '
#       printf "%s\n" "$rec" | sx-save -o out; test $? = 1 && ! test -e out/a
#   '
#   test_done
#
# Each test runs in a fresh scratch directory ($TRASH) with the programs of the
# build under test first on PATH ($SX_BUILD/bin). A test passes when its
# commands exit 0 (they run under `set -e`). Output goes to a log printed only
# when the test fails. Every command of a body counts (set -e), not only the
# last. Helpers: expect_code, assert_eq, assert_grep, json_field, test_at_exit.

set -u
SX_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
: "${SX_BUILD:=$SX_ROOT/build}"
case $SX_BUILD in /*) ;; *) SX_BUILD=$SX_ROOT/$SX_BUILD ;; esac
export SX_ROOT SX_BUILD
export PATH="$SX_BUILD/bin:$SX_ROOT/pipelines:$PATH"
export LC_ALL=C.UTF-8
unset SYNAPSE_HOST SYNAPSE_ACCESS_TOKEN SYNAPSE_TENANT SYNAPSE_PLUGIN_RUN_USER_TOKEN SYNAPSE_PLUGIN_RUN_TENANT
export HOME=$(mktemp -d "${TMPDIR:-/tmp}/sx-home.XXXXXX")
TEST_NAME=$(basename "$0" .sh)
TEST_DATA=$SX_ROOT/tests/data
TRASH_ROOT=$(mktemp -d "${TMPDIR:-/tmp}/sx-$TEST_NAME.XXXXXX")
test_count=0
test_failures=0
_cleanup_hooks=()

test_at_exit() { _cleanup_hooks+=("$1"); }

_run_cleanup() {
    local h
    for h in "${_cleanup_hooks[@]+"${_cleanup_hooks[@]}"}"; do eval "$h" || true; done
    rm -rf "$TRASH_ROOT" "$HOME"
}
trap _run_cleanup EXIT

test_expect_success() {
    local desc=$1 body=$2
    test_count=$((test_count + 1))
    TRASH=$TRASH_ROOT/t$test_count
    mkdir -p "$TRASH"
    local log=$TRASH_ROOT/log$test_count
    # not inside `if`: there bash ignores set -e, and a body would fail only
    # by its last command
    (cd "$TRASH" && set -e && eval "$body") >"$log" 2>&1 </dev/null
    if [ $? = 0 ]; then
        echo "ok $test_count - $TEST_NAME: $desc"
    else
        test_failures=$((test_failures + 1))
        echo "not ok $test_count - $TEST_NAME: $desc"
        sed -n '1,60s/^/#   /p' "$log"
    fi
}

test_done() {
    exit $((test_failures > 0))
}

# expect_code N cmd...: runs cmd, fails unless it exits with N.
expect_code() {
    local want=$1 got=0
    shift
    "$@" || got=$?
    if [ "$got" != "$want" ]; then
        echo "expected exit $want, got $got: $*" >&2
        return 1
    fi
}

# json_field FILE JQ: prints the jq result on FILE (compact).
json_field() { jq -c "$2" "$1"; }

# assert_eq WANT GOT [what]
assert_eq() {
    if [ "$1" != "$2" ]; then
        printf 'expected %s: [%s]\n     got: [%s]\n' "${3:-value}" "$1" "$2" >&2
        return 1
    fi
}

# assert_grep PATTERN FILE
assert_grep() {
    grep -q -- "$1" "$2" || { echo "no '$1' in $2:" >&2; head -20 "$2" >&2; return 1; }
}
