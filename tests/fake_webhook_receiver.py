"""A department's webhook receiver on 127.0.0.1 for tests: records what it gets, fails when told to."""
from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Receiver:
    url: str = ""
    script: list[int] = field(default_factory=list)  # per call: the status to answer; then 204
    always: int | None = None  # answer this to every call (e.g. 500: a receiver that is down)
    calls: list[tuple[dict[str, str], bytes]] = field(default_factory=list)  # every request: headers, body
    accepted: list[tuple[dict[str, str], bytes]] = field(default_factory=list)  # those answered 2xx

    def next_status(self) -> int:
        if self.always is not None:
            return self.always
        return self.script.pop(0) if self.script else 204


@contextmanager
def running(receiver: Receiver) -> Iterator[Receiver]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - http.server's name
            body = self.rfile.read(int(self.headers.get("content-length") or 0))
            headers = {k.lower(): v for k, v in self.headers.items()}
            status = receiver.next_status()
            receiver.calls.append((headers, body))
            if 200 <= status < 300:
                receiver.accepted.append((headers, body))
            self.send_response(status)
            if status == 429:
                self.send_header("Retry-After", "30")
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    receiver.url = f"http://127.0.0.1:{server.server_port}/shenhou/events"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield receiver
    finally:
        server.shutdown()
        server.server_close()
