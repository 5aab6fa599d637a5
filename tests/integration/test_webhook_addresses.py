"""In production a webhook may only point at the internet: https, no loopback, private, link-local
or reserved address, neither as written when it is registered nor as its name resolves when each
delivery is made (server-side request forgery). Development and tests may use 127.0.0.1."""
from __future__ import annotations

import socket
from dataclasses import replace

import pytest
from sqlalchemy import select

from portal.db import transaction
from portal.models import ApiClient, Job
from portal.services import webhooks
from portal.services.errors import Invalid
from portal.services.task_feed import DELIVER_KIND
from tests.fake_webhook_receiver import Receiver, running
from tests.integration.api_support import TEST_ACTOR, client_headers, open_client
from tests.integration.test_api_tasks import accepted
from tests.integration.test_api_webhooks import _subscribe, _work

INSIDE = ["http://hooks.example.org/in", "https://127.0.0.1/in", "https://localhost:8443/in", "https://10.1.2.3/in",
          "https://192.168.0.7/in", "https://169.254.169.254/latest", "https://0.0.0.0/in", "https://[::1]/in",
          "https://api.localhost/in"]


@pytest.mark.parametrize("url", INSIDE)
def test_production_refuses_inside_addresses_when_registering(db, vault, url: str) -> None:  # type: ignore[no-untyped-def]
    open_client(db, "yibao", "330302", name="医保系统")
    with transaction(db) as session:
        client_row = session.scalars(select(ApiClient)).one()
        with pytest.raises(Invalid) as refused:
            webhooks.subscribe(session, vault, TEST_ACTOR, client_row.id, url, public_only=True)
    assert refused.value.errors["url"] == webhooks.NOT_PUBLIC
    with transaction(db) as session:  # the same address is fine where the portal is not in production
        webhooks.subscribe(session, vault, TEST_ACTOR, client_row.id, url.replace("http://", "https://"))


def test_a_name_that_resolves_inside_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    assert not webhooks.private_target("https://93.184.215.14/hook")
    monkeypatch.setattr(socket, "getaddrinfo", lambda *a, **k: [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("10.0.0.8", 443))])
    assert webhooks.private_target("https://hooks.example.org/in")
    monkeypatch.setattr(socket, "getaddrinfo", lambda *a, **k: [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("93.184.215.14", 443))])
    assert not webhooks.private_target("https://hooks.example.org/in")


def test_production_worker_sends_nothing_to_an_inside_address(client, db, vault, settings) -> None:  # type: ignore[no-untyped-def]
    with running(Receiver()) as receiver:
        _subscribe(client, client_headers(client, db, "gongan", "330302"), receiver.url)  # registered in development
        accepted(db, vault)
        _work(replace(settings, environment="production"), hours=0)
    assert receiver.calls == []
    with db() as s:
        tried = list(s.scalars(select(Job).where(Job.kind == DELIVER_KIND)))
    assert tried and all(webhooks.NOT_PUBLIC in (j.last_error or "") for j in tried)
