# lib.sh : helpers of the sx-save tests (tests/cli/t3*.sh), sourced after
# test-lib.sh.
#
# save_test DESC BODY: test_expect_success, but BODY runs in a new `bash -e`,
# so that every failing command fails the test. (test-lib.sh runs bodies
# under `set -e` inside the condition of an `if`, where bash ignores -e:
# there only the last command of a body counts.)

check_manifest() { python3 "$TEST_DATA/save/check-manifest.py" "$@"; }

# wait_for FILE: until FILE exists (10 s at most).
wait_for() {
    local i
    for i in $(seq 1 200); do [ -e "$1" ] && return 0; sleep 0.05; done
    echo "timed out waiting for $1" >&2
    return 1
}

# recs N: N text records, json/I.json of item I.
recs() {
    local i
    for i in $(seq 1 "$1"); do
        printf '{"sx":"file","path":"json/%d.json","text":"{\\"id\\":%d}\\n","item":%d}\n' "$i" "$i" "$i"
    done
}

# feed_start ARGS...: starts `sx-save ARGS` in the background reading the
# fifo ./feed (stdout to ./stdout, stderr to ./err), its pid in $pid; write
# records with `>&3`, close with `exec 3>&-`.
feed_start() {
    mkfifo feed
    sx-save "$@" <feed >stdout 2>err &
    pid=$!
    exec 3>feed
}

export TRASH_ROOT TEST_DATA SX_ROOT
export -f feed_start expect_code json_field assert_eq assert_grep check_manifest wait_for recs

save_test() {
    test_expect_success "$1" "bash -e -o pipefail -c $(printf %q "$2")"
}
