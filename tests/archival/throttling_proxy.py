"""A tiny HTTP proxy in front of moto that answers some requests with an error instead,
or forwards them without some headers."""

from __future__ import annotations

import http.client
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlparse

from ontology.archival.sinks import PROBE_KEY

SLOW_DOWN = (
    b'<?xml version="1.0" encoding="UTF-8"?><Error><Code>SlowDown</Code>'
    b"<Message>Please reduce your request rate.</Message></Error>"
)
ACCESS_DENIED = (
    b'<?xml version="1.0" encoding="UTF-8"?><Error><Code>AccessDenied</Code>'
    b"<Message>Access Denied</Message></Error>"
)


class Faults:
    """Answer the next ``count`` requests of ``method`` with ``status`` and ``body``.

    Requests for the sink's create-only probe (``S3Sink.check``) are never faulted:
    the faults are meant for the archive objects."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.method = ""
        self.count = 0
        self.status = 503
        self.body = SLOW_DOWN
        self.injected = 0

    def arm(self, method: str, count: int, status: int = 503, body: bytes = SLOW_DOWN) -> None:
        with self.lock:
            self.method, self.count, self.status, self.body = method, count, status, body

    def take(self, method: str, path: str) -> tuple[int, bytes] | None:
        if PROBE_KEY in path:
            return None
        with self.lock:
            if method == self.method and self.count > 0:
                self.count -= 1
                self.injected += 1
                return self.status, self.body
        return None


@contextmanager
def throttling_proxy(
    target: str, drop_headers: frozenset[str] = frozenset()
) -> Iterator[tuple[str, Faults]]:
    """A proxy to ``target``; ``drop_headers`` (lower case) are not forwarded, as a store
    that ignores them would behave."""
    upstream = urlparse(target)
    faults = Faults()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: object) -> None:
            return

        def _handle(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            fault = faults.take(self.command, self.path)
            if fault is not None:
                status, payload = fault
                self.send_response(status)
                self.send_header("Content-Type", "application/xml")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)
                return
            connection = http.client.HTTPConnection(upstream.hostname, upstream.port, timeout=30)
            dropped = {"host", *drop_headers}
            headers = {k: v for k, v in self.headers.items() if k.lower() not in dropped}
            headers["Host"] = upstream.netloc
            connection.request(self.command, self.path, body=body, headers=headers)
            response = connection.getresponse()
            data = response.read()
            self.send_response(response.status)
            for name, value in response.getheaders():
                if name.lower() not in ("content-length", "transfer-encoding", "connection"):
                    self.send_header(name, value)
            length = response.getheader("Content-Length") if self.command == "HEAD" else None
            self.send_header("Content-Length", length or str(len(data)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(data)
            connection.close()

        do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = _handle

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", faults
    finally:
        server.shutdown()
        server.server_close()
