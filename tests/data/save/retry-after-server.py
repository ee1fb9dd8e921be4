#!/usr/bin/env python3
"""retry-after-server.py SECONDS: a one-purpose HTTP server for the sx-save
tests (the fake backend's media endpoint sends no Retry-After): the first
request answers 503 with `Retry-After: SECONDS`, later ones 200 with "ok".
Prints its port first."""
import sys
from http.server import BaseHTTPRequestHandler, HTTPServer

calls = 0


class H(BaseHTTPRequestHandler):
    def do_GET(self):
        global calls
        calls += 1
        if calls == 1:
            body = b"busy"
            self.send_response(503)
            self.send_header("Retry-After", sys.argv[1])
        else:
            body = b"ok"
            self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *a):
        pass


srv = HTTPServer(("127.0.0.1", 0), H)
print(srv.server_address[1], flush=True)
srv.serve_forever()
