#!/usr/bin/env python3
"""fake_backend.py : a Synapse backend for tests and benchmarks (stdlib only).

Binds 127.0.0.1 on an ephemeral port (or --port), prints the port as its first
line on stdout and serves until killed.

Endpoints (GET, see shared SYNAPSE-API.md):
  /sdk/assignments/        requires ?project=; records {id, project, file, data}
                           (data only with expand=data)
  /sdk/tasks/              requires ?project=; records {id, project, data,
                           data_unit (expand=data_unit), assignment, workshop}
  /sdk/ground_truth_events/  requires ?ground_truth_dataset_versions=
  /projects/{id}/          project with configuration.classification
                           (404 for id 404 and ids >= 1000), in the shape
                           --config-shape gives: list (names), objects
                           ({code, name}), schema ({"classification_schema":
                           [{code, name}]} per tool), empty (classification
                           {}), none (no configuration); --config-order
                           reversed lists each tool's classes backwards
  /ground_truth_dataset_versions/{id}/  {id, name, ground_truth_dataset}
                           (404 for id 404); ground-truth events carry
                           "project": --gt-project (default 1)
  /media/<name>            deterministic bytes (see media_bytes()), no token

DRF pagination: ?page= and ?page_size= (default 100, at most --max-page-size,
default 1000), answers
{"count", "next", "previous", "results"} with absolute next/previous URLs; a
page past the end answers 404 {"detail": "Invalid page."}. Listing answers are
gzip-compressed when the client accepts gzip.

Token: every endpoint but /media requires `Synapse-Access-Token: Token <T>` or
`Authorization: Token <T>` (T from --token, default "fake-token"); 401 else.

Generated data: item ids 1..N (--items), seeded (--seed): DM v1 with boxes,
polygons, keypoints and polylines, classes from CLASSES, every 7th item with
"data": null, and every 5th item's file_name_original is "img.jpg" (names
collide across items on purpose).

Media: GET /media/<name>?size=N (default 2048) answers the first N bytes of
SHAKE-256(<name>) where <name> is the URL-decoded path after /media/ (query
excluded). `python3 tests/fake_backend.py --print-media NAME SIZE` writes the
same bytes to stdout. With kind=K&w=W&h=H the body is an image header of
W x H pixels (see image_header(): K is png, jpeg, webp (VP8), webp-lossless
(VP8L), webp-extended (VP8X), bmp, bmp-topdown, bmp-os2, gif, tiff or
tiff-be, whose first directory comes last, after the pixels), followed by
the bytes above up to size= when that is larger. Range: bytes=N- answers 206. Faults per URL in the
query (and for every K-th item of the listings with --media-404-every K):
fault=404, fault=500, fault=slow&delay_ms=MS, fault=cut (Content-Length
sent, connection closed after half the body), fault=flaky&fails=K (the first
K requests for that exact path+query answer 503).

Listing faults (options), each firing once unless given as P:K (K times, 0 =
always): --slow-page P (sleeps --slow-ms), --cut-page P, --bad-json-page P,
--html-page P, --no-results-page P, --not-found-page P, --reset-page P (the
connection is reset, no answer). --fail-first K makes
the first K listing requests answer --fail-status (503) with --retry-after V
when given. --grow-after-page P adds --grow-by G items once page P was served.
--chaos PCT makes that percentage of listing answers fail at random (seeded
by --seed): 503, 429, a cut body, a reset, bad JSON or HTML.
--foreign-next makes next URLs point to another host; --relative-next makes
them paths without a host; --next-origin ORIGIN writes them (and previous)
with that origin (scheme://host:port); --next-scheme S and --next-host H
change only the scheme or the host name (the port stays this server's). --cursor paginates as DRF's
CursorPagination: `page` is ignored, answers are {"next", "previous",
"results"} without count, next is the request's URL with cursor=<opaque>
(the page links of --relative-next/--next-origin apply too).
--moved PREFIX answers every request whose path does not start with PREFIX
(but /media) with 301 and Location PREFIX+path?query (a path on this host),
and serves PREFIX+path as path; --moved-to URL does the same with an
absolute Location URL+path?query. --tls-cert and --tls-key
serve HTTPS. A request in absolute form (GET http://host/path, as sent to a
proxy) is served too, so a second instance can stand for a proxy.

--log FILE: one line per request:
  METHOD PATH?QUERY STATUS auth=synapse|authorization|none tenant=yes|no
  enc=gzip|identity|cut|reset|html|badjson|noresults
  host=HOST_HEADER conn=CLIENT_PORT ua=USER_AGENT
(the token itself is never logged).
"""
import argparse
import base64
import gzip
import io
import hashlib
import json
import random
import socket
import struct
import sys
import threading
import time
import urllib.parse
import zlib
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

CLASSES = {
    "bounding_box": ["car", "person", "bicycle", "truck"],
    "polygon": ["road", "sidewalk", "building"],
    "keypoint": ["nose", "left_eye", "right_eye"],
    "polyline": ["lane"],
}
SIZES = [(640, 480), (1280, 720), (800, 600), (320, 240)]


def media_bytes(name, size):
    """The bytes of /media/<name>?size=<size>: SHAKE-256 of the name, `size` bytes long."""
    return hashlib.shake_256(name.encode("utf-8")).digest(size) if size > 0 else b""


def image_header(kind, w, h, name, size):
    """The body of /media/<name>?kind=..&w=..&h=..: a real header of that format
    (what a decoder reads to learn the size), then media bytes up to `size`."""
    le16, le32, be16, be32 = (lambda v: struct.pack("<H", v)), (lambda v: struct.pack("<I", v)), \
        (lambda v: struct.pack(">H", v)), (lambda v: struct.pack(">I", v))

    def chunk(tag, data):
        return be32(len(data)) + tag + data + be32(zlib.crc32(tag + data) & 0xffffffff)

    def pad(head, room):
        return media_bytes(name, room) if room > 0 else b""

    if kind == "png":
        head = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", be32(w) + be32(h) + bytes([8, 2, 0, 0, 0]))
        return head + pad(head, size - len(head) - 12) + chunk(b"IEND", b"")
    if kind == "jpeg":
        app0 = b"\xff\xe0" + be16(16) + b"JFIF\0\x01\x01\0" + be16(1) + be16(1) + b"\0\0"
        sof = b"\xff\xc0" + be16(17) + b"\x08" + be16(h) + be16(w) + b"\x03" + b"\x01\x22\0\x02\x11\x01\x03\x11\x01"
        head = b"\xff\xd8" + app0 + sof
        return head + pad(head, size - len(head) - 2) + b"\xff\xd9"
    if kind in ("webp", "webp-lossless", "webp-extended"):
        if kind == "webp":
            body = b"\x10\x02\x00" + b"\x9d\x01\x2a" + le16(w & 0x3fff) + le16(h & 0x3fff)
            tag = b"VP8 "
        elif kind == "webp-lossless":
            body = b"\x2f" + le32((w - 1) | (h - 1) << 14)
            tag = b"VP8L"
        else:
            body = b"\x00\0\0\0" + le32(w - 1)[:3] + le32(h - 1)[:3]
            tag = b"VP8X"
        extra = pad(None, size - 20 - len(body))
        data = body + extra
        if len(data) % 2:
            data += b"\0"
        return b"RIFF" + le32(4 + 8 + len(data)) + b"WEBP" + tag + le32(len(data)) + data
    if kind in ("bmp", "bmp-topdown"):
        hh = -h if kind == "bmp-topdown" else h
        dib = le32(40) + struct.pack("<ii", w, hh) + le16(1) + le16(24) + le32(0) * 6
        head = b"BM" + le32(max(size, 54)) + le32(0) + le32(54) + dib
        return head + pad(head, size - len(head))
    if kind == "bmp-os2":
        head = b"BM" + le32(max(size, 26)) + le32(0) + le32(26) + le32(12) + le16(w) + le16(h) + le16(1) + le16(24)
        return head + pad(head, size - len(head))
    if kind == "gif":
        head = b"GIF89a" + le16(w) + le16(h) + b"\0\0\0"
        return head + pad(head, size - len(head) - 1) + b"\x3b"
    if kind in ("tiff", "tiff-be"):
        u16, u32 = (le16, le32) if kind == "tiff" else (be16, be32)
        typ = 3 if w < 65536 and h < 65536 else 4

        def entry(tag, v):
            val = u16(v) + b"\0\0" if typ == 3 else u32(v)
            return u16(tag) + u16(typ) + u32(1) + val
        ifd = u16(3) + u16(254) + u16(4) + u32(1) + u32(0) + entry(256, w) + entry(257, h) + u32(0)
        pixels = pad(None, size - 8 - len(ifd))
        return (b"II*\0" if kind == "tiff" else b"MM\0*") + u32(8 + len(pixels)) + pixels + ifd
    return None


def gen_data(rng, item_id):
    if item_id % 7 == 0:
        return None
    anns, datas = [], []
    w, h = SIZES[item_id % len(SIZES)]
    for k in range(rng.randint(0, 5)):
        tool = rng.choice(["bounding_box", "bounding_box", "polygon", "keypoint", "polyline"])
        aid = "a%d_%d" % (item_id, k)
        cls = {"class": rng.choice(CLASSES[tool])}
        if rng.random() < 0.3:
            cls["color"] = rng.choice(["red", "blue", "white"])
        anns.append({"id": aid, "tool": tool, "isLocked": False, "isVisible": True, "classification": cls})
        if tool == "bounding_box":
            x, y = rng.randint(0, w - 20), rng.randint(0, h - 20)
            coord = {"x": x, "y": y, "width": rng.randint(1, w - x), "height": rng.randint(1, h - y)}
        elif tool == "keypoint":
            coord = {"x": rng.randint(0, w - 1), "y": rng.randint(0, h - 1)}
        else:
            n = rng.randint(3, 6) if tool == "polygon" else rng.randint(2, 4)
            coord = [{"x": rng.randint(0, w - 1), "y": rng.randint(0, h - 1), "id": "%s-%d" % (aid, i)}
                     for i in range(n)]
        datas.append({"id": aid, "coordinate": coord})
    return {"annotations": {"image_1": anns}, "annotationsData": {"image_1": datas},
            "relations": {}, "annotationGroups": {}, "extra": {}}


def gen_file(base, item_id):
    w, h = SIZES[item_id % len(SIZES)]
    name = "img.jpg" if item_id % 5 == 0 else "frame_%05d.jpg" % item_id
    return {"url": "%s/media/item-%d.jpg" % (base, item_id), "file_name_original": name,
            "width": w, "height": h}


def configuration(shape, order):
    """A project configuration of CLASSES in one of the shapes a Synapse project can have."""
    cls = {k: (list(reversed(v)) if order == "reversed" else list(v)) for k, v in CLASSES.items()}
    if shape == "none":
        return None
    if shape == "empty":
        return {"classification": {}}
    if shape == "objects":
        return {"classification": {k: [{"code": c, "name": c.title()} for c in v] for k, v in cls.items()}}
    if shape == "schema":
        return {"classification": {k: {"classification_schema": [{"code": c, "name": c.title()} for c in v]}
                                   for k, v in cls.items()}}
    return {"classification": cls, "tools": [{"tool": k, "classes": v} for k, v in cls.items()]}


class Fault:
    """A fault on listing page P that fires K times (0: always)."""

    def __init__(self, spec):
        p, _, k = spec.partition(":")
        self.page = int(p)
        self.left = int(k) if k else 1
        self.always = k == "0"

    def fire(self, page):
        if page != self.page:
            return False
        if self.always:
            return True
        if self.left > 0:
            self.left -= 1
            return True
        return False


class State:
    def __init__(self, a):
        self.a = a
        self.items = a.items
        self.lock = threading.Lock()
        self.fail_left = a.fail_first
        self.flaky = {}
        self.cache = {}
        self.pages = {}
        self.pages_bytes = 0
        self.rng = random.Random(a.seed)
        self.grown = False
        self.faults = {}
        for name in ("slow_page", "cut_page", "bad_json_page", "html_page", "no_results_page", "not_found_page",
                     "reset_page"):
            v = getattr(a, name)
            self.faults[name] = Fault(v) if v else None
        self.logf = None
        if a.log:
            open(a.log, "w").close()  # truncated once; appended to, so that a test may truncate it too
            self.logf = open(a.log, "a", buffering=1)

    def fault(self, name, page):
        f = self.faults.get(name)
        if not f:
            return False
        with self.lock:
            return f.fire(page)

    def log(self, line):
        if self.logf:
            with self.lock:
                self.logf.write(line + "\n")


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "fake-synapse/1"

    def log_message(self, fmt, *args):
        pass

    def setup(self):
        super().setup()
        try:  # headers and body leave in one write; no Nagle stall either
            self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        except OSError:
            pass

    # -- helpers --
    def base(self):
        if self.path.startswith("http://") or self.path.startswith("https://"):
            u = urllib.parse.urlsplit(self.path)  # absolute form: we stand for a proxy
            return "%s://%s" % (u.scheme, u.netloc)
        return "%s://127.0.0.1:%d" % (self.server.scheme, self.server.server_address[1])

    def finish_log(self, status, enc="identity"):
        h = self.headers
        auth = "none"
        if h.get("Synapse-Access-Token"):
            auth = "synapse"
        elif h.get("Authorization"):
            auth = "authorization"
        self.server.st.log("%s %s %d auth=%s tenant=%s enc=%s host=%s conn=%d ua=%s" % (
            self.command, self.path, status, auth, "yes" if h.get("Synapse-Tenant") else "no", enc,
            h.get("Host") or "-", self.client_address[1], (h.get("User-Agent") or "-").replace(" ", "_")))

    def send(self, status, body, ctype="application/json", extra=None, compress=False, gz=None, tag=None):
        enc = "identity"
        if compress and "gzip" in (self.headers.get("Accept-Encoding") or ""):
            body = gz if gz is not None else gzip.compress(body, 1)
            enc = "gzip"
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        if enc != "identity":
            self.send_header("Content-Encoding", enc)
        for k, v in (extra or {}).items():
            self.send_header(k, v)
        self._headers_buffer.append(b"\r\n")
        if self.command != "HEAD":
            self._headers_buffer.append(body)
        self.finish_log(status, tag or enc)  # logged before the client can see the answer
        self.flush_headers()

    def send_json(self, status, obj, **kw):
        self.send(status, json.dumps(obj).encode(), **kw)

    def authorized(self):
        want = "Token " + self.server.st.a.token
        h = self.headers
        return h.get("Synapse-Access-Token") == want or h.get("Authorization") == want

    # -- dispatch --
    def do_GET(self):
        try:
            self.route()
        except (BrokenPipeError, ConnectionResetError):
            pass

    do_HEAD = do_GET

    def route(self):
        u = urllib.parse.urlsplit(self.path)
        q = urllib.parse.parse_qs(u.query, keep_blank_values=True)
        path = u.path
        if path.startswith("/media/"):
            return self.media(urllib.parse.unquote(path[len("/media/"):]), q, u)
        if not self.authorized():
            return self.send_json(401, {"detail": "Invalid token."})
        a = self.server.st.a
        moved = a.moved or a.moved_to
        if moved:
            prefix = a.moved if a.moved else urllib.parse.urlsplit(a.moved_to).path
            if not path.startswith(prefix + "/"):
                where = (a.moved if a.moved else a.moved_to) + path + ("?" + u.query if u.query else "")
                self.send_response(301)
                self.send_header("Location", where)
                self.send_header("Content-Length", "0")
                self._headers_buffer.append(b"\r\n")
                self.finish_log(301)
                self.flush_headers()
                return
            path = path[len(prefix):]
            u = u._replace(path=path)
        parts = [p for p in path.split("/") if p]
        if path == "/sdk/assignments/":
            return self.listing("assignment", q, u, "project")
        if path == "/sdk/tasks/":
            return self.listing("task", q, u, "project")
        if path == "/sdk/ground_truth_events/":
            return self.listing("ground_truth", q, u, "ground_truth_dataset_versions")
        if len(parts) == 2 and parts[0] == "projects" and parts[1].isdigit():
            pid = int(parts[1])
            if pid == 404 or pid >= 1000:
                return self.send_json(404, {"detail": "Not found."})
            proj = {"id": pid, "title": "project %d" % pid, "category": "image"}
            conf = configuration(self.server.st.a.config_shape, self.server.st.a.config_order)
            if conf is not None:
                proj["configuration"] = conf
            return self.send_json(200, proj)
        if len(parts) == 2 and parts[0] == "ground_truth_dataset_versions" and parts[1].isdigit():
            if parts[1] == "404":
                return self.send_json(404, {"detail": "Not found."})
            return self.send_json(200, {"id": int(parts[1]), "name": "v%s" % parts[1], "ground_truth_dataset": 1})
        return self.send_json(404, {"detail": "Not found."})

    def listing(self, target, q, u, required):
        st = self.server.st
        a = st.a
        if required not in q:
            return self.send_json(400, {"detail": "missing filter '%s'" % required})
        try:
            page = int(q.get("page", ["1"])[0])
            size = int(q.get("page_size", ["100"])[0])
        except ValueError:
            return self.send_json(404, {"detail": "Invalid page."})
        size = max(1, min(size, a.max_page_size))
        with st.lock:
            if st.fail_left > 0:
                st.fail_left -= 1
                failing = True
            else:
                failing = False
        if failing:
            extra = {"Retry-After": a.retry_after} if a.retry_after else None
            return self.send_json(a.fail_status, {"detail": "Service unavailable."}, extra=extra)
        if a.delay_ms:
            time.sleep(a.delay_ms / 1000.0)
        if st.fault("slow_page", page):
            time.sleep(a.slow_ms / 1000.0)
        if st.fault("reset_page", page):
            return self.reset()
        if st.fault("not_found_page", page):
            return self.send_json(404, {"detail": "Not found."})
        count = st.items
        pages = max(1, (count + size - 1) // size)
        if a.cursor:
            # DRF's CursorPagination ignores page: the cursor says where
            try:
                c = q.get("cursor", [""])[0]
                offset = int(base64.urlsafe_b64decode(c.encode()).decode().split("=", 1)[1]) if c else 0
            except (ValueError, IndexError, UnicodeDecodeError):
                return self.send_json(404, {"detail": "Invalid cursor"})
            page = offset // size + 1
        elif page < 1 or page > pages:
            return self.send_json(404, {"detail": "Invalid page."})
        chaos = None
        if a.chaos:
            with st.lock:
                if st.rng.random() * 100 < a.chaos:
                    chaos = st.rng.choice(["503", "429", "cut", "reset", "json", "html"])
        if chaos == "503":
            return self.send_json(503, {"detail": "Service unavailable."})
        if chaos == "429":
            return self.send_json(429, {"detail": "Slow down."}, extra={"Retry-After": "0"})
        if chaos == "reset":
            return self.reset()
        if chaos == "html" or st.fault("html_page", page):
            return self.send(200, b"<html><body><h1>Bad Gateway</h1></body></html>", ctype="text/html", tag="html")
        if chaos == "json" or st.fault("bad_json_page", page):
            return self.send(200, b'{"count": %d, "next": null, "results": [{"id": 1,' % count, tag="badjson")
        if st.fault("no_results_page", page):
            return self.send_json(200, {"count": count, "next": None, "previous": None}, tag="noresults")
        # a page is built (and compressed) once: the fake's own CPU must not
        # be what a benchmark measures; --delay-ms is the backend's latency
        key = (self.base(), self.path, count, a.foreign_next, self.headers.get("Host"))
        hit = st.pages.get(key)
        if hit:
            raw, gz = hit
        else:
            raw, gz = self.build_page(target, q, u, page, size, count, pages, key)
        if chaos == "cut" or st.fault("cut_page", page):
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(raw)))
            self.end_headers()
            self.wfile.write(raw[: len(raw) // 2])
            self.wfile.flush()
            self.finish_log(200, "cut")
            self.close_connection = True
            return
        self.grow(page)  # before the answer leaves: the client asks for the next pages at once
        self.send(200, raw, compress=True, gz=gz)

    def reset(self):
        """No answer: the connection is reset (RST, SO_LINGER 0)."""
        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.finish_log(0, "reset")
        self.close_connection = True
        self.wfile = io.BytesIO()  # nothing more is written to the socket

    def build_page(self, target, q, u, page, size, count, pages, key):
        st = self.server.st
        a = st.a
        first = (page - 1) * size + 1
        ids = range(first, min(count, page * size) + 1)
        expand = q.get("expand", [])
        results = [self.cached_record(target, i, q, expand) for i in ids]
        base = "http://evil.invalid:%d" % self.server.server_address[1] if a.foreign_next else self.base()
        if a.next_scheme or a.next_host:
            base = "%s://%s:%d" % (a.next_scheme or self.server.scheme, a.next_host or "127.0.0.1",
                                   self.server.server_address[1])
        if a.next_origin:
            base = a.next_origin
        if a.relative_next:
            base = ""
        path = (a.moved or urllib.parse.urlsplit(a.moved_to).path if (a.moved or a.moved_to) else "") + u.path

        def link(p):
            qq = dict(q)
            if a.cursor:  # the request's URL, the cursor replaced (DRF keeps the other parameters)
                qq["cursor"] = [base64.urlsafe_b64encode(("o=%d" % ((p - 1) * size)).encode()).decode()]
            else:
                qq["page"] = [str(p)]
            return "%s%s?%s" % (base, path, urllib.parse.urlencode(qq, doseq=True))

        head = {"count": count, "next": link(page + 1) if page < pages else None,
                "previous": link(page - 1) if page > 1 else None}
        if a.cursor:
            del head["count"]
        raw = (json.dumps(head)[:-1] + ', "results": [' + ", ".join(results) + "]}").encode()
        gz = gzip.compress(raw, 1)
        with st.lock:
            if st.pages_bytes < (256 << 20):
                st.pages[key] = (raw, gz)
                st.pages_bytes += len(raw) + len(gz)
        return raw, gz

    def grow(self, page):
        st = self.server.st
        a = st.a
        if a.grow_after_page and page == a.grow_after_page:
            with st.lock:
                if not st.grown:
                    st.grown = True
                    st.items += a.grow_by

    def cached_record(self, target, i, q, expand):
        """The JSON text of record i, generated once (benchmarks list 100,000 items)."""
        key = (target, i, self.base(), tuple(sorted((k, tuple(v)) for k, v in q.items() if k not in ("page", "page_size"))))
        cache = self.server.st.cache
        text = cache.get(key)
        if text is None:
            text = json.dumps(self.record(target, i, q, expand))
            if len(cache) < 400000:
                cache[key] = text
        return text

    def record(self, target, i, q, expand):
        base = self.base()
        rng = random.Random(self.server.st.a.seed * 1000003 + i)
        data = gen_data(rng, i)
        f = gen_file(base, i)
        k = self.server.st.a.media_404_every
        if k and i % k == 0:
            f["url"] += "?fault=404"   # an image the backend names and cannot give
        if target == "assignment":
            r = {"id": i, "project": int(q["project"][0]) if q["project"][0].isdigit() else q["project"][0],
                 "status": "completed", "file": f}
            if "data" in expand:
                r["data"] = data
            return r
        du = {"id": 10000 + i, "files": {"image_1": f, "image_2": gen_file(base, i + 500000)}, "meta": {}}
        r = {"id": i, "data": data}
        if target == "task":
            r["project"] = q["project"][0]
            r["data_unit"] = du if "data_unit" in expand else du["id"]
            r["assignment"] = {"id": 20000 + i} if "assignment" in expand else 20000 + i
            r["workshop"] = {"id": 1} if "workshop" in expand else 1
        else:
            r["ground_truth_dataset_version"] = q["ground_truth_dataset_versions"][0]
            r["project"] = self.server.st.a.gt_project
            r["data_unit"] = du if "data" in expand else du["id"]
        return r

    def media(self, name, q, u):
        st = self.server.st
        a = st.a
        if a.media_delay_ms:
            time.sleep(a.media_delay_ms / 1000.0)
        try:
            size = int(q.get("size", ["2048"])[0])
        except ValueError:
            size = 2048
        size = max(0, min(size, 256 << 20))
        fault = q.get("fault", [""])[0]
        if fault == "404":
            return self.send_json(404, {"detail": "Not found."})
        if fault == "500":
            return self.send(500, b"<html>Internal Server Error</html>", ctype="text/html")
        if fault == "slow":
            time.sleep(int(q.get("delay_ms", ["1000"])[0]) / 1000.0)
        if fault == "flaky":
            key = self.path
            with st.lock:
                n = st.flaky.get(key, 0)
                st.flaky[key] = n + 1
            if n < int(q.get("fails", ["1"])[0]):
                return self.send_json(503, {"detail": "Service unavailable."})
        body = None
        if "kind" in q:
            try:
                w, h = int(q.get("w", ["64"])[0]), int(q.get("h", ["48"])[0])
                body = image_header(q["kind"][0], w, h, name, size if "size" in q else 0)
            except (ValueError, struct.error):
                body = None
            if body is None:
                return self.send_json(400, {"detail": "bad kind, w or h"})
            size = len(body)
        else:
            body = media_bytes(name, size)
        status, extra = 200, {"Accept-Ranges": "bytes"}
        rng = self.headers.get("Range")
        if rng and rng.startswith("bytes=") and rng.endswith("-") and rng[6:-1].isdigit():
            start = int(rng[6:-1])
            if start >= size and size > 0:
                return self.send(416, b"", ctype="text/plain", extra={"Content-Range": "bytes */%d" % size})
            body = body[start:]
            status = 206
            extra["Content-Range"] = "bytes %d-%d/%d" % (start, size - 1, size)
        if fault == "cut":
            self.send_response(status)
            self.send_header("Content-Type", "application/octet-stream")
            self.send_header("Content-Length", str(len(body)))
            for k, v in extra.items():
                self.send_header(k, v)
            self.end_headers()
            self.wfile.write(body[: len(body) // 2])
            self.wfile.flush()
            self.finish_log(status, "cut")
            self.close_connection = True
            return
        self.send(status, body, ctype="application/octet-stream", extra=extra)


class Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128  # listen() backlog: --jobs N connections arrive at once


def main():
    p = argparse.ArgumentParser(description="fake Synapse backend for sx tests")
    p.add_argument("--port", type=int, default=0)
    p.add_argument("--items", type=int, default=250)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--token", default="fake-token")
    p.add_argument("--delay-ms", type=int, default=0, help="added to every listing page")
    p.add_argument("--media-delay-ms", type=int, default=0)
    p.add_argument("--media-404-every", type=int, default=0, help="every K-th item's image answers 404")
    p.add_argument("--fail-first", type=int, default=0)
    p.add_argument("--fail-status", type=int, default=503)
    p.add_argument("--retry-after", default=None)
    p.add_argument("--slow-page")
    p.add_argument("--slow-ms", type=int, default=3000)
    p.add_argument("--cut-page")
    p.add_argument("--bad-json-page")
    p.add_argument("--html-page")
    p.add_argument("--no-results-page")
    p.add_argument("--not-found-page")
    p.add_argument("--reset-page", help="reset the connection instead of answering page P")
    p.add_argument("--grow-after-page", type=int, default=0)
    p.add_argument("--grow-by", type=int, default=37)
    p.add_argument("--foreign-next", action="store_true")
    p.add_argument("--relative-next", action="store_true", help="next and previous as paths, no host")
    p.add_argument("--next-origin", help="origin written in next and previous links")
    p.add_argument("--next-scheme", help="scheme written in next and previous links (this port)")
    p.add_argument("--next-host", help="host name written in next and previous links (this port)")
    p.add_argument("--cursor", action="store_true", help="DRF cursor pagination (no count, page ignored)")
    p.add_argument("--moved", default="", help="path prefix every request is redirected (301) under")
    p.add_argument("--moved-to", default="", help="absolute URL prefix every request is redirected to")
    p.add_argument("--gt-project", type=int, default=1, help="project of the ground-truth events")
    p.add_argument("--config-shape", default="list", choices=["list", "objects", "schema", "empty", "none"])
    p.add_argument("--config-order", default="given", choices=["given", "reversed"])
    p.add_argument("--max-page-size", type=int, default=1000, help="DRF's max_page_size")
    p.add_argument("--chaos", type=float, default=0, help="percent of listing answers that fail at random")
    p.add_argument("--log")
    p.add_argument("--tls-cert", help="serve HTTPS with this certificate (PEM)")
    p.add_argument("--tls-key", help="and this key (PEM)")
    p.add_argument("--print-media", nargs=2, metavar=("NAME", "SIZE"))
    a = p.parse_args()
    if a.print_media:
        sys.stdout.buffer.write(media_bytes(a.print_media[0], int(a.print_media[1])))
        return
    srv = Server(("127.0.0.1", a.port), Handler)
    srv.st = State(a)
    srv.scheme = "http"
    if a.tls_cert:
        import ssl
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(a.tls_cert, a.tls_key)
        srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
        srv.scheme = "https"
    print(srv.server_address[1], flush=True)
    try:
        srv.serve_forever(poll_interval=0.2)
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
