"""Locust users for `python -m bench.load`: families doing whole journeys, staff working queues.

A family logs in at the stand-in provider (its own generated persona), opens a draft, answers
every step as a browser would (the token the form carries), submits, downloads the receipt and
then polls its progress page like the page's htmx does. Every saved step and every finished
journey is appended to LOAD_RESULTS (JSON lines), which the runner checks against the database.
Staff log in as the demo officers and window clerk of 鹿城区 and page through their queues.
"""
from __future__ import annotations

import html
import itertools
import json
import os
import re
import threading
from datetime import date, timedelta
from typing import Any

from locust import HttpUser, between, task

from tests.integration.test_apply_support import typical

RESULTS = os.environ.get("LOAD_RESULTS", "load-results.jsonl")
PASSWORD = "demo1234"
_lock = threading.Lock()
_families = itertools.count(1)
_staff = itertools.count(0)
STAFF = ("officer-yibao", "officer-gongan", "officer-renshe", "officer-binyiguan", "clerk")
TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')
_HIDDEN = re.compile(r'<input[^>]*type="hidden"[^>]*>')
_ATTR = re.compile(r'(\w+)="([^"]*)"')


def deceased_id(n: int) -> str:
    from portal.services.demo import make_id

    return make_id("330302", date(1930, 1, 1) + timedelta(days=37 * n), n, True)


def record(**event: Any) -> None:
    with _lock, open(RESULTS, "a", encoding="utf-8") as out:
        out.write(json.dumps(event, ensure_ascii=False) + "\n")


def log_in(user: HttpUser, username: str, next_path: str) -> bool:
    """The OIDC round trip through the stand-in's login form."""
    page = user.client.get(f"/login?next={next_path}", name="/login → /idp/authorize")
    form = re.search(r"<form[^>]*>.*?</form>", page.text, re.S)
    if page.status_code != 200 or form is None or 'name="password"' not in form.group(0):
        return False
    fields = {a["name"]: html.unescape(a.get("value", "")) for a in
              (dict(_ATTR.findall(t)) for t in _HIDDEN.findall(form.group(0))) if "name" in a}
    action = re.search(r'action="([^"]*)"', form.group(0))
    target = html.unescape(action.group(1)) if action else page.url
    done = user.client.post(target, data={**fields, "username": username, "password": PASSWORD},
                            name="/idp/authorize (login) → /auth/callback")
    return done.status_code == 200 and "退出登录" in done.text


class Family(HttpUser):
    weight = 5
    wait_time = between(1, 3)  # reading and typing between screens

    def on_start(self) -> None:
        self.n = next(_families)
        self.username = f"load-fam-{self.n:03d}"
        self.app_id: int | None = None
        self.stamp = ""
        self.done = False

    def _token(self, text: str) -> str:
        match = TOKEN.search(text)
        return match.group(1) if match else ""

    def journey(self) -> None:
        if not log_in(self, self.username, "/apply"):
            return
        start = self.client.get("/apply", name="/apply")
        opened = self.client.post("/apply/start", data={"csrf_token": self._token(start.text)}, name="/apply/start")
        if opened.status_code != 200:
            return
        for step, answers in typical(deceased_id=deceased_id(self.n)).items():
            page = self.client.get(f"/apply/step/{step}", name="/apply/step/[step]")
            saved = self.client.post(f"/apply/step/{step}", data={"csrf_token": self._token(page.text), **answers},
                                     name="/apply/step/[step] (save)", allow_redirects=False)
            if saved.status_code != 303:
                return
            record(user=self.username, event="saved", step=step)
        check = self.client.get("/apply/step/check", name="/apply/step/check")
        key = re.search(r'name="submit_key" value="([^"]+)"', check.text)
        if key is None:
            return
        submitted = self.client.post("/apply/submit", name="/apply/submit", allow_redirects=False, data={
            "csrf_token": self._token(check.text), "submit_key": key.group(1), "declaration": "yes"})
        where = re.match(r"/apply/(\d+)/done", submitted.headers.get("location", ""))
        if submitted.status_code != 303 or where is None:
            return
        self.app_id = int(where.group(1))
        record(user=self.username, event="submitted", app_id=self.app_id)
        self.client.get(f"/apply/{self.app_id}/done", name="/apply/[id]/done")
        receipt = self.client.get(f"/my/{self.app_id}/receipt.pdf", name="/my/[id]/receipt.pdf")
        if receipt.status_code == 200 and receipt.content.startswith(b"%PDF"):
            record(user=self.username, event="done", app_id=self.app_id)
            self.done = True

    @task
    def next_thing(self) -> None:
        if self.app_id is None and not self.done:
            self.journey()
            if self.app_id is None:
                self.done = True  # a journey that failed is not retried: it shows in the checks
            return
        if self.app_id is not None:  # the progress page's htmx poll
            page = self.client.get(f"/my/{self.app_id}" + (f"?since={self.stamp}" if self.stamp else ""),
                                   headers={"HX-Request": "true"} if self.stamp else {}, name="/my/[id] (poll)")
            stamp = re.search(r'data-stamp="([0-9a-f]+)"', page.text)
            if stamp:
                self.stamp = stamp.group(1)


class Staff(HttpUser):
    weight = 1
    wait_time = between(2, 5)

    def on_start(self) -> None:
        self.username = STAFF[next(_staff) % len(STAFF)]
        self.ok = log_in(self, self.username, "/admin")

    @task
    def work_the_queue(self) -> None:
        if not self.ok:
            return
        if self.username == "clerk":
            page = self.client.get("/admin/window", name="/admin/window")
            first = re.search(r'href="(/admin/applications/\d+)"', page.text)
            if first:
                self.client.get(first.group(1), name="/admin/applications/[id]")
            return
        page = self.client.get("/admin/tasks", name="/admin/tasks")
        self.client.get("/admin/tasks?status=all&page=2", name="/admin/tasks?status=all&page=2")
        first = re.search(r'href="(/admin/tasks/\d+)"', page.text)
        if first:
            self.client.get(first.group(1), name="/admin/tasks/[id]")
