"""Administrators open, rotate and revoke department clients: in the back office and on the command line."""
from __future__ import annotations

import json
import re

from sqlalchemy import select

from portal.__main__ import main
from portal.models import ApiClient, Event
from tests.conftest import csrf_from
from tests.helpers import login
from tests.integration.api_support import basic

FORM = {"grant_type": "client_credentials"}
SHOWN = re.compile(r"<dt>client_id</dt><dd><code>([^<]+)</code></dd>\s*<dt>client_secret</dt><dd><code>([^<]+)</code></dd>")


def test_admin_opens_rotates_and_revokes_a_client(client, db) -> None:  # type: ignore[no-untyped-def]
    login(client, "admin")
    page = client.get("/admin/api-clients")
    assert page.status_code == 200 and "还没有开通接口客户端" in page.text
    token = csrf_from(page.text)
    r = client.post("/admin/api-clients", data={"csrf_token": token, "name": "", "department": "nope"})
    assert r.status_code == 400 and "请填写客户端名称" in r.text and "请选择目录里的部门" in r.text
    r = client.post("/admin/api-clients", data={"csrf_token": token, "name": "鹿城区医保局业务系统",
                                                "department": "yibao", "county_code": "330302"})
    assert r.status_code == 200
    found = SHOWN.search(r.text)
    assert found, "the new secret is shown on the answer page"
    client_id, secret = found.groups()
    assert client.post("/api/v1/token", data=FORM, headers=basic(client_id, secret)).status_code == 200
    listing = client.get("/admin/api-clients").text
    assert client_id in listing and secret not in listing and "鹿城区" in listing  # shown once only
    assert client.post(f"/admin/api-clients/{client_id}/rotate", data={"csrf_token": "wrong"}).status_code == 403
    r = client.post(f"/admin/api-clients/{client_id}/rotate", data={"csrf_token": token})
    new_id, new_secret = SHOWN.search(r.text).groups()  # type: ignore[union-attr]
    assert new_id == client_id and new_secret != secret
    assert client.post("/api/v1/token", data=FORM, headers=basic(client_id, secret)).status_code == 401
    r = client.post(f"/admin/api-clients/{client_id}/revoke", data={"csrf_token": token})
    assert r.status_code == 303
    assert "已停用" in client.get("/admin/api-clients").text
    assert client.post("/api/v1/token", data=FORM, headers=basic(client_id, new_secret)).status_code == 401
    with db() as s:
        tags = [e.tag for e in s.scalars(select(Event).where(Event.tag.like("admin:api_client:%")).order_by(Event.id))]
        actors = {e.actor_kind for e in s.scalars(select(Event).where(Event.tag.like("admin:api_client:%")))}
    assert tags == ["admin:api_client:add", "admin:api_client:rotate", "admin:api_client:revoke"] and actors == {"staff"}


def test_officers_may_not_manage_clients(client, db) -> None:  # type: ignore[no-untyped-def]
    login(client, "officer-gongan")
    assert client.get("/admin/api-clients").status_code == 403


def test_command_line_add_list_rotate_revoke(db, test_env, monkeypatch, capsys) -> None:  # type: ignore[no-untyped-def]
    for key, value in test_env.items():
        monkeypatch.setenv(key, value)
    assert main(["api-client", "add", "--name", "瑞安市公安局户籍系统", "--department", "gongan", "--county", "330381"]) == 0
    added = json.loads(capsys.readouterr().out)
    assert set(added) == {"client_id", "client_secret", "name", "department", "county_code"}
    assert added["county_code"] == "330381" and added["department"] == "gongan"
    assert main(["api-client", "list"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert [c["client_id"] for c in listed] == [added["client_id"]] and "client_secret" not in listed[0]
    assert main(["api-client", "rotate", added["client_id"]]) == 0
    rotated = json.loads(capsys.readouterr().out)
    assert rotated["client_secret"] != added["client_secret"]
    assert main(["api-client", "revoke", added["client_id"]]) == 0
    assert json.loads(capsys.readouterr().out) == {"client_id": added["client_id"], "active": False}
    assert main(["api-client", "add", "--name", "x", "--department", "nope"]) == 2
    assert main(["api-client", "revoke", "dc_nobody"]) == 1
    with db() as s:
        stored = s.scalar(select(ApiClient))
        assert stored is not None and not stored.active and stored.revoked_at is not None and stored.generation == 3
