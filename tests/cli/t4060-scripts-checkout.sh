#!/usr/bin/env bash
# The scripts run from a checkout with nothing on PATH: they find the
# programs in the checkout's build/bin, and the scripts beside them; or they
# say what to do, with a non-zero exit.
. "$(dirname "$0")/../lib/test-lib.sh"
. "$(dirname "$0")/../lib/fake-backend.sh"

fake_backend_start --items 30 --log "$TRASH_ROOT/fake.log"

# A PATH without sx: the system's tools only (jq for the examples' result
# lines, GNU parallel).
BARE_PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
bare() { env PATH="$BARE_PATH" "$@"; }

# checkout DIR [built]: a copy of the checkout's scripts; built: with its
# build/bin (the programs of the build under test)
checkout() {
    mkdir -p "$1/bin" && cp -R "$SX_ROOT/pipelines" "$1/" && : > "$1/GNUmakefile" &&
    if [ "${2:-}" = built ]; then mkdir -p "$1/build" && ln -s "$SX_BUILD/bin" "$1/build/bin"; fi
}

test_expect_success 'nothing of sx is on the test PATH' '
    ! bare sh -c "command -v sx-jq || command -v export-coco"
'

test_expect_success 'export-coco from a built checkout: --version and a real export' '
    checkout co built &&
    bare co/pipelines/export-coco --version > v &&
    assert_eq "export-coco (sx) $(sx-jq --version | sed "s/.* //")" "$(cat v)" &&
    bare co/pipelines/export-coco -q --no-sync -o out -f project=1 > result &&
    jq -e ".total_count == 30 and .exported_count + .failed_count == 30" result &&
    test -f out/annotations.json
'

test_expect_success 'through a link elsewhere (~/bin/export-yolo -> the checkout)' '
    checkout co built && mkdir mybin && ln -s "$PWD/co/pipelines/export-yolo" mybin/export-yolo &&
    bare mybin/export-yolo -q --no-sync --no-images -o y -f project=1 > result &&
    jq -e ".total_count == 30" result && test -f y/classes.txt
'

test_expect_success 'the examples from a built checkout: coco-export-action --version and a run' '
    checkout co built &&
    bare co/pipelines/examples/coco-export-action --version > v &&
    assert_eq "coco-export-action (sx) $(sx-jq --version | sed "s/.* //")" "$(cat v)" &&
    bare co/pipelines/examples/coco-export-action --project-id 1 --no-include-images -o c > result &&
    jq -e ".format == \"coco\" and .exported_count > 0" result
'

test_expect_success 'export-parallel from a built checkout finds sx-shards and export-coco beside it' '
    checkout co built &&
    bare co/pipelines/export-parallel -q --no-sync -n 2 -o par -f project=1 --page-size 10 --no-images > result &&
    jq -e ".total_count == 30" result && test -f par/annotations.json && test ! -e par.shards
'

test_expect_success 'an unbuilt checkout: exit 1, "run make in CHECKOUT"; --help still works' '
    checkout co &&
    for s in export-coco export-parallel export-slurm sx-shards sx-merge-yolo examples/coco-export-action \
             examples/my-exporter examples/multi-format-export; do
        expect_code 1 bare co/pipelines/$s --version > out 2> err || exit 1
        test ! -s out || exit 1
        assert_eq "${s#examples/}: sx is not built: run '"'"'make'"'"' in '"'"'$PWD/co'"'"' (the scripts then find its build/bin)" "$(cat err)" || exit 1
    done &&
    bare co/pipelines/export-coco --help > out && assert_grep "^usage: export-coco" out &&
    expect_code 1 bare co/pipelines/export-coco -o x -f project=1 2> err &&
    assert_grep "sx is not built" err && test ! -e x
'

test_expect_success 'a script alone, no checkout: exit 1, says what to put on PATH (not "command not found")' '
    mkdir alone && cp "$SX_ROOT/pipelines/examples/coco-export-action" "$SX_ROOT/pipelines/sx-export" alone/ &&
    expect_code 1 bare alone/coco-export-action --version > out 2> err && test ! -s out &&
    assert_grep "^coco-export-action: the sx programs (sx-fetch, sx-jq, ...) are not on PATH: install sx" err &&
    ! grep -q "command not found" err &&
    expect_code 1 bare alone/sx-export --version 2> err &&
    assert_grep "^sx-export: the sx programs" err
'

test_expect_success 'sx on PATH comes first (an installed sx is not shadowed by a checkout)' '
    checkout co && mkdir other && ln -s "$SX_BUILD/bin/sx-jq" other/sx-jq &&
    env PATH="$PWD/other:$BARE_PATH" co/pipelines/export-coco --version > v &&
    assert_grep "^export-coco (sx) " v
'

test_done
