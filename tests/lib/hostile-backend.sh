# hostile-backend.sh : start tests/hostile_backend.py for a test script.
#
# hostile_start ATTACK: starts the hostile backend (see its docstring) with
# the canary file $CANARY, exports SYNAPSE_HOST, SYNAPSE_ACCESS_TOKEN,
# HOSTILE_TOKEN, HOSTILE_PORT and HOSTILE_PID, and stops it when the test body
# ends. make_canary: creates $CANARY, a file outside every export whose
# content must never show up anywhere. assert_untouched: the canary is still
# there, unchanged (same content, inode and mode), and neither its content
# nor the token appears in any file under the test's scratch directory.

HOSTILE_PY=$SX_ROOT/tests/hostile_backend.py

make_canary() {
    CANARY_DIR=$TRASH_ROOT/outside-$test_count
    mkdir -p "$CANARY_DIR"
    CANARY=$CANARY_DIR/secret.txt
    CANARY_TEXT=CANARY-$$-$RANDOM-$RANDOM
    printf '%s\n' "$CANARY_TEXT" >"$CANARY"
    chmod 600 "$CANARY"
    CANARY_ID=$(stat -c '%i %a %s' "$CANARY")
    export CANARY CANARY_TEXT CANARY_ID CANARY_DIR
}

hostile_stop() {
    if [ -n "${HOSTILE_PID:-}" ]; then
        kill "$HOSTILE_PID" 2>/dev/null || true
        wait "$HOSTILE_PID" 2>/dev/null || true
        HOSTILE_PID=
    fi
}

hostile_start() {
    hostile_stop
    [ -n "${CANARY:-}" ] || make_canary
    local out i port=
    out=$(mktemp "${TMPDIR:-/tmp}/sx-hostile.XXXXXX")
    HOSTILE_TOKEN=hostile-token-$$-$RANDOM-abcdefghijklmnopqrstuvwxyz
    HOSTILE_LOG=$TRASH_ROOT/hostile-$test_count.log
    python3 "$HOSTILE_PY" --attack "$1" --token "$HOSTILE_TOKEN" --canary "$CANARY" --log "$HOSTILE_LOG" >"$out" 2>&1 &
    HOSTILE_PID=$!
    for i in $(seq 1 200); do
        port=$(head -n 1 "$out" 2>/dev/null)
        case $port in [0-9]*) break ;; esac
        kill -0 "$HOSTILE_PID" 2>/dev/null || { cat "$out" >&2; rm -f "$out"; return 1; }
        sleep 0.05
        port=
    done
    rm -f "$out"
    [ -n "$port" ] || { echo "hostile backend did not start" >&2; return 1; }
    HOSTILE_PORT=$port
    SYNAPSE_HOST=http://127.0.0.1:$port
    SYNAPSE_ACCESS_TOKEN=$HOSTILE_TOKEN
    export SYNAPSE_HOST SYNAPSE_ACCESS_TOKEN HOSTILE_TOKEN HOSTILE_PORT HOSTILE_PID HOSTILE_LOG
    trap hostile_stop EXIT
}

assert_untouched() {
    test -f "$CANARY" || { echo "the canary is gone" >&2; return 1; }
    assert_eq "$CANARY_TEXT" "$(cat "$CANARY")" "the canary's content"
    assert_eq "$CANARY_ID" "$(stat -c '%i %a %s' "$CANARY")" "the canary's inode, mode and size"
    assert_eq "secret.txt" "$(ls -A "$CANARY_DIR")" "what is beside the canary"
    if grep -r -l -a -F -e "$CANARY_TEXT" "$TRASH" 2>/dev/null; then
        echo "the canary's content leaked into the files above" >&2
        return 1
    fi
    if [ -n "${HOSTILE_TOKEN:-}" ] &&
        grep -r -l -a -F -e "$HOSTILE_TOKEN" -e "${HOSTILE_TOKEN:0:20}" "$TRASH" "${HOSTILE_LOG:-/dev/null}" 2>/dev/null; then
        echo "the token (or its start) leaked into the files above" >&2
        return 1
    fi
}
