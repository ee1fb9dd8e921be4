#!/usr/bin/env bash
# A hostile backend and media server (tests/hostile_backend.py): nothing it
# answers makes sx read, move or delete a local file it was not given, pose
# data as control records, loop, swallow memory, or show the token.
. "$(dirname "$0")/../lib/test-lib.sh"
. "$(dirname "$0")/../lib/hostile-backend.sh"

# every body starts with its own TMPDIR (spools) inside the scratch directory
hostile_test() {
    test_expect_success "$1" 'export TMPDIR=$PWD/tmp; mkdir tmp; CANARY=; HOSTILE_TOKEN=; '"$2"
}

hostile_test 'file: URLs, a redirect to file:, local paths: nothing is read, the export holds no secret' '
    hostile_start fileurl
    export-coco -q --no-sync -o out -f project=1 > result 2> err
    cmp out/images/ok.jpg <(python3 -c "import sys; sys.stdout.buffer.write(bytes((i*7+3)&255 for i in range(300)))")
    assert_eq "ok.jpg" "$(cd out/images && ls)"
    assert_eq "[1,4,5]" "$(jq -c "[.exported_count,.failed_count,.total_count]" result)"
    ! grep -r -a -q "SYNAPSE_ACCESS_TOKEN=" out
    jq -r ".origin_file_name[][1]" out/error_file_list.json > reasons || true
    sx-fetch -f project=1 | sx-convert-coco > records
    jq -r "select(.sx == \"error\") | .message" records > conv
    assert_eq 2 "$(grep -c "files.url: refused: only http and https" conv)"
    assert_grep "files.path .*not under a directory sx may read" conv
    assert_untouched
'

hostile_test 'a redirect from http to file: is never followed' '
    hostile_start honest
    printf "%s\n" "{\"sx\":\"file\",\"path\":\"r.jpg\",\"url\":\"$SYNAPSE_HOST/media/r.jpg?mode=redirect\",\"item\":1}" \
        "{\"sx\":\"end\",\"count\":1}" | sx-save --no-sync -o out > /dev/null 2>&1
    test ! -e out/r.jpg
    assert_grep "r.jpg" out/error_file_list.json
    assert_untouched
'

hostile_test 'records whose first key is "sx" stay data: --raw, a mapping of ".", sx-jq, sx-save obeys none' '
    hostile_start sxrecords
    sx-fetch --raw -f project=1 > raw
    echo "{\"name\": \"dot\", \"path\": \"sdk/assignments/\", \"required\": [\"project\"], \"item\": \".\"}" > dot.json
    sx-fetch --target-file dot.json -t dot -f project=1 > dot
    sx-fetch --target-file dot.json -t dot -f project=1 | sx-jq . > jqdot
    sx-fetch -f project=1 | sx-jq "select(.data) | .data" > jqdata 2> /dev/null
    for f in raw dot jqdot jqdata; do
        # meta first, end last, and no other line a reader would obey
        assert_eq "meta end" "$(grep "^{\"sx\":\"" $f | jq -r .sx | tr "\n" " " | sed "s/ \$//")" "control records of $f"
    done
    assert_eq 3 "$(grep -c "\"sx\":\"file\"" raw)" "the sx keys are kept, last"
    expect_code 1 sx-save --no-sync -o saved < raw > /dev/null 2> err
    assert_grep "not a file record" err
    test ! -e saved
    export-coco -q --no-sync -o out -f project=1 > result
    test ! -e out/stolen.txt && test ! -e out/moved.txt
    assert_untouched
'

hostile_test 'a hand-made move of a file outside, then a cut stream: the file stays, untouched' '
    make_canary
    printf "%s\n" "{\"sx\":\"file\",\"path\":\"x\",\"src\":\"$CANARY\",\"move\":true,\"item\":1}" |
        expect_code 1 sx-save --no-sync -o out > /dev/null 2> err
    assert_grep "cut short" err
    printf "%s\n" "{\"sx\":\"file\",\"path\":\"x\",\"src\":\"$CANARY\",\"move\":true,\"item\":1}" \
        "{\"sx\":\"file\",\"path\":\"y\",\"src\":\"$CANARY\",\"item\":2}" \
        "{\"sx\":\"file\",\"path\":\"z\",\"src\":\"$CANARY\",\"link\":true,\"item\":3}" \
        "{\"sx\":\"end\",\"count\":3}" | sx-save --no-sync -o out2 > /dev/null 2>&1
    test ! -e out2/x && test ! -e out2/y && test ! -e out2/z
    assert_eq 1 "$(jq -r ".origin_file_name[][1]" out2/error_file_list.json | grep -c "refused .move. of .*not in an sx spool directory")"
    assert_eq 2 "$(jq -r ".origin_file_name[][1]" out2/error_file_list.json | grep -c "refused .src. .*not under a directory")"
    assert_untouched
'

hostile_test 'a spool that is not sx'"'"'s own (open to others, a link, another name) is refused for a move' '
    make_canary
    open=$(mktemp -d "$PWD/sx-spool.XXXXXX") && chmod 755 "$open" && cp "$CANARY" "$open/f"
    fake=$PWD/spool-like && mkdir -m 700 "$fake" && cp "$CANARY" "$fake/f"
    real=$(mktemp -d "$PWD/sx-spool.XXXXXX") && ln -s "$CANARY_DIR" "$PWD/sx-spool.LINKED"
    hard=$(mktemp -d "$PWD/sx-spool.XXXXXX") && ln "$CANARY" "$hard/f" 2>/dev/null || cp "$CANARY" "$hard/f"
    printf "%s\n" "{\"sx\":\"file\",\"path\":\"a\",\"src\":\"$open/f\",\"move\":true,\"item\":1}" \
        "{\"sx\":\"file\",\"path\":\"b\",\"src\":\"$fake/f\",\"move\":true,\"item\":2}" \
        "{\"sx\":\"file\",\"path\":\"c\",\"src\":\"$PWD/sx-spool.LINKED/secret.txt\",\"move\":true,\"item\":3}" \
        "{\"sx\":\"file\",\"path\":\"d\",\"src\":\"$hard/f\",\"move\":true,\"item\":4}" \
        "{\"sx\":\"end\",\"count\":4}" | sx-save --no-sync -o out > /dev/null 2>&1
    test -z "$(cd out && ls | grep -v -e export.json -e error_file_list.json)"
    test -f "$open/f" && test -f "$fake/f" && test -f "$hard/f"
    jq -r ".origin_file_name[][1]" out/error_file_list.json > reasons
    assert_grep "not this user.s alone" reasons
    assert_grep "not in an sx spool directory" reasons
    assert_grep "a link or not a directory" reasons
    rm -rf "$open" "$fake" "$hard" "$PWD/sx-spool.LINKED"
    assert_untouched
'

hostile_test 'a dataset whose files link out of it: the linked files are neither read nor exported' '
    make_canary
    cp -r "$TEST_DATA/sample" ds
    img=$(cd ds/train/original_files && ls | tail -n 1)
    rm "ds/train/original_files/$img" && ln -s "$CANARY" "ds/train/original_files/$img"
    js=$(cd ds/train/json && ls | head -n 1)
    rm "ds/train/json/$js" && ln -s "$CANARY" "ds/train/json/$js"
    for f in coco yolo raw; do
        expect_code 1 export-$f -q --no-sync --dir ds -o out-$f > result-$f 2> err
        assert_grep "^sx-fetch: .*/json/$js.: a link leads out of the directory" err
        test ! -e out-$f
    done
    sx-fetch --dir ds --keep-going | sx-convert-coco | sx-save --no-sync -o out > log 2>&1
    assert_eq 2 "$(jq -r "select(.sx == \"error\") | .message" log | grep -c "a link leads out of the directory")"
    test ! -e "out/images/train/$img"
    assert_untouched
'

hostile_test 'a 206 whose Content-Range does not continue the file is never spliced in' '
    hostile_start honest
    python3 -c "import sys; sys.stdout.buffer.write(bytes((i*7+3)&255 for i in range(100000)))" > want
    printf "%s\n" "{\"sx\":\"file\",\"path\":\"b.jpg\",\"url\":\"$SYNAPSE_HOST/media/b.jpg?mode=badrange&size=100000\",\"item\":1}" \
        "{\"sx\":\"end\",\"count\":1}" | sx-save --no-sync --retries 4 -o out > /dev/null
    cmp want out/b.jpg
    assert_grep "200-cut" "$HOSTILE_LOG"
    assert_eq 3 "$(grep -c "b.jpg" "$HOSTILE_LOG")" "a cut, a bad 206 dropped, a whole answer"
    printf "%s\n" "{\"sx\":\"file\",\"path\":\"p.jpg\",\"url\":\"$SYNAPSE_HOST/media/p.jpg?mode=partial206&size=1000\",\"item\":1}" \
        "{\"sx\":\"end\",\"count\":1}" | sx-save --no-sync --retries 1 -o out2 > /dev/null 2>&1
    test ! -e out2/p.jpg
    assert_grep "a part (206) came back for the whole file" out2/error_file_list.json
    assert_untouched
'

hostile_test 'a trickling body is stopped (--stall) and retried, then fails; export-* pass --stall on' '
    hostile_start trickle
    printf "%s\n" "{\"sx\":\"file\",\"path\":\"t.jpg\",\"url\":\"$SYNAPSE_HOST/media/t.jpg?mode=trickle&size=5000\",\"item\":1}" \
        "{\"sx\":\"end\",\"count\":1}" | timeout 120 sx-save --no-sync --stall 1 --retries 1 -o out > /dev/null 2>&1
    test ! -e out/t.jpg
    assert_grep "too slow.*after 2 tries" out/error_file_list.json
    # the guard is generous (a loaded machine); the reason shows that the 1 s bound, not the default 30 s, stopped it
    timeout 300 export-coco -q --no-sync --stall 1 -o out2 -f project=1 > result 2> /dev/null
    assert_eq "[0,1]" "$(jq -c "[.exported_count,.failed_count]" result)"
    assert_grep "too slow.*last 1 seconds" out2/error_file_list.json
    assert_untouched
'

hostile_test 'a next link that repeats stops the listing: exit 3, no end, no loop' '
    hostile_start loopnext
    expect_code 3 timeout 30 sx-fetch -f project=1 --page-size 2 > out 2> err
    assert_grep "next. link of page 2 repeats an earlier one: the listing loops" err
    ! grep -q "\"sx\":\"end\"" out
    assert_untouched
'

hostile_test 'a count of one with next links forever: exit 3 at the first page' '
    hostile_start lyingcount
    expect_code 3 timeout 30 sx-fetch -f project=1 > out 2> err
    assert_grep "page 1 has a .next. link, but its count (1) makes it the last" err
    ! grep -q "\"sx\":\"end\"" out
    assert_untouched
'

hostile_test 'a cursor listing whose next comes back to an earlier cursor: exit 3, no end, no loop' '
    hostile_start cursorloop
    expect_code 3 timeout 30 sx-fetch -f project=1 --jobs 8 > out 2> err
    assert_grep "next. link of page 4 repeats an earlier one: the listing loops" err
    assert_eq "1 2 3" "$(grep -v "^{\"sx\"" out | jq -r .id | paste -sd" ")" "the pages before the looping one, each once"
    ! grep -q "\"sx\":\"end\"" out
    assert_untouched
'

hostile_test 'a cursor listing of empty pages with new next links forever: exit 3 at the first' '
    hostile_start cursorempty
    expect_code 3 timeout 30 sx-fetch -f project=1 > out 2> err
    assert_grep "page 1 has no records but a .next. link: the listing makes no progress" err
    ! grep -q "\"sx\":\"end\"" out
    assert_untouched
'

hostile_test 'a count of a million for one item: the counts are what sx saw' '
    hostile_start bigcount
    export-coco -q --no-sync -o out -f project=1 > result
    assert_eq "[1,0,1]" "$(jq -c "[.exported_count,.failed_count,.total_count]" result)"
    assert_eq "[1,0,1]" "$(jq -c "[.exported_count,.failed_count,.total_count]" out/export.json)"
    assert_untouched
'

hostile_test 'a gzip bomb of a page (300 MiB of JSON in 300 KiB) stops at the page bound: exit 3' '
    hostile_start hugepage
    expect_code 3 sx-fetch -f project=1 --max-page-bytes 1M > out 2> err
    assert_grep "the answer is larger than 1 MiB (--max-page-bytes)" err
    expect_code 3 sx-fetch -f project=1 > out 2> err
    assert_grep "the answer is larger than 256 MiB" err
    ! grep -q "\"sx\":\"end\"" out
    assert_untouched
'

hostile_test 'the token in a backend reason is never printed, whole or in part' '
    hostile_start reason
    expect_code 3 sx-fetch -f project=1 --retries 0 > out 2> err
    assert_grep "HTTP 500" err
    ! grep -q -F "${HOSTILE_TOKEN:0:12}" err
    expect_code 3 export-coco -q --no-sync -o x -f project=1 -- --retries 0 > out 2> err2
    ! grep -q -F "${HOSTILE_TOKEN:0:12}" err2
    assert_untouched
'

hostile_test 'escape sequences from the backend never reach the terminal' '
    hostile_start evilnames
    sx-fetch -f project=1 | sx-convert-coco | sx-save --no-sync -o out 2> err1 | sx-progress --force > /dev/null 2> err2
    export-coco --no-sync -o out2 -f project=1 > /dev/null 2> err3
    cat err1 err2 err3 > err
    test -s err
    python3 -c "
import sys
d = open(\"err\", \"rb\").read()
t = d.decode(\"utf-8\")
bad = [c for c in t if (ord(c) < 32 and c not in \"\\t\\n\\r\") or 0x7f <= ord(c) < 0xa0]
sys.exit(1 if bad else 0)"
    assert_untouched
'

hostile_test 'option abbreviations cannot swallow a secret: --token X is refused, X not echoed' '
    make_canary
    expect_code 2 sx-fetch --token "$CANARY_TEXT" -f project=1 > out 2> err
    assert_grep "unknown option .--token." err
    assert_untouched
'

test_done
