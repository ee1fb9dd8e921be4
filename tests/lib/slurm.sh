# slurm.sh : a single-node Slurm cluster of its own, for tests and benchmarks.
#
#   . "$SX_ROOT/tests/lib/slurm.sh"
#   slurm_start "$TRASH_ROOT/slurm" || ...   # the reason is on stderr
#   ...sbatch, squeue, export-slurm...
#   slurm_stop
#
# slurm_start DIR [K]: starts munged, slurmctld and slurmd (Debian's munge
# and slurm-wlm) with a key, a config, state, spool, logs and pid files in
# DIR, on ports of their own on 127.0.0.1, as root (SlurmUser=root): one
# node, `sxnode`, with this machine's CPUs, in one partition, `sx`; with K,
# up to K jobs share a CPU (OverSubscribe=FORCE:K: for jobs that mostly wait). Nothing is
# read from or written to /etc; systemd is not needed. Exports SLURM_CONF (the
# Slurm commands read it) and SLURM_DIR; returns 1 with the reason on stderr
# (a daemon missing or not starting, with the end of its log) when the node
# is not idle within 30 s.
# slurm_stop: cancels the jobs left, then stops the daemons it started, by
# pid (SIGTERM, SIGKILL after 10 s).
# slurm_logs: the daemons' logs, one after the other (for a failing test).
#
# The config makes the scheduler quick to react (it runs every second and on
# every event), which a busy cluster would not want; everything else is as a
# small real cluster would have it: munge authentication, linuxproc process
# tracking, no task plugin, no accounting.

SLURM_PIDS=()

_slurm_free_ports() { # prints N free TCP ports of 127.0.0.1
    python3 -c '
import socket, sys
socks = [socket.socket() for _ in range(int(sys.argv[1]))]
for s in socks:
    s.bind(("127.0.0.1", 0))
print(" ".join(str(s.getsockname()[1]) for s in socks))' "$1"
}

# _slurm_daemon NAME CMD...: starts CMD in the background, its output in
# $SLURM_DIR/log/NAME.out; the pid goes to SLURM_PIDS
_slurm_daemon() {
    local name=$1
    shift
    "$@" </dev/null >"$SLURM_DIR/log/$name.out" 2>&1 &
    SLURM_PIDS+=("$!")
}

_slurm_fail() { # _slurm_fail MESSAGE: the reason and the logs, then 1
    echo "slurm_start: $1" >&2
    slurm_logs | tail -n 40 >&2
    slurm_stop
    return 1
}

slurm_logs() {
    local f
    for f in "$SLURM_DIR"/log/*; do
        [ -f "$f" ] || continue
        echo "== $f"
        cat "$f"
    done
}

slurm_start() {
    SLURM_DIR=$1
    local share=${2:-} p host i cpus ctld_port d_port
    for p in munged slurmctld slurmd sbatch squeue scontrol sinfo; do
        command -v "$p" >/dev/null || PATH=$PATH:/usr/sbin command -v "$p" >/dev/null || {
            echo "slurm_start: '$p' is not installed (apt-get install slurm-wlm munge; make check installs them)" >&2
            return 1
        }
    done
    [ "$(id -u)" = 0 ] || { echo "slurm_start: the daemons run as root (SlurmUser=root): run as root" >&2; return 1; }
    case :$PATH: in *:/usr/sbin:*) ;; *) PATH=$PATH:/usr/sbin ;; esac
    mkdir -p "$SLURM_DIR"/{munge,state,spool,log} || return 1
    chmod 700 "$SLURM_DIR/munge"
    # munge: its own key and socket
    dd if=/dev/urandom of="$SLURM_DIR/munge/munge.key" bs=1024 count=1 status=none &&
        chmod 400 "$SLURM_DIR/munge/munge.key" || return 1
    _slurm_daemon munged munged -F -f --key-file="$SLURM_DIR/munge/munge.key" \
        --socket="$SLURM_DIR/munge/munge.socket" --pid-file="$SLURM_DIR/munge/munged.pid" \
        --log-file="$SLURM_DIR/log/munged.log" --seed-file="$SLURM_DIR/munge/munged.seed"
    for i in $(seq 1 100); do
        [ -S "$SLURM_DIR/munge/munge.socket" ] && break
        kill -0 "${SLURM_PIDS[-1]}" 2>/dev/null || { _slurm_fail "munged exited"; return 1; }
        sleep 0.1
    done
    [ -S "$SLURM_DIR/munge/munge.socket" ] || { _slurm_fail "munged did not create its socket in 10 s"; return 1; }

    host=$(hostname -s)
    cpus=$(nproc)
    read -r ctld_port d_port < <(_slurm_free_ports 2)
    cat >"$SLURM_DIR/slurm.conf" <<EOF
# a single-node cluster for sx's tests (tests/lib/slurm.sh)
ClusterName=sxtest
SlurmctldHost=$host(127.0.0.1)
SlurmctldPort=$ctld_port
SlurmdPort=$d_port
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$SLURM_DIR/munge/munge.socket
StateSaveLocation=$SLURM_DIR/state
SlurmdSpoolDir=$SLURM_DIR/spool
SlurmctldPidFile=$SLURM_DIR/slurmctld.pid
SlurmdPidFile=$SLURM_DIR/slurmd.pid
SlurmctldLogFile=$SLURM_DIR/log/slurmctld.log
SlurmdLogFile=$SLURM_DIR/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
MpiDefault=none
SchedulerType=sched/backfill
SchedulerParameters=sched_interval=1,bf_interval=1
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
ReturnToService=2
MailProg=/bin/true
KillWait=5
NodeName=sxnode NodeAddr=127.0.0.1 NodeHostname=$host CPUs=$cpus State=UNKNOWN
PartitionName=sx Nodes=sxnode Default=YES MaxTime=INFINITE State=UP${share:+ OverSubscribe=FORCE:$share}
EOF
    export SLURM_CONF=$SLURM_DIR/slurm.conf SLURM_DIR
    _slurm_daemon slurmctld slurmctld -D -f "$SLURM_CONF"
    _slurm_daemon slurmd slurmd -D -f "$SLURM_CONF" -N sxnode
    for i in $(seq 1 300); do
        [ "$(sinfo -h -n sxnode -o %T 2>/dev/null)" = idle ] && return 0
        for p in "${SLURM_PIDS[@]}"; do
            kill -0 "$p" 2>/dev/null || { _slurm_fail "a daemon exited (pid $p)"; return 1; }
        done
        sleep 0.1
    done
    _slurm_fail "node sxnode is not idle after 30 s ($(sinfo -h -n sxnode -o '%T %E' 2>&1))"
}

slurm_stop() {
    local p i alive
    [ ${#SLURM_PIDS[@]} -gt 0 ] || return 0
    if [ -n "${SLURM_CONF:-}" ] && scontrol ping >/dev/null 2>&1; then
        # jobs left by a failing test: cancelled, given their KillWait
        scancel --user="$(id -un)" 2>/dev/null
        for i in $(seq 1 150); do
            [ -z "$(squeue -h -o %i 2>/dev/null)" ] && break
            sleep 0.1
        done
    fi
    # slurmd first, munged last (the others talk to it)
    for ((i = ${#SLURM_PIDS[@]} - 1; i >= 0; i--)); do
        p=${SLURM_PIDS[i]}
        kill "$p" 2>/dev/null || continue
        alive=1
        for _ in $(seq 1 100); do
            kill -0 "$p" 2>/dev/null || { alive=0; break; }
            sleep 0.1
        done
        [ "$alive" = 0 ] || kill -9 "$p" 2>/dev/null
        wait "$p" 2>/dev/null
    done
    SLURM_PIDS=()
}
