#!/usr/bin/env bash
# sx-save writes text, src and link records atomically, refuses hostile and
# duplicate paths, and reports per-item outcomes like the SDK.
. "$(dirname "$0")/../lib/test-lib.sh"
. "$TEST_DATA/save/lib.sh"

cat >"$TRASH_ROOT/basic.ndjson" <<'IN'
{"sx":"meta","target":"assignment","total":2}
{"sx":"file","path":"json/a.json","text":"{\"a\":","item":1}
{"sx":"file","path":"json/a.json","text":"1}\n","append":true,"item":1}
{"sx":"progress","category":"dataset_conversion","current":1,"total":2}
{"sx":"file","path":"json/b.json","text":"{\"b\":2}\n","item":2}
{"sx":"file","path":"classes.txt","text":"car\nperson\n"}
{"sx":"end","count":2}
IN

save_test 'text records and append chunks become files; manifest committed' '
    sx-save -o out <"$TRASH_ROOT/basic.ndjson" >stdout
    assert_eq "{\"a\":1}" "$(cat out/json/a.json)"
    assert_eq "car person" "$(echo $(cat out/classes.txt))"
    check_manifest out --committed
    assert_eq "{\"sx\":\"end\",\"count\":0}" "$(tail -n 1 stdout)"
    test "$(jq -c "select(.sx==\"result\") | [.exported_count,.failed_count,.total_count]" stdout)" = "[2,0,2]"
    test "$(jq -c "[.exported_count,.failed_count,.total_count]" out/export.json)" = "[2,0,2]"
    test ! -e out/error_file_list.json
'

save_test 'control records are forwarded in order, logs and metrics written' '
    sx-save -o out <"$TRASH_ROOT/basic.ndjson" >stdout
    assert_eq meta "$(head -n 1 stdout | jq -r .sx)"
    assert_grep "\"sx\":\"progress\",\"category\":\"dataset_conversion\"" stdout
    test "$(jq -c "select(.sx==\"log\") | [.event,.file,.status]" stdout | head -n 1)" = "[\"export_data_file\",\"json/a.json\",\"success\"]"
    test "$(jq -c "select(.sx==\"metrics\")" stdout | tail -n 1)" = "{\"sx\":\"metrics\",\"category\":\"data_file\",\"stand_by\":0,\"success\":3,\"failed\":0}"
'

save_test 'file modes follow the umask' '
    (umask 027; sx-save -o out <"$TRASH_ROOT/basic.ndjson" >/dev/null)
    assert_eq 640 "$(stat -c %a out/json/a.json)"
    assert_eq 750 "$(stat -c %a out/json)"
'

save_test 'src records are copied (under --allow-src); --link hard-links; move hands a spooled file over' '
    printf "pixels" >img.bin
    spool=$(mktemp -d "$PWD/sx-spool.XXXXXX") && printf "moved" >"$spool/m.bin"
    printf "%s\n" "{\"sx\":\"file\",\"path\":\"o/img.bin\",\"src\":\"$PWD/img.bin\",\"item\":1}" \
        "{\"sx\":\"file\",\"path\":\"o/m.bin\",\"src\":\"$spool/m.bin\",\"move\":true,\"item\":1}" \
        "{\"sx\":\"end\",\"count\":1}" >in
    ino=$(stat -c %i "$spool/m.bin")
    sx-save --allow-src "$PWD" -o copy <in >/dev/null
    assert_eq pixels "$(cat copy/o/img.bin)"
    assert_eq moved "$(cat copy/o/m.bin)"
    assert_eq "$ino" "$(stat -c %i copy/o/m.bin)" "a move on one file system is a rename"
    test ! -e "$spool" || { echo "the emptied spool directory is left" >&2; false; }
    test "$(stat -c %i img.bin)" != "$(stat -c %i copy/o/img.bin)"
    spool=$(mktemp -d "$PWD/sx-spool.XXXXXX") && printf "moved" >"$spool/m.bin"
    sed "s|/sx-spool\.[A-Za-z0-9]*/|/${spool##*/}/|" in >in2
    sx-save --allow-src "$PWD" --link -o linked <in2 >/dev/null
    assert_eq "$(stat -c %i img.bin)" "$(stat -c %i linked/o/img.bin)"
    check_manifest linked --committed
    sed "s|\"item\":1}|\"item\":1,\"link\":true}|" in2 | grep -v move >in3
    sx-save --allow-src "$PWD" -o linked2 <in3 >/dev/null
    assert_eq "$(stat -c %i img.bin)" "$(stat -c %i linked2/o/img.bin)" "a record with link: true is linked"
'

save_test 'only regular files are copied, linked or moved (never a device, a fifo, a directory)' '
    # no record here names a system device: a test must not risk /dev/null
    mkfifo fifo; mkdir d; ln -s "$PWD/d" link
    mknod dev c 1 3 2>/dev/null || mkfifo dev
    spool=$(mktemp -d "$PWD/sx-spool.XXXXXX")
    mkfifo "$spool/fifo"; mkdir "$spool/d"; ln -s "$PWD/d" "$spool/link"
    mknod "$spool/dev" c 1 3 2>/dev/null || mkfifo "$spool/dev"
    printf "%s\n" "{\"sx\":\"file\",\"path\":\"a\",\"src\":\"$spool/dev\",\"move\":true,\"item\":1}" \
        "{\"sx\":\"file\",\"path\":\"b\",\"src\":\"$PWD/dev\",\"item\":2}" \
        "{\"sx\":\"file\",\"path\":\"c\",\"src\":\"$spool/fifo\",\"move\":true,\"item\":3}" \
        "{\"sx\":\"file\",\"path\":\"d\",\"src\":\"$spool/d\",\"move\":true,\"item\":4}" \
        "{\"sx\":\"file\",\"path\":\"e\",\"src\":\"$PWD/d\",\"item\":5}" \
        "{\"sx\":\"file\",\"path\":\"f\",\"src\":\"$spool/link\",\"move\":true,\"item\":6}" \
        "{\"sx\":\"file\",\"path\":\"g\",\"src\":\"$PWD/fifo\",\"item\":7}" \
        "{\"sx\":\"end\",\"count\":7}" >in
    sx-save --allow-src "$PWD" -o out <in >/dev/null 2>err
    sx-save --allow-src "$PWD" --link -o out2 <in >/dev/null 2>err
    test -e dev && test -p fifo && test -d d && test -L link
    test -e "$spool/dev" && test -p "$spool/fifo" && test -d "$spool/d" && test -L "$spool/link"
    test -z "$(ls out | grep -v -e export.json -e error_file_list.json)"
    assert_eq 7 "$(jq ".origin_file_name | length" out/error_file_list.json)"
    assert_eq 7 "$(jq ".origin_file_name | length" out2/error_file_list.json)"
    assert_eq 7 "$(jq -r ".origin_file_name[][1]" out/error_file_list.json | grep -c "not a regular file")"
'

save_test 'size and sha256 of text and src records are checked when given' '
    printf "pixels" >img.bin
    sha=$(printf "hello" | sha256sum | cut -c1-64)
    printf "%s\n" "{\"sx\":\"file\",\"path\":\"good.txt\",\"text\":\"hel\",\"sha256\":\"$sha\",\"size\":5,\"item\":1}" \
        "{\"sx\":\"file\",\"path\":\"good.txt\",\"text\":\"lo\",\"append\":true}" \
        "{\"sx\":\"file\",\"path\":\"bad.txt\",\"text\":\"hellO\",\"sha256\":\"$sha\",\"item\":2}" \
        "{\"sx\":\"file\",\"path\":\"img.bin\",\"src\":\"$PWD/img.bin\",\"size\":7,\"item\":3}" \
        "{\"sx\":\"end\",\"count\":3}" >in
    sx-save --allow-src "$PWD" -o out <in >/dev/null
    assert_eq hello "$(cat out/good.txt)"
    test ! -e out/bad.txt && test ! -e out/img.bin
    assert_grep "sha256 differs" out/error_file_list.json
    assert_grep "size differs" out/error_file_list.json
    check_manifest out --committed
'

save_test 'an existing non-empty DIR is refused; --force writes beside; --unique picks DIR(1)' '
    mkdir out && echo mine >out/keep
    expect_code 1 sx-save -o out <"$TRASH_ROOT/basic.ndjson" >/dev/null 2>err
    assert_grep "not empty" err
    sx-save --unique -o out <"$TRASH_ROOT/basic.ndjson" >stdout
    test -f "out(1)/json/a.json"
    assert_grep "out(1)" stdout
    sx-save --force -o out <"$TRASH_ROOT/basic.ndjson" >/dev/null
    assert_eq mine "$(cat out/keep)"
    test -f out/json/b.json
    check_manifest out --committed --force
'

save_test 'an existing empty DIR is used and kept after a rollback' '
    mkdir out
    head -n 3 "$TRASH_ROOT/basic.ndjson" | expect_code 1 sx-save -o out >/dev/null 2>err
    test -d out && test -z "$(ls -A out)"
'

save_test 'hostile paths are refused with an error record, nothing written outside DIR' '
    mkdir out outside && ln -s "$PWD/outside" out/evil
    printf "%s\n" "{\"sx\":\"file\",\"path\":\"../x\",\"text\":\"a\",\"item\":1}" \
        "{\"sx\":\"file\",\"path\":\"/tmp/sx-evil-$$\",\"text\":\"a\",\"item\":2}" \
        "{\"sx\":\"file\",\"path\":\"evil/x\",\"text\":\"a\",\"item\":3}" \
        "{\"sx\":\"file\",\"path\":\"evil\",\"text\":\"a\",\"item\":4}" \
        "{\"sx\":\"file\",\"path\":\"a\\u0000b\",\"text\":\"a\",\"item\":5}" \
        "{\"sx\":\"file\",\"path\":\"a/./b\",\"text\":\"a\",\"item\":6}" \
        "{\"sx\":\"file\",\"path\":\"ok\",\"text\":\"fine\",\"item\":7}" \
        "{\"sx\":\"end\",\"count\":7}" >in
    sx-save --force -o out <in >stdout
    test ! -e x && test ! -e "/tmp/sx-evil-$$" && test -z "$(ls -A outside)"
    assert_eq 6 "$(jq -c "select(.sx==\"error\")" stdout | wc -l)"
    assert_grep "..'"'"' in path" stdout
    assert_grep "absolute path" stdout
    assert_grep "passes through a link" stdout
    assert_grep "NUL in path" stdout
    assert_eq fine "$(cat out/ok)"
    test "$(jq -c "[.exported_count,.failed_count]" out/export.json)" = "[1,6]"
    test "$(jq -c ".json_file_name | length" out/error_file_list.json)" = 6
'

save_test 'a hostile path under --strict fails the export (exit 1, rolled back)' '
    printf "%s\n" "{\"sx\":\"file\",\"path\":\"ok\",\"text\":\"fine\"}" \
        "{\"sx\":\"file\",\"path\":\"../x\",\"text\":\"a\"}" "{\"sx\":\"end\",\"count\":0}" >in
    expect_code 1 sx-save --strict -o out <in >/dev/null 2>err
    assert_grep "refused path" err
    assert_grep "rolled back" err
    test ! -e out && test ! -e x
'

save_test 'a second record for the same path is an error, not an overwrite' '
    printf "%s\n" "{\"sx\":\"file\",\"path\":\"a.txt\",\"text\":\"first\",\"item\":1}" \
        "{\"sx\":\"file\",\"path\":\"a.txt\",\"text\":\"second\",\"item\":2}" \
        "{\"sx\":\"file\",\"path\":\"a.txt\",\"text\":\"more\",\"append\":true,\"item\":2}" \
        "{\"sx\":\"end\",\"count\":2}" >in
    sx-save -o out <in >stdout
    assert_eq first "$(cat out/a.txt)"
    assert_grep "duplicate path" stdout
    check_manifest out --committed
    expect_code 1 sx-save --strict -o strict <in >/dev/null 2>err
    assert_grep "duplicate path" err
    test ! -e strict
'

save_test 'a failed item does not leave its other files behind' '
    printf "%s\n" "{\"sx\":\"meta\",\"total\":2}" \
        "{\"sx\":\"file\",\"path\":\"json/1.json\",\"text\":\"{}\",\"item\":1}" \
        "{\"sx\":\"file\",\"path\":\"img/1.jpg\",\"src\":\"$PWD/missing.jpg\",\"item\":1}" \
        "{\"sx\":\"file\",\"path\":\"json/2.json\",\"text\":\"{}\",\"item\":2}" \
        "{\"sx\":\"end\",\"count\":2}" >in
    sx-save --allow-src "$PWD" -o out <in >stdout 2>err
    test ! -e out/json/1.json && test ! -e out/img/1.jpg && test -f out/json/2.json
    test "$(jq -c "[.exported_count,.failed_count,.total_count]" out/export.json)" = "[1,1,2]"
    test "$(jq -c ".origin_file_name[0][0]" out/error_file_list.json)" = "\"1.jpg\""
    test "$(jq -c ".json_file_name[0]" out/error_file_list.json)" = "[\"1.json\",\"another file of the item failed\"]"
    assert_grep "^sx-save: 1 item failed (see .out/error_file_list.json.): 1 cannot open .….: No such file or directory (item 1)" err
    check_manifest out --committed
'

save_test 'garbage lines stop the export with the line number; --keep-going skips them' '
    printf "%s\n" "{\"sx\":\"file\",\"path\":\"a\",\"text\":\"x\"}" "{\"id\":1}" "not json" \
        "{\"sx\":\"end\",\"count\":0}" >in
    expect_code 1 sx-save -o out <in >/dev/null 2>err
    assert_grep "^sx-save: <stdin>:2: an item, not a file record: sx-save writes what a converter makes of items (sx-fetch ... | sx-convert-coco | sx-save -o DIR); the export to .out. was rolled back" err
    test ! -e out
    sx-save --keep-going -o out <in >stdout
    assert_eq 2 "$(jq -c "select(.sx==\"error\")" stdout | wc -l)"
    assert_eq x "$(cat out/a)"
'

save_test 'a broken file record stops the export' '
    printf "%s\n" "{\"sx\":\"file\",\"path\":\"a\",\"text\":\"x\",\"url\":\"http://h/\"}" "{\"sx\":\"end\",\"count\":0}" >in
    expect_code 1 sx-save -o out <in >/dev/null 2>err
    assert_grep "exactly one of" err
    printf "%s\n" "{\"sx\":\"file\",\"path\":\"a\",\"text\":\"x\",\"append\":true}" "{\"sx\":\"end\",\"count\":0}" >in
    expect_code 1 sx-save -o out <in >/dev/null 2>err
    assert_grep "not the file being written" err
    test ! -e out
'

save_test 'names that sx-save writes itself are not taken from the stream' '
    printf "%s\n" "{\"sx\":\"file\",\"path\":\"export.json\",\"text\":\"x\"}" "{\"sx\":\"end\",\"count\":0}" >in
    expect_code 1 sx-save -o out <in >/dev/null 2>err
    assert_grep "sx-save writes that name itself" err
    test ! -e out
'

save_test 'records on stdout are zstd-compressed with --zstd' '
    sx-save --zstd -o out <"$TRASH_ROOT/basic.ndjson" >out.zst
    zstd -dc out.zst | tail -n 1 | grep -q "\"sx\":\"end\""
'

save_test '--help, --version and usage errors' '
    sx-save --help >out && assert_grep "usage: sx-save" out && assert_grep "rollback DIR" out && assert_grep "example" out
    sx-save --version | grep -q "^sx-save (sx)"
    expect_code 2 sx-save </dev/null 2>err && assert_grep "required" err
    expect_code 2 sx-save -o x --bogus </dev/null 2>err
    expect_code 2 sx-save -o x --jobs 0 </dev/null 2>err && assert_grep "jobs" err
    expect_code 2 sx-save -o x --resume --force </dev/null 2>err
    test ! -e x
'

save_test 'the last metrics leave nothing standing by, however many files an item has' '
    printf "%s\n" "{\"sx\":\"meta\",\"total\":5}" "{\"sx\":\"file\",\"path\":\"annotations.json\",\"text\":\"{}\"}" \
        "{\"sx\":\"end\",\"count\":0,\"files\":1,\"items\":5}" | sx-save -o out >stdout
    assert_eq "{\"sx\":\"metrics\",\"category\":\"data_file\",\"stand_by\":0,\"success\":1,\"failed\":0}" \
        "$(grep "\"data_file\"" stdout | tail -1)"
    assert_eq 5 "$(jq .exported_count out/export.json)" "the items the converter says it converted"
'

save_test 'counts are what sx saw: a meta total is never believed' '
    printf "%s\n" "{\"sx\":\"meta\",\"total\":1000000}" \
        "{\"sx\":\"file\",\"path\":\"a.txt\",\"text\":\"a\",\"item\":1}" \
        "{\"sx\":\"file\",\"path\":\"../b.txt\",\"text\":\"b\",\"item\":2}" \
        "{\"sx\":\"end\",\"count\":0}" | sx-save -o out >stdout 2>/dev/null
    assert_eq "[1,1,2]" "$(jq -c "[.exported_count,.failed_count,.total_count]" out/export.json)"
    assert_eq "[1,1,2]" "$(jq -c "select(.sx==\"result\") | [.exported_count,.failed_count,.total_count]" stdout)"
'

save_test 'a size or sha256 that is not one is a bad record: its item fails, the check is never skipped' '
    printf "%s\n" "{\"sx\":\"file\",\"path\":\"a\",\"text\":\"x\",\"size\":-1,\"item\":1}" \
        "{\"sx\":\"file\",\"path\":\"b\",\"text\":\"x\",\"size\":\"1\",\"item\":2}" \
        "{\"sx\":\"file\",\"path\":\"c\",\"text\":\"x\",\"size\":0.5,\"item\":3}" \
        "{\"sx\":\"file\",\"path\":\"d\",\"text\":\"x\",\"size\":1e300,\"item\":4}" \
        "{\"sx\":\"file\",\"path\":\"e\",\"text\":\"x\",\"sha256\":\"abc\",\"item\":5}" \
        "{\"sx\":\"file\",\"path\":\"f\",\"text\":\"x\",\"sha256\":7,\"item\":6}" \
        "{\"sx\":\"file\",\"path\":\"g\",\"text\":\"x\",\"sha256\":\"$(printf %064d 0 | tr 0 z)\",\"item\":7}" \
        "{\"sx\":\"file\",\"path\":\"h\",\"text\":\"x\",\"size\":1,\"item\":8}" \
        "{\"sx\":\"end\",\"count\":8}" | sx-save -o out >/dev/null 2>&1
    assert_eq "h" "$(cd out && ls | grep -v -e export.json -e error_file_list.json)"
    assert_eq 4 "$(jq -r ".json_file_name[][1]" out/error_file_list.json | grep -c "refused: .size. must be a whole number")"
    assert_eq 3 "$(jq -r ".json_file_name[][1]" out/error_file_list.json | grep -c "refused: .sha256. must be 64 hexadecimal")"
'

save_test '--link across file systems copies, and says so once with the count' '
    mkdir src && src=$PWD/src
    mount -t tmpfs -o size=1m sx-t3000 "$src"    # root, as make check runs
    trap "umount $src" EXIT
    echo one >"$src/a.bin"; echo two >"$src/b.bin"
    printf "{\"sx\":\"file\",\"path\":\"%s\",\"src\":\"$src/%s\",\"item\":%d}\n" a a.bin 1 b b.bin 2 >in
    echo "{\"sx\":\"end\",\"count\":2}" >>in
    sx-save --allow-src "$src" --link -o out <in >/dev/null 2>err
    assert_eq "one two" "$(cat out/a out/b | tr "\n" " " | sed "s/ $//")"
    test "$(stat -c %i out/a)" != "$(stat -c %i "$src/a.bin")"
    assert_eq 1 "$(grep -c . err)"
    assert_grep "^sx-save: 2 files copied, not hard-linked (Invalid cross-device link)" err
    sx-save --allow-src "$src" --link -q -o out2 <in >/dev/null 2>err2
    test ! -s err2
'

test_done
