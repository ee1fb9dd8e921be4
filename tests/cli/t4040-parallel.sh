#!/usr/bin/env bash
# export-parallel: N shards on local workers with GNU parallel, merged.
. "$(dirname "$0")/../lib/test-lib.sh"
. "$(dirname "$0")/../lib/fake-backend.sh"
. "$(dirname "$0")/../lib/sshd.sh"

fake_backend_start --items 150 --log "$TRASH_ROOT/fake.log"
# the remote workers: a real sshd on 127.0.0.1, whose sessions have a HOME of
# their own (the token is theirs, ~/.synapse/config.json) and sx on PATH
sshd_start "$TRASH_ROOT/sshd" "$TRASH_ROOT/rhome" "$PATH" 2>"$TRASH_ROOT/sshd-start.err"
sshd_status=$?
test_at_exit sshd_stop

norm='(.images | map({key: (.id | tostring), value: .sx_item}) | from_entries) as $im
    | (.categories | map({key: (.id | tostring), value: .name}) | from_entries) as $c
    | [.annotations[] | .image_id = $im[.image_id | tostring] | .category_id = $c[.category_id | tostring] | del(.id)]
    | sort_by(.image_id)'
ynorm() { # each image's bytes with its label, whatever the names
    (cd "$1" && for l in labels/*.txt; do
        s=${l#labels/}; s=${s%.txt}
        printf "%s %s\n" "$(sha256sum images/$s.jpg 2>/dev/null | cut -c1-16)" "$(tr "\n" "|" < "$l")"
    done) | sort
}

test_expect_success 'export-parallel --help, --version, usage errors' '
    export-parallel --help > out && assert_grep "^usage: export-parallel -o DIR" out &&
    assert_grep "^ *-S, --sshlogin" out && assert_grep "^example:" out && assert_grep "^ *-h, --help" out &&
    assert_eq "export-parallel (sx) $(sx-jq --version | sed "s/.* //")" "$(export-parallel --version)" &&
    expect_code 2 export-parallel -f project=1 2> err && assert_grep "no output directory" err &&
    expect_code 2 export-parallel -o x -F voc -f project=1 2> err && assert_grep "cannot be merged" err &&
    expect_code 2 export-parallel -o x -n 0 -f project=1 2> err && assert_grep "not a number from 1" err &&
    expect_code 2 export-parallel -o x --shard 1/2 -f project=1 2> err && assert_grep "own business" err &&
    expect_code 2 export-parallel -o x --limit 10 -f project=1 2> err && assert_grep "each shard" err &&
    test ! -e x && test ! -e x.shards
'

test_expect_success 'COCO: 4 local shards merge into the single-machine export' '
    export-coco -q --no-sync -o single -f project=9 --page-size 10 > single.result &&
    export-parallel -q --no-sync -n 4 -S : -o par -f project=9 --page-size 10 > par.result &&
    jq -c "$norm" par/annotations.json > got && jq -c "$norm" single/annotations.json > want && cmp want got &&
    jq -c .categories par/annotations.json > got && jq -c .categories single/annotations.json > want && cmp want got &&
    jq -r ".images[] | \"\(.sx_item) \(.file_name)\"" par/annotations.json | sort > got &&
    jq -r ".images[] | \"\(.sx_item) \(.file_name)\"" single/annotations.json | sort > want && cmp want got &&
    (cd par/images && ls) > got && (cd single/images && ls) > want && cmp want got &&
    assert_eq "$(jq -c "del(.export_path)" single.result)" "$(jq -c "del(.export_path)" par.result)" &&
    assert_eq "\"$PWD/par\"" "$(jq .export_path par.result)" &&
    grep -q "^{\"op\":\"commit\"" par/.sx-manifest.ndjson &&
    test ! -e par.shards && test ! -e par/sx-shard.json
'

test_expect_success 'YOLO: 3 local shards merge into the single-machine export (same classes)' '
    export-yolo -q --no-sync -o single -f project=9 --page-size 10 > /dev/null &&
    export-parallel -q --no-sync -F yolo -n 3 -o par -f project=9 --page-size 10 > /dev/null &&
    cmp single/classes.txt par/classes.txt && cmp single/dataset.yaml par/dataset.yaml &&
    ynorm single > want && ynorm par > got && cmp want got &&
    (cd single && find labels images -type f | sort) > want &&
    (cd par && find labels images -type f | sort) > got && cmp want got &&
    for f in $(cd single && find labels images -type f); do cmp single/$f par/$f || exit 1; done &&
    test ! -e par.shards
'

test_expect_success 'COCO with --split: every split merges into the single-machine one' '
    export-coco -q --no-sync -o single -f project=9 --page-size 10 --split train=0.6,val=0.3,test=0.1 > /dev/null &&
    export-parallel -q --no-sync -n 3 -o par -f project=9 --page-size 10 --split train=0.6,val=0.3,test=0.1 > /dev/null &&
    test ! -e par/annotations.json &&
    for sp in train val test; do
        jq -c "$norm" par/$sp/annotations.json > got && jq -c "$norm" single/$sp/annotations.json > want &&
        cmp want got && jq -c .categories par/$sp/annotations.json > got &&
        jq -c .categories single/$sp/annotations.json > want && cmp want got || exit 1
    done &&
    (cd par && find images -type f | sort) > got && (cd single && find images -type f | sort) > want && cmp want got
'

test_expect_success 'the shards fetch disjoint pages, each page once' '
    : > "$TRASH_ROOT/fake.log" &&
    export-parallel -q --no-sync -n 3 -o par -f project=9 --page-size 10 --no-images > /dev/null &&
    grep "sdk/assignments/?[^ ]* 200 " "$TRASH_ROOT/fake.log" | grep -o "page=[0-9]*" | sort > pages &&
    assert_eq 15 "$(wc -l < pages)" && assert_eq 15 "$(sort -u pages | wc -l)"
'

test_expect_success 'remote workers through a real sshd (two ports, a HOME of their own): host passed, token not' '
    cat "$TRASH_ROOT/sshd-start.err" && test '"$sshd_status"' = 0 &&
    mkdir -p "$TRASH_ROOT/rhome/.synapse" &&
    printf "{\"access_token\": \"%s\"}\n" "$FAKE_TOKEN" > "$TRASH_ROOT/rhome/.synapse/config.json" &&
    assert_eq "$TRASH_ROOT/rhome" "$(ssh -F "$SSH_CONFIG" worker2 "echo \$HOME")" &&
    export-coco -q --no-sync -o single -f project=9 --page-size 10 > /dev/null &&
    : > "$SSHD_DIR/sessions.log" &&
    export-parallel -q --no-sync -n 4 -S 2/worker1 -S 2/worker2 --ssh "ssh -F $SSH_CONFIG" \
        -o par -f project=9 --page-size 10 > out &&
    jq -c "$norm" par/annotations.json > got && jq -c "$norm" single/annotations.json > want && cmp want got &&
    (cd par/images && ls) > got && (cd single/images && ls) > want && cmp want got &&
    assert_eq "\"$PWD/par\"" "$(jq .export_path out)" &&
    grep "^conn=" "$SSHD_DIR/sessions.log" | sed "s/.* //" | sort -u > ports &&
    printf "%s\n" "${SSHD_PORTS[@]}" | sort > want && cmp want ports &&
    test "$(grep -c "^env: HOME=$TRASH_ROOT/rhome\$" "$SSHD_DIR/sessions.log")" -ge 2 &&
    grep -q "Accepted publickey for $(id -un) from 127.0.0.1" "$SSHD_DIR/sshd.log" &&
    hex=$(printf %s "$FAKE_TOKEN" | od -An -tx1 | tr -d " \n") &&
    ! grep -qi -e "$FAKE_TOKEN" -e "$hex" "$SSHD_DIR/sessions.log" &&
    ! grep -q "^env: SYNAPSE_ACCESS_TOKEN=" "$SSHD_DIR/sessions.log" &&
    grep -qi -e "$SYNAPSE_HOST" -e "$(printf %s "$SYNAPSE_HOST" | od -An -tx1 | tr -d " \n")" "$SSHD_DIR/sessions.log"
'

test_expect_success 'a failing shard: exit 3, nothing merged; the next run redoes only the others' '
    trap fake_backend_stop EXIT && fake_backend_start --items 150 --not-found-page 5:0 --log "$TRASH_ROOT/fake.log" &&
    expect_code 3 export-parallel -q --no-sync -n 4 -o par -f project=9 --page-size 10 --no-images -- --retries 0 \
        > out 2> err &&
    test ! -e par && test ! -s out && assert_grep "a shard failed (exit 3)" err &&
    test ! -e par.shards/1.result &&
    fake_backend_start --port $FAKE_PORT --items 150 --log "$TRASH_ROOT/fake.log" &&
    skip=0 && for r in par.shards/*.result; do
        [ -e "$r" ] || continue; i=$(basename $r .result)
        for p in $(seq 15); do [ $(((p - 1) % 4 + 1)) != $i ] || skip=$((skip + 1)); done
    done &&
    export-parallel -q --no-sync -n 4 -o par -f project=9 --page-size 10 --no-images -- --retries 0 > out &&
    assert_eq $((15 - skip)) "$(grep -c "sdk/assignments/?[^ ]* 200 " "$TRASH_ROOT/fake.log")" &&
    jq -e ".total_count == 150" out && test ! -e par.shards &&
    export-coco -q --no-sync -o single -f project=9 --page-size 10 --no-images > /dev/null &&
    jq -c "$norm" par/annotations.json > got && jq -c "$norm" single/annotations.json > want && cmp want got
'
fake_backend_start --items 150 --log "$TRASH_ROOT/fake.log"

test_expect_success 'an existing export is refused, nothing fetched' '
    mkdir par && echo x > par/keep && : > "$TRASH_ROOT/fake.log" &&
    expect_code 1 export-parallel -q -o par -f project=9 2> err &&
    assert_grep "exists and is not empty" err && test ! -s "$TRASH_ROOT/fake.log" && test ! -e par.shards
'

test_done
