"""Test helpers: log in through the real OIDC round trip, in process.

The portal's OIDC client talks to the embedded stand-in provider through an in-process
ASGI transport (set up by the `app` fixture), so every protocol step really happens:
authorize redirect, provider login form, code, token exchange with PKCE, id_token checks.
"""
from __future__ import annotations

import html
import re
from urllib.parse import urljoin, urlsplit

from starlette.testclient import TestClient

DEMO_PASSWORD = "demo1234"
_FORM_RE = re.compile(r"<form[^>]*method=\"post\"[^>]*>(.*?)</form>", re.S | re.I)
_ACTION_RE = re.compile(r"<form[^>]*method=\"post\"[^>]*action=\"([^\"]*)\"", re.I)
_HIDDEN_RE = re.compile(r"<input[^>]*type=\"hidden\"[^>]*>", re.I)
_ATTR_RE = re.compile(r"(name|value)=\"([^\"]*)\"")


def _path(url: str) -> str:
    parts = urlsplit(url)
    return parts.path + ("?" + parts.query if parts.query else "")


def provider_login_form(client: TestClient, authorize_url: str) -> tuple[str, dict[str, str]]:
    """Open the provider's login page; return the form's action and its hidden fields."""
    page = client.get(_path(authorize_url))
    assert page.status_code == 200, page.text[:500]
    forms = [m for m in re.finditer(r"<form[^>]*>.*?</form>", page.text, re.S | re.I) if 'name="password"' in m.group(0)]
    assert forms, "provider page has no login form"
    form = forms[0].group(0)
    action_match = re.search(r"action=\"([^\"]*)\"", form)
    action = html.unescape(action_match.group(1)) if action_match else _path(authorize_url)
    fields: dict[str, str] = {}
    for tag in _HIDDEN_RE.findall(form):
        attrs = dict(_ATTR_RE.findall(tag))
        if "name" in attrs:
            fields[attrs["name"]] = html.unescape(attrs.get("value", ""))
    return urljoin(_path(authorize_url), action), fields


def login(client: TestClient, username: str, next_path: str = "/", password: str = DEMO_PASSWORD) -> str:
    """Log `username` in; returns where the portal sent the browser after the callback."""
    start = client.get(f"/login?next={next_path}")
    assert start.status_code in (302, 303), start.text[:500]
    action, fields = provider_login_form(client, start.headers["location"])
    posted = client.post(_path(action), data={**fields, "username": username, "password": password})
    assert posted.status_code in (302, 303), posted.text[:800]
    callback = posted.headers["location"]
    assert "/auth/callback" in callback, callback
    done = client.get(_path(callback))
    assert done.status_code in (302, 303), done.text[:800]
    return done.headers["location"]
