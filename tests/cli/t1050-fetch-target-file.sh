#!/usr/bin/env bash
# sx-fetch --target-file and --list-targets: targets as data, jq item mappings.
. "$(dirname "$0")/../lib/test-lib.sh"
# a hung sx-fetch fails its test instead of the whole run
sx-fetch() { timeout 120 "$SX_BUILD/bin/sx-fetch" "$@"; }
. "$(dirname "$0")/../lib/fake-backend.sh"

LOG=$TRASH_ROOT/fake.log
fake_backend_start --items 23 --log "$LOG" --fail-first 2

cat > "$TRASH_ROOT/units.json" <<'JSON'
{"name": "data_units", "path": "sdk/tasks/", "params": {"expand": "data_unit", "kind": ["a", "b"]},
 "required": ["project", "batch"], "rename": {"batch": "batch_id"},
 "item": "{id: .data_unit.id, files: .data_unit.files.image_2, data: .data, task: .id}"}
JSON
cat > "$TRASH_ROOT/two.json" <<'JSON'
[{"name": "first", "path": "sdk/tasks/", "item": "{id}"},
 {"name": "assignment", "path": "sdk/assignments/", "params": {"expand": ["data"]}, "required": ["project"],
  "item": "{id: .id, url: .file.url}"}]
JSON

test_expect_success '--list-targets prints the built-in targets' '
    sx-fetch --list-targets > out &&
    assert_grep "^assignment  *sdk/assignments/  *-f project=" out &&
    assert_grep "^ground_truth  *sdk/ground_truth_events/  *-f ground_truth_dataset_version=" out &&
    assert_grep "^task  *sdk/tasks/" out
'

test_expect_success '--list-targets with --target-file adds the file s targets' '
    sx-fetch --list-targets --target-file "$TRASH_ROOT/units.json" > out &&
    assert_grep "^data_units  *sdk/tasks/  *-f project=... -f batch=" out && assert_grep "^assignment " out
'

test_expect_success 'a custom target: its path, params, renames and jq mapping; retries, meta and end as usual' '
    : > "$LOG" &&
    sx-fetch --target-file "$TRASH_ROOT/units.json" -f project=1 -f batch=9 --page-size 5 --jobs 3 > out &&
    head -1 out | jq -e ".target == \"data_units\" and .total == 23 and .source.path == \"sdk/tasks/\"" &&
    sed -n 2p out | jq -e ".id == 10001 and .task == 1 and (.files.url | test(\"item-500001.jpg$\"))" &&
    assert_eq "$(seq -s, 1 23)" "$(grep -v "^{\"sx\"" out | jq -r .task | paste -sd,)" order &&
    tail -1 out | jq -e ".count == 23" &&
    assert_grep "^GET /sdk/tasks/?project=1&batch_id=9&expand=data_unit&kind=a&kind=b&page_size=5&page=1 200" "$LOG" &&
    for i in 1 2; do sx-fetch --target-file "$TRASH_ROOT/units.json" -f project=1 -f batch=9 --page-size 5 --shard $i/2 > s$i || exit 1; done &&
    assert_eq "$(seq -s, 1 23)" "$(cat s1 s2 | grep -v "^{\"sx\"" | jq -r .task | sort -n | paste -sd,)" "union of shards"
'

test_expect_success 'a custom target validates its required keys before fetching (exit 2)' '
    : > "$LOG" &&
    expect_code 2 sx-fetch --target-file "$TRASH_ROOT/units.json" -f project=1 > out 2> err &&
    assert_grep "needs filter .batch." err && test ! -s out && test ! -s "$LOG"
'

test_expect_success 'a target file may hold several targets; one may replace a built-in' '
    sx-fetch --target-file "$TRASH_ROOT/two.json" -t assignment -f project=1 --limit 2 > out &&
    sed -n 2p out | jq -e "keys == [\"id\",\"url\"]" &&
    sx-fetch --target-file "$TRASH_ROOT/two.json" -f project=1 --limit 3 > out &&
    assert_eq "{\"id\":1},{\"id\":2},{\"id\":3}" "$(sed -n 2,4p out | paste -sd,)" "first target: ids only"
'

test_expect_success 'a mapping must give an object: anything else is an item failure' '
    echo "{\"name\": \"x\", \"path\": \"sdk/tasks/\", \"item\": \".id\"}" > num.json &&
    expect_code 1 sx-fetch --target-file num.json -f project=1 > out 2> err &&
    assert_grep "item 1: item mapping gave a number, not an object" err
'

# A projection ({k: .a.b, ...}) is mapped as text; jq, compiled only then,
# takes the records it cannot map and says what is wrong with them.
test_expect_success 'a projection that a record does not fit goes to jq, which names the item' '
    echo "{\"name\": \"x\", \"path\": \"sdk/assignments/\", \"item\": \"{id: .id.x, data: .data}\"}" > proj.json &&
    expect_code 1 sx-fetch --target-file proj.json -f project=1 --limit 2 > out 2> err &&
    assert_grep "item 1: item mapping: Cannot index number with string .x." err &&
    sx-fetch --target-file proj.json -f project=1 --limit 2 --keep-going > out &&
    assert_eq 2 "$(grep -c "^{\"sx\":\"error\",\"item\":[12]," out)"
'

test_expect_success 'a target file that is not JSON, lacks path, or whose mapping does not compile: exit 2 naming it' '
    echo "{name: x" > notjson.json &&
    echo "{\"name\": \"x\"}" > nopath.json &&
    echo "{\"name\": \"x\", \"path\": \"sdk/tasks/\", \"item\": \"{id: .id\"}" > badjq.json &&
    expect_code 2 sx-fetch --target-file notjson.json -f project=1 2> err && assert_grep "notjson.json.*not JSON" err &&
    expect_code 2 sx-fetch --target-file nopath.json 2> err && assert_grep "nopath.json.*path" err &&
    expect_code 2 sx-fetch --target-file badjq.json 2> err && assert_grep "badjq.json.*does not compile" err &&
    expect_code 2 sx-fetch --target-file nosuch.json 2> err && assert_grep "nosuch.json" err &&
    echo "{\"name\": \"x\", \"path\": \"sdk/tasks/\", \"item\": \"import \\\"m\\\" as m; .\"}" > imp.json &&
    expect_code 2 sx-fetch --target-file imp.json 2> err && assert_grep "imp.json.*does not compile.*module not found" err &&
    expect_code 2 sx-fetch --target-file "$TRASH_ROOT/units.json" -t nosuch 2> err && assert_grep "unknown target" err
'

test_expect_success 'a mapping that fails on one item: exit 1 and no end; --keep-going: an error record' '
    echo "{\"name\": \"x\", \"path\": \"sdk/assignments/\", \"params\": {\"expand\": \"data\"},
           \"item\": \"if .id == 3 then error(\\\"boom\\\") else {id} end\"}" > fails.json &&
    expect_code 1 sx-fetch --target-file fails.json -f project=1 > out 2> err &&
    assert_grep "item 3: .*boom" err && assert_eq "1,2" "$(grep -v "^{\"sx\"" out | jq -r .id | paste -sd,)" ids &&
    ! grep -q "\"sx\":\"end\"" out &&
    sx-fetch --target-file fails.json -f project=1 --keep-going > out &&
    grep "\"sx\":\"error\"" out | jq -e ".item == 3 and (.message | test(\"boom\"))" &&
    tail -1 out | jq -e ".count == 22"
'

test_expect_success 'the token appears in no output of this script' '
    ! grep -r -- "$FAKE_TOKEN" "$TRASH_ROOT" "$LOG"
'

test_done
