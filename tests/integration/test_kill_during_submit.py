"""kill -9 during submissions: no partial, lost or duplicated application (issue 11).

The real server (`python -m portal serve`, as `make run` starts it) runs on a free loopback
port against its own database: a SQLite file, or a fresh database on the PostgreSQL server of
DATABASE_URL. Four families, each on two devices logged in through the stand-in provider over
HTTP, submit their drafts at the same time; once some submissions have been acknowledged the
server is killed with SIGKILL and started again, and every draft whose submission got no answer
is submitted again with the same idempotency key, as the family's browser would. Then:
* none partial: every application is a draft, or submitted with its 编号, tasks, parties and
  one submission event;
* none lost: every acknowledged submission exists, with the id the family was sent to;
* none duplicated: one application per draft and per deceased, one event per submission.
"""
from __future__ import annotations

import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.orm import Session
from sqlalchemy.pool import NullPool

from auth.provider.config import DEFAULT_PERSONAS_PATH
from auth.provider.personas import PersonaStore
from portal.crypto import Vault
from portal.db import make_engine
from portal.domain import application_form as steps
from portal.models import Application, CitizenAccount, Deceased, DepartmentTask, Event, Party
from portal.services import applications as drafts
from portal.services.demo import make_id
from tests.conftest import TEST_PII_KEY, csrf_from
from tests.helpers import login
from tests.integration.test_apply_support import typical

ROOT = Path(__file__).resolve().parents[2]
FAMILIES = ("chenjianguo", "linxiaoyan", "ayiguli", "zhengzhe")
DEVICES = 2  # per family, each with its own session
DRAFTS_PER_DEVICE = 5
KILL_AFTER_ACKS = 10  # acknowledged submissions before the kill
DONE_RE = re.compile(r"/apply/(\d+)/done$")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def server_database(database_url: str, tmp_path: Path) -> Iterator[str]:
    """A database of its own for the server: a SQLite file, or a new PostgreSQL database."""
    if not database_url.startswith("postgresql"):
        yield f"sqlite:///{tmp_path / 'kill.db'}"
        return
    name = "kill_" + secrets.token_hex(4)
    admin = create_engine(database_url, poolclass=NullPool, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(database_url).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


class Server:
    """`python -m portal serve` in a subprocess, killed with SIGKILL and restarted on demand."""

    def __init__(self, env: dict[str, str], log: Path) -> None:
        self.env, self.log = env, log
        self.base = env["BASE_URL"]
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with open(self.log, "ab") as out:
            self.proc = subprocess.Popen([sys.executable, "-m", "portal", "serve"], env=self.env, cwd=ROOT,
                                         stdout=out, stderr=out)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{self.base}/healthz", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            assert self.proc.poll() is None, self.log.read_text()[-3000:]
            time.sleep(0.1)
        raise AssertionError("portal did not start: " + self.log.read_text()[-3000:])

    def kill(self) -> None:
        assert self.proc is not None
        os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait(10)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()


def _complete_answers(applicant: steps.Applicant, deceased_id: str) -> tuple[dict[str, Any], list[str]]:
    """A finished draft, every step checked by the same rules the step pages use."""
    answers: dict[str, Any] = {}
    done: list[str] = []
    for name, posted in typical(deceased_id=deceased_id).items():
        step = steps.BY_NAME[name]
        values, errors = steps.validate(step, steps.form_dict(posted, step), steps.Ctx(answers=dict(answers),
                                                                                       applicant=applicant))
        assert not errors, (name, errors)
        answers.update({k: v for k, v in values.items() if v is not None and v != ""})
        done.append(name)
    answers["declaration"] = "yes"
    return answers, done


def _prepare_drafts(engine: Engine, vault: Vault, n_per_account: int) -> dict[str, list[str]]:
    """n finished drafts per logged-in family (one deceased each); their submit keys by sub."""
    keys: dict[str, list[str]] = {}
    seq = 0
    with Session(engine) as session, session.begin():
        for account in session.scalars(select(CitizenAccount).order_by(CitizenAccount.id)):
            facts = drafts.applicant_facts(session, vault, account.id)
            applicant = steps.Applicant(facts.name, facts.id_card, facts.phone)
            for _ in range(n_per_account):
                seq += 1
                deceased = make_id("330302", date(1930, 1, 1) + timedelta(days=97 * seq), seq, seq % 2 == 0)
                answers, done = _complete_answers(applicant, deceased)
                app = Application(account_id=account.id, status="draft", channel="online", current_step="check",
                                  submit_key=secrets.token_urlsafe(24))
                drafts.write_draft(vault, app, drafts.Draft(answers=answers, done=done))
                session.add(app)
                keys.setdefault(account.sub, []).append(app.submit_key)  # type: ignore[arg-type]
    return keys


@dataclass
class Tally:
    acknowledged: dict[str, int] = field(default_factory=dict)  # submit key -> application id sent to
    unanswered: list[str] = field(default_factory=list)  # sent, no answer: in flight at the kill
    not_sent: list[str] = field(default_factory=list)
    errors: list[BaseException] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    enough: threading.Event = field(default_factory=threading.Event)


def _submit(client: httpx.Client, token: str, key: str) -> httpx.Response:
    return client.post("/apply/submit", data={"csrf_token": token, "submit_key": key, "declaration": "yes"})


def _device(client: httpx.Client, token: str, keys: list[str], tally: Tally) -> None:
    try:
        _submit_all(client, token, keys, tally)
    except BaseException as exc:  # noqa: BLE001 - reported by the test thread
        tally.errors.append(exc)
        tally.enough.set()


def _submit_all(client: httpx.Client, token: str, keys: list[str], tally: Tally) -> None:
    for i, key in enumerate(keys):
        try:
            r = _submit(client, token, key)
        except httpx.ConnectError:  # refused: the server was already down
            with tally.lock:
                tally.not_sent.extend(keys[i:])
            return
        except httpx.TransportError:  # sent, and the server died before it answered
            with tally.lock:
                tally.unanswered.append(key)
                tally.not_sent.extend(keys[i + 1:])
            return
        match = DONE_RE.search(r.headers.get("location", ""))
        assert r.status_code == 303 and match, (r.status_code, r.text[:300])
        with tally.lock:
            tally.acknowledged[key] = int(match.group(1))
            if len(tally.acknowledged) >= KILL_AFTER_ACKS:
                tally.enough.set()


def test_kill_during_submissions(server_database: str, tmp_path: Path) -> None:
    port = _free_port()
    env = {**os.environ, "VAR_DIR": str(tmp_path), "PORT": str(port), "BASE_URL": f"http://127.0.0.1:{port}",
           "DATABASE_URL": server_database, "SECRET_KEY": "kill-test-secret", "PII_KEY": TEST_PII_KEY,
           "PRERENDER_RECEIPTS": "0", "PYTHONUNBUFFERED": "1", "PYTHONDONTWRITEBYTECODE": "1"}
    subprocess.run([sys.executable, "-m", "portal", "migrate"], env=env, cwd=ROOT, check=True,
                   stdout=subprocess.DEVNULL)
    server = Server(env, tmp_path / "server.log")
    engine = make_engine(server_database)
    vault = Vault(bytes.fromhex(TEST_PII_KEY))
    clients: list[tuple[str, httpx.Client]] = []
    try:
        server.start()
        for family in FAMILIES:
            for _ in range(DEVICES):
                client = httpx.Client(base_url=server.base, follow_redirects=False, timeout=30)
                login(client, family)
                clients.append((family, client))
        keys = _prepare_drafts(engine, vault, DEVICES * DRAFTS_PER_DEVICE)
        tokens = [csrf_from(c.get("/").text) for _, c in clients]
        personas = PersonaStore.from_file(DEFAULT_PERSONAS_PATH)
        by_device = []
        for i, (family, _) in enumerate(clients):  # each device submits its own share of the family's drafts
            share = i % DEVICES
            by_device.append(keys[personas.by_username(family).sub][share::DEVICES])  # type: ignore[union-attr]

        tally = Tally()
        devices = [threading.Thread(target=_device, args=(c, tokens[i], by_device[i], tally))
                   for i, (_, c) in enumerate(clients)]
        for d in devices:
            d.start()
        assert tally.enough.wait(60), "too few submissions were acknowledged: " + server.log.read_text()[-2000:]
        server.kill()
        for d in devices:
            d.join(60)
        assert not tally.errors, tally.errors
        acknowledged_before = len(tally.acknowledged)
        unanswered, not_sent = len(tally.unanswered), len(tally.not_sent)

        server.start()
        every_key = [k for ks in by_device for k in ks]
        again = [k for k in every_key if k not in tally.acknowledged]
        with Session(engine) as s:  # in flight at the kill, yet committed: the resubmission must not repeat it
            committed_unanswered = s.scalar(select(func.count()).select_from(Application).where(
                Application.submit_key.in_(tally.unanswered), Application.status != "draft"))
        resubmit = [threading.Thread(target=_device, args=(c, tokens[i], [k for k in by_device[i] if k in again], tally))
                    for i, (_, c) in enumerate(clients)]
        for d in resubmit:
            d.start()
        for d in resubmit:
            d.join(60)
        assert not tally.errors, tally.errors
        print(f"\nkill -9 during submissions ({engine.dialect.name}): {len(every_key)} drafts; before the kill "
              f"{acknowledged_before + unanswered} submissions sent, {acknowledged_before} acknowledged, {unanswered} in flight "
              f"(no answer; {committed_unanswered} of them committed), {not_sent} not sent; after the restart {len(again)} submitted again with the same "
              f"key, {len(tally.acknowledged)} acknowledged in all")
        assert unanswered, "the kill interrupted nothing"
        _assert_consistent(engine, vault, tally.acknowledged, every_key)
    finally:
        server.stop()
        for _, client in clients:
            client.close()
        engine.dispose()


def _assert_consistent(engine: Engine, vault: Vault, acknowledged: dict[str, int], every_key: list[str]) -> None:
    with Session(engine) as s:
        apps = list(s.scalars(select(Application)))
        by_key = {a.submit_key: a for a in apps}
        # none lost, none left behind: every draft was submitted, acknowledged ones where the family was sent
        assert len(apps) == len(every_key) and set(by_key) == set(every_key)
        for key, app_id in acknowledged.items():
            assert by_key[key].id == app_id and by_key[key].status == "submitted"
        # none partial
        tasks = dict(s.execute(select(DepartmentTask.application_id, func.count()).group_by(DepartmentTask.application_id)).all())
        parties = dict(s.execute(select(Party.application_id, func.count()).group_by(Party.application_id)).all())
        deceased = dict(s.execute(select(Deceased.application_id, func.count()).group_by(Deceased.application_id)).all())
        submits = dict(s.execute(select(Event.application_id, func.count()).where(Event.tag == "citizen:application:submit")
                                 .group_by(Event.application_id)).all())
        for app in apps:
            assert app.number and app.submitted_at, app.id
            assert tasks.get(app.id, 0) >= 4 and parties.get(app.id, 0) >= 1 and deceased.get(app.id) == 1, app.id
            assert submits.get(app.id) == 1, (app.id, submits.get(app.id))  # submitted once
        # none duplicated
        assert len({a.number for a in apps}) == len(apps)
        assert len({a.deceased_bidx for a in apps}) == len(apps)
