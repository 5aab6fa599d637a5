"""The reference client: plays a funeral home or a department system against a running portal.

    python -m portal.simulate --portal http://127.0.0.1:8000 --client-id ID --client-secret SECRET \
        funeral-home cremation --name 陈老三 --id-number 330302194001010010 --died 2026-12-01T06:30

It gets a token by OAuth 2.0 client credentials (POST /api/v1/token, HTTP Basic), sends one
CloudEvent to POST /api/v1/events and prints the portal's answer as JSON. `--twice` sends the same
event (same source and id) again, to see that nothing changes. The credentials come from
`python -m portal api-client add --name … --department binyiguan`.
"""
from __future__ import annotations

import argparse
import json
import sys
from datetime import date, datetime
from typing import Any

import httpx

from portal.simulate import payloads

CE = "application/cloudevents+json"


def _when(raw: str) -> datetime:
    return datetime.fromisoformat(raw)


def _day(raw: str) -> date:
    return date.fromisoformat(raw)


def _contact(args: argparse.Namespace) -> dict[str, Any] | None:
    if not args.contact_name:
        return None
    out: dict[str, Any] = {"name": args.contact_name}
    if args.contact_phone:
        out["phone"] = args.contact_phone
    if args.contact_relation:
        out["relation"] = args.contact_relation
    return out


def build_event(args: argparse.Namespace) -> dict[str, Any]:
    """The CloudEvent the chosen role and action send."""
    who = (args.name, args.id_number)
    eid = args.event_id
    if args.role == "funeral-home":
        home = (args.funeral_home_name, args.funeral_home_code)
        if args.action == "body-received":
            return payloads.body_received(*who, died=args.died, funeral_home=home, event_id=eid)
        return payloads.cremation_completed(*who, args.died, funeral_home=home, county=args.county,
                                            township=args.township, contact=_contact(args), event_id=eid)
    if args.action == "certificate":
        return payloads.death_certificate(*who, args.died, county=args.county, township=args.township,
                                          scenario=args.scenario, contact=_contact(args), event_id=eid)
    if args.action == "hukou":
        return payloads.household_cancelled(*who, on=args.on, event_id=eid)
    if args.action == "medical":
        return payloads.medical_settled(*who, args.amount, on=args.on, event_id=eid)
    if args.action == "provident":
        return payloads.provident_settled(*who, args.amount, on=args.on, event_id=eid)
    return payloads.benefit_stopped(*who, args.benefit, on=args.on, event_id=eid,
                                    source=f"urn:zj:{args.benefit}:benefit-stops")


def token(http: httpx.Client, client_id: str, secret: str) -> str:
    r = http.post("/api/v1/token", data={"grant_type": "client_credentials"}, auth=(client_id, secret))
    if r.status_code != 200:
        raise SystemExit(f"token refused ({r.status_code}): {r.text}")
    return str(r.json()["access_token"])


def send(http: httpx.Client, access: str, event: dict[str, Any]) -> httpx.Response:
    return http.post("/api/v1/events", content=json.dumps(event, ensure_ascii=False).encode(),
                     headers={"Authorization": f"Bearer {access}", "Content-Type": CE})


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m portal.simulate", description="身后一件事：殡仪馆和部门系统的参考客户端")
    p.add_argument("--portal", default="http://127.0.0.1:8000", help="the portal's address")
    p.add_argument("--client-id", help="from `python -m portal api-client add …`")
    p.add_argument("--client-secret", help="shown once by `python -m portal api-client add …`")
    p.add_argument("--twice", action="store_true", help="send the same event (same source and id) a second time")
    roles = p.add_subparsers(dest="role", required=True)

    def person(sp: argparse.ArgumentParser) -> None:
        sp.add_argument("--name", required=True, help="逝者姓名")
        sp.add_argument("--id-number", required=True, help="逝者身份证号")
        sp.add_argument("--event-id", help="CloudEvents id (default: a new UUID)")

    def place(sp: argparse.ArgumentParser, *, required: bool) -> None:
        sp.add_argument("--died", type=_when, required=True, help="死亡时间, e.g. 2026-12-01T06:30")
        sp.add_argument("--county", required=required, help="户籍县（市、区）代码, e.g. 330302")
        sp.add_argument("--township", help="户籍乡镇（街道）")
        sp.add_argument("--contact-name")
        sp.add_argument("--contact-phone")
        sp.add_argument("--contact-relation", choices=("spouse", "child", "parent", "sibling", "grandparent",
                                                       "grandchild", "other_relative", "agent"))

    home = roles.add_parser("funeral-home", help="殡仪馆")
    home_actions = home.add_subparsers(dest="action", required=True)
    for action in ("cremation", "body-received"):
        sp = home_actions.add_parser(action)
        person(sp)
        place(sp, required=False)
        sp.add_argument("--funeral-home-name", default=payloads.FUNERAL_HOME[0])
        sp.add_argument("--funeral-home-code", default=payloads.FUNERAL_HOME[1])

    dept = roles.add_parser("department", help="卫健、公安、人社、民政、医保、公积金等部门系统")
    dept_actions = dept.add_subparsers(dest="action", required=True)
    sp = dept_actions.add_parser("certificate", help="死亡证明已出具（卫健/医院/公安）")
    person(sp)
    place(sp, required=True)
    sp.add_argument("--scenario", choices=("home", "hospital", "unnatural"), default="hospital")
    for action, helptext in (("hukou", "户口已注销（公安）"), ("medical", "医保个人账户已清算"),
                             ("provident", "住房公积金已结算"), ("benefit-stop", "待遇已停发")):
        sp = dept_actions.add_parser(action, help=helptext)
        person(sp)
        sp.add_argument("--on", type=_day, help="日期 (default: today)")
        if action in ("medical", "provident"):
            sp.add_argument("--amount", required=True, help="金额（元），医保可为负数, e.g. -320.50")
        if action == "benefit-stop":
            sp.add_argument("--benefit", required=True, choices=("pension", "assistance", "veteran", "disability"))
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    if not args.client_id or not args.client_secret:
        print("需要客户端凭据：--client-id 和 --client-secret（python -m portal api-client add …）", file=sys.stderr)
        return 2
    event = build_event(args)
    with httpx.Client(base_url=args.portal, timeout=30) as http:
        access = token(http, args.client_id, args.client_secret)
        ok = True
        for _ in range(2 if args.twice else 1):
            r = send(http, access, event)
            print(json.dumps({"status": r.status_code, "event_id": event["id"], "answer": r.json()}, ensure_ascii=False))
            ok = ok and r.status_code == 200
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
