"""A fault-injecting HTTP proxy on 127.0.0.1, in front of the emulator's S3.

Point a client's ``AWS_ENDPOINT_URL_S3`` at it: every request is forwarded to the
emulator, except a seeded share that gets one of S3's bad days instead:

* ``slowdown``: ``503 SlowDown`` (S3's throttling answer), nothing forwarded;
* ``reset``: the connection is reset (RST) before anything is forwarded;
* ``lost_response``: forwarded (the write happened), then the connection is closed
  without an answer - the client cannot know it worked;
* ``truncated``: a GET answered with its full Content-Length but half the body;
* ``slow``: forwarded after a delay (0.2-1 s).
"""

from __future__ import annotations

import http.client
import random
import socket
import struct
import sys
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

FAULTS = ("slowdown", "reset", "lost_response", "truncated", "slow")
_SLOWDOWN = (
    b'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>SlowDown</Code>'
    b"<Message>Please reduce your request rate.</Message></Error>"
)
_INTERNAL = (
    b'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>InternalError</Code>'
    b"<Message>We encountered an internal error. Please try again.</Message></Error>"
)
_HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "proxy-connection"}


class _Server(ThreadingHTTPServer):
    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client killed mid-request (the worker is SIGKILLed on purpose) is expected.
        error = sys.exc_info()[1]
        if not isinstance(error, (ConnectionError, TimeoutError)):
            super().handle_error(request, client_address)


class FaultProxy:
    def __init__(
        self, upstream: str, rate: float, seed: int = 6, faults: tuple[str, ...] = FAULTS
    ) -> None:
        parts = urlsplit(upstream)
        self.upstream = (parts.hostname or "127.0.0.1", parts.port or 80)
        self.rate = rate
        self.faults = faults  # the kinds to inject (all of FAULTS by default)
        self.enabled = True
        self.counts: Counter[str] = Counter()
        self._random = random.Random(seed)
        self._lock = threading.Lock()
        self._server = _Server(("127.0.0.1", 0), self._handler_class())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> FaultProxy:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5)

    def choose(self, method: str) -> str:
        with self._lock:
            self.counts["requests"] += 1
            if not self.enabled or self._random.random() >= self.rate:
                return "pass"
            fault = self._random.choice(self.faults)
            if fault == "truncated" and method != "GET":
                fault = "lost_response"
            self.counts[fault] += 1
            return fault

    def count(self, what: str) -> None:
        with self._lock:
            self.counts[what] += 1

    def delay(self) -> float:
        with self._lock:
            return self._random.uniform(0.2, 1.0)

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        """The request handler, bound to this proxy."""
        return type("Handler", (_Handler,), {"proxy": self})


class _Handler(BaseHTTPRequestHandler):
    """One request through the proxy: the fault :attr:`proxy` chose for it, or the
    upstream's answer relayed."""

    protocol_version = "HTTP/1.1"
    proxy: FaultProxy  # set per proxy by FaultProxy._handler_class

    def log_message(self, format: str, *args: Any) -> None:
        return

    def _body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            data = b""
            while True:
                size = int(self.rfile.readline().split(b";")[0], 16)
                if size == 0:
                    self.rfile.readline()
                    return data
                data += self.rfile.read(size)
                self.rfile.readline()
        return self.rfile.read(int(self.headers.get("Content-Length") or 0))

    def _reset(self) -> None:
        # SO_LINGER 0: close() sends RST, as a dropped connection does.
        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.close_connection = True

    def _forward(self, body: bytes) -> tuple[int, list[tuple[str, str]], bytes]:
        upstream = http.client.HTTPConnection(*self.proxy.upstream, timeout=60)
        try:
            headers = {k: v for k, v in self.headers.items() if k.lower() not in _HOP_BY_HOP}
            if body or self.command in ("PUT", "POST"):
                headers["Content-Length"] = str(len(body))
            upstream.request(self.command, self.path, body=body, headers=headers)
            response = upstream.getresponse()
            data = response.read()
            return response.status, response.getheaders(), data
        finally:
            upstream.close()

    def _handle(self) -> None:
        body = self._body()
        fault = self.proxy.choose(self.command)
        if fault == "reset":
            self._reset()
            return
        if fault == "slowdown":
            self._error(503, _SLOWDOWN)
            return
        if fault == "slow":
            time.sleep(self.proxy.delay())
        try:
            status, headers, data = self._forward(body)
        except OSError:
            # The emulator itself failed (overloaded): say so as S3 would, and
            # count it apart from the injected faults.
            self.proxy.count("upstream_error")
            self._error(500, _INTERNAL)
            return
        if fault == "lost_response":
            self._reset()
            return
        self._relay(status, headers, data, truncated=fault == "truncated")

    def _error(self, status: int, body: bytes) -> None:
        """An S3 error answer (XML body), nothing forwarded."""
        self.send_response(status)
        self.send_header("Content-Type", "application/xml")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _relay(
        self, status: int, headers: list[tuple[str, str]], data: bytes, *, truncated: bool
    ) -> None:
        """The upstream's answer; ``truncated``: half the body, then a reset."""
        self.send_response(status)
        for name, value in headers:
            lower = name.lower()
            if lower in _HOP_BY_HOP or (lower == "content-length" and self.command != "HEAD"):
                continue
            self.send_header(name, value)
        if self.command != "HEAD":
            self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if self.command == "HEAD":
            return
        if truncated and len(data) > 64:
            self.wfile.write(data[: len(data) // 2])
            self.wfile.flush()
            self._reset()
            return
        self.wfile.write(data)

    do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = _handle
