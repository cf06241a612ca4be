"""A real HTTP server on 127.0.0.1 for the download tests: byte ranges (ffmpeg seeks in mp4 files
over HTTP), plus the failures the network gives: 404, HTML where an archive was expected, a
truncated body, a stalled connection. It counts requests per path so a test can see what a
rerun fetched."""
from __future__ import annotations

import collections
import re
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Route:
    def __init__(self, body: bytes = b"", content_type: str = "application/octet-stream", status: int = 200,
                 truncate_at: int | None = None, stall_s: float = 0.0):
        self.body, self.content_type, self.status = body, content_type, status
        self.truncate_at, self.stall_s = truncate_at, stall_s


class LoopbackServer:
    """`with LoopbackServer() as srv: srv.routes['/a.mp4'] = Route(data); srv.url('/a.mp4')`."""

    def __init__(self):
        self.routes: dict[str, Route] = {}
        self.hits: collections.Counter = collections.Counter()
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_HEAD(self):
                self._serve(head=True)

            def do_GET(self):
                self._serve(head=False)

            def _serve(self, head: bool):
                path = self.path.split("?")[0]
                server.hits[path] += 1
                route = server.routes.get(path)
                if route is None or route.status == 404:
                    return self._plain(404, b"not found", head)
                if route.status != 200:
                    return self._plain(route.status, b"error", head)
                body, start, status = route.body, 0, 200
                m = re.match(r"bytes=(\d+)-(\d*)", self.headers.get("Range", ""))
                if m:
                    start = int(m.group(1))
                    end = int(m.group(2)) if m.group(2) else len(body) - 1
                    body, status = body[start:end + 1], 206
                self.send_response(status)
                self.send_header("Content-Type", route.content_type)
                self.send_header("Content-Length", str(len(body)))
                self.send_header("Accept-Ranges", "bytes")
                if status == 206:
                    self.send_header("Content-Range", f"bytes {start}-{start + len(body) - 1}/{len(route.body)}")
                self.end_headers()
                if head:
                    return
                if route.stall_s:
                    self.wfile.write(body[:1024])
                    self.wfile.flush()
                    time.sleep(route.stall_s)
                    self.close_connection = True
                    return
                if route.truncate_at is not None:
                    cut = max(0, route.truncate_at - start)
                    self.wfile.write(body[:cut])
                    self.wfile.flush()
                    self.close_connection = True
                    return
                self.wfile.write(body)

            def _plain(self, status: int, body: bytes, head: bool):
                self.send_response(status)
                self.send_header("Content-Type", "text/plain")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if not head:
                    self.wfile.write(body)

        class Server(ThreadingHTTPServer):
            def handle_error(self, request, client_address):
                pass  # clients hanging up mid-body (ffmpeg does when it has enough) are expected here

        self.httpd = Server(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def url(self, path: str) -> str:
        return self.base + path

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.httpd.shutdown()
        self.httpd.server_close()
