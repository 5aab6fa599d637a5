"""Command line: python -m portal serve | worker | migrate | seed-demo | grant-admin | api-client | check |
settings-doc | retention | reconcile | backup | restore | precompress."""
from __future__ import annotations

import argparse
import sys

from sqlalchemy.engine import Engine

from portal.config import Settings, UnsafeSettings


def _engine(settings: Settings) -> Engine:
    from portal.db import make_engine

    return make_engine(settings.database_url)


def cmd_migrate(settings: Settings) -> None:
    from portal.migrate import upgrade
    from portal.services.content import sync_policies

    engine = _engine(settings)
    upgrade(engine, pii_key=settings.pii_key)
    sync_policies(engine)
    print("数据库已迁移到最新版本。")


def cmd_seed(settings: Settings) -> None:
    """Demo data only for the stand-in provider; otherwise say why and do nothing (run.sh goes on)."""
    from portal.services.demo import DemoRefused, seed_demo

    try:
        report = seed_demo(settings)
    except DemoRefused as exc:
        print(f"未加载演示数据：{exc}", file=sys.stderr)
        return
    print(f"演示数据已就绪：{report}")


def cmd_grant_admin(settings: Settings, sub: str, name: str) -> None:
    """The first administrator at a real provider: (OIDC_ISSUER, sub)."""
    from portal.db import make_sessionmaker, transaction
    from portal.services.staff import grant_admin

    engine = _engine(settings)
    try:
        with transaction(make_sessionmaker(engine)) as session:
            changed = grant_admin(session, settings.oidc_issuer, sub, name)
    finally:
        engine.dispose()
    print(f"{'已开通' if changed else '已经是'}管理员：{name}（{settings.oidc_issuer} 的用户 {sub}）。")


def cmd_api_client(settings: Settings, args: argparse.Namespace) -> int:
    """Department clients of /api/v1; `add` and `rotate` print one JSON object with the secret (shown once)."""
    import dataclasses
    import json

    from portal.db import make_sessionmaker, transaction
    from portal.services import api_clients
    from portal.services.errors import Invalid, NotFound
    from portal.services.events import Actor

    actor = Actor("system", None, "命令行")
    engine = _engine(settings)
    try:
        with transaction(make_sessionmaker(engine)) as session:
            if args.action == "add":
                out: object = dataclasses.asdict(api_clients.add_client(session, actor, args.name, args.department, args.county))
            elif args.action == "rotate":
                out = dataclasses.asdict(api_clients.rotate_client(session, actor, args.client_id))
            elif args.action == "revoke":
                client = api_clients.revoke_client(session, actor, args.client_id)
                out = {"client_id": client.client_id, "active": client.active}
            else:
                out = [{"client_id": c.client_id, "name": c.name, "department": c.department, "county_code": c.county_code,
                        "active": c.active, "created_at": c.created_at.isoformat(),
                        "rotated_at": c.rotated_at.isoformat() if c.rotated_at else None,
                        "revoked_at": c.revoked_at.isoformat() if c.revoked_at else None}
                       for c in api_clients.clients(session)]
    except Invalid as exc:
        print(json.dumps({"error": "invalid", "fields": exc.errors}, ensure_ascii=False), file=sys.stderr)
        return 2
    except NotFound:
        print(json.dumps({"error": "not_found", "client_id": args.client_id}, ensure_ascii=False), file=sys.stderr)
        return 1
    finally:
        engine.dispose()
    print(json.dumps(out, ensure_ascii=False))
    return 0


def cmd_check(settings: Settings) -> None:
    from pdf.fonts import status as receipt_fonts
    from portal.migrate import check
    from portal.services.bootstrap import validate_reference_data

    validate_reference_data()
    check(_engine(settings))
    print("数据模型与迁移一致，参考数据有效。")
    print(receipt_fonts())


def cmd_backup(settings: Settings, target: str, restore: bool) -> int:
    from pathlib import Path

    from portal.backup import BackupError, backup
    from portal.backup import restore as put_back

    try:
        if restore:
            put_back(settings.database_url, Path(target))
            print(f"已从 {target} 恢复数据库。")
        else:
            print(f"已备份到 {backup(settings.database_url, Path(target))}")
    except BackupError as exc:
        print(f"{'恢复' if restore else '备份'}没有完成：{exc}", file=sys.stderr)
        return 1
    return 0


def cmd_precompress() -> None:
    """Brotli and gzip copies of the static text files, served as they are (done by setup.sh)."""
    from portal.pages import STATIC_DIR
    from portal.web.compression import precompress

    print(f"已压缩 {precompress(STATIC_DIR)} 个静态文件副本。")


def cmd_settings_doc(write: bool) -> None:
    """Print docs/settings.md as the declarations make it, or (--write) rewrite the file."""
    from portal.settings_doc import PATH, render

    if write:
        PATH.write_text(render())
        print(f"已写入 {PATH}")
    else:
        print(render(), end="")


def cmd_retention(settings: Settings, dry_run: bool) -> None:
    """Apply the keeping periods now (or, dry, say what that would do); every run is recorded."""
    from portal.db import make_sessionmaker, transaction
    from portal.services import retention

    engine = _engine(settings)
    try:
        with transaction(make_sessionmaker(engine)) as session:
            record = retention.run(session, retention.Policy.from_settings(settings), dry_run=dry_run, trigger="cli")
            line = retention.describe(record)
            expired = [] if dry_run else list(record.detail.get("drafts", [])) + list(record.detail.get("cases", []))
        if not dry_run:
            retention.remove_cached_files(settings, expired)
            retention.compact(engine)
    finally:
        engine.dispose()
    print(line)


def cmd_reconcile(settings: Settings, month: str, county: str | None, fmt: str, output: str | None) -> int:
    """The 月对账 table the back office shows and exports (personal numbers masked), as CSV or XLSX."""
    from portal.crypto import Vault
    from portal.db import make_sessionmaker
    from portal.services import export, reconciliation
    from portal.services.errors import Invalid

    engine = _engine(settings)
    try:
        with make_sessionmaker(engine)() as session:
            view = reconciliation.view(session, Vault(settings.pii_key), month, county or None,
                                       overdue_after=settings.reconcile_overdue_workdays)
            ids = export.deceased_ids(session, Vault(settings.pii_key), None, [
                r.application_id for r in view.rows if r.application_id], None)
    except Invalid as exc:
        print("；".join(exc.errors.values()), file=sys.stderr)
        return 2
    finally:
        engine.dispose()
    body = export.file_bytes(export.reconciliation_tables(view, ids), fmt)
    if output:
        with open(output, "wb") as out:
            out.write(body)
        print(f"已写入 {output}：{len(view.rows)} 条记录，异常 {len(view.exceptions)} 条。", file=sys.stderr)
    else:
        sys.stdout.buffer.write(body)
        sys.stdout.flush()
    return 0


def cmd_serve(settings: Settings, reload: bool = False) -> int:
    import uvicorn

    from portal.logs import dict_config

    if problem := settings.startup_problem():
        print(f"门户没有启动：{problem}", file=sys.stderr)
        return 2

    print(f"身后一件事门户已启动：{settings.base_url}")
    uvicorn.run(
        "portal.app:create_app",
        factory=True,
        host=settings.host,
        port=settings.port,
        workers=None if reload else settings.workers,
        reload=reload,
        proxy_headers=False,
        access_log=False,  # portal.web.observe writes one line per request, with its id
        log_config=dict_config(settings.log_format, settings.log_level),
        timeout_graceful_shutdown=int(settings.shutdown_grace_seconds),
        # Keep idle connections longer than the load balancer does (60 s is common): a server that
        # closes first races the next request on that connection (seen in bench.load at uvicorn's 5 s).
        timeout_keep_alive=75,
    )
    return 0


def cmd_worker(settings: Settings, processes: int | None, once: bool) -> None:
    if once:
        import threading

        from portal.worker import work

        ran = work(settings, threading.Event(), idle_exit=True)
        print(f"已处理 {ran} 个后台任务。")
        return
    from portal.worker import run

    run(settings, processes)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m portal", description="身后一件事 portal")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("migrate", help="create or upgrade the database and load policy content")
    sub.add_parser("seed-demo", help="load demo staff and applications (idempotent)")
    grant = sub.add_parser("grant-admin", help="make SUB (at OIDC_ISSUER) an administrator")
    grant.add_argument("sub")
    grant.add_argument("name")
    client = sub.add_parser("api-client", help="department clients of /api/v1: add | list | rotate | revoke")
    actions = client.add_subparsers(dest="action", required=True)
    add = actions.add_parser("add", help="open a client; prints client_id and client_secret (shown once)")
    add.add_argument("--name", required=True)
    add.add_argument("--department", required=True, help="department code of content/catalogue.toml")
    add.add_argument("--county", default=None, help="county code (GB/T 2260); omit for the whole city")
    actions.add_parser("list", help="every client, as JSON")
    for verb, why in (("rotate", "new secret; old secret and tokens stop at once"), ("revoke", "stop the client and its tokens")):
        act = actions.add_parser(verb, help=why)
        act.add_argument("client_id")
    sub.add_parser("check", help="check that models, migrations and reference data agree")
    serve = sub.add_parser("serve", help="serve the portal with uvicorn")
    serve.add_argument("--reload", action="store_true")
    worker = sub.add_parser("worker", help="work background jobs and schedules (SMS, receipts, reminders)")
    worker.add_argument("--processes", type=int, default=None, help="worker processes (default JOB_WORKERS)")
    worker.add_argument("--once", action="store_true", help="work the jobs that are due now, then exit")
    keep = sub.add_parser("retention", help="delete expired drafts and anonymise expired cases (RETENTION_* settings)")
    keep.add_argument("--dry-run", action="store_true", help="only report what would be deleted or anonymised")
    rec = sub.add_parser("reconcile", help="write the monthly reconciliation (月对账) table as CSV or XLSX")
    rec.add_argument("--month", required=True, help="YYYY-MM")
    rec.add_argument("--county", default=None, help="county code (default: the whole city)")
    rec.add_argument("--format", choices=("csv", "xlsx"), default="csv")
    rec.add_argument("--output", default=None, help="file to write (default: standard output)")
    for name, what in (("backup", "write a consistent copy of the database to FILE (while serving)"),
                       ("restore", "put the copy in FILE into an empty database")):
        sub.add_parser(name, help=what).add_argument("file")
    sub.add_parser("precompress", help="write brotli and gzip copies of the static files (setup does this)")
    doc = sub.add_parser("settings-doc", help="print docs/settings.md from the declared settings")
    doc.add_argument("--write", action="store_true", help="rewrite docs/settings.md")
    args = parser.parse_args(argv)
    if args.command == "settings-doc":  # needs no settings (and must not generate secrets)
        cmd_settings_doc(args.write)
        return 0
    if args.command == "precompress":
        cmd_precompress()
        return 0
    try:
        settings = Settings.from_env()
    except UnsafeSettings as exc:
        print(f"设置有误：{exc}", file=sys.stderr)
        return 2
    if args.command == "migrate":
        cmd_migrate(settings)
    elif args.command == "seed-demo":
        cmd_seed(settings)
    elif args.command == "grant-admin":
        cmd_grant_admin(settings, args.sub, args.name)
    elif args.command == "api-client":
        return cmd_api_client(settings, args)
    elif args.command == "check":
        cmd_check(settings)
    elif args.command == "reconcile":
        return cmd_reconcile(settings, args.month, args.county, args.format, args.output)
    elif args.command == "retention":
        cmd_retention(settings, args.dry_run)
    elif args.command == "worker":
        cmd_worker(settings, args.processes, args.once)
    elif args.command in ("backup", "restore"):
        return cmd_backup(settings, args.file, restore=args.command == "restore")
    elif args.command == "serve":
        return cmd_serve(settings, reload=args.reload)
    return 0


if __name__ == "__main__":
    sys.exit(main())
