#!/usr/bin/env bash
# The normal path of every program leaks nothing and touches no memory it
# should not, under valgrind (the plain build; the sanitizer build has ASan).
. "$(dirname "$0")/../lib/test-lib.sh"
. "$(dirname "$0")/../lib/fake-backend.sh"

case $SX_BUILD in */san) test_done ;; esac
command -v valgrind > /dev/null || { echo "valgrind missing: make test-deps installs it" >&2; exit 1; }

vg() {
    valgrind -q --leak-check=full --show-leak-kinds=definite,indirect,possible \
        --errors-for-leak-kinds=definite,indirect,possible --error-exitcode=99 "$@"
}
S=$TEST_DATA/sample.ndjson
has() { test -x "$SX_BUILD/bin/$1"; }

test_expect_success 'sx-jq and sx-progress' '
    vg sx-jq -k -q "if .id == 2 then error(\"x\") else {id, n: (.data | tostring | length)} end" "$S" > a &&
    vg sx-progress --json j.ndjson a > b 2> /dev/null &&
    cmp a b
'

if has sx-fetch; then
    test_expect_success 'sx-fetch, from a local dataset and from the backend' '
        vg sx-fetch --dir "$TEST_DATA/sample" > items &&
        fake_backend_start --items 120 &&
        vg sx-fetch -f project=1 --page-size 50 --jobs 2 > items2 &&
        tail -1 items2 | grep -q "\"sx\":\"end\""
    '
fi

for c in coco yolo voc csv dm; do
    has "sx-convert-$c" || continue
    test_expect_success "sx-convert-$c" '
        vg sx-convert-'"$c"' --images none "$S" > out &&
        tail -1 out | grep -q "\"sx\":\"end\""
    '
done

if has sx-save && has sx-convert-coco; then
    test_expect_success 'sx-save, with downloads' '
        sx-convert-coco --images none "$S" | vg sx-save -o out > log &&
        test -s out/train/annotations.json &&
        fake_backend_start --items 10 &&
        sx-fetch -f project=1 | sx-convert-yolo --images url | vg sx-save -j 4 -o out2 > log2 &&
        test -n "$(ls out2/images)"
    '
fi

if has sx-download; then
    test_expect_success 'sx-download, with downloads, a failed one and image headers' '
        fake_backend_start --items 20 &&
        mkdir sp &&
        sx-fetch -f project=1 > items &&
        { head -n -1 items
          echo "{\"id\":98,\"files\":{\"url\":\"$SYNAPSE_HOST/media/x.jpg?fault=404\"},\"data\":{}}"
          echo "{\"id\":99,\"files\":{\"url\":\"$SYNAPSE_HOST/media/x.gif?kind=gif&w=5&h=7\"},\"data\":{}}"
          tail -n 1 items; } > in &&
        vg sx-download -q -j 4 --spool-dir "$PWD/sp" in > out &&
        test "$(jq -c "select(.id == 99) | [.files.width, .files.height]" out)" = "[5,7]" &&
        test "$(jq -c "select(.sx == \"error\") | .item" out)" = 98 &&
        tail -1 out | grep -q "\"sx\":\"end\""
    '
fi

if has sx-merge-coco && has sx-convert-coco; then
    test_expect_success 'sx-merge-coco' '
        sx-convert-coco --images none "$S" | sx-save -o a > /dev/null &&
        vg sx-merge-coco -o merged.json a/train/annotations.json a/valid/annotations.json &&
        test -s merged.json
    '
fi

test_done
