"""A fault-injecting HTTP proxy on 127.0.0.1 in front of the local object store.

Each request is forwarded as it is; a ``plan`` decides, per request, whether the
answer is spoiled instead:
  ``slowdown``  503 SlowDown, as S3 throttles (botocore retries it),
  ``reset``     the headers and half the body, then a TCP reset,
  ``stall``     nothing for ``stall_seconds``, then the true answer,
  ``trickle``   the headers, then the body a few bytes at a time, each within any read timeout.
"""

from __future__ import annotations

import collections
import http.client
import socket
import struct
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Callable

SLOWDOWN_BODY = (b'<?xml version="1.0" encoding="UTF-8"?><Error><Code>SlowDown</Code>'
                 b"<Message>Please reduce your request rate.</Message></Error>")

# method, path, and how many times this method and path were asked before -> a fault or None.
Plan = Callable[[str, str, int], "str | None"]


class FaultProxy:
    """Use as a context manager; ``endpoint_url`` is the proxy, ``faults`` counts what it injected."""

    def __init__(self, upstream_port: int, plan: Plan, *, stall_seconds: float = 5.0):
        self.plan = plan
        self.faults: collections.Counter = collections.Counter()
        self.requests = 0
        self._seen: collections.Counter = collections.Counter()
        self._lock = threading.Lock()
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args) -> None:
                pass

            def _forward(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                with proxy._lock:
                    proxy.requests += 1
                    key = (self.command, self.path.split("?", 1)[0])
                    fault = proxy.plan(self.command, self.path, proxy._seen[key])
                    proxy._seen[key] += 1
                    if fault:
                        proxy.faults[fault] += 1
                if fault == "slowdown":
                    self.send_response(503)
                    self.send_header("Content-Type", "application/xml")
                    self.send_header("Content-Length", str(len(SLOWDOWN_BODY)))
                    self.end_headers()
                    self.wfile.write(SLOWDOWN_BODY)
                    return
                if fault == "stall":
                    time.sleep(stall_seconds)
                upstream = http.client.HTTPConnection("127.0.0.1", upstream_port, timeout=30)
                # As sent, Host included: the store checks the request's signature, which covers it.
                headers = dict(self.headers.items())
                upstream.request(self.command, self.path, body=body or None, headers=headers)
                answer = upstream.getresponse()
                data = answer.read()
                upstream.close()
                self.send_response(answer.status)
                for name, value in answer.getheaders():
                    if name.lower() not in ("transfer-encoding", "connection", "content-length", "server", "date"):
                        self.send_header(name, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                if fault == "trickle":
                    try:
                        for start in range(0, len(data), 64):
                            self.wfile.write(data[start:start + 64])
                            self.wfile.flush()
                            time.sleep(0.2)
                    except (BrokenPipeError, ConnectionResetError):
                        pass  # the reader gave up
                    self.close_connection = True
                    return
                if fault == "reset" and len(data) > 1:
                    self.wfile.write(data[:len(data) // 2])
                    self.wfile.flush()
                    # SO_LINGER 0: close sends a TCP reset, as a dropped connection does.
                    self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                    self.close_connection = True
                    return
                if self.command != "HEAD":
                    self.wfile.write(data)

            do_GET = do_HEAD = do_PUT = do_POST = do_DELETE = _forward

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.endpoint_url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, name="fault-proxy", daemon=True)

    def __enter__(self) -> "FaultProxy":
        self._thread.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self._server.shutdown()
        self._server.server_close()
