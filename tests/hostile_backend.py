#!/usr/bin/env python3
"""hostile_backend.py : a Synapse backend and media server that attacks sx
(stdlib only), for tests/cli/t6000-hostile-*.sh.

Binds 127.0.0.1 on an ephemeral port, prints the port as its first line on
stdout and serves until killed. Every endpoint but /media requires the token
given by --token (`Synapse-Access-Token: Token T`), as the real backend does.

--attack chooses what the listing sdk/assignments/ (and projects/{id}/) serve:

  fileurl     items whose files point at local files: files.url
              file:///proc/self/environ (the environment, the token with it),
              FILE://CANARY, a redirect to file://CANARY, files.path CANARY
              (--canary), and one honest item
  sxrecords   records whose first key is "sx": a `file` record that copies and
              moves CANARY, an `end` record, a `meta` record, and an item whose
              data is a file record; then an honest item
  loopnext    a listing whose every page gives the same next link
  lyingcount  count 1, and a next link on every page, forever
  cursorloop  cursor pagination (no count): cursors a, b, c, then back to b
  cursorempty cursor pagination: empty pages, each with a new cursor, forever
  bigcount    count 1000000 for one item, next null
  trickle     one item whose image trickles (media mode trickle)
  hugepage    page 1 is a gzip bomb: 300 MiB of JSON whitespace in ~300 KiB
  reason      every page answers 500 with the token in its detail, past 150
              characters (where a message is cut)
  evilnames   items whose id, file name and class carry terminal escapes
  honest      three honest items

Media, GET /media/NAME?mode=M&size=N: bytes i*7+3 (mod 256) of 0..N-1:
  ok          the bytes
  badrange    1st request: Content-Length N, half the body, then the
              connection closes; a request with Range gets a 206 whose
              Content-Range starts at 0 (not where the file stopped), with
              every byte; a request without Range after that gets them all
  partial206  a 206 (bytes 0-9/N) to a request for the whole file, always
  trickle     one byte every 0.5 s, for 60 s
  redirect    302 to file://CANARY

--log FILE: a line per request (method, path, status); never the token.
"""
import argparse
import json
import sys
import threading
import time
import zlib
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit


def media_bytes(n):
    return bytes((i * 7 + 3) & 0xFF for i in range(n))


class State:
    def __init__(self, a):
        self.a = a
        self.lock = threading.Lock()
        self.hits = {}
        self.bomb = None

    def hit(self, key):
        with self.lock:
            self.hits[key] = self.hits.get(key, 0) + 1
            return self.hits[key]

    def gzip_bomb(self):
        with self.lock:
            if self.bomb is None:
                c = zlib.compressobj(9, zlib.DEFLATED, 31)
                parts = [c.compress(b'{"count": 1, "next": null, "previous": null, "results": [')]
                chunk = b" " * (1 << 20)
                for _ in range(300):
                    parts.append(c.compress(chunk))
                parts.append(c.compress(b"]}"))
                parts.append(c.flush())
                self.bomb = b"".join(parts)
            return self.bomb


def item(i, url=None, path=None, name=None, cls="car", extra=None):
    files = {"file_name_original": name or ("img%s.jpg" % i), "width": 64, "height": 48}
    if url is not None:
        files["url"] = url
    if path is not None:
        files["path"] = path
    data = {
        "annotations": {"image_1": [{"id": "a%s" % i, "tool": "bounding_box", "classification": {"class": cls}}]},
        "annotationsData": {"image_1": [{"id": "a%s" % i, "coordinate": {"x": 1, "y": 2, "width": 10, "height": 8}}]},
    }
    rec = {"id": i, "project": 1, "file": files, "data": data}
    if extra:
        rec.update(extra)
    return rec


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        pass

    def log(self, status):
        a = self.server.st.a
        if a.log:
            with self.server.st.lock, open(a.log, "a") as f:
                f.write("%s %s %s\n" % (self.command, self.path, status))

    def send(self, status, body, ctype="application/json", extra=None, close=False):
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for k, v in (extra or {}).items():
            self.send_header(k, v)
        if close:
            self.send_header("Connection", "close")
            self.close_connection = True
        self.end_headers()
        self.wfile.write(body)
        self.log(status)

    def send_json(self, status, obj):
        self.send(status, json.dumps(obj).encode())

    def base(self):
        return "http://127.0.0.1:%d" % self.server.server_address[1]

    def do_GET(self):
        u = urlsplit(self.path)
        q = parse_qs(u.query)
        if u.path.startswith("/media/"):
            return self.media(u.path[len("/media/"):], q)
        a = self.server.st.a
        if self.headers.get("Synapse-Access-Token") != "Token " + a.token:
            return self.send_json(401, {"detail": "Invalid token."})
        if u.path.startswith("/projects/"):
            return self.send_json(200, {"id": 1, "configuration": {}})
        if u.path != "/sdk/assignments/":
            return self.send_json(404, {"detail": "Not found."})
        page = int(q.get("page", ["1"])[0])
        return self.listing(page, q.get("cursor", [""])[0])

    def page(self, results, count, nxt):
        self.send_json(200, {"count": count, "next": nxt, "previous": None, "results": results})

    def cursor_page(self, results, nxt):
        self.send_json(200, {"next": nxt and self.base() + "/sdk/assignments/?cursor=" + nxt, "previous": None,
                             "results": results})

    def listing(self, page, cursor):
        st = self.server.st
        a = st.a
        m = self.base() + "/media/"
        canary = a.canary
        if a.attack == "fileurl":
            return self.page([
                item(1, url="file:///proc/self/environ", name="environ.jpg"),
                item(2, url="FILE://" + canary, name="canary1.jpg"),
                item(3, url=m + "r.jpg?mode=redirect", name="canary2.jpg"),
                item(4, path=canary, name="canary3.jpg"),
                item(5, url=m + "ok.jpg?size=300", name="ok.jpg"),
            ], 5, None)
        if a.attack == "sxrecords":
            evil = {"sx": "file", "path": "stolen.txt", "src": canary, "item": 1}
            moved = {"sx": "file", "path": "moved.txt", "src": canary, "move": True, "item": 2, "id": 2}
            return self.page([
                evil, moved,
                {"sx": "end", "count": 0},
                {"sx": "meta", "total": 7, "src_roots": ["/"]},
                item(3, url=m + "a.jpg?size=100", extra={"data": {"sx": "file", "path": "x.txt", "src": canary}}),
                item(4, url=m + "ok.jpg?size=300", name="ok.jpg"),
            ], 6, None)
        if a.attack == "loopnext":
            return self.page([item(2 * page - 1), item(2 * page)], 250, self.base() + "/sdk/assignments/?page=2")
        if a.attack == "cursorloop":
            after = {"": "a", "a": "b", "b": "c", "c": "b"}
            n = {"": 1, "a": 2, "b": 3, "c": 4}.get(cursor, 9)
            return self.cursor_page([item(n)], after.get(cursor))
        if a.attack == "cursorempty":
            return self.cursor_page([], "x%d" % (int(cursor[1:] or 0) + 1 if cursor else 1))
        if a.attack == "lyingcount":
            return self.page([item(page)], 1, self.base() + "/sdk/assignments/?page=%d" % (page + 1))
        if a.attack == "trickle":
            return self.page([item(1, url=m + "t.jpg?mode=trickle&size=5000")], 1, None)
        if a.attack == "bigcount":
            return self.page([item(1, url=m + "ok.jpg?size=300")], 1000000, None)
        if a.attack == "hugepage":
            body = st.gzip_bomb()
            return self.send(200, body, extra={"Content-Encoding": "gzip"})
        if a.attack == "reason":
            return self.send_json(500, {"detail": "x" * 150 + " " + a.token + " and more"})
        if a.attack == "evilnames":
            esc = "\x1b[2J\x1b]0;pwned\x07\u009b31m"
            return self.page([
                item("7" + esc, url=m + "e.jpg?size=100&mode=badmissing", name="e" + esc + ".jpg", cls="c" + esc),
                item(8, url=m + "ok.jpg?size=300", name="ok.jpg"),
            ], 2, None)
        return self.page([item(i, url=m + "ok%d.jpg?size=300" % i) for i in (1, 2, 3)], 3, None)

    def media(self, name, q):
        st = self.server.st
        mode = q.get("mode", ["ok"])[0]
        size = int(q.get("size", ["1000"])[0])
        body = media_bytes(size)
        rng = self.headers.get("Range")
        if mode == "redirect":
            return self.send(302, b"", extra={"Location": "file://" + st.a.canary})
        if mode == "badmissing":
            return self.send_json(404, {"detail": "Not found."})
        if mode == "partial206":
            return self.send(206, body[:10], ctype="application/octet-stream",
                             extra={"Content-Range": "bytes 0-9/%d" % size})
        if mode == "trickle":
            self.send_response(200)
            self.send_header("Content-Type", "application/octet-stream")
            self.send_header("Content-Length", str(size))
            self.end_headers()
            self.log(200)
            try:
                for i in range(min(size, 120)):
                    self.wfile.write(body[i:i + 1])
                    self.wfile.flush()
                    time.sleep(0.5)
            except OSError:
                pass
            self.close_connection = True
            return
        if mode == "badrange":
            n = st.hit(name)
            if rng:
                # every byte, but labelled as the continuation
                return self.send(206, body, ctype="application/octet-stream",
                                 extra={"Content-Range": "bytes 0-%d/%d" % (size - 1, size)})
            if n == 1:
                self.send_response(200)
                self.send_header("Content-Type", "application/octet-stream")
                self.send_header("Content-Length", str(size))
                self.end_headers()
                self.wfile.write(body[: size // 2])
                self.wfile.flush()
                self.close_connection = True
                self.log("200-cut")
                return
        return self.send(200, body, ctype="application/octet-stream")


class Server(ThreadingHTTPServer):
    daemon_threads = True


def main():
    p = argparse.ArgumentParser(description="hostile Synapse backend for sx tests")
    p.add_argument("--attack", default="honest")
    p.add_argument("--token", default="hostile-token")
    p.add_argument("--canary", default="/nonexistent")
    p.add_argument("--log")
    a = p.parse_args()
    srv = Server(("127.0.0.1", 0), Handler)
    srv.st = State(a)
    print(srv.server_address[1], flush=True)
    srv.serve_forever()


if __name__ == "__main__":
    sys.exit(main())
