"""Public pages rendered once per content version, answered from memory, revalidated by ETag.

Home, 政策咨询 and its articles and search results are the same for every visitor who brings no
cookie (no session, no 长辈版): they depend on the templates, the static files' version and the
policy knowledge base in the database. This middleware keeps the finished response of such a
request (status 200, HTML, no Set-Cookie) under (path, query, htmx or not), tagged with the
content version, and answers the next one without a session, a thread-pool hop or a render:

* `ETag` = content version + a hash of the body; `If-None-Match` that matches gets a 304.
* `Cache-Control: public, no-cache` (a browser or proxy keeps it and asks again each time, so a
  content change shows at once) and `Vary: Cookie, HX-Request, Accept-Encoding`.
* gzip and brotli copies are made once per entry (portal.web.compression's codecs).

The content version is the knowledge base's fingerprint (portal.services.policies), read from
the database at most every `REFRESH_SECONDS`, so several workers and machines follow one
database; the China date is part of it, because the guide's dates move with the day.
A hit spends no throttle unit (policy search): it costs nothing. Entries are bounded (LRU).
"""
from __future__ import annotations

import hashlib
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy.exc import SQLAlchemyError
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from portal.domain import clock
from portal.services.policies import content_version
from portal.web.common import Services
from portal.web.compression import encode, negotiate

#: Paths whose anonymous GET is cached: the home page and the knowledge base (not the guide,
#: the plan or its .ics: they answer personal questions and are computed per query).
CACHED_EXACT = frozenset({"/", "/policy", "/policy/search"})
NOT_CACHED = frozenset({"/policy/guide", "/policy/guide/result", "/policy/plan", "/policy/plan.ics"})
REFRESH_SECONDS = 2.0
MAX_ENTRIES = 512
MAX_BODY = 512 * 1024
CACHE_CONTROL = b"public, no-cache"
VARY = b"Cookie, HX-Request, Accept-Encoding"


def version_reader(svc: Services) -> Callable[[], str]:
    """The content version: the knowledge base's digest and the China date."""
    def read() -> str:
        with svc.db() as session:
            return f"{content_version(session)}-{clock.today():%Y%m%d}"
    return read


def cacheable_path(path: str) -> bool:
    if path in CACHED_EXACT:
        return True
    return path.startswith("/policy/") and path not in NOT_CACHED and path.count("/") == 2


@dataclass
class Entry:
    version: str
    status: int
    headers: list[tuple[bytes, bytes]]  # without content-length, content-encoding, cache-control, vary, etag
    body: bytes
    etag: bytes
    encoded: dict[str, bytes] = field(default_factory=dict)

    def body_for(self, coding: str | None) -> bytes:
        if coding is None:
            return self.body
        if coding not in self.encoded:
            self.encoded[coding] = encode(self.body, coding)
        return self.encoded[coding]


class PublicPageCache:
    """ASGI middleware; `version` returns the content version (sync, may read the database)."""

    def __init__(self, app: ASGIApp, *, version: Callable[[], str], max_entries: int = MAX_ENTRIES,
                 refresh_seconds: float = REFRESH_SECONDS) -> None:
        self.app = app
        self.read_version = version
        self.max_entries = max_entries
        self.refresh = refresh_seconds
        self.entries: OrderedDict[tuple[str, bytes, bool], Entry] = OrderedDict()
        self._version = ""
        self._checked = -1e9

    async def version(self) -> str:
        now = time.monotonic()
        if now - self._checked >= self.refresh:
            self._checked = now  # one reader at a time is enough; others use the current value
            try:
                self._version = await run_in_threadpool(self.read_version)
            except SQLAlchemyError:
                # The database is away: keep answering with what is known, ask again next request.
                self._checked = now - self.refresh
                if not self._version:
                    raise
        return self._version

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "GET" or not cacheable_path(scope["path"]):
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        if "cookie" in headers or "authorization" in headers:
            await self.app(scope, receive, send)
            return
        key = (scope["path"], scope.get("query_string", b""), headers.get("hx-request") == "true")
        version = await self.version()
        entry = self.entries.get(key)
        if entry is not None and entry.version == version:
            self.entries.move_to_end(key)
            await self._answer(entry, headers, send)
            return
        entry = await self._render(scope, receive, send, version)
        if entry is not None:
            self.entries[key] = entry
            self.entries.move_to_end(key)
            while len(self.entries) > self.max_entries:
                self.entries.popitem(last=False)
            await self._answer(entry, headers, send)

    async def _render(self, scope: Scope, receive: Receive, send: Send, version: str) -> Entry | None:
        """Run the page without compression; keep it if it may be shared, else pass it on as it is."""
        inner = dict(scope)
        inner["headers"] = [(k, v) for k, v in scope["headers"] if k not in (b"accept-encoding", b"if-none-match")]
        start: Message | None = None
        chunks: list[bytes] = []
        passing = False

        async def capture(message: Message) -> None:
            nonlocal start, passing
            if passing:
                await send(message)
                return
            if message["type"] == "http.response.start":
                start = message
                return
            if message["type"] != "http.response.body":  # e.g. the test client's http.response.debug
                await send(message)
                return
            chunks.append(message.get("body", b""))
            if message.get("more_body", False) and sum(map(len, chunks)) <= MAX_BODY:
                return
            if not message.get("more_body", False) and _shareable(start):
                return
            passing = True  # not for sharing (or too large): send what was held, then the rest
            assert start is not None
            await send(start)
            await send({"type": "http.response.body", "body": b"".join(chunks),
                        "more_body": message.get("more_body", False)})

        await self.app(inner, receive, capture)
        if passing or start is None:
            return None
        body = b"".join(chunks)
        kept = [(k, v) for k, v in start.get("headers", []) if k.lower() not in _REPLACED]
        digest = hashlib.blake2b(body, digest_size=9).hexdigest()
        return Entry(version, start["status"], kept, body, f'"{version[:10]}-{digest}"'.encode())

    @staticmethod
    async def _answer(entry: Entry, request_headers: Headers, send: Send) -> None:
        common = [(b"etag", entry.etag), (b"cache-control", CACHE_CONTROL), (b"vary", VARY)]
        if entry.etag in {t.strip().encode() for t in request_headers.get("if-none-match", "").split(",")}:
            await send({"type": "http.response.start", "status": 304, "headers": common})
            await send({"type": "http.response.body", "body": b""})
            return
        coding = negotiate(request_headers.get("accept-encoding", ""))
        body = entry.body_for(coding)
        headers = entry.headers + common + [(b"content-length", str(len(body)).encode())]
        if coding is not None:
            headers.append((b"content-encoding", coding.encode()))
        await send({"type": "http.response.start", "status": entry.status, "headers": headers})
        await send({"type": "http.response.body", "body": body})


_REPLACED = {b"content-length", b"content-encoding", b"cache-control", b"vary", b"etag", b"pragma", b"expires"}


def _shareable(start: Message | None) -> bool:
    if start is None or start["status"] != 200:
        return False
    headers = Headers(raw=start.get("headers", []))
    return (headers.get("content-type", "").startswith("text/html") and "set-cookie" not in headers
            and "no-store" not in headers.get("cache-control", ""))
