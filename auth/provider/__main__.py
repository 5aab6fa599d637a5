"""Run the stand-in identity provider on its own port.

    python -m auth.provider --port 8001

Defaults suit a portal at http://127.0.0.1:8000 whose OIDC client is "shenhou-portal".
Every option can also come from the environment (IDP_* variables, declared with their defaults
in portal/config.py and listed in docs/settings.md). State lives under var/ (git-ignored): the
SQLite DB, the RS256 key and the session secret.
"""
from __future__ import annotations

import argparse
import logging
import os
import secrets
from pathlib import Path

from starlette.applications import Starlette

from portal.config import ROOT, secret_file, setting
from portal.db import Base, make_engine, make_sessionmaker
from portal.models import ThrottleCounter

from .app import create_standalone_app
from .config import DEFAULT_PERSONAS_PATH, REPO_ROOT, ClientConfig, ProviderConfig, load_or_create_secret
from .models import IdpAccessToken, IdpAuthCode

VAR = REPO_ROOT / "var"


def _env(name: str) -> str | None:
    """An IDP_* setting from the environment, else its declared default."""
    return setting(os.environ, name)


def _env_list(name: str) -> list[str]:
    return (_env(name) or "").split()


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m auth.provider", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--host", default=_env("IDP_HOST"))
    p.add_argument("--port", type=int, default=int(_env("IDP_PORT") or 0))
    p.add_argument("--issuer", default=_env("IDP_ISSUER"),
                   help="public base URL (default http://HOST:PORT)")
    p.add_argument("--db", default=_env("IDP_DATABASE_URL") or f"sqlite:///{VAR / 'idp.sqlite3'}",
                   help="SQLAlchemy URL [IDP_DATABASE_URL]")
    p.add_argument("--key", type=Path, default=Path(_env("IDP_KEY_PATH") or VAR / "idp_signing_key.pem"),
                   help="RS256 private key file, created on first use [IDP_KEY_PATH]")
    p.add_argument("--personas", type=Path, default=Path(_env("IDP_PERSONAS_PATH") or DEFAULT_PERSONAS_PATH))
    p.add_argument("--client-id", default=_env("IDP_CLIENT_ID"))
    p.add_argument("--client-secret", default=_env("IDP_CLIENT_SECRET"),
                   help="[IDP_CLIENT_SECRET] default: the portal's generated var/oidc_client_secret, "
                        "so a portal started with OIDC_ISSUER pointing here matches without configuration")
    p.add_argument("--redirect-uri", action="append", dest="redirect_uris",
                   help="repeatable [IDP_REDIRECT_URIS, space-separated]")
    p.add_argument("--post-logout-redirect-uri", action="append", dest="post_logout_redirect_uris",
                   help="repeatable [IDP_POST_LOGOUT_REDIRECT_URIS, space-separated]")
    shown_by_default = "0" if (_env("ENVIRONMENT") or "").lower() == "production" else "1"
    p.add_argument("--hide-personas", action="store_true",
                   default=(_env("IDP_SHOW_PERSONAS") or shown_by_default) in ("0", "false", "no"),
                   help="do not list the demo personas on the login page (the default when ENVIRONMENT=production)")
    p.add_argument("--log-level", default="info")
    return p.parse_args(argv)


def build(args: argparse.Namespace) -> tuple[ProviderConfig, Starlette]:
    if not args.client_secret:
        var_dir = Path(_env("VAR_DIR") or ROOT / "var")
        args.client_secret = secret_file(var_dir, "oidc_client_secret", secrets.token_urlsafe(32))
    issuer = args.issuer or f"http://{args.host}:{args.port}"
    redirect_uris = args.redirect_uris or _env_list("IDP_REDIRECT_URIS")
    post_logout = args.post_logout_redirect_uris or _env_list("IDP_POST_LOGOUT_REDIRECT_URIS")
    secret = _env("IDP_SESSION_SECRET") or load_or_create_secret(VAR / "idp_session_secret")
    config = ProviderConfig(
        issuer=issuer,
        key_path=args.key,
        clients=[ClientConfig(
            client_id=args.client_id,
            client_secret=args.client_secret,
            redirect_uris=redirect_uris,
            post_logout_redirect_uris=post_logout,
            client_name="身后一件事 一站式服务",
        )],
        personas_path=args.personas,
        show_personas=not args.hide_personas,
        session_secret=secret,
    )
    if args.db.startswith("sqlite:///"):
        Path(args.db.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    engine = make_engine(args.db)
    tables = [Base.metadata.tables[m.__tablename__] for m in (IdpAuthCode, IdpAccessToken, ThrottleCounter)]
    Base.metadata.create_all(engine, tables=tables)
    return config, create_standalone_app(config, make_sessionmaker(engine))


def main(argv: list[str] | None = None) -> None:
    import uvicorn

    args = parse_args(argv)
    logging.basicConfig(level=args.log_level.upper())
    config, app = build(args)
    print(f"Stand-in 浙江政务服务网 OIDC provider (TEST ONLY): issuer {config.issuer}")
    print(f"  discovery {config.url('/.well-known/openid-configuration')}")
    print(f"  client    {config.clients[0].client_id}  redirect_uris {config.clients[0].redirect_uris}")
    uvicorn.run(app, host=args.host, port=args.port, log_level=args.log_level, timeout_graceful_shutdown=5)


if __name__ == "__main__":
    main()
