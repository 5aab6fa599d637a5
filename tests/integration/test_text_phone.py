"""A phone for texts that is not the login phone (issue 15, item 4): verified by a one-time code
sent through the real SMS job and an HTTP gateway on 127.0.0.1; codes hashed, expiring, with
limited attempts, sending throttled; afterwards the family's texts go to the new number."""
from __future__ import annotations

import re
import threading
from dataclasses import replace
from datetime import timedelta

from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import select
from starlette.testclient import TestClient

from portal.db import transaction
from portal.domain import clock
from portal.models import Application, Event, TextPhone
from portal.services import notifications
from portal.worker import work
from tests.conftest import csrf_from
from tests.fake_sms_gateway import Gateway, running
from tests.helpers import login
from tests.integration import fuzz_support as fz
from tests.integration.factories import new_application
from tests.integration.test_apply_support import errors_in

NEW_PHONE = "13800138000"


def _post(client: TestClient, url: str, **data: str):  # type: ignore[no-untyped-def]
    return client.post(url, data={"csrf_token": csrf_from(client.get("/my/phone").text), **data})


def _deliver(settings, gw: Gateway) -> None:  # type: ignore[no-untyped-def]
    work(replace(settings, sms_gateway_url=gw.url, sms_gateway_key=gw.key, sms_timeout_seconds=0.5,
                 job_poll_seconds=0.01), threading.Event(), idle_exit=True)


def _code(gw: Gateway, phone: str) -> str:
    texts = [c["text"] for c in gw.delivered if c["phone"] == phone and "验证码" in c["text"]]
    assert texts, gw.delivered
    match = re.search(r"验证码是 (\d{6})", texts[-1])
    assert match
    return match.group(1)


def test_texts_go_to_a_second_phone_once_its_code_is_typed_back(client: TestClient, db, vault, settings) -> None:  # type: ignore[no-untyped-def]
    app_id = new_application(db, vault)  # chenjianguo's case: texts to 19900000001 so far
    login(client, "chenjianguo", "/my")
    assert "/my/phone" in client.get("/my").text
    bad = _post(client, "/my/phone", phone="1380013800")
    assert bad.status_code == 400 and "手机号" in " ".join(errors_in(bad.text))
    with running(Gateway()) as gw:
        r = _post(client, "/my/phone", phone="138 0013 8000")
        assert r.status_code == 303
        _deliver(settings, gw)
        code = _code(gw, NEW_PHONE)
        with db() as s:
            row = s.scalars(select(TextPhone)).one()
            assert row.code_hash and code not in row.code_hash and row.verified_at is None
        page = client.get("/my/phone")
        assert "138****8000" in page.text and 'name="code"' in page.text and NEW_PHONE not in page.text
        wrong = _post(client, "/my/phone/verify", code="000000" if code != "000000" else "111111")
        assert wrong.status_code == 400 and "还可以试 4 次" in wrong.text
        ok = _post(client, "/my/phone/verify", code=code)
        assert ok.status_code == 303
        assert "138****8000" in client.get("/my/phone").text
        # the family's next text goes to the verified number
        with transaction(db) as s:
            notifications.queue_sms(s, s.get(Application, app_id), "您的申请已受理。")
        _deliver(settings, gw)
        assert any(c["phone"] == NEW_PHONE and "已受理" in c["text"] for c in gw.delivered)
        assert not any(c["phone"] == "19900000001" and "已受理" in c["text"] for c in gw.delivered)
    with db() as s:
        tags = [e.tag for e in s.scalars(select(Event).where(Event.tag.like("citizen:text_phone:%")).order_by(Event.id))]
        assert tags == ["citizen:text_phone:code_sent", "citizen:text_phone:code_wrong", "citizen:text_phone:verified"]
        assert not any(NEW_PHONE in (e.summary or "") for e in s.scalars(select(Event)))
    # back to the login phone at once
    assert _post(client, "/my/phone/stop").status_code == 303
    assert "您登录用的手机号" in client.get("/my/phone").text


def test_codes_expire_and_allow_five_attempts(client: TestClient, db, vault, settings) -> None:  # type: ignore[no-untyped-def]
    login(client, "linxiaoyan", "/my")
    with running(Gateway()) as gw:
        _post(client, "/my/phone", phone=NEW_PHONE)
        _deliver(settings, gw)
        code = _code(gw, NEW_PHONE)
    wrong = "000000" if code != "000000" else "111111"
    for _ in range(5):
        assert _post(client, "/my/phone/verify", code=wrong).status_code == 400
    late = _post(client, "/my/phone/verify", code=code)  # the right code, after five wrong ones
    assert late.status_code == 400 and "重新获取" in late.text
    with running(Gateway()) as gw:
        _post(client, "/my/phone", phone=NEW_PHONE)
        _deliver(settings, gw)
        code = _code(gw, NEW_PHONE)
    with clock.frozen(clock.now() + timedelta(minutes=11)):
        expired = _post(client, "/my/phone/verify", code=code)
    assert expired.status_code == 400 and "过期" in expired.text
    with db() as s:
        assert all(r.verified_at is None for r in s.scalars(select(TextPhone)))


def test_sending_codes_is_throttled(client: TestClient) -> None:
    login(client, "chenjianguo", "/my")
    answers = [_post(client, "/my/phone", phone=NEW_PHONE).status_code for _ in range(4)]
    assert answers == [303, 303, 303, 429]


def test_hostile_input_never_breaks_the_phone_pages(client: TestClient) -> None:
    login(client, "chenjianguo", "/my")
    token = csrf_from(client.get("/my/phone").text)
    box = fz.form({"phone": fz.value(["13800138000", "+8613800138000"]), "code": fz.value(["123456"])})

    @fz.fuzz_settings(examples=40)
    @given(data=st.data())
    def case(data: st.DataObject) -> None:
        url = data.draw(st.sampled_from(("/my/phone/verify", "/my/phone/stop", "/my/phone/verify")), "url")
        fz.send(client, "phone", "POST", url, data={"csrf_token": token, **data.draw(box, "fields")}, follow=True)

    case()
