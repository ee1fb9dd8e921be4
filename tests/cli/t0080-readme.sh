#!/usr/bin/env bash
# README.md runs as written: its ```sh blocks, in order, in one fresh directory,
# against the fake backend (SYNAPSE_HOST and the token set to it), with the
# build's programs and pipelines/ on PATH. Each block must exit 0, and every
# export or file it names with -o must be there (an export committed).
#   ```sh          run
#   ```sh checkout run with the checkout's tests/ and pipelines/ linked in
#   ```sh real     shown only: needs what a test cannot provide (a backend and
#                  its token, a cluster, remote hosts, root, a build)
#   ```make        written to ./Makefile, its include pointed at pipelines/sx.mk
. "$(dirname "$0")/../lib/test-lib.sh"
. "$(dirname "$0")/../lib/fake-backend.sh"

README=$SX_ROOT/README.md
fake_backend_start --items 30 --log "$TRASH_ROOT/fake.log"

# blocks DIR: writes the fenced blocks of README.md as DIR/NNN.KIND (sh,
# checkout, real, make, other), in order; a block's first line is its README line
blocks() {
    awk -v dir="$1" '
        !inb && /^```/ {
            info = substr($0, 4); kind = "other"
            if (info == "sh") kind = "sh"; else if (info == "sh checkout") kind = "checkout"
            else if (info == "sh real") kind = "real"; else if (info == "make") kind = "make"
            else if (info ~ /^(sh|bash|shell)/) kind = "unknown"
            n++; f = sprintf("%s/%03d.%s", dir, n, kind); inb = 1
            print "# README.md:" NR > f; next
        }
        inb && /^```$/ { inb = 0; close(f); next }
        inb { print > f }
        END { if (inb) { print "README.md: a block is not closed" > "/dev/stderr"; exit 1 } }
    ' "$README"
}

# outputs FILE: the -o targets of the block's commands, one a line (joined
# continuation lines; commands with --unique or a shell variable are left out)
outputs() {
    sed -e ':a' -e '/\\$/{N;s/\\\n//;ba' -e '}' "$1" | tr '|;&' '\n\n\n' |
        grep -v -e '--unique' -e '--rollback' -e '--dry-run' | grep -v '\$' |
        grep -oE "(^|[[:space:]])-o[[:space:]]+('[^']*'|[^[:space:]]+)" |
        sed -E "s/^[[:space:]]*-o[[:space:]]+//; s/^'(.*)'\$/\\1/"
}

# rolled_back FILE: the exports the block rolls back again (sx-save --rollback X)
rolled_back() {
    grep -oE -- "--rollback[[:space:]]+('[^']*'|[^[:space:]]+)" "$1" |
        sed -E "s/^--rollback[[:space:]]+//; s/^'(.*)'\$/\\1/"
}

# show_failure CODE: passes when CODE is 0, else shows the end of the block's
# stderr (its stdout, a stream, would hide the message)
show_failure() {
    test "$1" = 0 && return 0
    echo "exit $1; the end of its stderr:"; tail -n 30 "$TRASH/err"; return 1
}

# committed DIR: the export in DIR committed (its manifest ends with commit)
committed() { tail -n 1 "$1/.sx-manifest.ndjson" 2>/dev/null | grep -q '^{"op":"commit"'; }

mkdir -p "$TRASH_ROOT/blocks" && blocks "$TRASH_ROOT/blocks" || exit 1
WORK=$TRASH_ROOT/reader
mkdir -p "$WORK"

test_expect_success 'README: every block is marked, and enough of them run' '
    ls "$TRASH_ROOT"/blocks > kinds &&
    ! grep -q "\.unknown$" kinds &&
    test "$(grep -c "\.sh$" kinds)" -ge 12 &&
    grep -q "\.make$" kinds && grep -q "\.real$" kinds &&
    grep -q "sh real" "$README" && grep -q "t0080-readme" "$README"
'

test_expect_success 'README: every link to a section, here or in lib/README.md, finds it' '
    python3 - "$README" "$SX_ROOT/lib/README.md" <<-\EOP
	import re, sys
	def anchors(path):
	    out, fence = set(), False
	    for line in open(path, encoding="utf-8"):
	        if line.startswith("```"):
	            fence = not fence
	        m = None if fence else re.match(r"^#{1,6} (.*)", line)
	        if m:  # as GitHub makes them: lower case, punctuation dropped, spaces to hyphens
	            out.add(re.sub(r"[^\w\- ]", "", m.group(1).strip().lower()).replace(" ", "-"))
	    return out
	readme, lib = sys.argv[1], sys.argv[2]
	have = {"": anchors(readme), "lib/README.md": anchors(lib)}
	bad = [(f, a) for f, a in re.findall(r"\]\((lib/README\.md|)#([^)]+)\)", open(readme, encoding="utf-8").read())
	       if a not in have[f]]
	for f, a in bad:
	    print("README.md: no section #%s in %s" % (a, f or "README.md"))
	sys.exit(1 if bad else 0)
	EOP
'

test_expect_success 'README: the blocks shown only are valid shell (bash -n)' '
    for b in "$TRASH_ROOT"/blocks/*.real; do
        bash -n "$b" || { echo "$(head -n 1 "$b"): not valid shell"; exit 1; }
    done
'

test_expect_success 'README: the first pipeline prints only the result line on a terminal' '
    cd "$WORK" &&
    grep -m1 "^sx-fetch .* | sx-download | sx-convert-coco | sx-save -o .* | sx-progress\$" "$README" > cmd &&
    sed "s|-o [^ ]*|-o $TRASH/tty-export|" cmd > cmd2 &&
    script -qec "bash -o pipefail cmd2 2>/dev/null" /dev/null > tty.out &&
    tr -d "\r" < tty.out | grep -v "^\$" > lines &&
    assert_eq 1 "$(wc -l < lines)" "lines on the terminal" &&
    jq -e ".sx == \"result\" and .total_count == 30" lines
'

for b in "$TRASH_ROOT"/blocks/*; do
    kind=${b##*.}
    case $kind in sh|checkout|make) ;; *) continue ;; esac
    where=$(head -n 1 "$b" | sed 's/^# //')
    case $kind in
    make)
        test_expect_success "$where: the Makefile, include pointed at pipelines/sx.mk" '
            grep -q "^include .*/sx.mk\$" "'"$b"'" &&
            sed "s|^include .*/sx.mk\$|include $SX_ROOT/pipelines/sx.mk|" "'"$b"'" > "$WORK/Makefile"
        '
        continue ;;
    checkout)
        test_expect_success "$where: the checkout block runs (exit 0)" '
            cd "$WORK" && ln -sfn "$SX_ROOT/tests" tests && ln -sfn "$SX_ROOT/pipelines" pipelines &&
            code=0; timeout 300 bash -e -o pipefail "'"$b"'" > "$TRASH/out" 2> "$TRASH/err" || code=$?
            rm -f tests pipelines && show_failure "$code"
        ' ;;
    sh)
        test_expect_success "$where: runs as written (exit 0)" '
            cd "$WORK" && ! test -e tests && ! test -e pipelines &&
            code=0; timeout 300 bash -e -o pipefail "'"$b"'" > "$TRASH/out" 2> "$TRASH/err" || code=$?
            show_failure "$code"
        ' ;;
    esac
    test_expect_success "$where: what it writes with -o is there" '
        cd "$WORK" &&
        outputs "'"$b"'" > outs && rolled_back "'"$b"'" > gone &&
        while IFS= read -r o; do
            if grep -qxF -- "$o" gone; then
                ! test -e "$o" || { echo "$o: still there after its rollback"; exit 1; }
            elif test -d "$o"; then
                committed "$o" || { echo "$o: not a committed export"; exit 1; }
            else
                test -s "$o" || { echo "$o: missing or empty"; exit 1; }
            fi
        done < outs
    '
done

test_expect_success 'README: the exports a reader made are complete datasets' '
    cd "$WORK" &&
    jq -e ".images | length > 0" exports/coco-123/train/annotations.json &&
    test "$(jq -r .export_path exports/coco-123/export.json)" = "$WORK/exports/coco-123" &&
    ls exports/coco-123/images/train | grep -q . &&
    test -s exports/yolo-123/dataset.yaml && ls exports/yolo-123/labels/train | grep -q "\.txt$" &&
    test -s exports/voc-123/classes.txt && test -s exports/csv-123/annotations.csv &&
    test -s exports/raw-123/json/1.json -o -n "$(ls exports/raw-123/json)" &&
    jq -e ".images | length > 0" merged.json &&
    ! test -e "exports/coco-123(1)" && ! test -e exports/labels-only &&
    test -d "exports/My Export" && test -s "exports/My Export/params.json" &&
    grep -q "^GET /sdk/assignments/.* 200 auth=synapse" "$TRASH_ROOT/fake.log" &&
    grep -q "^GET /sdk/ground_truth_events/.* 200 auth=synapse" "$TRASH_ROOT/fake.log"
'

test_done
