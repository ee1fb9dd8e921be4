#!/usr/bin/env bash
# sx-progress: forwards unchanged, shows progress on stderr.
. "$(dirname "$0")/../lib/test-lib.sh"

S=$TEST_DATA/sample.ndjson

# a stream of N data records with meta and end
stream() {
    echo "{\"sx\":\"meta\",\"target\":\"t\",\"total\":$1}"
    seq 1 "$1" | sed "s/.*/{\"id\":&}/"
    echo "{\"sx\":\"end\",\"count\":$1}"
}

test_expect_success 'the stream is forwarded byte for byte' '
    sx-progress -q "$S" > out && cmp out "$S" &&
    sx-progress "$S" > out 2> err && cmp out "$S"
'

test_expect_success 'it never parses a data record' '
    printf "%s\n" "{\"sx\":\"meta\",\"total\":2}" "{this is not json" "{\"id\":2}" "{\"sx\":\"end\",\"count\":2}" > in &&
    sx-progress -q in > out && cmp out in
'

test_expect_success 'not a terminal: SDK console lines with the meta total' '
    stream 8 | sx-progress > /dev/null 2> err &&
    assert_grep "^\[dataset_conversion\] Progress: 100.0% | ETA: 0.00s$" err &&
    assert_grep "^sx-progress: 8 records, 0 failed" err
'

test_expect_success 'progress lines come every --interval while the stream flows' '
    { stream 3 | head -3; sleep 1.2; stream 3 | tail -n +4; } | sx-progress -i 0.5 > /dev/null 2> err &&
    assert_grep "^\[dataset_conversion\] Progress: 66.7% | ETA: " err
'

test_expect_success 'progress and metrics records are followed by category' '
    printf "%s\n" "{\"sx\":\"meta\",\"total\":4}" \
      "{\"sx\":\"progress\",\"category\":\"original_file\",\"current\":1,\"total\":8}" \
      "{\"sx\":\"metrics\",\"category\":\"data_file\",\"stand_by\":1,\"success\":2,\"failed\":1}" \
      "{\"sx\":\"log\",\"event\":\"export_original_file\",\"item\":3,\"file\":\"a.jpg\",\"status\":\"failed\",\"error\":\"HTTP 404\"}" \
      "{\"sx\":\"progress\",\"category\":\"original_file\",\"current\":8,\"total\":8}" \
      "{\"sx\":\"result\",\"export_path\":\"out\",\"exported_count\":3,\"failed_count\":1,\"total_count\":4}" \
      "{\"sx\":\"end\",\"count\":0}" | sx-progress > /dev/null 2> err &&
    assert_grep "^\[original_file\] Progress: 100.0% | ETA: 0.00s$" err &&
    assert_grep "^\[data_file\] Metrics: stand_by 1, success 2, failed 1$" err &&
    assert_grep "^sx-progress: [0-9.]*s; exported 3, failed 1 of 4 to out$" err
'

test_expect_success 'a terminal gets one redrawn line with a bar, count, rate and ETA' '
    stream 5 > in &&
    script -qec "sx-progress in > /dev/null" /dev/null > tty.out &&
    tr "\r" "\n" < tty.out > lines &&
    assert_grep "^\[dataset_conversion\] 100.0% \[=*\] 5/5 .*/s ETA 0:00" lines &&
    test "$(grep -c "Progress:" lines)" = 0
'

test_expect_success 'a terminal on standard output gets the result record, not the stream' '
    { stream 3 | head -n -1
      echo "{\"sx\":\"result\",\"export_path\":\"out\",\"exported_count\":3,\"failed_count\":0,\"total_count\":3}"
      stream 3 | tail -n 1; } > in &&
    script -qec "sx-progress -q in" /dev/null > tty.out &&
    assert_eq "{\"sx\":\"result\",\"export_path\":\"out\",\"exported_count\":3,\"failed_count\":0,\"total_count\":3}" \
        "$(tr -d "\r" < tty.out)" &&
    sx-progress -q in > piped && cmp in piped
'

test_expect_success 'on a terminal the result comes on a line of its own, after the bar and the summary' '
    { stream 3 | head -n -1
      echo "{\"sx\":\"result\",\"export_path\":\"out\",\"exported_count\":3,\"failed_count\":0,\"total_count\":3}"
      stream 3 | tail -n 1; } > in &&
    script -qec "sx-progress in" /dev/null > tty.out &&
    tr -d "\r" < tty.out | tail -n 1 > last &&
    assert_eq "{\"sx\":\"result\",\"export_path\":\"out\",\"exported_count\":3,\"failed_count\":0,\"total_count\":3}" "$(cat last)" &&
    assert_eq 1 "$(grep -c "sx\":\"result" tty.out)" &&
    tr "\r" "\n" < tty.out | grep -q "^sx-progress: 3 records, 0 failed"
'

test_expect_success 'failures are red on a terminal, not with NO_COLOR' '
    { stream 2 | head -2; echo "{\"sx\":\"error\",\"item\":1,\"stage\":\"x\",\"message\":\"m\"}"; stream 2 | tail -2; } > in &&
    script -qec "sx-progress in > /dev/null" /dev/null > tty.out &&
    grep -q "$(printf "\033\\[31m1 failed")" tty.out &&
    NO_COLOR=1 script -qec "sx-progress in > /dev/null" /dev/null > tty2.out &&
    ! grep -q "$(printf "\033")" tty2.out &&
    grep -q " 1 failed" tty2.out
'

test_expect_success '--force draws the bar when stderr is not a terminal' '
    stream 5 | sx-progress -f > /dev/null 2> err &&
    tr "\r" "\n" < err | grep -q "100.0% \[====="
'

test_expect_success 'progress that comes in one burst after a wait still shows a rate (the average)' '
    { echo "{\"sx\":\"meta\",\"total\":40}"; sleep 0.5
      for i in $(seq 1 40); do echo "{\"sx\":\"progress\",\"category\":\"original_file\",\"current\":$i,\"total\":40}"; done
      echo "{\"sx\":\"end\",\"count\":0}"; } | sx-progress -f -i 0.05 > /dev/null 2> err &&
    tr "\r" "\n" < err | grep "40/40" > last &&
    ! grep -q " 0/s" last && grep -q " [0-9][0-9]*/s" last
'

test_expect_success '--numeric prints the percent alone' '
    stream 4 | sx-progress -n > /dev/null 2> err &&
    assert_eq 100 "$(tail -1 err)"
'

test_expect_success '--json appends progress and metrics records to a job log' '
    echo "{\"old\":1}" > job.ndjson &&
    { stream 3 | head -2; echo "{\"sx\":\"metrics\",\"category\":\"data_file\",\"stand_by\":0,\"success\":3,\"failed\":0}"; stream 3 | tail -3; } |
        sx-progress -q --json job.ndjson > /dev/null &&
    assert_eq "{\"old\":1}" "$(head -1 job.ndjson)" &&
    assert_grep "^{\"sx\":\"metrics\",\"category\":\"data_file\"" job.ndjson &&
    assert_eq "{\"sx\":\"progress\",\"category\":\"dataset_conversion\",\"current\":3,\"total\":3}" "$(tail -1 job.ndjson)" &&
    jq -e . job.ndjson > /dev/null
'

test_expect_success 'a stream without end exits 1 saying the upstream was cut short' '
    stream 5 | head -4 > cut &&
    expect_code 1 sx-progress cut > out 2> err &&
    cmp out cut &&
    assert_grep "^sx-progress: cut: the upstream was cut short" err
'

test_expect_success 'usage errors exit 2 and name the option' '
    expect_code 2 sx-progress --interval abc 2> err &&
    assert_grep "^sx-progress: --interval: .abc. is not a number of seconds" err &&
    expect_code 2 sx-progress --bogus 2> err2 &&
    assert_grep "^sx-progress: unknown option .--bogus." err2 &&
    expect_code 2 sx-progress -o 2> err3 &&
    assert_grep "needs a value" err3
'

test_expect_success 'a long stream is counted and forwarded whole, whatever lies between its records' '
    # 3 MB of records across the reader'"'"'s blocks, with control records,
    # blank and CRLF lines, leading blanks and a line of 1.5 MB among them
    python3 -c "
import sys
w = sys.stdout.write
w(\"\\ufeff{\\\"sx\\\":\\\"meta\\\",\\\"total\\\":40000}\\n\")
for i in range(1, 40001):
    w(\"{\\\"id\\\":%d,\\\"pad\\\":\\\"%s\\\"}\\n\" % (i, \"x\" * (i % 150)))
    if i % 9999 == 0: w(\"{\\\"sx\\\":\\\"progress\\\",\\\"category\\\":\\\"c\\\",\\\"current\\\":%d,\\\"total\\\":40000}\\n\" % i)
    if i % 7777 == 0: w(\"\\n  \\n\")
    if i % 5555 == 0: w(\"{\\\"crlf\\\":1}\\r\\n\")
    if i % 3333 == 0: w(\"   {\\\"lead\\\":1}\\n\")
    if i == 20000: w(\"{\\\"big\\\":\\\"\" + \"y\" * 1500000 + \"\\\"}\\n\")
w(\"{\\\"sx\\\":\\\"end\\\",\\\"count\\\":40000}\\n\")
" > in &&
    zstd -q -f in -o in.zst &&
    sx-progress < in > out 2> err && cmp out in &&
    sx-progress -q < in.zst > out.zst && cmp out.zst in &&
    # data records: 40000 + 7 CRLF + 12 led by blanks + the big one
    assert_grep "^sx-progress: 40020 records, 0 failed" err &&
    sx-progress --zstd < in.zst > out.zst2 2> /dev/null && zstd -dc out.zst2 | cmp - in
'

test_expect_success 'a line that is not an object deep in a stream is named by its number' '
    { stream 30000 | head -20000; echo "[1]"; stream 30000 | tail -n +20001; } > in &&
    expect_code 1 sx-progress -q in > out 2> err &&
    assert_grep "^sx-progress: in:20001: not a JSON object" err
'

test_done
