#!/usr/bin/env bash
# pipelines/export-*: fetch | convert | save | progress, all or nothing.
. "$(dirname "$0")/../lib/test-lib.sh"
. "$(dirname "$0")/../lib/fake-backend.sh"

fake_backend_start --items 120 --log "$TRASH_ROOT/fake.log"

for p in export-coco export-yolo export-voc export-raw; do
    test_expect_success "$p --help: usage, every option, an example; --version" '
        '"$p"' --help > out 2> err && test ! -s err &&
        assert_grep "^usage: '"$p"' -o DIR" out &&
        assert_grep "^ *-h, --help" out && assert_grep "^ *--version" out &&
        assert_grep "^ *--shard I/N" out && assert_grep "^ *--jq PROGRAM" out &&
        assert_grep "^example:" out && assert_grep "^  '"$p"' -o exports/" out &&
        '"$p"' --version > v &&
        assert_eq "'"$p"' (sx) $(sx-jq --version | sed "s/.* //")" "$(cat v)"
    '
    test_expect_success "$p: an unknown option is a usage error" '
        expect_code 2 '"$p"' -o x -f project=1 --no-such-option > out 2> err &&
        test ! -s out && test ! -e x &&
        assert_grep "^'"$p"': unknown option .--no-such-option." err &&
        assert_grep "Try .'"$p"' --help." err
    '
done

test_expect_success 'export-coco commits a COCO export and prints the result last' '
    export-coco -q -o out -f project=1 --no-sync > stdout &&
    test -f out/annotations.json && test -d out/images &&
    assert_grep "^{\"op\":\"commit\"" out/.sx-manifest.ndjson &&
    tail -n 1 stdout > result &&
    assert_eq "\"$PWD/out\"" "$(jq .export_path result)" &&
    assert_eq 120 "$(jq .total_count result)" &&
    assert_eq "$(jq ".exported_count + .failed_count" result)" 120 &&
    assert_eq "$(jq ".images | length" out/annotations.json)" "$(ls out/images | wc -l)"
'

test_expect_success 'export-yolo: labels, classes.txt, dataset.yaml; --task passes through' '
    export-yolo -q -o out -f project=1 --no-sync --task segment --no-images > stdout &&
    test -f out/classes.txt && test -f out/dataset.yaml && test -d out/labels && test ! -e out/images &&
    jq -e ".total_count == 120" stdout
'

test_expect_success 'export-voc: one XML per item and classes.txt' '
    export-voc -q -o out -f project=1 --no-sync --no-images > stdout &&
    test -f out/classes.txt && ls out/Annotations | grep -q "\.xml$" &&
    jq -e ".total_count == 120" stdout
'

test_expect_success 'export-raw: the SDK default layout (json/ + origin_files/)' '
    export-raw -q -o out -f project=1 --no-sync > stdout &&
    test -d out/json && test -d out/origin_files &&
    test "$(ls out/json | wc -l)" -gt 90 &&
    jq -e ".total_count == 120" stdout
'

test_expect_success 'export-raw --dir reads a local dataset' '
    export-raw -q -o out --dir "$TEST_DATA/sample" --no-sync > stdout &&
    test -d out/train/json && test -d out/valid/json && jq -e ".total_count > 0" stdout
'

test_expect_success '--log keeps the stream of log, metrics and result records' '
    export-coco -q -o out -f project=1 --no-sync --log job.ndjson > stdout &&
    grep -q "^{\"sx\":\"log\",\"event\":\"export_original_file\"" job.ndjson &&
    grep -q "^{\"sx\":\"metrics\",\"category\":\"original_file\"" job.ndjson &&
    assert_eq "$(tail -n 1 stdout)" "$(sed -n "s/^{\"sx\":\"result\",/{/p" job.ndjson)"
'

test_expect_success '--jq runs an sx-jq program before the converter' '
    export-coco -q -o out -f project=1 --no-sync --no-images \
        --jq "select(.id <= 10)" > stdout &&
    assert_eq "$(jq "[.images[].sx_item] | max" out/annotations.json)" 10
'

test_expect_success 'a backend failure rolls the export back and exits 3' '
    trap fake_backend_stop EXIT && fake_backend_start --items 120 --not-found-page 2:0 &&
    expect_code 3 export-coco -q -o out -f project=1 --page-size 50 -- --retries 0 > stdout 2> err &&
    test ! -e out && test ! -s stdout &&
    assert_grep "^export-coco: export failed (sx-fetch exit 3" err &&
    assert_grep "rolled back" err
'
fake_backend_start --items 120 --log "$TRASH_ROOT/fake.log"

test_expect_success 'a failing middle stage rolls the export back and exits 1' '
    expect_code 1 export-coco -q -o out -f project=1 --jq "if .id == 60 then error(\"boom\") else . end" \
        > stdout 2> err &&
    test ! -e out && test ! -s stdout &&
    assert_grep "sx-jq exit 1" err
'

test_expect_success 'an existing export is never overwritten; --unique picks DIR(1)' '
    export-coco -q -o out -f project=1 --no-images --no-sync > /dev/null &&
    cp out/annotations.json before &&
    expect_code 1 export-coco -q -o out -f project=1 --no-images --no-sync > stdout 2> err &&
    cmp before out/annotations.json &&
    export-coco -q -o out -f project=1 --no-images --no-sync --unique > stdout &&
    assert_eq "\"$PWD/out(1)\"" "$(jq .export_path stdout)"
'

for spec in 0/3 4/3 3 a/b 1/0; do
    test_expect_success "--shard $spec is a usage error, nothing fetched or written" '
        : > "$TRASH_ROOT/fake.log" &&
        expect_code 2 export-coco -o out -f project=1 --shard '"$spec"' > stdout 2> err &&
        test ! -e out && test ! -s stdout &&
        assert_grep "^export-coco: --shard: .'"$spec"'. is not I/N" err &&
        test ! -s "$TRASH_ROOT/fake.log"
    '
done

test_expect_success 'an output under a file is refused before anything runs' '
    : > "$TRASH_ROOT/fake.log" && echo x > file &&
    expect_code 1 export-coco -o file/out -f project=1 > stdout 2> err &&
    assert_grep "^export-coco: cannot write .file/out.: .file. is not a directory" err &&
    expect_code 1 export-coco -o file/a/out -f project=1 2> err &&
    assert_grep "^export-coco: cannot write .file/a/out.: .file. is not a directory" err &&
    test ! -s "$TRASH_ROOT/fake.log"
'

test_expect_success 'a missing filter or output is a usage error' '
    expect_code 2 export-coco -o out 2> err && assert_grep "no filter" err &&
    expect_code 2 export-coco -f project=1 2> err && assert_grep "no output directory" err &&
    test ! -e out
'

test_expect_success '--shard writes sx-shard.json naming the export and the shard' '
    export-coco -q -o out -f project=1 --shard 2/3 --page-size 20 --no-images --no-sync > stdout &&
    jq -e ".sx_shard == 1 and .shard == \"2/3\" and .format == \"coco\" and .target == \"assignment\"
           and .source.filter.project == \"1\" and .page_size == \"20\"" out/sx-shard.json &&
    jq -e "[.images[].sx_item] | length > 10 and all(. as \$i | ((\$i - 1) / 20 | floor) % 3 == 1)" \
        out/annotations.json
'

# sig_default CMD...: (in a background job: it execs) runs CMD with SIGINT and SIGTERM at their default, as
# on a terminal, even when this script was started with them ignored (a
# background job of a non-interactive shell ignores SIGINT).
sig_default() {
    exec python3 -c "import os, signal, sys
for s in (signal.SIGINT, signal.SIGTERM): signal.signal(s, signal.SIG_DFL)
os.execvp(sys.argv[1], sys.argv[1:])" "$@"
}

for sig in INT TERM; do
    test_expect_success "SIG$sig to the script rolls the export back" '
        trap fake_backend_stop EXIT && fake_backend_start --items 120 --delay-ms 300 &&
        set -m &&
        { sig_default export-coco -q -o out -f project=1 --page-size 10 -j 1 --no-images > stdout 2> err & pid=$!; } &&
        for i in $(seq 50); do test -e out/.sx-manifest.ndjson && break; sleep 0.1; done &&
        test -e out && kill -'"$sig"' $pid && code=0 && { wait $pid || code=$?; } &&
        test "$code" -gt 128 && test ! -e out && test ! -s stdout
    '
done

test_expect_success 'README: a section per workflow, each with an example' '
    R=$SX_ROOT/README.md &&
    for h in "### export-coco, export-yolo, export-voc, export-csv, export-raw" "### sx-export --params" \
             "### Batch exports with make: sx.mk" "## sx-merge-coco, sx-merge-yolo" \
             "### Across machines: export-parallel" "### On a Slurm cluster: export-slurm" "### sx-shards"; do
        assert_grep "^$h" "$R" || exit 1
    done &&
    for x in "export-coco -o" "sx-export --params" "include /usr/local/share/sx/sx.mk" \
             "sx-merge-coco --records" "sx-merge-yolo -o" "export-parallel -n 4" \
             "export-slurm -F coco" "SX_ENGINE := slurm"; do
        grep -qF -- "$x" "$R" || { echo "no example: $x"; exit 1; }
    done &&
    for x in "specs.pipe(" "shard size"; do
        grep -qF -- "$x" "$SX_ROOT/lib/README.md" || { echo "lib/README.md: no $x"; exit 1; }
    done
'

test_done
