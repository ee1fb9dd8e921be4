#!/usr/bin/env python3
"""check-manifest.py DIR [--committed] [--force]: DIR holds exactly what its sx-save
manifest says: every file recorded done exists with its size and sha256, no
other regular file or link exists under DIR (besides the manifest; with
--force, files the manifest never named are allowed), no temporary file is
left but that of a file still pending (a crash), and every directory is
recorded. With --committed,
the manifest must end with a commit record. Prints what differs; exit 1."""
import hashlib, json, os, sys

d = sys.argv[1]
committed = "--committed" in sys.argv
bad = []
files, dirs, last, tmps = {}, set(), None, {}
with open(os.path.join(d, ".sx-manifest.ndjson")) as f:
    for line in f:
        if not line.endswith("\n"):
            break
        r = json.loads(line)
        last = r["op"]
        if r["op"] == "dir":
            dirs.add(r["path"])
        elif r["op"] == "file":
            files[r["path"]] = None
            tmps[r.get("tmp")] = r["path"]
        elif r["op"] == "done":
            files[r["path"]] = (r["size"], r["sha256"])
        elif r["op"] == "drop":
            files[r["path"]] = "dropped"
if committed and last != "commit":
    bad.append("no commit record at the end")
seen = set()
for root, ds, fs in os.walk(d):
    for n in ds + fs:
        p = os.path.relpath(os.path.join(root, n), d)
        full = os.path.join(root, n)
        if p == ".sx-manifest.ndjson":
            continue
        if os.path.isdir(full) and not os.path.islink(full):
            if p not in dirs and "--force" not in sys.argv:
                bad.append("directory not in the manifest: " + p)
            continue
        seen.add(p)
        if ".sx-" in n:
            # a crash (SIGKILL) may leave the temporary file of a pending one
            if committed or p not in tmps or files.get(tmps[p]) is not None:
                bad.append("temporary file left: " + p)
            continue
        st = files.get(p, "absent")
        if st == "absent" or st == "dropped" or st is None:
            if "--force" in sys.argv and st == "absent":
                continue
            bad.append("file on disk but not done in the manifest (%s): %s" % (st, p))
            continue
        data = open(full, "rb").read()
        if len(data) != st[0] or hashlib.sha256(data).hexdigest() != st[1]:
            bad.append("size or sha256 differ from the manifest: " + p)
for p, st in files.items():
    if isinstance(st, tuple) and p not in seen:
        bad.append("done in the manifest but missing: " + p)
for b in bad:
    print(b, file=sys.stderr)
sys.exit(1 if bad else 0)
