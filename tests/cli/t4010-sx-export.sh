#!/usr/bin/env bash
# sx-export --params: the synapse-sdk export params as a drop-in.
. "$(dirname "$0")/../lib/test-lib.sh"
. "$(dirname "$0")/../lib/fake-backend.sh"

fake_backend_start --items 80 --log "$TRASH_ROOT/fake.log"

sdk_params='{"storage": "st", "name": "My Export", "save_original_file": true, "format": "coco",
  "path": "exports", "target": "assignment", "filter": {"project": 3}, "extra_params": {}}'

test_expect_success 'sx-export --help names every key; --version' '
    sx-export --help > out 2> err && test ! -s err &&
    assert_grep "^usage: sx-export --params JSON" out &&
    for k in storage name description save_original_file path target filter format extra_params; do
        assert_grep "^  $k " out || exit 1; done &&
    assert_grep "^ *-h, --help" out && assert_grep "^example:" out &&
    assert_eq "sx-export (sx) $(sx-jq --version | sed "s/.* //")" "$(sx-export --version)"
'

test_expect_success 'the SDK params run export-coco under storage/path/name; the result is the last line' '
    mkdir st &&
    sx-export -q --no-sync --params "$sdk_params" > stdout &&
    test -f "st/exports/My Export/annotations.json" && test -d "st/exports/My Export/images" &&
    tail -n 1 stdout > result &&
    assert_eq "\"$PWD/st/exports/My Export\"" "$(jq .export_path result)" &&
    jq -e ".total_count == 80 and .exported_count + .failed_count == 80" result &&
    grep -q "project=3" "$TRASH_ROOT/fake.log"
'

test_expect_success 'same export as export-coco with the same filter' '
    mkdir st && sx-export -q --no-sync --params "$sdk_params" > /dev/null &&
    export-coco -q --no-sync -o direct -f project=3 > /dev/null &&
    jq -c "del(.info) | .annotations[]" "st/exports/My Export/annotations.json" > a &&
    jq -c "del(.info) | .annotations[]" direct/annotations.json > b && cmp a b &&
    jq -c .categories "st/exports/My Export/annotations.json" > a &&
    jq -c .categories direct/annotations.json > b && cmp a b
'

test_expect_success 'a second run gets a unique path, like the SDK' '
    mkdir st && sx-export -q --no-sync --params "$sdk_params" > /dev/null &&
    sx-export -q --no-sync --params "$sdk_params" > stdout &&
    assert_eq "\"$PWD/st/exports/My Export(1)\"" "$(jq .export_path stdout)"
'

test_expect_success '--params @FILE; format, save_original_file, extra_params' '
    cat > p.json <<-P &&
	{"storage": "st", "name": "n", "save_original_file": false, "path": "y",
	 "target": "assignment", "filter": {"project": 3}, "format": "yolo",
	 "extra_params": {"split": "train=0.5,val=0.5", "classes": ["car", "person"],
	                  "task": "detect", "jq": "select(.id <= 40)", "page_size": 10, "jobs": 2, "limit": 30}}
	P
    mkdir st && sx-export -q --no-sync --params @p.json > stdout &&
    printf "car\nperson\n" | cmp - st/y/n/classes.txt &&
    test ! -e st/y/n/images && test -d st/y/n/labels/train && test -d st/y/n/labels/val &&
    jq -e ".total_count == 30" stdout &&
    grep -q "page_size=10" "$TRASH_ROOT/fake.log"
'

test_expect_success 'the default format is raw, the SDK'"'"'s default exporter; a numeric storage id is $SX_STORAGE_<id>' '
    mkdir s7 && SX_STORAGE_7=$PWD/s7 sx-export -q --no-sync --params \
        "{\"storage\": 7, \"name\": \"raw\", \"path\": \"e\", \"target\": \"assignment\", \"filter\": {\"project\": 3}}" \
        > stdout &&
    test -d s7/e/raw/json && test -d s7/e/raw/origin_files && test ! -e s7/e/raw/annotations.json &&
    assert_eq "\"$PWD/s7/e/raw\"" "$(jq .export_path stdout)" &&
    SX_STORAGE_7=$PWD/s7 sx-export -q --no-sync --params \
        "{\"storage\": 7, \"name\": \"raw\", \"path\": \"e\", \"target\": \"assignment\", \"filter\": {\"project\": 3}, \"format\": \"dm\"}" \
        > stdout && test -d "s7/e/raw(1)/json"
'

test_expect_success 'every key the SDK accepts: description, free extra_params kept in params.json; others ignored, as the SDK does' '
    mkdir st &&
    sx-export -q --no-sync --params "{\"storage\": \"st\", \"name\": \"n\", \"description\": \"for the team\", \"path\": \"p\",
        \"target\": \"assignment\", \"filter\": {\"project\": 3}, \"save_original_file\": false, \"format\": \"coco\",
        \"extra_params\": {\"include_metadata\": true, \"compression\": \"gzip\", \"split\": \"a=1\", \"layout\": \"fiftyone\"}, \"storge\": 1}" \
        > stdout 2> err &&
    assert_grep "^sx-export: --params: ignoring storge, as the SDK does" err &&
    jq -e ".description == \"for the team\" and .extra_params.include_metadata == true and .extra_params.compression == \"gzip\"" st/p/n/params.json &&
    jq -e ".name == \"n\" and .target == \"assignment\" and .filter.project == 3" st/p/n/params.json &&
    test -f st/p/n/a/labels.json && jq -e ".total_count == 80" stdout &&
    sx-save --rollback st/p/n && test ! -e st/p/n
'

test_expect_success 'format csv and voc' '
    mkdir st &&
    sx-export -q --no-sync --params "{\"storage\":\"st\",\"name\":\"c\",\"path\":\"\",\"target\":\"assignment\",\"filter\":{\"project\":3},\"format\":\"csv\",\"save_original_file\":false}" > /dev/null &&
    head -n 1 st/c/annotations.csv | grep -q "^image,width,height,class" &&
    sx-export -q --no-sync --params "{\"storage\":\"st\",\"name\":\"v\",\"path\":\"\",\"target\":\"assignment\",\"filter\":{\"project\":3},\"format\":\"voc\",\"save_original_file\":false}" > /dev/null &&
    test -d st/v/Annotations
'

test_expect_success '--dry-run prints the export-FORMAT command, runs nothing' '
    : > "$TRASH_ROOT/fake.log" &&
    sx-export --dry-run --params "{\"storage\":\"st\",\"name\":\"n\",\"path\":\"a b\",\"target\":\"task\",\"filter\":{\"project\":3},\"format\":\"voc\",\"save_original_file\":false}" > out &&
    eval "set -- $(cat out)" &&
    assert_eq "export-voc|-o|st/a b/n|--unique|-t|task|--filter|{\"project\":3}|--no-images|--add-json" "$(IFS="|"; echo "${*:1:10}")" &&
    case ${11} in params.json=*) ;; *) false ;; esac && test $# = 11 &&
    jq -e ".name == \"n\" and .path == \"a b\" and .format == \"voc\"" <<< "${11#params.json=}" &&
    test ! -e st && test ! -s "$TRASH_ROOT/fake.log"
'

bad() { # bad NAME PARAMS MESSAGE
    test_expect_success "bad params: $1 (exit 2, nothing fetched or written)" '
        : > "$TRASH_ROOT/fake.log" &&
        expect_code 2 sx-export --params '"'$2'"' > stdout 2> err &&
        assert_eq "" "$(cat stdout)" "stdout" && assert_eq "" "$(ls -A | grep -vx -e err -e stdout || true)" "files besides err and stdout" &&
        assert_grep "^sx-export: --params: '"$3"'" err &&
        assert_eq "" "$(cat "$TRASH_ROOT/fake.log")" "requests to the backend"
    '
}
bad 'no target' '{"filter":{"project":1},"path":"x","name":"n"}' "missing .target."
bad 'no filter' '{"target":"task","path":"x","name":"n"}' "missing .filter."
bad 'an empty filter' '{"target":"task","path":"x","name":"n","filter":{}}' ".filter. must be a non-empty JSON object"
bad 'not JSON' '{"target":' "not a JSON object"
bad 'not an object' '[1,2]' "the params must be a JSON object"
bad 'an unknown format' '{"target":"task","filter":{"project":1},"path":"x","name":"n","format":"xml"}' ".format. must be raw, coco, yolo"
bad 'a bad extra_params value' '{"target":"task","filter":{"project":1},"path":"x","name":"n","extra_params":{"limit":-1}}' "extra_params.limit must be"
bad 'a bad description' '{"target":"task","filter":{"project":1},"path":"x","name":"n","description":7}' ".description. must be a string"
bad 'no name' '{"target":"task","filter":{"project":1},"path":"x"}' "missing .name."
bad 'a blank name' '{"target":"task","filter":{"project":1},"path":"x","name":"  "}' ".name. must be a non-blank string"
bad 'no path' '{"target":"task","filter":{"project":1},"name":"n"}' "missing .path."

test_expect_success 'an unknown target is refused by sx-fetch, nothing written' '
    expect_code 2 sx-export --params "{\"target\":\"tsk\",\"filter\":{\"project\":1},\"path\":\"x\",\"name\":\"n\"}" > stdout 2> err &&
    assert_grep "unknown target .tsk." err && test ! -e x/n && test ! -s stdout
'

test_expect_success 'a path that cannot be written: exit 1, nothing written, nothing fetched' '
    : > "$TRASH_ROOT/fake.log" && echo x > file &&
    expect_code 1 sx-export --params "{\"storage\":\"file\",\"path\":\"out\",\"name\":\"n\",\"target\":\"task\",\"filter\":{\"project\":1}}" \
        > stdout 2> err &&
    assert_grep "^sx-export: cannot write .file/out." err &&
    test ! -s stdout && test ! -s "$TRASH_ROOT/fake.log"
'

test_expect_success 'a backend failure: exit 3, rolled back' '
    mkdir st &&
    expect_code 3 sx-export -q --params "{\"storage\":\"st\",\"path\":\"x\",\"name\":\"n\",\"target\":\"task\",\"filter\":{\"project\":404}}" \
        > stdout 2> err && test ! -e st/x/n && test ! -s stdout
'

test_done
