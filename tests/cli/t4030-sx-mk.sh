#!/usr/bin/env bash
# pipelines/sx.mk: make -j runs the exports; the committed manifest is the target.
. "$(dirname "$0")/../lib/test-lib.sh"
. "$(dirname "$0")/../lib/fake-backend.sh"

fake_backend_start --items 60 --log "$TRASH_ROOT/fake.log"

# The README's example, with the checkout's sx.mk.
write_makefile() {
    cat > Makefile <<-MK
	SX_PROJECTS := 12 34
	SX_FORMATS  := coco yolo
	SX_EXPORTS  += voc-56 raw-78
	SX_FLAGS    := -q --no-sync --no-images --page-size 10
	SX_FLAGS_yolo-34 := --task segment
	SX_EXPORTS += \$(EXTRA)
	include $SX_ROOT/pipelines/sx.mk
	MK
}
# sig_default CMD...: (in a background job: it execs) runs CMD with SIGINT at its default, as on a terminal,
# even when this script was started with it ignored (a background job).
sig_default() {
    exec python3 -c "import os, signal, sys
signal.signal(signal.SIGINT, signal.SIG_DFL)
os.execvp(sys.argv[1], sys.argv[1:])" "$@"
}
projects_fetched() { sed -n "s/.*project=\([0-9]*\).*/\1/p" "$TRASH_ROOT/fake.log" | sort -u | tr "\n" " "; }
committed() { grep -q "^{\"op\":\"commit\"" "exports/$1/.sx-manifest.ndjson"; }

test_expect_success 'make -j4 runs every export, each committed, results printed' '
    write_makefile &&
    make -j4 > out 2> err &&
    for e in coco-12 coco-34 yolo-12 yolo-34 voc-56 raw-78; do committed $e || exit 1; done &&
    test -f exports/coco-12/annotations.json && test -f exports/yolo-34/classes.txt &&
    test -d exports/voc-56/Annotations && test -d exports/raw-78/json &&
    assert_eq 6 "$(grep -c "^{\"export_path\":" out)" &&
    jq -e ".total_count == 60" exports/coco-34.result &&
    assert_eq "12 34 56 78 " "$(projects_fetched)"
'

test_expect_success 'a second make does nothing: the manifests are up to date' '
    write_makefile && make -j4 > /dev/null 2>&1 &&
    : > "$TRASH_ROOT/fake.log" &&
    make -j4 > out 2> err &&
    test ! -s "$TRASH_ROOT/fake.log" && ! grep -q export_path out
'

test_expect_success 'one export, by name' '
    write_makefile && make yolo-34 > out 2> err &&
    committed yolo-34 && test ! -e exports/coco-12 && grep -q segment exports/yolo-34/dataset.yaml -e "" &&
    assert_eq "34 " "$(projects_fetched)"
'

test_expect_success 'a failed export fails make -k; the next make redoes only it' '
    write_makefile && sed -i "1i SX_FLAGS_coco-99 = \$(BAD)" Makefile &&
    code=0 && { make -k -j4 EXTRA=coco-99 BAD=--no-such-option > out 2> err || code=$?; } && test "$code" != 0 &&
    assert_grep "export-coco: unknown option .--no-such-option." err &&
    test ! -e exports/coco-99 && committed coco-12 && committed raw-78 &&
    test ! -e exports/coco-99.result.tmp && test ! -e exports/coco-99.result &&
    : > "$TRASH_ROOT/fake.log" &&
    make -j4 EXTRA=coco-99 > out 2> err &&
    committed coco-99 && assert_eq "99 " "$(projects_fetched)"
'

test_expect_success 'an export that never committed (a crash) is rolled back and redone' '
    write_makefile && make -j4 > /dev/null 2>&1 &&
    grep -v "^{\"op\":\"commit\"" exports/coco-34/.sx-manifest.ndjson > m &&
    cp m exports/coco-34/.sx-manifest.ndjson &&
    : > "$TRASH_ROOT/fake.log" &&
    make -j4 > out 2> err &&
    assert_grep "exports/coco-34. did not commit: rolled back, redone" err &&
    committed coco-34 && assert_eq "34 " "$(projects_fetched)" &&
    test -f exports/coco-34/annotations.json
'

test_expect_success 'Ctrl-C during make -j: nothing half-written; make redoes what did not commit' '
    trap fake_backend_stop EXIT && fake_backend_start --items 60 --delay-ms 150 --log "$TRASH_ROOT/fake.log" &&
    write_makefile && sed -i "s/--page-size 10/--page-size 5 -j 1/" Makefile &&
    set -m && { sig_default make -j2 > out 2> err & pid=$!; } && set +m &&
    for i in $(seq 200); do ls exports/*.result > /dev/null 2>&1 && break; sleep 0.05; done &&
    kill -INT -- -$pid && { wait $pid || true; } && sleep 0.3 &&
    shopt -s nullglob && test -n "$(echo exports/*/)" &&
    for d in exports/*/; do
        test -f "$d/.sx-manifest.ndjson" || { echo "leftover $d"; ls -la "$d"; exit 1; }
        committed "$(basename "$d")" || { echo "uncommitted $d"; exit 1; }
    done &&
    done_before=$(ls -d exports/*/ 2>/dev/null | wc -l) && test "$done_before" -lt 6 &&
    fake_backend_start --items 60 --log "$TRASH_ROOT/fake.log" &&
    make -j4 > out 2> err &&
    assert_eq $((6 - done_before)) "$(grep -c "^{\"export_path\":" out)" &&
    for e in coco-12 coco-34 yolo-12 yolo-34 voc-56 raw-78; do committed $e || exit 1; done
'

fake_backend_start --items 60 --log "$TRASH_ROOT/fake.log"

test_expect_success "the README's example Makefile runs as it is with make -j4" '
    sed -n "/^# Makefile\$/,/^include /p" "$SX_ROOT/README.md" > Makefile &&
    grep -q "^include /usr/local/share/sx/sx.mk" Makefile && grep -q "^SX_PROJECTS" Makefile &&
    sed -i "s|^include .*|include $SX_ROOT/pipelines/sx.mk|" Makefile &&
    make -j4 > out 2> err &&
    for e in coco-12 coco-34 yolo-12 yolo-34 voc-56; do committed $e || exit 1; done &&
    test -d exports/coco-12/train && grep -q segment exports/yolo-34/dataset.yaml -e "" &&
    grep -q "ground_truth_dataset_versions=56" "$TRASH_ROOT/fake.log" &&
    make clean-exports > /dev/null && test -z "$(ls exports | grep -v "\.result$")"
'

test_expect_success 'make clean-exports rolls every export back through its manifest' '
    write_makefile && make -j4 > /dev/null 2>&1 &&
    echo mine > exports/keep.txt &&
    make clean-exports > out 2> err &&
    assert_eq 6 "$(grep -c "^rolled back exports/" out)" &&
    test -z "$(ls exports | grep -v keep.txt)" && test -f exports/keep.txt
'

test_expect_success 'a name that is not FORMAT-PROJECT is refused' '
    write_makefile &&
    expect_code 2 make png-3 EXTRA=png-3 > out 2> err &&
    assert_grep "the format must be coco, yolo, voc, csv or raw" err && test ! -e exports/png-3
'

test_done
