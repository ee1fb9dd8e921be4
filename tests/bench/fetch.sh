#!/usr/bin/env bash
# sx-fetch against the SDK's way of listing (one page at a time following
# `next`, a Python urllib loop), on the fake backend adding 20 ms per page:
# 10,000 items in pages of 100. Then sx-fetch's peak memory for 10,000 and
# for 100,000 items, which must be the same (pages are streamed, at most
# --jobs of them held).
#   SX_BUILD=build-fetch bash tests/bench/fetch.sh
. "$(dirname "$0")/lib.sh"


sdk_loop=$BENCH_DATA/sdk_list_all.py
cat > "$sdk_loop" <<'PY'
# The synapse-sdk's list_all: page 1, then `next` one page at a time.
import json, os, sys, urllib.request
url = os.environ["SYNAPSE_HOST"] + "/sdk/assignments/?project=1&expand=data&page_size=100"
hdr = {"Synapse-Access-Token": "Token " + os.environ["SYNAPSE_ACCESS_TOKEN"]}
out = sys.stdout
n = 0
while url:
    with urllib.request.urlopen(urllib.request.Request(url, headers=hdr)) as r:
        page = json.load(r)
    for rec in page["results"]:
        out.write(json.dumps({"id": rec["id"], "files": rec["file"], "data": rec.get("data")}) + "\n")
        n += 1
    url = page["next"]
assert n == int(sys.argv[1]), n
PY

export SYNAPSE_ACCESS_TOKEN=$BENCH_TOKEN
start_fake --items 10000 --delay-ms 20
export SYNAPSE_HOST=$host
sx-fetch -f project=1 --jobs 8 > /dev/null   # the fake generates its records once
measure sx  "sx-fetch -f project=1 --page-size 100 --jobs 8 > /dev/null"
measure sdk "python3 '$sdk_loop' 10000 > /dev/null"
echo "10,000 items, pages of 100, +20 ms per page:"
printf '  %-44s %8s s\n' "SDK way (urllib, one page at a time)" "$T_sdk"
printf '  %-44s %8s s\n' "sx-fetch --jobs 8" "$T_sx"
echo "  sx-fetch is $(ratio "$T_sdk" "$T_sx")x faster (target >= 5)"

BENCH_RUNS=1
measure m10k "sx-fetch -f project=1 --jobs 8 > /dev/null"
start_fake --items 100000
export SYNAPSE_HOST=$host
measure m100k "sx-fetch -f project=1 --jobs 8 > /dev/null"
echo "peak memory of sx-fetch --jobs 8:"
printf '  %-44s %8s KiB\n' "10,000 items" "$M_m10k" "100,000 items" "$M_m100k"
echo "  100,000 / 10,000: $(ratio "$M_m100k" "$M_m10k")x (target <= 1.10)"
