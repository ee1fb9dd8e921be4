#!/usr/bin/env bash
# export-slurm against a real single-node Slurm (munged, slurmctld, slurmd
# started here, tests/lib/slurm.sh): job arrays, the afterok merge, retries,
# all or nothing, tokens that never reach Slurm, sx.mk's SX_ENGINE.
. "$(dirname "$0")/../lib/test-lib.sh"
. "$(dirname "$0")/../lib/fake-backend.sh"
. "$(dirname "$0")/../lib/shards.sh"
. "$(dirname "$0")/../lib/slurm.sh"

slurm_start "$TRASH_ROOT/slurm" 2>"$TRASH_ROOT/slurm-start.err"
slurm_status=$?
test_at_exit slurm_stop

test_expect_success 'a single-node Slurm runs here: munged, slurmctld, slurmd started by the test' '
    cat "$TRASH_ROOT/slurm-start.err" && test '"$slurm_status"' = 0 &&
    assert_eq idle "$(sinfo -h -n sxnode -o %T)" &&
    jid=$(sbatch --parsable --wrap "echo ran on \$SLURMD_NODENAME" -o "$PWD/out") &&
    for i in $(seq 100); do [ -z "$(squeue -h -j $jid 2>/dev/null)" ] && break; sleep 0.1; done &&
    assert_eq "ran on sxnode" "$(cat out)"
'
[ "$slurm_status" = 0 ] || test_done

fake_backend_start --items 150 --log "$TRASH_ROOT/fake.log"
# every export-slurm of the tests asks squeue often
fast="--poll 0.2 --no-sync"

# token FILE: the fake backend's token in FILE, mode 0600
token() { printf '%s\n' "$FAKE_TOKEN" > "$1" && chmod 600 "$1"; }
# jobs_of DIR: the job ids export-slurm recorded for DIR
jobs_of() { awk '$1 == "shard" { print $3 } $1 == "merge" { print $2 }' "$1.shards/slurm.jobs"; }
# queue_empty: no job left in the queue, within 30 s
queue_empty() {
    for i in $(seq 150); do [ -z "$(squeue -h -o %i)" ] && return 0; sleep 0.2; done
    squeue >&2; return 1
}
# fetched_pages: the pages of the listing answered 200, one a line (sorted)
fetched_pages() { grep "sdk/assignments/?[^ ]* 200 " "$TRASH_ROOT/fake.log" | grep -o "page=[0-9]*" | sort; }

test_expect_success 'export-slurm --help, --version, usage errors; a token others can read is refused' '
    export-slurm --help > out && assert_grep "^usage: export-slurm -o DIR" out &&
    for o in -F -o -n --token-file -p -A --time -c --max-running --sbatch-arg --retry --no-wait --status \
        --cancel --poll --keep-shards --no-sync -q -h --version; do
        grep -q -e "^ *$o[ ,]" -e "^ *-., $o " out || { echo "no $o in --help"; exit 1; }
    done &&
    assert_grep "^exit status:" out && assert_grep "^example:" out &&
    assert_eq "export-slurm (sx) $(sx-jq --version | sed "s/.* //")" "$(export-slurm --version)" &&
    token tok &&
    expect_code 2 export-slurm --token-file tok -f project=1 2> err && assert_grep "no output directory" err &&
    expect_code 2 export-slurm --token-file tok -o x -F voc -f project=1 2> err && assert_grep "cannot be merged" err &&
    expect_code 2 export-slurm --token-file tok -o x -n 0 -f project=1 2> err && assert_grep "not a number from 1" err &&
    expect_code 2 export-slurm --token-file tok -o x --shard 1/2 -f project=1 2> err && assert_grep "own business" err &&
    expect_code 2 export-slurm --token-file tok -o x --limit 9 -f project=1 2> err && assert_grep "each shard" err &&
    expect_code 2 export-slurm --token-file tok -o x --retry x -f project=1 2> err && assert_grep "not a number" err &&
    expect_code 2 export-slurm -o x -f project=1 -- --token-file tok 2> err && assert_grep "give --token-file to export-slurm" err &&
    expect_code 2 export-slurm -o x -f project=1 2> err && assert_grep "no token for the jobs" err &&
    chmod 644 tok && expect_code 2 export-slurm --token-file tok -o x -f project=1 2> err &&
    assert_grep "can be read or written by others (mode 644)" err &&
    mkdir -p "$HOME/.synapse" && printf "{\"access_token\": \"%s\"}\n" "$FAKE_TOKEN" > "$HOME/.synapse/config.json" &&
    chmod 640 "$HOME/.synapse/config.json" &&
    expect_code 2 export-slurm -o x -f project=1 2> err && assert_grep "config.json.*mode 640" err &&
    rm -r "$HOME/.synapse" && test ! -e x && test ! -e x.shards && queue_empty
'

test_expect_success 'COCO: 4 shards as a job array and an afterok merge job equal the single-machine export' '
    token tok && : > "$TRASH_ROOT/fake.log" &&
    export-coco -q --no-sync -o single -f project=9 --page-size 10 > single.result &&
    export-slurm $fast -n 4 --token-file tok -o par -f project=9 --page-size 10 > out 2> err &&
    same_coco single par &&
    assert_eq "$(jq -c "del(.export_path)" single.result)" "$(tail -n 1 out | jq -c "del(.export_path)")" &&
    assert_eq "\"$PWD/par\"" "$(tail -n 1 out | jq .export_path)" &&
    assert_eq 1 "$(wc -l < out)" &&
    grep -E "^export-slurm: shards: job [0-9]+, array 1-4 \(4 of 4 shards to do\)$" err &&
    a=$(sed -n "s/^export-slurm: shards: job \([0-9]*\),.*/\1/p" err) &&
    grep -E "^export-slurm: merge: job [0-9]+ \(afterok:${a}_1:${a}_2:${a}_3:${a}_4\)$" err &&
    assert_grep "^export-slurm: 4 of 4 shards done$" err && assert_grep "^export-slurm: merging" err &&
    grep -q "^{\"op\":\"commit\"" par/.sx-manifest.ndjson && test ! -e par.shards && test ! -e par/sx-shard.json &&
    fetched_pages > pages && assert_eq 30 "$(wc -l < pages)" && assert_eq 15 "$(sort -u pages | wc -l)" &&
    queue_empty
'

test_expect_success 'YOLO: 3 shards on Slurm equal the single-machine export (classes, labels, image bytes)' '
    token tok &&
    export-yolo -q --no-sync -o single -f project=9 --page-size 10 > /dev/null &&
    export-slurm $fast -q -F yolo -n 3 --token-file tok -o par -f project=9 --page-size 10 > out 2> err &&
    assert_eq 2 "$(wc -l < err)" && assert_grep "^export-slurm: shards: job" err && same_yolo single par && test ! -e par.shards && queue_empty
'

test_expect_success 'COCO with --split, --jq and images, the token from ~/.synapse/config.json' '
    mkdir -p "$HOME/.synapse" && printf "{\"access_token\": \"%s\"}\n" "$FAKE_TOKEN" > "$HOME/.synapse/config.json" &&
    chmod 600 "$HOME/.synapse/config.json" &&
    export-coco -q --no-sync -o single -f project=9 --page-size 10 --split train=0.6,val=0.4 \
        --jq "select(.id % 3 != 0)" > single.result 2> /dev/null &&
    export-slurm $fast -q -n 3 -o par -f project=9 --page-size 10 --split train=0.6,val=0.4 \
        --jq "select(.id % 3 != 0)" > out &&
    rm -r "$HOME/.synapse" && test -d par/train && same_coco single par && test -n "$(ls par/images/train)" &&
    jq -e ".filtered_count == 50" out &&
    assert_eq "$(jq -c "del(.export_path)" single.result)" "$(jq -c "del(.export_path)" out)"
'

test_expect_success 'the token never reaches Slurm: not in the job scripts, scontrol, the saved job environment, the logs' '
    token tok &&
    export-slurm $fast --no-wait --keep-shards --sbatch-arg=--hold -n 4 --token-file tok -o par \
        -f project=9 --page-size 10 --no-images > out 2> err &&
    test ! -s out && assert_grep "^export-slurm: check:  export-slurm --status -o $PWD/par$" err &&
    sed -n "s/^export-slurm: finish: //p" err > finish && test -s finish && ! grep -q -- --no-wait finish &&
    for j in $(jobs_of par); do assert_eq PENDING "$(squeue -h -j $j -o %T)" || exit 1; done &&
    for j in $(jobs_of par); do
        scontrol show job -dd "$j" >> scontrol.txt 2>&1 || true
        scontrol write batch_script "${j%%_*}" - >> scripts.txt 2>/dev/null || true
    done &&
    grep -a -r -l "$SYNAPSE_HOST" "$SLURM_DIR/state" > env-files &&
    test -s env-files && test -s scripts.txt && assert_grep "sx-shards run" scripts.txt &&
    hex=$(printf %s "$FAKE_TOKEN" | od -An -tx1 | tr -d " \n") &&
    export-slurm --status -o par > status &&
    assert_grep "^$PWD/par: 0 of 4 shards done; shard 1: job [0-9]*_1 PENDING; .*; merge: job [0-9]* PENDING" status &&
    scontrol release $(jobs_of par | sed "s/_.*//" | sort -u) &&
    (eval "$(cat finish)") > out2 &&
    jq -e ".total_count == 150" <(tail -n 1 out2) &&
    for f in par.shards/*.sbatch scontrol.txt scripts.txt $(cat env-files) "$SLURM_DIR"/log/* par.shards/slurm-*.out; do
        test -f "$f" || continue
        if grep -a -q -i -e "$FAKE_TOKEN" -e "$hex" "$f"; then echo "the token is in $f"; exit 1; fi
    done &&
    ! grep -a -q "SYNAPSE_ACCESS_TOKEN" $(cat env-files)
'

test_expect_success 'each task checks the token file where it runs: readable by others, it is not used' '
    token tok &&
    export-slurm $fast --no-wait --sbatch-arg=--hold -n 2 --token-file tok -o par -f project=9 --page-size 10 2> err &&
    chmod 644 tok && n0=$(wc -l < "$TRASH_ROOT/fake.log") &&
    scontrol release $(jobs_of par | sed "s/_.*//" | sort -u) && queue_empty &&
    for i in 1 2; do
        assert_grep "^sx-shards: token file .*/tok. can be read or written by others (mode 644)" par.shards/slurm-*_$i.out || exit 1
    done &&
    assert_eq "$n0" "$(wc -l < "$TRASH_ROOT/fake.log")" "requests to the backend" &&
    test ! -e par && test ! -e par.shards/1 && test ! -e par.shards/2 &&
    export-slurm --status -o par > status && assert_grep "0 of 2 shards done; no job in the queue" status
'

test_expect_success '--retry: a failed shard is resubmitted alone; the committed shards are not redone' '
    token tok && export-coco -q --no-sync -o single -f project=9 --page-size 10 --no-images > /dev/null &&
    FAKE_PID= && fake_backend_start --items 150 --not-found-page 5:1 --log "$TRASH/fake.log" && token tok &&
    export-slurm $fast --retry 1 -n 4 --token-file tok -o par -f project=9 --page-size 10 --no-images \
        -- --retries 0 > out 2> err &&
    assert_grep "shard 1/4 failed (job [0-9]*_1, log .*): resubmitted alone (try 2 of 2)" err &&
    assert_eq 2 "$(grep -c "^export-slurm: shards: job" err)" &&
    grep -E "^export-slurm: shards: job [0-9]+, array 1 \(resubmitted\)$" err &&
    assert_eq 2 "$(grep -c "^export-slurm: merge: job" err)" &&
    same_coco single par && jq -e ".total_count == 150" <(tail -n 1 out) &&
    grep "sdk/assignments/?[^ ]* 200 " fake.log | grep -o "page=[0-9]*" > pages &&
    for p in 2 3 4 6 7 8 10 11 12 14 15; do assert_eq 1 "$(grep -c "^page=$p\$" pages)" "fetches of page $p" || exit 1; done &&
    test ! -e par.shards && queue_empty
'

test_expect_success 'a shard that fails on every try: exit 3 after --retry, nothing merged, the rest kept' '
    FAKE_PID= && fake_backend_start --items 150 --not-found-page 6:0 --log "$TRASH/fake.log" &&
    token tok &&
    expect_code 3 export-slurm $fast --retry 1 -n 4 --token-file tok -o par -f project=9 --page-size 10 --no-images \
        -- --retries 0 > out 2> err &&
    assert_grep "shard 2/4 failed (job .*): resubmitted alone (try 2 of 2)" err &&
    assert_grep "shard 2/4 failed (exit 3, job [0-9]*_2, log .*slurm-[0-9]*_2.out)" err &&
    assert_grep "the shards that committed are kept" err &&
    assert_eq 2 "$(grep -cE "GET /sdk/assignments/\?([^ ]*&)?page=6(&[^ ]*)? 404 " fake.log)" &&
    test ! -e par && test ! -e par.shards/2 && queue_empty &&
    for i in 1 3 4; do grep -q "^{\"op\":\"commit\"" par.shards/$i/.sx-manifest.ndjson || exit 1; done
'

test_expect_success 'a shard killed (SIGKILL, as a node lost): nothing merged; the same command redoes only that shard' '
    token tok && export-coco -q --no-sync -o single -f project=9 --page-size 10 --no-images > /dev/null &&
    FAKE_PID= && fake_backend_start --items 150 --slow-page 2 --slow-ms 60000 --log "$TRASH/fake.log" && token tok
    cmd="export-slurm $fast -n 4 --token-file tok -o par -f project=9 --page-size 10 --no-images"
    ( set +e; $cmd > out 2> err; echo $? > status ) &
    bg=$!
    for i in $(seq 300); do
        test -f par.shards/1.result && test -f par.shards/3.result && test -f par.shards/4.result &&
            test -f par.shards/2/.sx-manifest.ndjson && break
        sleep 0.2
    done
    j=$(awk "\$1 == \"shard\" && \$2 == 2 { print \$3 }" par.shards/slurm.jobs)
    assert_eq RUNNING "$(squeue -h -j $j -o %T)"
    jid=$(squeue -h -j $j -o %A)
    pids=$(scontrol listpids "$jid" | awk "NR > 1 && \$1 > 0 { print \$1 }")
    test -n "$pids"
    kill -9 $pids
    wait $bg
    assert_eq 137 "$(cat status)"
    assert_grep "shard 2/4 failed (exit 137, job ${j}, " err && assert_grep "run the same command again" err &&
    test ! -e par && queue_empty && test ! -e par.shards/2.result &&
    grep -q "^{\"op\":\"commit\"" par.shards/1/.sx-manifest.ndjson &&
    ! grep -q "^{\"op\":\"commit\"" par.shards/2/.sx-manifest.ndjson &&
    : > fake.log &&
    $cmd > out 2> err &&
    grep -E "^export-slurm: shards: job [0-9]+, array 2 \(1 of 4 shards to do\)$" err &&
    grep "sdk/assignments/?[^ ]* 200 " fake.log | grep -o "page=[0-9]*" | sort | tr "\n" " " > pages &&
    assert_eq "page=10 page=14 page=2 page=6 " "$(cat pages)" &&
    same_coco single par && jq -e ".total_count == 150" <(tail -n 1 out) && test ! -e par.shards
'

test_expect_success 'interrupted, export-slurm leaves the jobs running; --cancel stops them; the same command finishes' '
    FAKE_PID= && fake_backend_start --items 150 --slow-page 3 --slow-ms 60000 --log "$TRASH/fake.log" && token tok &&
    cmd="export-slurm $fast -n 4 --token-file tok -o par -f project=9 --page-size 10 --no-images"
    $cmd > out 2> err &
    pid=$!
    for i in $(seq 300); do test -f par.shards/3/.sx-manifest.ndjson && break; sleep 0.2; done
    kill -TERM $pid
    st=0 && wait $pid || st=$?
    assert_eq 143 "$st"
    assert_grep "^export-slurm: terminated: the jobs go on (.*); run the same command again" err
    export-slurm --status -o par > status && assert_grep "shard 3: job [0-9]*_3 RUNNING" status &&
    export-slurm --cancel -o par 2> err && assert_grep "^export-slurm: cancelled " err && queue_empty &&
    test ! -e par && test ! -e par.shards/3 &&
    for d in par.shards/[0-9]*/; do grep -q "^{\"op\":\"commit\"" $d/.sx-manifest.ndjson || exit 1; done &&
    $cmd > out && jq -e ".total_count == 150" <(tail -n 1 out) && test ! -e par.shards
'

test_expect_success 'refused before anything is submitted: an existing export; jobs of other options in flight' '
    token tok && mkdir par && echo x > par/keep &&
    expect_code 1 export-slurm $fast --token-file tok -o par -f project=9 2> err &&
    assert_grep "exists and is not empty" err && test ! -e par.shards && assert_eq "" "$(squeue -h)" &&
    export-slurm $fast --no-wait --sbatch-arg=--hold -n 2 --token-file tok -o other -f project=9 2> err &&
    jobs_of other > jobs &&
    expect_code 1 export-slurm $fast -n 3 --token-file tok -o other -f project=9 2> err &&
    assert_grep "jobs of .*/other. with other options are in the queue" err &&
    jobs_of other > jobs2 && cmp jobs jobs2 &&
    for j in $(cat jobs); do assert_eq PENDING "$(squeue -h -j $j -o %T)" || exit 1; done &&
    export-slurm --cancel -o other && queue_empty
'

test_expect_success 'sx.mk with SX_ENGINE := slurm: coco and yolo exports as array jobs, voc here' '
    token tok &&
    cat > Makefile <<-EOF &&
	SX_PROJECTS := 9
	SX_FORMATS  := coco yolo voc
	SX_FLAGS    := -q --no-sync --page-size 10 --no-images
	SX_ENGINE   := slurm
	SX_SHARDS   := 3
	SX_SHARDS_yolo-9 := 2
	SX_SLURM_FLAGS := --poll 0.2 --token-file $PWD/tok
	include $SX_ROOT/pipelines/sx.mk
	EOF
    make -s -j3 > out 2> err &&
    export-coco -q --no-sync -o single-coco -f project=9 --page-size 10 --no-images > /dev/null &&
    export-yolo -q --no-sync -o single-yolo -f project=9 --page-size 10 --no-images > /dev/null &&
    same_coco single-coco exports/coco-9 && same_yolo single-yolo exports/yolo-9 &&
    test -f exports/voc-9/.sx-manifest.ndjson &&
    assert_eq 2 "$(grep -c "^export-slurm: shards: job" err)" &&
    grep -q "array 1-3 (3 of 3" err && grep -q "array 1-2 (2 of 2" err &&
    for e in coco-9 yolo-9 voc-9; do jq -e ".total_count == 150" exports/$e.result || exit 1; done &&
    make -s > out2 && test ! -s out2 && queue_empty &&
    make -s clean-exports > out3 && test ! -e exports/coco-9 && test ! -e exports/yolo-9 && test ! -e exports/voc-9 &&
    make -s coco-9 SX_SLURM_FLAGS_coco-9=--keep-shards > /dev/null 2>&1 && test -d exports/coco-9.shards/1 &&
    make -s clean-exports > out3 && assert_grep "^removed exports/coco-9.shards$" out3 &&
    test ! -e exports/coco-9.shards && test ! -e exports/coco-9 && assert_eq "" "$(ls exports)"
'

test_done
