"""Command line: python -m portal serve | migrate | seed-demo | check."""
from __future__ import annotations

import argparse
import sys

from portal.config import Settings


def _engine(settings: Settings):  # type: ignore[no-untyped-def]
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
    from portal.services.demo import seed_demo

    report = seed_demo(settings)
    print(f"演示数据已就绪：{report}")


def cmd_check(settings: Settings) -> None:
    from portal.migrate import check
    from portal.services.bootstrap import validate_reference_data

    from pdf.fonts import status as receipt_fonts

    validate_reference_data()
    check(_engine(settings))
    print("数据模型与迁移一致，参考数据有效。")
    print(receipt_fonts())


def cmd_serve(settings: Settings, reload: bool = False) -> None:
    import uvicorn

    print(f"身后一件事门户已启动：{settings.base_url}")
    uvicorn.run(
        "portal.app:create_app",
        factory=True,
        host=settings.host,
        port=settings.port,
        workers=None if reload else settings.workers,
        reload=reload,
        proxy_headers=False,
        access_log=False,
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m portal", description="身后一件事 portal")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("migrate", help="create or upgrade the database and load policy content")
    sub.add_parser("seed-demo", help="load demo staff and applications (idempotent)")
    sub.add_parser("check", help="check that models, migrations and reference data agree")
    serve = sub.add_parser("serve", help="serve the portal with uvicorn")
    serve.add_argument("--reload", action="store_true")
    args = parser.parse_args(argv)
    settings = Settings.from_env()
    if args.command == "migrate":
        cmd_migrate(settings)
    elif args.command == "seed-demo":
        cmd_seed(settings)
    elif args.command == "check":
        cmd_check(settings)
    elif args.command == "serve":
        cmd_serve(settings, reload=args.reload)
    return 0


if __name__ == "__main__":
    sys.exit(main())
