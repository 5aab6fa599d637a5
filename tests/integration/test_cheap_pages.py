"""Public pages are cheap: no session until one is needed, answered from the page cache with an
ETag (304 on If-None-Match), compressed (brotli or gzip), static files kept for a year."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select
from starlette.testclient import TestClient

from portal.models import WebSession
from portal.pages import STATIC_DIR
from portal.web.compression import precompress
from tests.conftest import CSRF_RE, csrf_of
from tests.helpers import login

PUBLIC = ["/", "/policy", "/policy/cremation-materials", "/policy/search?q=火化"]


def _sessions(db) -> int:  # type: ignore[no-untyped-def]
    with db() as s:
        return s.scalar(select(func.count()).select_from(WebSession)) or 0


@pytest.mark.parametrize("path", PUBLIC)
def test_public_page_starts_no_session_and_revalidates_by_etag(client: TestClient, db, path: str) -> None:  # type: ignore[no-untyped-def]
    first = client.get(path)
    assert first.status_code == 200 and "set-cookie" not in first.headers
    assert CSRF_RE.search(first.text) is None and "hx-headers" not in first.text  # no token: none was needed
    assert first.headers["cache-control"] == "public, no-cache"
    assert "Cookie" in first.headers["vary"] and "HX-Request" in first.headers["vary"]
    etag = first.headers["etag"]
    again = client.get(path, headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.content == b"" and again.headers["etag"] == etag
    assert client.get(path).text == first.text  # from the cache, the same page
    assert _sessions(db) == 0


def test_signed_in_pages_are_never_shared(client: TestClient, demo_staff: None) -> None:
    login(client, "chenjianguo")
    page = client.get("/policy")
    assert page.headers["cache-control"] == "no-store" and "etag" not in page.headers
    assert "陈建国" in page.text and CSRF_RE.search(page.text)


def test_elder_switch_without_a_session_needs_the_browsers_same_origin_proof(client: TestClient, db) -> None:  # type: ignore[no-untyped-def]
    form = {"elder": "1", "next": "/policy"}
    assert client.post("/prefs/elder", data=form).status_code == 403  # says nothing: proves nothing
    cross = client.post("/prefs/elder", data=form, headers={"Sec-Fetch-Site": "cross-site"})
    assert cross.status_code == 403
    other = client.post("/prefs/elder", data=form, headers={"Origin": "https://evil.example"})
    assert other.status_code == 403
    for proof in ({"Sec-Fetch-Site": "same-origin"}, {"Origin": "http://testserver"}):
        done = client.post("/prefs/elder", data=form, headers=proof)
        assert done.status_code == 303 and "elder=1" in done.headers["set-cookie"]
    assert _sessions(db) == 0
    page = client.get("/policy")  # the 长辈版 cookie: a page of its own, not shared
    assert 'class="elder"' in page.text and page.headers["cache-control"] == "no-store"


def test_a_session_token_cannot_be_skipped(client: TestClient) -> None:
    """Once a session exists, its token is needed, whatever the headers say."""
    token = csrf_of(client)
    proof = {"Sec-Fetch-Site": "same-origin"}
    assert client.post("/prefs/elder", data={"elder": "1"}, headers=proof).status_code == 403
    assert client.post("/prefs/elder", data={"elder": "1", "csrf_token": "x" * 43}, headers=proof).status_code == 403
    assert client.post("/prefs/elder", data={"elder": "1", "csrf_token": token}, headers=proof).status_code == 303


@pytest.mark.parametrize("coding", ["br", "gzip"])
def test_pages_are_compressed(client: TestClient, coding: str) -> None:
    plain = client.get("/policy").text
    for headers in ({"Accept-Encoding": coding}, {"Accept-Encoding": coding, "Cookie": "elder=1"}):
        r = client.get("/policy", headers=headers)
        assert r.headers["content-encoding"] == coding and "Accept-Encoding" in r.headers["vary"]
        assert int(r.headers["content-length"]) < len(r.content) // 2  # httpx decodes; the header is the wire size
        assert (r.text == plain) == ("Cookie" not in headers)


def test_static_files_versioned_for_a_year_and_precompressed(client: TestClient) -> None:
    precompress(STATIC_DIR)
    home = client.get("/").text
    assets = [href for href in ("/static/css/portal.css", "/static/vendor/htmx-2.min.js", "/static/js/portal.js")
              if href in home]
    assert len(assets) == 3
    for path in assets:
        version = home.split(path + "?v=")[1].split('"')[0]
        r = client.get(f"{path}?v={version}", headers={"Accept-Encoding": "br, gzip"})
        assert r.status_code == 200 and r.headers["cache-control"] == "public, max-age=31536000, immutable"
        assert r.headers["content-encoding"] == "br"
        on_disk = (STATIC_DIR / path.removeprefix("/static/")).with_name(path.rsplit("/", 1)[1] + ".br")
        assert int(r.headers["content-length"]) == on_disk.stat().st_size
        assert r.content == (STATIC_DIR / path.removeprefix("/static/")).read_bytes()
        gz = client.get(f"{path}?v={version}", headers={"Accept-Encoding": "gzip"})
        assert gz.headers["content-encoding"] == "gzip" and gz.content == r.content
        assert client.get(path).headers["cache-control"] == "public, no-cache"  # unversioned: ask each time
        again = client.get(f"{path}?v={version}", headers={"Accept-Encoding": "br", "If-None-Match": r.headers["etag"]})
        assert again.status_code == 304
