#!/usr/bin/env python3
"""fetch_server.py - the web server llm-fetch's tests crawl (standard library only).

    python3 tests/fetch_server.py DATA_DIR PORT_FILE LOG_FILE [IDLE_SECONDS]

Binds 127.0.0.1 on a free port, writes the port number to PORT_FILE, logs
every request to LOG_FILE ("TIME METHOD PATH|User-Agent|If-None-Match|
If-Modified-Since", one a line, flushed at once) and exits by itself after
IDLE_SECONDS (default 20) without a request, or after 120 seconds in all.
Log lines start with the Unix time of the request.
It never connects anywhere.

DATA_DIR is ../shared/data: pages are real ones from html/trafilatura.
Paths (the query string only makes a path distinct, for per-test state):

  /robots.txt         groups for another bot, for "llm-fetch", for "slowbot"
                      (Crawl-delay: 0.6, nothing disallowed) and for "*"
  /page/NAME          html/trafilatura/{cache,eval}/NAME as UTF-8 HTML
  /private/...        disallowed for llm-fetch by robots.txt
  /private/open       allowed again by a longer Allow rule
  /etag               a page with ETag and Last-Modified; 304 when the
                      request's If-None-Match matches
  /flaky              500 on the first request, then the page
  /busy               429 with Retry-After: 1 on the first request, then the page
  /missing            404
  /stall              sends headers, then nothing for 30 seconds
  /loop               redirects to /loop2, which redirects back
  /redirect           301 to /page/blog.python.org.html
  /big                200 with a 3 MB text/plain body
  /image              200 image/png
  /latin1             cdu-fraktion-erfurt.de.waldorfschule.html, a real
                      ISO-8859-1 page, charset in the Content-Type header
  /sjis-meta          nhk.or.jp.k100.html re-encoded as Shift_JIS, charset
                      only in its <meta>
  /sjis-bare          the same with no charset anywhere
  /hits               JSON: requests so far per path
"""
import http.server
import json
import os
import re
import sys
import threading
import time

ROBOTS = b"""# robots.txt for the llm-fetch tests
User-agent: otherbot
Disallow: /

User-agent: llm-fetch
Disallow: /private/
Allow: /private/open
Crawl-delay: 0

User-agent: slowbot
Crawl-delay: 0.6

User-agent: *
Disallow: /
"""

ETAG = '"v1-abc"'
LAST_MODIFIED = "Wed, 01 May 2024 12:00:00 GMT"


class State:
    def __init__(self, data, log):
        self.data = data
        self.log = open(log, "a", buffering=1, encoding="utf-8")
        self.hits = {}
        self.lock = threading.Lock()
        self.last = time.time()

    def page(self, name):
        for sub in ("cache", "eval"):
            p = os.path.join(self.data, "html", "trafilatura", sub, os.path.basename(name))
            if os.path.exists(p):
                with open(p, "rb") as f:
                    return f.read()
        return None


def sjis(page, keep_meta):
    """A UTF-8 page re-encoded as Shift_JIS, its meta charset rewritten or removed."""
    text = page.decode("utf-8")
    meta = re.compile(r'<meta[^>]*charset[^>]*>', re.I)
    text = meta.sub('<meta charset="Shift_JIS">' if keep_meta else "", text)
    return text.encode("shift_jis", errors="replace")


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "llmkit-test"

    def log_message(self, *args):
        pass

    def send(self, code, body, ctype="text/html; charset=utf-8", headers=()):
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for k, v in headers:
            self.send_header(k, v)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def do_GET(self):
        st = self.server.state
        with st.lock:
            st.last = time.time()
            n = st.hits.get(self.path, 0) + 1
            st.hits[self.path] = n
            st.log.write("%.3f %s %s|%s|%s|%s\n" % (
                time.time(), self.command, self.path, self.headers.get("User-Agent", ""),
                self.headers.get("If-None-Match", ""),
                self.headers.get("If-Modified-Since", "")))
        path = self.path.split("?", 1)[0]
        article = st.page("blog.python.org.html")
        if path == "/robots.txt":
            self.send(200, ROBOTS, "text/plain")
        elif path == "/hits":
            with st.lock:
                body = json.dumps(st.hits).encode()
            self.send(200, body, "application/json")
        elif path.startswith("/page/"):
            page = st.page(path[len("/page/"):])
            if page is None:
                self.send(404, b"<html><body>no such page</body></html>")
            else:
                self.send(200, page)
        elif path.startswith("/private/"):
            self.send(200, article)
        elif path == "/etag":
            if self.headers.get("If-None-Match") == ETAG:
                self.send_response(304)
                self.send_header("ETag", ETAG)
                self.send_header("Content-Length", "0")
                self.end_headers()
            else:
                self.send(200, article, headers=[("ETag", ETAG), ("Last-Modified", LAST_MODIFIED)])
        elif path == "/flaky":
            if n == 1:
                self.send(500, b"<html><body>try again</body></html>")
            else:
                self.send(200, article)
        elif path == "/busy":
            if n == 1:
                self.send(429, b"slow down", "text/plain", [("Retry-After", "1")])
            else:
                self.send(200, article)
        elif path == "/missing":
            self.send(404, b"<html><body>not here</body></html>")
        elif path == "/stall":
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", "100000")
            self.end_headers()
            self.wfile.write(b"<html><body><p>")
            self.wfile.flush()
            time.sleep(30)
        elif path in ("/loop", "/loop2"):
            to = "/loop2" if path == "/loop" else "/loop"
            query = self.path[len(path):]
            self.send(302, b"", "text/plain", [("Location", to + query)])
        elif path == "/redirect":
            self.send(301, b"", "text/plain", [("Location", "/page/blog.python.org.html")])
        elif path == "/big":
            line = b"All work and no play makes Jack a dull boy.\n"
            self.send(200, line * (3 * 1024 * 1024 // len(line)), "text/plain; charset=utf-8")
        elif path == "/image":
            self.send(200, b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 64, "image/png")
        elif path == "/latin1":
            page = st.page("cdu-fraktion-erfurt.de.waldorfschule.html")
            self.send(200, page, "text/html; charset=ISO-8859-1")
        elif path in ("/sjis-meta", "/sjis-bare"):
            page = sjis(st.page("nhk.or.jp.k100.html"), path == "/sjis-meta")
            self.send(200, page, "text/html")
        else:
            self.send(404, b"<html><body>unknown</body></html>")

    do_HEAD = do_GET


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):
        # Clients hang up on purpose here (timeouts, refused types).
        if not isinstance(sys.exc_info()[1], (ConnectionError, TimeoutError)):
            super().handle_error(request, client_address)


def main():
    if len(sys.argv) < 4:
        sys.exit(__doc__)
    data, port_file, log = sys.argv[1:4]
    idle = float(sys.argv[4]) if len(sys.argv) > 4 else 20.0
    srv = Server(("127.0.0.1", 0), Handler)
    srv.state = State(data, log)
    with open(port_file + ".tmp", "w") as f:
        f.write("%d\n" % srv.server_address[1])
    os.rename(port_file + ".tmp", port_file)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    start = time.time()
    while time.time() - srv.state.last < idle and time.time() - start < 120:
        time.sleep(0.2)
    srv.shutdown()


if __name__ == "__main__":
    main()
