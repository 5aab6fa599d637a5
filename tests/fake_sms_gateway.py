"""A small SMS gateway on 127.0.0.1 for tests: it can fail, hang, and rate-limit, like a real one."""
from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Gateway:
    url: str = ""
    key: str = "test-gateway-key"
    script: list[str] = field(default_factory=list)  # per call: "ok" | "500" | "hang" | "429"; then "ok"
    hang_seconds: float = 2.0
    calls: list[dict[str, Any]] = field(default_factory=list)
    delivered: list[dict[str, Any]] = field(default_factory=list)

    def next_action(self) -> str:
        return self.script.pop(0) if self.script else "ok"


@contextmanager
def running(gateway: Gateway) -> Iterator[Gateway]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - http.server's name
            body = json.loads(self.rfile.read(int(self.headers.get("content-length") or 0)) or b"{}")
            authorised = self.headers.get("authorization") == f"Bearer {gateway.key}"
            gateway.calls.append(body)
            action = gateway.next_action() if authorised else "401"
            if action == "hang":
                time.sleep(gateway.hang_seconds)
                return
            status = {"ok": 200, "500": 500, "429": 429, "401": 401}[action]
            if status == 200:
                gateway.delivered.append({**body, "_at": time.time()})
            self.send_response(status)
            if status == 429:
                self.send_header("Retry-After", "30")
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(b'{"ok": %s}' % (b"true" if status == 200 else b"false"))

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    gateway.url = f"http://127.0.0.1:{server.server_port}/sms/send"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield gateway
    finally:
        server.shutdown()
        server.server_close()
