"""CloudEvents as a funeral home, a hospital or a department system would send them (JSON dicts).

Used by the reference client (`python -m portal.simulate`), the tests and the bench; the portal
checks them against portal/domain/exchange.py like any other sender's.
"""
from __future__ import annotations

import uuid
from datetime import date, datetime, timedelta
from typing import Any

from portal.domain import clock

PREFIX = "cn.gov.zj.shenhou."
FUNERAL_HOME = ("温州市殡仪馆", "12330300MB1A2B3C4D")  # name, code (a made-up 统一社会信用代码)
HOSPITAL = ("温州市人民医院", "12330300470123456X")


def envelope(type_: str, source: str, data: dict[str, Any], *, event_id: str | None = None,
             at: datetime | None = None, subject: str | None = None) -> dict[str, Any]:
    event = {
        "specversion": "1.0", "id": event_id or str(uuid.uuid4()), "source": source, "type": PREFIX + type_,
        "time": (at or clock.china_now()).isoformat(), "datacontenttype": "application/json", "data": data,
    }
    if subject:
        event["subject"] = subject
    return event


def deceased(name: str, id_number: str) -> dict[str, str]:
    return {"name": name, "id_number": id_number}


def _wall(value: datetime) -> str:
    return value.replace(microsecond=0, tzinfo=None).isoformat()


def cremation_completed(name: str, id_number: str, died: datetime, *, cremated: datetime | None = None,
                        funeral_home: tuple[str, str] = FUNERAL_HOME, county: str | None = None,
                        township: str | None = None, contact: dict[str, Any] | None = None,
                        certificate: str | None = None, source: str = "urn:zj:funeral-home:wz-city",
                        event_id: str | None = None) -> dict[str, Any]:
    data: dict[str, Any] = {
        "deceased": deceased(name, id_number), "funeral_home_code": funeral_home[1],
        "funeral_home_name": funeral_home[0],
        "cremation_certificate_number": certificate or f"HH-{died:%Y}-{uuid.uuid4().int % 10**6:06d}",
        "cremated_at": _wall(cremated or died + timedelta(days=2)), "death_time": _wall(died),
    }
    if county:
        data["hukou"] = {"county_code": county, **({"township": township} if township else {})}
    if contact:
        data["contact"] = contact
    return envelope("cremation.completed", source, data, event_id=event_id)


def death_certificate(name: str, id_number: str, died: datetime, *, county: str, township: str | None = None,
                      scenario: str = "hospital", contact: dict[str, Any] | None = None,
                      issuer: tuple[str, str] = HOSPITAL, source: str = "urn:zj:weijian:death-certificates",
                      event_id: str | None = None) -> dict[str, Any]:
    data: dict[str, Any] = {
        "deceased": deceased(name, id_number), "certificate_kind": "police" if scenario == "unnatural" else "medical",
        "certificate_number": id_number, "scenario": scenario, "issuer_name": issuer[0], "issuer_code": issuer[1],
        "death_time": _wall(died), "death_cause": "病故", "ethnicity": "01",
        "hukou": {"county_code": county, **({"township": township} if township else {})},
    }
    if contact:
        data["contact"] = contact
    return envelope("death-certificate.issued", source, data, event_id=event_id)


def medical_settled(name: str, id_number: str, amount: str, *, on: date | None = None,
                    source: str = "urn:zj:yibao:settlements", event_id: str | None = None) -> dict[str, Any]:
    data = {"deceased": deceased(name, id_number), "settlement_amount": amount,
            "settled_on": (on or clock.today()).isoformat()}
    return envelope("medical-account.settled", source, data, event_id=event_id)


def household_cancelled(name: str, id_number: str, *, on: date | None = None, station: str = "五马派出所",
                        source: str = "urn:zj:gongan:hukou", event_id: str | None = None) -> dict[str, Any]:
    data = {"deceased": deceased(name, id_number), "cancelled_on": (on or clock.today()).isoformat(),
            "police_station": station}
    return envelope("household.cancelled", source, data, event_id=event_id)


def benefit_stopped(name: str, id_number: str, benefit: str, *, source: str, on: date | None = None,
                    event_id: str | None = None) -> dict[str, Any]:
    data = {"deceased": deceased(name, id_number), "benefit": benefit,
            "stopped_from": (on or clock.today()).isoformat()}
    return envelope("benefit.stopped", source, data, event_id=event_id)


def body_received(name: str, id_number: str, *, received: datetime | None = None, died: datetime | None = None,
                  funeral_home: tuple[str, str] = FUNERAL_HOME, source: str = "urn:zj:funeral-home:wz-city",
                  event_id: str | None = None) -> dict[str, Any]:
    data: dict[str, Any] = {"deceased": deceased(name, id_number), "funeral_home_code": funeral_home[1],
                            "funeral_home_name": funeral_home[0],
                            "received_at": _wall(received or clock.china_now())}
    if died is not None:
        data["death_time"] = _wall(died)
    return envelope("body.received", source, data, event_id=event_id)


def provident_settled(name: str, id_number: str, amount: str, *, on: date | None = None,
                      source: str = "urn:zj:gongjijin:settlements", event_id: str | None = None) -> dict[str, Any]:
    data = {"deceased": deceased(name, id_number), "amount": amount,
            "settled_on": (on or clock.today()).isoformat()}
    return envelope("provident-fund.settled", source, data, event_id=event_id)
