"""Bytes a browser moves for a page: the first visit (page + its CSS/JS, compressed as a browser
asks for) and the second (what a browser must fetch again, given the cache headers it got)."""
from __future__ import annotations

import re
from dataclasses import dataclass

import httpx

BROWSER = {"Accept-Encoding": "br, gzip, deflate", "Accept": "text/html,*/*",
           "Sec-Fetch-Site": "none", "User-Agent": "bench"}
_ASSET = re.compile(r'<(?:link[^>]+href|script[^>]+src)="(/static/[^"]+)"')


@dataclass
class Visit:
    page: int
    assets: dict[str, int]

    @property
    def total(self) -> int:
        return self.page + sum(self.assets.values())


def _wire(response: httpx.Response) -> int:
    """Body bytes as sent (before decoding) plus the header block."""
    head = sum(len(k) + len(v) + 4 for k, v in response.headers.raw) + 17
    return response.num_bytes_downloaded + head


def _fresh_for_a_while(response: httpx.Response) -> bool:
    control = response.headers.get("cache-control", "")
    if "no-cache" in control or "no-store" in control:
        return False
    return "immutable" in control or bool(re.search(r"max-age=([1-9]\d*)", control))


def visits(base: str, path: str = "/") -> tuple[Visit, Visit]:
    """First visit with an empty cache, then a second one that honours the cache headers."""
    cached: dict[str, httpx.Response] = {}
    with httpx.Client(base_url=base, headers=BROWSER) as client:
        page = client.get(path)
        first = Visit(_wire(page), {})
        for asset in _ASSET.findall(page.text):
            response = client.get(asset)
            cached[asset] = response
            first.assets[asset] = _wire(response)
        etag = page.headers.get("etag")
        again = client.get(path, headers={"If-None-Match": etag} if etag else {})
        second = Visit(_wire(again), {})
        for asset, earlier in cached.items():
            if _fresh_for_a_while(earlier):
                second.assets[asset] = 0  # the browser uses its copy without asking
                continue
            validator = earlier.headers.get("etag")
            response = client.get(asset, headers={"If-None-Match": validator} if validator else {})
            second.assets[asset] = _wire(response)
    return first, second


def report(base: str, path: str = "/") -> str:
    first, second = visits(base, path)
    lines = [f"first visit of {path}: {first.total / 1024:.1f} KB on the wire (page {first.page} B, "
             + ", ".join(f"{a.split('?')[0].rsplit('/', 1)[1]} {n} B" for a, n in first.assets.items()) + ")",
             f"second visit of {path}: {second.total / 1024:.1f} KB (page {second.page} B, static "
             f"{sum(second.assets.values())} B)"]
    return "\n".join(lines)
