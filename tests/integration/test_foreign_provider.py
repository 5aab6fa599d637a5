"""The portal logs in against an OpenID provider it did not write, by configuration alone.

`oidc-provider-mock` (a third-party Flask/authlib test provider) runs on a free loopback port;
the portal is pointed at it with OIDC_ISSUER and client credentials, nothing else.
"""
from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest
from starlette.testclient import TestClient

from portal.app import create_app
from portal.config import Settings

PERSONA = {"sub": "foreign-1", "name": "王·外省", "phone_number": "13900000009",
           "id_card_no": "33030219620315031X", "id_type": 1, "auth_level": 3}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def foreign_issuer() -> Iterator[str]:
    port = _free_port()
    exe = Path(sys.executable).with_name("oidc-provider-mock")
    proc = subprocess.Popen([str(exe), "-p", str(port), "-n", "true", "--user-claims", json.dumps(PERSONA)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    issuer = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            try:
                if httpx.get(issuer + "/.well-known/openid-configuration", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.1)
        yield issuer
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_login_against_a_provider_we_did_not_write(test_env: dict[str, str], engine, foreign_issuer: str) -> None:  # type: ignore[no-untyped-def]
    settings = Settings.from_env({**test_env, "OIDC_ISSUER": foreign_issuer,
                                  "OIDC_CLIENT_ID": "portal-elsewhere", "OIDC_CLIENT_SECRET": "elsewhere-secret"})
    app = create_app(settings, engine=engine)
    with TestClient(app, base_url="http://testserver", follow_redirects=False) as c:
        start = c.get("/login?next=/policy")
        authorize = start.headers["location"]
        assert authorize.startswith(foreign_issuer)
        assert "code_challenge=" in authorize and "nonce=" in authorize
        # The mock's own login form: choose the predefined user.
        answer = httpx.post(authorize, data={"sub": PERSONA["sub"]}, follow_redirects=False)
        callback = answer.headers["location"]
        parts = urlsplit(callback)
        done = c.get(parts.path + "?" + parts.query)
        assert done.status_code == 303 and done.headers["location"] == "/policy"
        page = c.get("/").text
        assert "王·外省" in page and "3303**********031X" in page
