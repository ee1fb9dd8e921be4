#!/usr/bin/env python3
"""materialize.py DIR < stream : a minimal stand-in for sx-save in the converter
tests. Writes every `text` file record under DIR (joining `append` chunks and
checking they are contiguous), copies `src` files, and lists url/src records in
DIR/.records.ndjson; other control records go to DIR/.control.ndjson."""
import json, os, shutil, sys

out = sys.argv[1]
os.makedirs(out, exist_ok=True)
recs = open(os.path.join(out, ".records.ndjson"), "w")
ctl = open(os.path.join(out, ".control.ndjson"), "w")
last = None
seen = set()
for line in sys.stdin:
    r = json.loads(line)
    if r.get("sx") != "file":
        ctl.write(line)
        last = None
        continue
    p = r["path"]
    assert not p.startswith("/") and ".." not in p.split("/"), p
    dst = os.path.join(out, p)
    os.makedirs(os.path.dirname(dst), exist_ok=True)
    if "text" in r:
        if r.get("append"):
            assert last == p, "append chunk of %s not contiguous (last %s)" % (p, last)
            open(dst, "a", encoding="utf-8", newline="").write(r["text"])
        else:
            assert p not in seen, "file written twice: " + p
            open(dst, "w", encoding="utf-8", newline="").write(r["text"])
    elif "src" in r and r.get("move"):
        shutil.move(r["src"], dst)
    recs.write(line)
    seen.add(p)
    last = p
