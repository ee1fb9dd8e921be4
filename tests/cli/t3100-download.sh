#!/usr/bin/env bash
# sx-download fetches every item's media into a spool directory before
# conversion: order kept under concurrency, failures become error records,
# sizes from image headers, control records forwarded, the spool removed on
# every unclean end (cut input, bad line, SIGTERM, a closed pipe).
. "$(dirname "$0")/../lib/test-lib.sh"
. "$(dirname "$0")/../lib/fake-backend.sh"
. "$(dirname "$0")/../lib/hostile-backend.sh"

fake_backend_start --items 30 --log "$TRASH_ROOT/fake.log"
FAKE_LOG=$TRASH_ROOT/fake.log
M=$SYNAPSE_HOST/media

# item ID NAME QUERY [MORE_FILES_FIELDS]: an item whose image is /media/NAME?QUERY
item() {
    printf '{"id":%s,"files":{"url":"%s/%s?%s","file_name_original":"%s"%s},"data":{"annotations":{}}}\n' \
        "$1" "$M" "$2" "$3" "$2" "${4:-}"
}
meta() { echo '{"sx":"meta","target":"assignment","total":'"$1"'}'; }
end() { echo '{"sx":"end","count":'"$1"'}'; }
# spool_of FILE: the spool directory named by the meta of FILE
spool_of() { head -n 1 "$1" | jq -r .spool; }
# no_spool DIR: no sx-spool.* directory is left in DIR
no_spool() { test -z "$(ls -A "$1")" || { ls -la "$1" >&2; return 1; }; }

test_expect_success 'items keep their input order while slow and fast downloads overlap' '
    { meta 24
      for i in $(seq 1 24); do
          if [ $((i % 6)) = 1 ]; then item $i "o$i.jpg" "size=3000&fault=slow&delay_ms=600"
          else item $i "o$i.jpg" "size=$((i * 100))"; fi
      done
      end 24; } > in
    mkdir sp
    sx-download --jobs 8 --spool-dir "$PWD/sp" < in > out 2> err
    test ! -s err
    assert_eq "$(seq 1 24 | paste -sd,)" "$(jq -r "select(.id) | .id" out | paste -sd,)" "order"
    assert_eq "{\"sx\":\"end\",\"count\":24}" "$(tail -n 1 out)"
    spool=$(spool_of out)
    case $spool in "$PWD"/sp/sx-spool.??????) ;; *) echo "bad spool $spool" >&2; false ;; esac
    assert_eq 700 "$(stat -c %a "$spool")"
    assert_eq "$(head -n 1 in | jq -c ". + {spool: \"$spool\"}")" "$(head -n 1 out)" "meta"
    # concurrency: o2 (fast) was served before o1 (slow), yet o1 came out first
    o1=$(grep -nF "GET /media/o1.jpg?" "$FAKE_LOG" | cut -d: -f1)
    o2=$(grep -nF "GET /media/o2.jpg?" "$FAKE_LOG" | cut -d: -f1)
    test "$o2" -lt "$o1"
    assert_eq 24 "$(grep -c "GET /media/o.* auth=none" "$FAKE_LOG")" "requests without credentials"
    # every item: its url unchanged, its file in the spool with the served bytes
    jq -r "select(.id) | [.files.url, .files.path] | @tsv" out > pairs
    assert_eq 24 "$(wc -l < pairs)"
    while IFS="	" read -r url path; do
        test "$(dirname "$path")" = "$spool"
        curl -s "$url" | cmp - "$path"
    done < pairs
    assert_eq "$(jq -c "select(.id) | .files.url" in)" "$(jq -c "select(.id) | .files.url" out)" "urls"
    rm -rf "$spool"
'

test_expect_success 'a failed download becomes an error record and its item vanishes' '
    { meta 5
      item 1 ok1.jpg size=100
      item 2 gone.jpg "size=100&fault=404"
      item 3 broken.png "size=100&fault=500"
      printf "{\"id\":4,\"files\":{\"url\":\"%s/cut/nameless.webp?fault=404\"},\"data\":{}}\n" "$M"
      item 5 ok5.jpg size=200
      end 5; } > in
    mkdir sp
    sx-download --retries 1 --spool-dir "$PWD/sp" < in > out 2> err
    assert_eq "1 5" "$(jq -r "select(.id) | .id" out | paste -sd" ")"
    assert_eq "{\"sx\":\"end\",\"count\":2}" "$(tail -n 1 out)"
    jq -c "select(.sx == \"error\")" out > errors
    cat > want <<-EOF
	{"sx":"error","item":2,"stage":"sx-download","category":"original_file","file":"gone.jpg","reason":"download failed","message":"'"'"'gone.jpg'"'"': HTTP 404"}
	{"sx":"error","item":3,"stage":"sx-download","category":"original_file","file":"broken.png","reason":"download failed","message":"'"'"'broken.png'"'"': HTTP 500 after 2 tries"}
	{"sx":"error","item":4,"stage":"sx-download","category":"original_file","file":"nameless.webp","reason":"download failed","message":"'"'"'nameless.webp'"'"': HTTP 404"}
	EOF
    diff want errors
    # in input order: the error records stand where their items stood
    assert_eq "meta 1 error error error 5 end" "$(jq -r ".sx // .id" out | paste -sd" ")"
    assert_grep "3 of 5 downloads failed (see the error records)" err
    # only the two files that arrived are in the spool
    assert_eq 2 "$(ls "$(spool_of out)" | wc -l)"
    rm -rf sp/*
'

test_expect_success 'URLs that are not http(s) are refused and never read' '
    { meta 4
      echo "{\"id\":1,\"files\":{\"url\":\"file:///etc/passwd\"},\"data\":{}}"
      echo "{\"id\":2,\"files\":{\"url\":\"FILE:///proc/self/environ\",\"file_name_original\":\"env.jpg\"},\"data\":{}}"
      echo "{\"id\":3,\"files\":{\"url\":\"ftp://127.0.0.1/x.jpg\"},\"data\":{}}"
      echo "{\"id\":\"four\",\"files\":{\"url\":\"\"},\"data\":{}}"
      end 4; } > in
    mkdir sp
    sx-download -q --spool-dir "$PWD/sp" < in > out 2> err
    test ! -s err
    assert_eq "[1,\"passwd\",\"url refused\"] [2,\"env.jpg\",\"url refused\"] [3,\"x.jpg\",\"url refused\"] [\"four\",\"\",\"url refused\"]" \
        "$(jq -c "select(.sx == \"error\") | [.item, .file, .reason]" out | paste -sd" ")"
    assert_grep "only http and https" out
    assert_eq "{\"sx\":\"end\",\"count\":0}" "$(tail -n 1 out)"
    test -z "$(ls "$(spool_of out)")"
    ! grep -q root: out
    rm -rf sp/*
'

test_expect_success 'width and height come from the image header of every format when the item has none' '
    n=0
    { meta 0
      for k in png jpeg webp webp-lossless webp-extended bmp bmp-topdown bmp-os2 gif tiff tiff-be; do
          n=$((n + 1))
          item $n "$k.img" "kind=$k&w=$((300 + n))&h=$((200 - n))&size=5000"
      done
      item 100 big.tif "kind=tiff&w=70000&h=3&size=400000"
      item 101 given.png "kind=png&w=10&h=10" ",\"width\":640,\"height\":480"
      item 102 half.png "kind=png&w=11&h=12" ",\"width\":640"
      item 103 noimage.jpg "size=5000"
      end 0; } > in
    mkdir sp
    sx-download --spool-dir "$PWD/sp" < in > out
    for i in $(seq 1 $n); do
        assert_eq "[$((300 + i)),$((200 - i))]" "$(jq -c "select(.id == $i) | [.files.width, .files.height]" out)" "item $i"
    done
    assert_eq "[70000,3]" "$(jq -c "select(.id == 100) | [.files.width, .files.height]" out)"
    assert_eq "[640,480]" "$(jq -c "select(.id == 101) | [.files.width, .files.height]" out)"
    assert_eq "[11,12]" "$(jq -c "select(.id == 102) | [.files.width, .files.height]" out)"
    assert_eq "[null,null]" "$(jq -c "select(.id == 103) | [.files.width, .files.height]" out)"
    # the spooled files keep the extension of file_name_original
    jq -r "select(.id == 1) | .files.path" out | grep -q "\.img$"
    rm -rf sp/*
'

test_expect_success 'files.size and files.sha256 of an item are checked; malformed ones are not checks' '
    curl -s "$M/sum.jpg?size=777" > body
    sha=$(sha256sum body | cut -c1-64)
    { meta 4
      item 1 sum.jpg size=777 ",\"size\":777,\"sha256\":\"$sha\""
      item 2 sum.jpg size=777 ",\"sha256\":\"$(echo "$sha" | tr 0-9a-f 1-9a-f0)\""
      item 3 sum.jpg size=777 ",\"size\":778"
      item 4 sum.jpg size=777 ",\"size\":\"777\",\"sha256\":\"nope\""
      end 4; } > in
    mkdir sp
    sx-download -q --spool-dir "$PWD/sp" < in > out
    assert_eq "1 4" "$(jq -r "select(.id) | .id" out | paste -sd" ")"
    assert_grep "sha256 mismatch" out
    assert_grep "got 777 bytes, expected 778" out
    assert_eq "2 3" "$(jq -r "select(.sx == \"error\") | .item" out | paste -sd" ")"
    rm -rf sp/*
'

test_expect_success 'control records and items without media pass through unchanged, in order' '
    { echo "{\"sx\":\"meta\",\"target\":\"task\",\"total\":6,\"source\":{\"path\":\"sdk/tasks/\"}}"
      echo "{\"sx\":\"progress\",\"category\":\"x\",\"current\":1,\"total\":2}"
      item 1 a.jpg size=10
      echo "{\"sx\":\"error\",\"item\":9,\"stage\":\"sx-jq\",\"message\":\"m\"}"
      echo "{\"id\":2,\"files\":{\"file_name_original\":\"n.jpg\"},\"data\":{}}"
      echo "{\"id\":3,  \"files\":{\"url\":\"$M/b.jpg\"},\"data\":null}"
      echo "{\"id\":4,\"files\":{\"url\":\"$M/c.jpg\"}}"
      echo "[1,2]"
      echo "{\"files\":{\"url\":\"$M/noid.jpg\"},\"data\":{}}"
      echo "{\"sx\":\"futurekind\",\"x\":1}"
      echo "{\"sx\":\"end\",\"count\":99,\"filtered\":3,\"items\":7,\"note\":\"x\"}"; } > in
    mkdir sp
    sx-download --spool-dir "$PWD/sp" < in > out
    spool=$(spool_of out)
    # line by line: only meta, item 1 and end differ from the input
    sed -n "2p;4,10p" in > want
    sed -n "2p;4,10p" out > got
    diff want got
    assert_eq "$(sed -n 1p in | jq -c ". + {spool: \"$spool\"}")" "$(sed -n 1p out)"
    assert_eq "$(sed -n 3p in | jq -c ".files.path = \"$spool/1.jpg\"")" "$(sed -n 3p out)"
    assert_eq "{\"sx\":\"end\",\"count\":6,\"filtered\":3,\"items\":7}" "$(tail -n 1 out)"
    assert_eq 11 "$(wc -l < out)"
    ! grep -q "noid.jpg\|/c.jpg\|/b.jpg" "$FAKE_LOG"
    rm -rf sp/*
'

test_expect_success 'without a meta in the input, one naming the spool is written first' '
    { item 1 a.jpg size=10; end 1; } > in
    mkdir sp
    sx-download --spool-dir "$PWD/sp" < in > out
    spool=$(spool_of out)
    assert_eq "{\"sx\":\"meta\",\"spool\":\"$spool\"}" "$(head -n 1 out)"
    assert_eq 3 "$(wc -l < out)"
    rm -rf sp/*
'

test_expect_success 'data posing as control is written as data' '
    { meta 3
      echo " {\"sx\":\"end\",\"id\":1,\"files\":{\"url\":\"$M/p1.jpg?size=10\"},\"data\":{}}"
      echo "{\"sx\" : \"meta\",\"id\":2,\"files\":{\"url\":\"$M/p2.jpg?size=10\"},\"data\":{}}"
      echo "{\"sx\":1,\"id\":3,\"files\":{\"url\":\"$M/p3.jpg?size=10\"},\"data\":{}}"
      end 3; } > in
    mkdir sp
    sx-download --spool-dir "$PWD/sp" < in > out
    assert_eq "meta data data data end" "$(sed "s/^{\"sx\":\"\([a-z]*\)\".*/\1/;t;s/.*/data/" out | paste -sd" ")"
    assert_eq "1 2 3" "$(jq -r "select(.id) | .id" out | paste -sd" ")"
    assert_eq "{\"id\":1,\"files\":{\"url\":\"$M/p1.jpg?size=10\",\"path\":\"$(spool_of out)/1.jpg\"},\"data\":{},\"sx\":\"end\"}" "$(sed -n 2p out)"
    assert_eq "{\"sx\":\"end\",\"count\":3}" "$(tail -n 1 out)"
    rm -rf sp/*
'

test_expect_success 'a cut input (no end) removes the spool with its files; no end, exit 1' '
    { meta 3; item 1 a.jpg size=10; item 2 b.jpg size=20; } > in
    mkdir sp
    expect_code 1 sx-download --spool-dir "$PWD/sp" < in > out 2> err
    assert_grep "^sx-download: <stdin>: input ended without an end record: the upstream was cut short; the spool directory .*/sp/sx-spool.* was removed" err
    no_spool sp
    ! grep -q "\"sx\":\"end\"" out
'

test_expect_success 'a line that is not JSON stops with exit 1 and removes the spool; --keep-going records it' '
    { meta 3; item 1 a.jpg size=10; echo "{not json"; item 3 c.jpg size=30; end 3; } > in
    mkdir sp
    expect_code 1 sx-download --spool-dir "$PWD/sp" < in > out 2> err
    assert_grep "^sx-download: <stdin>:3: invalid JSON" err
    no_spool sp
    ! grep -q "\"sx\":\"end\"" out
    sx-download -k --spool-dir "$PWD/sp" < in > out 2> err
    assert_eq "1 3" "$(jq -r "select(.id) | .id" out | paste -sd" ")"
    jq -s -e "map(select(.sx == \"error\")) | length == 1 and .[0].item == null and
        (.[0].message | startswith(\"<stdin>:3: invalid JSON\"))" out
    assert_eq "{\"sx\":\"end\",\"count\":2}" "$(tail -n 1 out)"
    rm -rf sp/*
'

test_expect_success 'SIGTERM mid-download removes the spool; exit 143, no end' '
    { meta 3; item 1 a.jpg size=10; item 2 slow.jpg "size=10&fault=slow&delay_ms=20000"; end 2; } > in
    mkdir sp
    sx-download --spool-dir "$PWD/sp" < in > out 2> err &
    pid=$!
    for i in $(seq 1 100); do [ "$(ls sp/*/ 2>/dev/null | wc -l)" = 2 ] && break; sleep 0.05; done
    assert_eq 2 "$(ls sp/*/ | wc -l)"
    kill -TERM $pid
    expect_code 143 wait $pid
    no_spool sp
    assert_grep "interrupted by SIGTERM" err
    ! grep -q "\"sx\":\"end\"" out
'

test_expect_success 'SIGTERM while blocked writing to a reader that does not read removes the spool' '
    big=$(head -c 20000 /dev/zero | tr "\0" x)
    { meta 40; item 1 a.jpg size=10
      for i in $(seq 2 40); do echo "{\"id\":$i,\"pad\":\"$big\"}"; done; end 40; } > in
    mkdir sp
    mkfifo fifo
    sleep 60 < fifo &
    reader=$!
    exec 3> fifo
    sx-download --spool-dir "$PWD/sp" < in >&3 2> err &
    pid=$!
    exec 3>&-
    # blocked in write(2) on the full pipe (pipe_write, anon_pipe_write)
    for i in $(seq 1 100); do grep -q pipe_write /proc/$pid/wchan && break; sleep 0.05; done
    assert_grep pipe_write /proc/$pid/wchan
    test -n "$(ls sp/*/)"
    kill -TERM $pid
    expect_code 143 wait $pid
    kill $reader
    no_spool sp
'

test_expect_success 'a closed output pipe ends quietly with exit 0 and removes the spool' '
    { meta 300; for i in $(seq 1 300); do item $i "e$i.jpg" size=100; done; end 300; } > in
    mkdir sp
    sx-download --spool-dir "$PWD/sp" < in 2> err | head -c 300 > /dev/null
    assert_eq "0" "${PIPESTATUS[0]}"
    test ! -s err
    no_spool sp
'

test_expect_success 'an empty input writes nothing and leaves no spool' '
    mkdir sp
    sx-download --spool-dir "$PWD/sp" < /dev/null > out
    test ! -s out
    no_spool sp
'

test_expect_success 'zstd in, zstd out, and several inputs' '
    { meta 1; item 1 a.jpg size=10; end 1; } | zstd -q > a.zst
    { item 2 b.jpg size=20; echo "{\"sx\":\"end\",\"count\":1,\"filtered\":2}"; } > b
    mkdir sp
    sx-download --spool-dir "$PWD/sp" -o out.zst a.zst b
    zstd -dc out.zst > out
    assert_eq "1 2" "$(jq -r "select(.id) | .id" out | paste -sd" ")"
    assert_eq "{\"sx\":\"end\",\"count\":2,\"filtered\":2}" "$(tail -n 1 out)"
    assert_eq 1 "$(grep -c "\"sx\":\"meta\"" out)"
    rm -rf sp/*
'

test_expect_success 'an input file cut short among several is a cut stream' '
    { meta 1; item 1 a.jpg size=10; } > a
    { item 2 b.jpg size=20; end 1; } > b
    mkdir sp
    expect_code 1 sx-download --spool-dir "$PWD/sp" a b > out 2> err
    assert_grep "a: input ended without an end record" err
    no_spool sp
'

test_expect_success 'the fake backend listing through sx-download' '
    mkdir sp
    sx-fetch -f project=1 | sx-download --spool-dir "$PWD/sp" > out
    # every 7th item has null data: passed through, not downloaded
    assert_eq 26 "$(jq -r "select(.id and .data != null) | .files.path" out | grep -c "^$PWD/sp/sx-spool")"
    assert_eq "7 14 21 28" "$(jq -r "select(.id and .data == null and .files.path == null) | .id" out | paste -sd" ")"
    assert_eq "{\"sx\":\"end\",\"count\":30}" "$(tail -n 1 out)"
    ! grep -q "GET /media/item-7.jpg" "$FAKE_LOG"
    rm -rf sp/*
'

test_expect_success 'through the converter and sx-save: every image the index names is in the export' '
    { sx-fetch -f project=1 | head -n -1
      item 97 gone.jpg "fault=404"
      item 98 hdr.png "kind=png&w=321&h=123"
      echo "{\"sx\":\"end\",\"count\":32}"; } > in
    mkdir sp
    sx-download -q --spool-dir "$PWD/sp" < in | sx-convert-coco -q | sx-save -q -o out > log
    jq -r ".images[].file_name" out/annotations.json | sort > named
    (cd out/images && ls) | sort > present
    diff named present
    assert_eq 27 "$(wc -l < present)"
    assert_eq "[321,123]" "$(jq -c ".images[] | select(.id == 98 or .file_name == \"hdr.png\") | [.width, .height]" out/annotations.json)"
    assert_eq "[27,5]" "$(jq -c "[.exported_count, .failed_count]" out/export.json)"
    # every spooled image was moved into the export: the spool is gone
    no_spool sp
'

test_expect_success 'a hostile backend: file: URLs, a redirect to file:, records posing as control' '
    export TMPDIR=$PWD/tmp
    mkdir tmp
    CANARY= HOSTILE_TOKEN=
    hostile_start fileurl
    sx-fetch -f project=1 > items
    sx-download -q < items > out
    # file: URLs refused, the redirect to file: not followed, a local
    # files.path left for the converter to refuse, the honest item fetched
    assert_eq "1 url refused,2 url refused,3 download failed" \
        "$(jq -r "select(.sx == \"error\") | \"\\(.item) \\(.reason)\"" out | paste -sd,)"
    assert_eq "$(sed -n 5p items)" "$(sed -n 5p out)"
    assert_eq "$PWD/tmp/sx-spool" "$(jq -r "select(.id == 5) | .files.path" out | cut -c1-$((${#PWD} + 13)))"
    sx-convert-coco -q < out | sx-save -q --no-sync -o exp > /dev/null
    assert_eq "ok.jpg" "$(cd exp/images && ls)"
    hostile_start sxrecords
    sx-fetch -f project=1 | sx-download -q | sx-convert-coco -q | sx-save -q --no-sync -o exp2 > log
    ! grep -q "\"sx\":\"file\"" log
    assert_untouched
    test -z "$(ls -A tmp)"
'

test_expect_success 'usage errors and a spool parent that does not exist' '
    expect_code 2 sx-download --window 0 < /dev/null 2> err
    assert_grep "window" err
    expect_code 2 sx-download --jobs 500 < /dev/null 2> err
    expect_code 1 sx-download --spool-dir "$PWD/nowhere" < /dev/null 2> err
    assert_grep "^sx-download: cannot use .*nowhere" err
'

test_expect_success 'downloads say who they are: User-Agent sx/<version>, as sx-fetch (sx-download and sx-save)' '
    v=$(sx-download --version | awk "{print \$3}")
    : > "$FAKE_LOG"
    { meta 1; item 1 ua1.jpg "size=100"; end 1; } | sx-download --spool-dir "$PWD" > out
    printf "{\"sx\":\"file\",\"path\":\"a.jpg\",\"url\":\"%s\",\"item\":1}\n{\"sx\":\"end\",\"count\":1}\n" "$M/ua2.jpg?size=100" |
        sx-save -o exp > /dev/null
    grep "^GET /media/ua[12]\.jpg" "$FAKE_LOG" > media
    assert_eq 2 "$(grep -c . media)"
    test -z "$(grep -v " ua=sx/$v\$" media)"
    rm -rf "$(spool_of out)"
'

test_done
