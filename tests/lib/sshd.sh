# sshd.sh : a real OpenSSH server of the test's own, on 127.0.0.1.
#
#   . "$SX_ROOT/tests/lib/sshd.sh"
#   sshd_start "$TRASH_ROOT/sshd" "$TRASH_ROOT/rhome" "$PATH" || ...   # the reason is on stderr
#   ssh -F "$SSH_CONFIG" worker1 'echo $HOME'        # prints $TRASH_ROOT/rhome
#   sshd_stop
#
# sshd_start DIR RHOME RPATH: Debian's openssh-server (/usr/sbin/sshd), run
# in the foreground (-D) with a config, a host key and a user key made in DIR,
# listening on two ports of 127.0.0.1 that stand for two machines: the hosts
# worker1 and worker2 of the client config $SSH_CONFIG (SSHD_PORTS holds the
# two ports, in that order). A session logs in as this user with the user key
# only (no password, no agent, the host key checked against DIR/known_hosts)
# and gets a remote account's environment: HOME=RHOME, PATH=RPATH (sshd's
# SetEnv, as that account's profile would set them), and nothing of the
# client's environment (no AcceptEnv). Every session goes through a
# ForceCommand that appends to $SSHD_DIR/sessions.log what reached the
# server: the connection (SSH_CONNECTION, whose last field is the port, so
# the host), the command, and the session's environment, then runs the
# command with the user's shell, as sshd itself would. sshd's own log is
# $SSHD_DIR/sshd.log. Returns 1 with the reason on stderr.
# sshd_stop: stops sshd by its pid.

SSHD_PID=

sshd_start() {
    SSHD_DIR=$1
    local rhome=$2 rpath=$3 i
    [ -x /usr/sbin/sshd ] || { echo "sshd_start: /usr/sbin/sshd is not installed (apt-get install openssh-server; make check installs it)" >&2; return 1; }
    command -v ssh-keygen >/dev/null || { echo "sshd_start: ssh-keygen is not installed" >&2; return 1; }
    mkdir -p "$SSHD_DIR" "$rhome" || return 1
    # sshd's privilege separation directory, which Debian's service makes at boot
    [ -d /run/sshd ] || mkdir -m 755 /run/sshd || { echo "sshd_start: cannot make /run/sshd" >&2; return 1; }
    ssh-keygen -q -t ed25519 -N '' -C sx-test-host -f "$SSHD_DIR/host_key" &&
        ssh-keygen -q -t ed25519 -N '' -C sx-test-user -f "$SSHD_DIR/user_key" &&
        cp "$SSHD_DIR/user_key.pub" "$SSHD_DIR/authorized_keys" || return 1
    read -r -a SSHD_PORTS < <(python3 -c '
import socket
socks = [socket.socket() for _ in range(2)]
for s in socks:
    s.bind(("127.0.0.1", 0))
print(" ".join(str(s.getsockname()[1]) for s in socks))')
    cat >"$SSHD_DIR/session" <<EOF
#!/bin/sh
# sshd's ForceCommand: log what reached the server, then run it as sshd would
{
    echo "conn=\$SSH_CONNECTION"
    printf 'cmd=%s\n' "\$SSH_ORIGINAL_COMMAND"
    env | sed 's/^/env: /'
} >>'$SSHD_DIR/sessions.log'
if [ -z "\$SSH_ORIGINAL_COMMAND" ]; then exec "\$SHELL" -l; fi
exec "\$SHELL" -c "\$SSH_ORIGINAL_COMMAND"
EOF
    chmod 755 "$SSHD_DIR/session"
    cat >"$SSHD_DIR/sshd_config" <<EOF
# a test sshd (tests/lib/sshd.sh): 127.0.0.1 only, keys only
Port ${SSHD_PORTS[0]}
Port ${SSHD_PORTS[1]}
ListenAddress 127.0.0.1
HostKey $SSHD_DIR/host_key
PidFile $SSHD_DIR/sshd.pid
AuthorizedKeysFile $SSHD_DIR/authorized_keys
AuthenticationMethods publickey
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
PermitRootLogin prohibit-password
AllowUsers $(id -un)
StrictModes no
AllowTcpForwarding no
AllowAgentForwarding no
X11Forwarding no
PermitTTY no
MaxStartups 100:30:200
SetEnv HOME=$rhome PATH=$rpath
ForceCommand $SSHD_DIR/session
LogLevel VERBOSE
EOF
    {
        echo "[127.0.0.1]:${SSHD_PORTS[0]} $(cat "$SSHD_DIR/host_key.pub")"
        echo "[127.0.0.1]:${SSHD_PORTS[1]} $(cat "$SSHD_DIR/host_key.pub")"
    } >"$SSHD_DIR/known_hosts"
    SSH_CONFIG=$SSHD_DIR/ssh_config
    cat >"$SSH_CONFIG" <<EOF
Host worker1
    Port ${SSHD_PORTS[0]}
Host worker2
    Port ${SSHD_PORTS[1]}
Host *
    HostName 127.0.0.1
    User $(id -un)
    IdentityFile $SSHD_DIR/user_key
    IdentitiesOnly yes
    IdentityAgent none
    UserKnownHostsFile $SSHD_DIR/known_hosts
    GlobalKnownHostsFile /dev/null
    StrictHostKeyChecking yes
    BatchMode yes
    ConnectTimeout 10
    LogLevel ERROR
EOF
    : >"$SSHD_DIR/sessions.log"
    /usr/sbin/sshd -t -f "$SSHD_DIR/sshd_config" || { echo "sshd_start: sshd refuses its config" >&2; return 1; }
    /usr/sbin/sshd -D -f "$SSHD_DIR/sshd_config" -E "$SSHD_DIR/sshd.log" </dev/null >/dev/null 2>&1 &
    SSHD_PID=$!
    export SSHD_DIR SSH_CONFIG SSHD_PID
    for i in $(seq 1 100); do
        if ssh -F "$SSH_CONFIG" worker1 true 2>/dev/null && ssh -F "$SSH_CONFIG" worker2 true 2>/dev/null; then
            : >"$SSHD_DIR/sessions.log"
            return 0
        fi
        kill -0 "$SSHD_PID" 2>/dev/null || break
        sleep 0.1
    done
    echo "sshd_start: sshd does not answer on ports ${SSHD_PORTS[*]}:" >&2
    tail -n 20 "$SSHD_DIR/sshd.log" >&2
    ssh -F "$SSH_CONFIG" worker1 true
    sshd_stop
    return 1
}

sshd_stop() {
    [ -n "$SSHD_PID" ] || return 0
    kill "$SSHD_PID" 2>/dev/null
    wait "$SSHD_PID" 2>/dev/null
    SSHD_PID=
}
