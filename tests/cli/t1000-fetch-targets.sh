#!/usr/bin/env bash
# sx-fetch: targets, item shapes, filters, project configuration, usage errors.
. "$(dirname "$0")/../lib/test-lib.sh"
# a hung sx-fetch fails its test instead of the whole run
sx-fetch() { timeout 120 "$SX_BUILD/bin/sx-fetch" "$@"; }
. "$(dirname "$0")/../lib/fake-backend.sh"

LOG=$TRASH_ROOT/fake.log
fake_backend_start --items 23 --log "$LOG"

test_expect_success 'assignment: meta, items in order with the get_export_item shape, end' '
    sx-fetch -f project=1 --page-size 5 > out &&
    assert_eq 25 "$(wc -l < out)" lines &&
    assert_eq "{\"sx\":\"meta\",\"target\":\"assignment\",\"total\":23}" "$(head -1 out | jq -c "{sx,target,total}")" meta &&
    assert_eq "$(seq -s, 1 23)" "$(sed -n 2,24p out | jq -r .id | paste -sd,)" ids &&
    assert_eq "[\"data\",\"files\",\"id\"]" "$(sed -n 2p out | jq -c keys)" keys &&
    sed -n 2p out | jq -e ".files.url | test(\"/media/item-1.jpg$\")" &&
    sed -n 2p out | jq -e ".files.file_name_original and .files.width and .files.height" &&
    assert_eq null "$(sed -n 8p out | jq -c .data)" "data of item 7" &&
    assert_eq "{\"sx\":\"end\",\"count\":23}" "$(tail -1 out)" end
'

test_expect_success 'assignment asks for sdk/assignments/ with expand=data and page_size' '
    : > "$LOG" &&
    sx-fetch -f project=1 --page-size 5 > out &&
    assert_grep "^GET /sdk/assignments/?project=1&expand=data&page_size=5&page=1 200" "$LOG"
'

test_expect_success 'task: files from data_unit.files (first key), expand data_unit, assignment, workshop' '
    : > "$LOG" &&
    sx-fetch -t task -f project=1 --page-size 10 > out &&
    assert_eq 25 "$(wc -l < out)" lines &&
    assert_eq "{\"sx\":\"meta\",\"target\":\"task\",\"total\":23}" "$(head -1 out | jq -c "{sx,target,total}")" meta &&
    sed -n 3p out | jq -e ".id == 2 and (.files.url | test(\"/media/item-2.jpg$\")) and (.data.annotations | type == \"object\")" &&
    assert_grep "expand=data_unit&expand=assignment&expand=workshop" "$LOG"
'

test_expect_success 'ground_truth: filter renamed to ground_truth_dataset_versions, files from data_unit' '
    : > "$LOG" &&
    sx-fetch --target ground_truth -f ground_truth_dataset_version=7 > out &&
    assert_eq 25 "$(wc -l < out)" lines &&
    sed -n 2p out | jq -e "(.files.url | test(\"/media/item-1.jpg$\")) and .id == 1" &&
    assert_grep "^GET /sdk/ground_truth_events/?ground_truth_dataset_versions=7&expand=data&page_size=100&page=1 200" "$LOG" &&
    ! grep -q "ground_truth_dataset_version=" "$LOG"
'

test_expect_success 'items are exactly the jq item mapping of the raw records, for every target' '
    for t in "assignment -f project=1" "task -f project=1" "ground_truth -f ground_truth_dataset_version=7"; do
        sx-fetch -t $t > items && sx-fetch -t $t --raw > raw &&
        case $t in assignment*) m="{id: .id, files: .file, data: .data}" ;;
                   *) m="{id: .id, files: (.data_unit.files | to_entries[0].value), data: .data}" ;; esac &&
        grep -v "^{\"sx\"" raw | jq -c "$m" > want && grep -v "^{\"sx\"" items > got && cmp want got || exit 1
    done
'

test_expect_success '--raw writes the backend records unchanged' '
    sx-fetch -f project=1 --raw > out &&
    sed -n 2p out | jq -e ".file.url and .status == \"completed\" and .project == 1 and (has(\"files\") | not)" &&
    tail -1 out | jq -e ".sx == \"end\" and .count == 23"
'

test_expect_success 'meta holds the project configuration (classes per tool) and the source without secrets' '
    sx-fetch -f project=3 --limit 1 > out &&
    head -1 out | jq -e ".configuration.classification.bounding_box[0] == \"car\" and (.configuration.classification.polygon | length) == 3" &&
    head -1 out | jq -e ".source.host == env.SYNAPSE_HOST and .source.path == \"sdk/assignments/\" and .source.filter.project == \"3\"" &&
    ! grep -q "$FAKE_TOKEN" out
'

test_expect_success 'ground truth: the version and the first result'"'"'s project are read, as the SDK does' '
    : > "$LOG" &&
    sx-fetch -t ground_truth -f ground_truth_dataset_version=7 --limit 1 > out &&
    assert_eq "GET /ground_truth_dataset_versions/7/ GET /sdk/ground_truth_events/ GET /projects/1/" \
        "$(grep -o "^GET /[a-z_]*/[a-z_0-9]*/" "$LOG" | uniq | paste -sd" ")" "requests, in order" &&
    head -1 out | jq -e ".ground_truth_dataset_version.id == 7" &&
    sx-fetch -f project=1 --limit 1 | head -1 | jq -c .configuration > want &&
    head -1 out | jq -c .configuration > got && test "$(cat want)" != null && cmp want got &&
    sx-fetch -t ground_truth -f ground_truth_dataset_version=7 --raw --limit 1 | head -1 | jq -c .configuration > raw &&
    cmp want raw
'

test_expect_success 'ground truth: an empty listing still has meta (without configuration), a missing version is exit 3' '
    sx-fetch -t ground_truth -f ground_truth_dataset_version=7 --shard 9/9 > out &&
    assert_eq 2 "$(wc -l < out)" lines && head -1 out | jq -e ".sx == \"meta\" and (has(\"configuration\") | not)" &&
    expect_code 3 sx-fetch -t ground_truth -f ground_truth_dataset_version=404 > out 2> err &&
    assert_grep "cannot read ground_truth_dataset_version (.ground_truth_dataset_versions/404/.): HTTP 404: Not found." err &&
    test ! -s out
'

test_expect_success 'a filter that names the project wins over the first result'"'"'s' '
    : > "$LOG" &&
    sx-fetch -t ground_truth -f ground_truth_dataset_version=7 -f project=3 --limit 1 > out &&
    assert_grep "^GET /projects/3/" "$LOG" && ! grep -q "^GET /projects/1/" "$LOG"
'

test_expect_success 'a repeated -f key is a repeated query parameter; values are URL-encoded' '
    : > "$LOG" &&
    sx-fetch -f project=1 -f status=a -f status=b -f "q=a b&c=d/é" --limit 1 > out &&
    assert_grep "?project=1&status=a&status=b&q=a%20b%26c%3Dd%2F%C3%A9&expand=data" "$LOG" &&
    head -1 out | jq -e ".source.filter.status == [\"a\",\"b\"]"
'

test_expect_success '--filter JSON: an object; numbers, booleans and arrays' '
    : > "$LOG" &&
    sx-fetch --filter "{\"project\": 2, \"done\": true, \"tag\": [\"x\", \"y z\"]}" --limit 1 > out &&
    assert_grep "?project=2&done=true&tag=x&tag=y%20z&expand=data" "$LOG"
'

test_expect_success 'missing project filter: usage error before any request' '
    : > "$LOG" &&
    expect_code 2 sx-fetch > out 2> err &&
    assert_grep "needs filter .project." err &&
    test ! -s out && test ! -s "$LOG"
'

test_expect_success 'ground_truth without ground_truth_dataset_version: usage error' '
    : > "$LOG" &&
    expect_code 2 sx-fetch -t ground_truth -f project=1 > out 2> err &&
    assert_grep "needs filter .ground_truth_dataset_version." err &&
    test ! -s out && test ! -s "$LOG"
'

test_expect_success 'unknown target: usage error naming it' '
    expect_code 2 sx-fetch -t nosuch -f project=1 > out 2> err &&
    assert_grep "unknown target .nosuch." err && test ! -s out
'

test_expect_success 'malformed filter JSON and filters without =: usage errors' '
    expect_code 2 sx-fetch --filter "{project: 1" 2> err && assert_grep "filter: not JSON" err &&
    expect_code 2 sx-fetch --filter "[1]" 2> err && assert_grep "not a JSON object" err &&
    expect_code 2 sx-fetch --filter "{\"project\": {\"a\": 1}}" 2> err &&
    expect_code 2 sx-fetch -f project 2> err && assert_grep "not key=value" err &&
    expect_code 2 sx-fetch -f =1 2> err
'

test_expect_success 'bad option values are usage errors naming the value' '
    expect_code 2 sx-fetch -f project=1 --jobs 0 2> err && assert_grep "jobs: .0." err &&
    expect_code 2 sx-fetch -f project=1 --page-size x 2> err &&
    expect_code 2 sx-fetch -f project=1 --shard 3/2 2> err && assert_grep "shard" err &&
    expect_code 2 sx-fetch -f project=1 --shard 1 2> err &&
    expect_code 2 sx-fetch --bogus 2> err && assert_grep "unknown option" err &&
    expect_code 2 sx-fetch -f 2> err && assert_grep "needs a value" err &&
    expect_code 2 sx-fetch -f project=1 extra 2> err
'

test_expect_success 'project not a number: usage error' '
    expect_code 2 sx-fetch -f project=abc 2> err && assert_grep "not a project id" err
'

test_expect_success 'a project that does not exist: exit 3 with path and reason, no output' '
    expect_code 3 sx-fetch -f project=404 > out 2> err &&
    assert_grep "projects/404/" err && assert_grep "Not found" err && test ! -s out
'

test_expect_success '--help and --version on stdout, exit 0' '
    sx-fetch --help > out && assert_grep "^usage: sx-fetch" out && assert_grep "[-]-shard I/N" out &&
    assert_grep "[-]-token-file" out && assert_grep "Examples:" out &&
    sx-fetch --version > out && assert_grep "^sx-fetch (sx) " out
'

test_expect_success 'the token appears in no output of this script' '
    ! grep -r -- "$FAKE_TOKEN" "$TRASH_ROOT" "$LOG"
'

test_done
