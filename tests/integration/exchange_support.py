"""Helpers for the exchange and proactive-case tests: a sender scope, sending one event (no tests here)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from portal.crypto import Vault
from portal.db import transaction
from portal.domain.exchange import parse_event
from portal.services import exchange


@dataclass(frozen=True)
class Scope:
    name: str
    department: str
    county_code: str | None = None


FUNERAL_HOME = Scope("温州市殡仪馆火化系统", "binyiguan")
HOSPITAL = Scope("温州市人民医院死亡证明系统", "weijian")
YIBAO_LUCHENG = Scope("鹿城区医保清算系统", "yibao", "330302")
GONGAN = Scope("温州市公安户籍系统", "gongan")


def send(db: sessionmaker[Session], vault: Vault, scope: Scope, payload: dict[str, Any]) -> exchange.Answer:
    with transaction(db) as session:
        return exchange.receive(session, vault, scope, parse_event(payload), base_url="http://testserver")
