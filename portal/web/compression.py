"""Compression of text answers (brotli where the browser accepts it, else gzip) and static files
served from copies compressed once at set-up, with year-long caching for versioned URLs.

Brotli through Google's `brotli` binding (kept, the reference implementation); gzip from the
standard library. Dynamic pages use fast settings (brotli quality 4, gzip level 6: a few
hundred microseconds for a page); `python -m portal precompress` writes `.br` (quality 11) and
`.gz` (level 9) beside every static text file, which `StaticAssets` serves as they are.
"""
from __future__ import annotations

import gzip
import mimetypes
import os
from pathlib import Path

import brotli
from starlette.datastructures import Headers, MutableHeaders
from starlette.responses import FileResponse, Response
from starlette.staticfiles import NotModifiedResponse, StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from portal.pages import PRECOMPRESSED_SUFFIXES

COMPRESSIBLE = ("text/", "application/javascript", "application/json", "image/svg+xml", "application/xml")
STATIC_SUFFIXES = (".css", ".js", ".svg", ".html", ".txt", ".json", ".map")
MIN_SIZE = 512
IMMUTABLE = "public, max-age=31536000, immutable"
UNVERSIONED = "public, no-cache"
CODINGS = {"br": ".br", "gzip": ".gz"}
assert set(CODINGS.values()) == set(PRECOMPRESSED_SUFFIXES)


def negotiate(accept_encoding: str) -> str | None:
    """br when accepted, else gzip when accepted, else None (q=0 refuses a coding)."""
    accepted: set[str] = set()
    for part in accept_encoding.lower().split(","):
        name, _, params = part.strip().partition(";")
        if params.strip().replace(" ", "") in ("q=0", "q=0.0", "q=0.00", "q=0.000"):
            continue
        accepted.add(name.strip())
    for coding in ("br", "gzip"):
        if coding in accepted or "*" in accepted:
            return coding
    return None


def encode(body: bytes, coding: str, *, best: bool = False) -> bytes:
    if coding == "br":
        return bytes(brotli.compress(body, quality=11 if best else 4))
    return gzip.compress(body, compresslevel=9 if best else 6, mtime=0)


class CompressionMiddleware:
    """Compresses whole text responses of at least MIN_SIZE bytes that are not encoded yet."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        coding = negotiate(Headers(scope=scope).get("accept-encoding", ""))
        if coding is None or scope["method"] == "HEAD":
            await self.app(scope, receive, send)
            return
        start: Message | None = None
        chunks: list[bytes] = []
        passing = False

        async def compressing(message: Message) -> None:
            nonlocal start, passing
            if passing:
                await send(message)
                return
            if message["type"] == "http.response.start":
                headers = Headers(raw=message.get("headers", []))
                length = headers.get("content-length")
                if ("content-encoding" in headers or not headers.get("content-type", "").startswith(COMPRESSIBLE)
                        or (length is not None and int(length) < MIN_SIZE) or message["status"] in (204, 304)):
                    passing = True
                    await send(message)
                    return
                start = message
                return
            if message["type"] != "http.response.body":
                await send(message)
                return
            chunks.append(message.get("body", b""))
            if message.get("more_body", False):
                return
            assert start is not None
            body = b"".join(chunks)
            headers = MutableHeaders(scope=start)
            if len(body) >= MIN_SIZE:
                body = encode(body, coding)
                headers["content-encoding"] = coding
                headers.add_vary_header("Accept-Encoding")
                if "etag" in headers:  # a different body: a weak validator (RFC 9110 8.8.3)
                    headers["etag"] = "W/" + headers["etag"].removeprefix("W/")
            headers["content-length"] = str(len(body))
            await send(start)
            await send({"type": "http.response.body", "body": body})

        await self.app(scope, receive, compressing)


class StaticAssets(StaticFiles):
    """StaticFiles that serves the `.br`/`.gz` copy made at set-up (when it is newer than the file)
    and says how long to keep it: a year, immutable, for the versioned URLs the templates write
    (`?v=`, which changes with any file under static/); otherwise revalidate every time."""

    def file_response(self, full_path: str | os.PathLike[str], stat_result: os.stat_result, scope: Scope,
                      status_code: int = 200) -> Response:
        path = Path(full_path)
        text = path.suffix in STATIC_SUFFIXES
        coding = negotiate(Headers(scope=scope).get("accept-encoding", "")) if text else None
        packed = path.with_name(path.name + CODINGS[coding]) if coding else None
        packed_stat = _stat(packed) if packed else None
        if packed is not None and packed_stat is not None and packed_stat.st_mtime >= stat_result.st_mtime:
            media_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
            response: Response = FileResponse(packed, stat_result=packed_stat, media_type=media_type,
                                              headers={"content-encoding": str(coding)})
            if self.is_not_modified(response.headers, Headers(scope=scope)):
                response = NotModifiedResponse(response.headers)
        else:
            response = super().file_response(full_path, stat_result, scope, status_code)
        if text:
            response.headers.add_vary_header("Accept-Encoding")
        versioned = b"v=" in scope.get("query_string", b"")
        response.headers["cache-control"] = IMMUTABLE if versioned else UNVERSIONED
        return response


def _stat(path: Path) -> os.stat_result | None:
    try:
        return path.stat()
    except OSError:
        return None


def precompress(directory: Path) -> int:
    """Write `.br` and `.gz` beside every static text file that has none or an older one."""
    written = 0
    for path in sorted(directory.rglob("*")):
        if not path.is_file() or path.suffix not in STATIC_SUFFIXES:
            continue
        data = path.read_bytes()
        for coding, suffix in CODINGS.items():
            target = path.with_name(path.name + suffix)
            if target.exists() and target.stat().st_mtime >= path.stat().st_mtime:
                continue
            target.write_bytes(encode(data, coding, best=True))
            written += 1
    return written
