#!/usr/bin/env bash
# What the export scripts say when an export cannot be made, and what they
# leave: only suggestions that work, only claims of what happened.
. "$(dirname "$0")/../lib/test-lib.sh"
. "$(dirname "$0")/../lib/fake-backend.sh"

fake_backend_start --items 30 --log "$TRASH_ROOT/fake.log"
fetched() { grep -c "sdk/assignments/" "$TRASH_ROOT/fake.log" || true; }

test_expect_success 'a committed DIR is refused before anything is fetched; the suggested rollback works' '
    export-coco -q --no-sync --no-images -o out -f project=1 > /dev/null &&
    : > "$TRASH_ROOT/fake.log" &&
    expect_code 1 export-coco -q --no-sync --no-images -o out -f project=1 > stdout 2> err &&
    test ! -s stdout && assert_eq 0 "$(fetched)" && assert_eq 1 "$(wc -l < err)" &&
    assert_grep "^export-coco: .out. holds the export of an earlier run: choose another -o DIR, add --unique" err &&
    ! grep -q -- "--resume" err &&
    cmd=$(sed -n "s/.*(.\(sx-save --rollback [^)]*\). removes.*/\1/p" err) &&
    assert_eq "sx-save --rollback out" "$cmd" &&
    $cmd > /dev/null && test ! -e out/.sx-manifest.ndjson &&
    export-coco -q --no-sync --no-images -o out -f project=1 > stdout && jq -e ".total_count == 30" stdout
'

test_expect_success '--unique, as suggested, writes the first free DIR(N)' '
    export-coco -q --no-sync --no-images -o out -f project=1 > /dev/null &&
    export-coco -q --no-sync --no-images -o out -f project=1 --unique > stdout &&
    assert_eq "\"$PWD/out(1)\"" "$(jq .export_path stdout)"
'

test_expect_success 'a non-empty DIR without an export: refused before fetching; --force, as suggested, works' '
    mkdir out && echo mine > out/notes.txt && : > "$TRASH_ROOT/fake.log" &&
    expect_code 1 export-coco -q --no-sync --no-images -o out -f project=1 2> err &&
    assert_eq 0 "$(fetched)" &&
    assert_grep "^export-coco: .out. exists and is not empty: .*--force to add the export to it" err &&
    export-coco -q --no-sync --no-images -o out -f project=1 --force > stdout &&
    jq -e ".total_count == 30" stdout && assert_eq mine "$(cat out/notes.txt)"
'

# start_slow_export DIR: an export-coco in the background (its own process
# group) that takes a few seconds; returns once its manifest exists
start_slow_export() {
    fake_backend_start --items 60 --delay-ms 300 --log "$TRASH_ROOT/fake.log" &&
    set -m && { export-coco -q --no-sync --no-images -o "$1" -f project=1 --page-size 5 -j 1 > stdout 2> err & pid=$!; } &&
    set +m &&
    for i in $(seq 100); do test -e "$1/.sx-manifest.ndjson" && break; sleep 0.1; done &&
    test -e "$1/.sx-manifest.ndjson"
}

test_expect_success 'sx-save killed (SIGKILL): the script rolls the export back itself, and says so' '
    start_slow_export out &&
    save=$(pgrep -f "^sx-save -o out( |\$)") && test -n "$save" &&
    kill -KILL $save && code=0 && { wait $pid || code=$?; } &&
    assert_eq 137 "$code" && test ! -e out && test ! -s stdout &&
    assert_grep "^export-coco: export failed (sx-save killed by SIGKILL), rolled back$" err &&
    ! grep -E -q "Killed|line [0-9]+:" err
'

test_expect_success 'the whole pipeline killed (SIGKILL): rolled back by the script, no job notices' '
    start_slow_export out &&
    save=$(pgrep -f "^sx-save -o out( |\$)") && pg=$(ps -o pgid= -p $save | tr -d " ") &&
    test "$pg" != "$pid" &&
    kill -KILL -- -$pg && code=0 && { wait $pid || code=$?; } &&
    test "$code" -gt 128 && test ! -e out &&
    assert_grep "^export-coco: export failed (.*killed by SIGKILL), rolled back$" err &&
    ! grep -E -q "Killed|line [0-9]+:" err
'

test_expect_success 'the script killed with it: the next run says the export did not finish, and the rollback works' '
    start_slow_export out &&
    kill -KILL -- -$pid && { wait $pid || true; } &&
    save=$(pgrep -f "^sx-save -o out( |\$)" || true) && for p in $save; do kill -KILL $p; done &&
    sleep 0.2 && test -f out/.sx-manifest.ndjson &&
    fake_backend_start --items 30 --log "$TRASH_ROOT/fake.log" &&
    expect_code 1 export-coco -q --no-sync --no-images -o out -f project=1 2> err &&
    assert_grep "^export-coco: .out. holds an export that did not finish .*: undo it with .sx-save --rollback out. and run again" err &&
    assert_eq 0 "$(fetched)" &&
    sx-save --rollback out > /dev/null 2>&1 && test ! -e out &&
    export-coco -q --no-sync --no-images -o out -f project=1 > stdout && jq -e ".total_count == 30" stdout
'
# (the tests above restarted the server in their bodies)
fake_backend_start --items 30 --log "$TRASH_ROOT/fake.log"

test_expect_success 'missing parents of DIR are made; a failed export removes them again' '
    export-coco -q --no-sync --no-images -o exports/coco-1 -f project=1 > stdout &&
    jq -e ".total_count == 30" stdout && test -f exports/coco-1/annotations.json &&
    expect_code 3 export-coco -q --no-sync --no-images -o new/a/b -f project=404 -- --retries 0 2> err &&
    test ! -e new && assert_grep "rolled back$" err
'

test_expect_success '--images link: the images of a local dataset are hard links (the default there); copy copies' '
    src=$TEST_DATA/sample/train/original_files/street_001.png &&
    for m in default link copy; do
        opt= && [ $m = default ] || opt="--images $m"
        export-coco -q --no-sync -o $m --dir "$TEST_DATA/sample" $opt > /dev/null || exit 1
    done &&
    assert_eq "$(stat -c %i "$src")" "$(stat -c %i default/images/train/street_001.png)" &&
    assert_eq "$(stat -c %i "$src")" "$(stat -c %i link/images/train/street_001.png)" &&
    test "$(stat -c %i "$src")" != "$(stat -c %i copy/images/train/street_001.png)" &&
    cmp "$src" copy/images/train/street_001.png
'

test_expect_success '--images link from the backend: images downloaded and moved in, no spool left' '
    export-coco -q --no-sync -o out -f project=1 --images link > ../stdout-link &&
    jq -e ".exported_count > 0" ../stdout-link &&
    assert_eq "$(jq ".images | length" out/annotations.json)" "$(ls out/images | wc -l)" &&
    assert_eq 1 "$(stat -c %h "out/images/$(ls out/images | head -n 1)")" &&
    assert_eq "out" "$(ls)"
'

test_expect_success 'sx-export --dry-run with format csv prints a command that exists and runs as printed' '
    sx-export --dry-run --params "{\"storage\":\"st\",\"name\":\"n\",\"path\":\"a b\",\"target\":\"assignment\",\"filter\":{\"project\":1},\"format\":\"csv\",\"save_original_file\":false,\"extra_params\":{\"classes\":[\"car\",\"person\"]}}" \
        > cmd 2> err &&
    assert_eq export-csv "$(cut -d" " -f1 cmd)" && command -v export-csv > /dev/null &&
    assert_grep "extra_params.classes written to" err &&
    classes=$(sed -n "s/.*written to \([^,]*\), which.*/\1/p" err) && test -s "$classes" &&
    eval "$(cat cmd) -q --no-sync" > stdout && rm -f "$classes" &&
    head -n 1 "st/a b/n/annotations.csv" | grep -q "^image,width,height,class" &&
    jq -e ".total_count == 30" stdout
'

test_expect_success 'export-csv --help and a CSV export' '
    export-csv --help > out && assert_grep "^usage: export-csv -o DIR" out && assert_grep "to CSV in DIR" out &&
    export-csv -q --no-sync --no-images -o c -f project=1 > stdout && test -f c/annotations.csv
'

test_expect_success 'a failed export-parallel: no GNU parallel job text, no leftovers when no shard was done' '
    fake_backend_start --items 60 --not-found-page 1:0 --slow-page 2 --slow-ms 3000 --log "$TRASH_ROOT/fake.log" &&
    expect_code 3 export-parallel --no-sync -n 2 -o par -f project=1 --page-size 10 --no-images -- --retries 0 \
        > stdout 2> err &&
    ! grep -q "^parallel: " err && ! grep -q "sx-shards run" err &&
    assert_grep "^export-parallel: a shard failed (exit 3); no shard was done, nothing is kept$" err &&
    test ! -e par && test ! -e par.shards && test ! -s stdout
'

test_expect_success 'a failed export-parallel keeps only the shards that were done, and the next run uses them' '
    fake_backend_start --items 60 --not-found-page 3:0 --slow-page 1 --slow-ms 2000 --log "$TRASH_ROOT/fake.log" &&
    expect_code 3 export-parallel --no-sync -n 3 -o par -f project=1 --page-size 10 --no-images -- --retries 0 \
        > stdout 2> err &&
    ! grep -q "^parallel: " err &&
    test -z "$(find par.shards -name "*.tmp")" &&
    kept=$(ls par.shards/*.result 2>/dev/null | wc -l) &&
    for f in par.shards/*; do
        case $f in par.shards/joblog) ;; par.shards/[0-9]*) i=${f#par.shards/}; i=${i%%.*}; test -f par.shards/$i.result || { echo "left: $f"; exit 1; } ;; esac
    done &&
    if [ "$kept" = 0 ]; then assert_grep "nothing is kept" err; else
        [ "$kept" = 1 ] && w="1 of 3 shards was done and is kept" || w="$kept of 3 shards were done and are kept"
        assert_grep "a shard failed (exit 3); $w in .*: the same command redoes only the others" err
    fi
'

fake_backend_start --items 30 --log "$TRASH_ROOT/fake.log"

test_expect_success 'export-parallel into a committed export: refused, saying what works' '
    export-coco -q --no-sync --no-images -o par -f project=1 > /dev/null &&
    expect_code 1 export-parallel -q --no-sync -n 2 -o par -f project=1 2> err &&
    assert_grep "holds the export of an earlier run: choose another -o DIR, or remove it first" err &&
    test ! -e par.shards
'

test_expect_success 'sx-merge-yolo of one shard: "1 shard merged"' '
    export-yolo -q --no-sync --no-images -o s1 -f project=1 --shard 1/1 > /dev/null &&
    sx-merge-yolo -o m s1 2> err &&
    assert_grep "^sx-merge-yolo: 1 shard merged into m$" err
'

test_done
