# fake-backend.sh : start tests/fake_backend.py for a test script.
#
#   . "$(dirname "$0")/../lib/test-lib.sh"
#   . "$(dirname "$0")/../lib/fake-backend.sh"
#   fake_backend_start --items 250 --log "$TRASH_ROOT/fake.log"
#
# fake_backend_start [OPTIONS]: starts the fake backend in the background with
# OPTIONS (see tests/fake_backend.py), waits for its port, exports
# SYNAPSE_HOST=http://127.0.0.1:PORT (https with --tls-cert), FAKE_PORT, FAKE_PID, FAKE_TOKEN and
# SYNAPSE_ACCESS_TOKEN=$FAKE_TOKEN (unset it to test without), and stops the
# server when the script exits (test_at_exit), or when the test body that
# started it ends. Call it again to restart with other options: the previous
# server is stopped first.
# fake_backend_stop: stops the current server.
# fake_media NAME SIZE: the bytes /media/NAME?size=SIZE answers, on stdout.

FAKE_BACKEND_PY=$SX_ROOT/tests/fake_backend.py

fake_backend_stop() {
    if [ -n "${FAKE_PID:-}" ]; then
        kill "$FAKE_PID" 2>/dev/null || true
        wait "$FAKE_PID" 2>/dev/null || true
        FAKE_PID=
    fi
}

fake_backend_start() {
    fake_backend_stop
    local out i port= scheme=http a
    for a in "$@"; do [ "$a" = --tls-cert ] && scheme=https; done
    out=$(mktemp "${TMPDIR:-/tmp}/sx-fake.XXXXXX")
    FAKE_TOKEN=fake-token-$$-$RANDOM
    python3 "$FAKE_BACKEND_PY" --token "$FAKE_TOKEN" "$@" >"$out" 2>&1 &
    FAKE_PID=$!
    for i in $(seq 1 200); do
        port=$(head -n 1 "$out" 2>/dev/null)
        case $port in [0-9]*) break ;; esac
        kill -0 "$FAKE_PID" 2>/dev/null || { cat "$out" >&2; rm -f "$out"; return 1; }
        sleep 0.05
        port=
    done
    rm -f "$out"
    [ -n "$port" ] || { echo "fake backend did not start" >&2; return 1; }
    FAKE_PORT=$port
    SYNAPSE_HOST=$scheme://127.0.0.1:$port
    SYNAPSE_ACCESS_TOKEN=$FAKE_TOKEN
    export SYNAPSE_HOST SYNAPSE_ACCESS_TOKEN FAKE_PID FAKE_PORT FAKE_TOKEN
    if [ "${BASH_SUBSHELL:-0}" -gt 0 ]; then
        # started inside a test body (a subshell): test_at_exit would not see
        # it, so the subshell stops the server when it ends
        trap fake_backend_stop EXIT
    elif [ -z "${_fake_backend_hooked:-}" ]; then
        _fake_backend_hooked=1
        test_at_exit fake_backend_stop
    fi
}

fake_media() { python3 "$FAKE_BACKEND_PY" --print-media "$1" "$2"; }
