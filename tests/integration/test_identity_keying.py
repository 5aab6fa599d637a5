"""Identity is (issuer, sub): the same `sub` at another provider is another person.

Demo data and the stand-in provider belong to the stand-in issuer only; a production setting
refuses the stand-in unless explicitly allowed, and hides the demo personas by default.
"""
from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from urllib.parse import urlsplit

import httpx
import pytest
from sqlalchemy import create_engine, make_url, select, text
from starlette.testclient import TestClient

from auth.web import build_oauth
from portal.app import create_app
from portal.config import Settings, UnsafeSettings
from portal.db import make_sessionmaker
from portal.models import Application, CitizenAccount, StaffMember
from tests.helpers import login
from tests.integration.factories import new_application
from tests.integration.test_foreign_provider import foreign_issuer  # noqa: F401  (module fixture)

DEMO_ADMIN_SUB = "zj-u-0190"
DEMO_CITIZEN_SUB = "zj-u-0001"


def _foreign_settings(test_env: dict[str, str], issuer: str, **extra: str) -> Settings:
    return Settings.from_env({**test_env, "OIDC_ISSUER": issuer, "OIDC_CLIENT_ID": "portal-elsewhere",
                              "OIDC_CLIENT_SECRET": "elsewhere-secret", **extra})


def _foreign_login(app, issuer: str, sub: str, claims: dict[str, object], next_path: str = "/") -> tuple[TestClient, str]:  # type: ignore[no-untyped-def]
    """Log in at the outside mock provider as `sub` (claims registered there first)."""
    assert httpx.put(f"{issuer}/users/{sub}", json=claims).status_code == 204
    c = TestClient(app, base_url="http://testserver", follow_redirects=False)
    authorize = c.get(f"/login?next={next_path}").headers["location"]
    assert authorize.startswith(issuer)
    answer = httpx.post(authorize, data={"sub": sub}, follow_redirects=False)
    parts = urlsplit(answer.headers["location"])
    done = c.get(parts.path + "?" + parts.query)
    assert done.status_code == 303, done.text[:500]
    return c, done.headers["location"]


def test_outside_login_with_a_demo_admins_sub_gets_no_staff_rights(  # type: ignore[no-untyped-def]
        test_env, engine, demo_staff, foreign_issuer) -> None:
    app = create_app(_foreign_settings(test_env, foreign_issuer), engine=engine)
    c, landed = _foreign_login(app, foreign_issuer, DEMO_ADMIN_SUB, {"name": "冒充者", "auth_level": 3})
    assert landed == "/"  # not /admin
    assert c.get("/admin/staff").status_code == 403
    assert c.get("/admin").status_code == 403


def test_outside_login_with_a_demo_citizens_sub_is_another_person(  # type: ignore[no-untyped-def]
        test_env, engine, db, vault, foreign_issuer) -> None:
    app_id = new_application(db, vault, citizen="chenjianguo")
    app = create_app(_foreign_settings(test_env, foreign_issuer), engine=engine)
    c, _ = _foreign_login(app, foreign_issuer, DEMO_CITIZEN_SUB, {"name": "别人", "auth_level": 3})
    assert c.get(f"/my/{app_id}").status_code == 404
    assert "陈德明" not in c.get("/my").text
    with db() as s:
        rows = s.execute(select(CitizenAccount.issuer, CitizenAccount.name)
                         .where(CitizenAccount.sub == DEMO_CITIZEN_SUB)).all()
        owner = s.scalar(select(CitizenAccount.name).join(Application).where(Application.id == app_id))
    assert sorted(rows) == sorted([("http://testserver/idp", "陈建国"), (foreign_issuer, "别人")])
    assert owner == "陈建国"  # the outside login did not take the account over


def test_demo_staff_carry_the_stand_in_issuer(settings: Settings, db) -> None:  # type: ignore[no-untyped-def]
    with db() as s:
        issuers = set(s.scalars(select(StaffMember.issuer)))
    assert issuers == {settings.oidc_issuer} == {"http://testserver/idp"}


def test_seed_demo_does_nothing_when_the_portal_uses_another_provider(  # type: ignore[no-untyped-def]
        test_env, engine, app, capsys) -> None:
    from portal.__main__ import main
    from portal.services.demo import DemoRefused, seed_demo

    foreign = _foreign_settings(test_env, "https://login.example.gov.cn")
    with pytest.raises(DemoRefused):
        seed_demo(foreign)
    with pytest.MonkeyPatch.context() as mp:
        for key, value in {**test_env, "OIDC_ISSUER": "https://login.example.gov.cn"}.items():
            mp.setenv(key, value)
        assert main(["seed-demo"]) == 0  # scripts/run.sh goes on to serve
    assert "OIDC_ISSUER" in capsys.readouterr().err
    with make_sessionmaker(engine)() as s:
        assert s.scalar(select(StaffMember.id).limit(1)) is None
        assert s.scalar(select(CitizenAccount.id).limit(1)) is None


def test_staff_granted_by_the_admin_page_belong_to_the_configured_issuer(client, db) -> None:  # type: ignore[no-untyped-def]
    from tests.conftest import csrf_from

    login(client, "admin")
    token = csrf_from(client.get("/admin/staff").text)
    ok = client.post("/admin/staff", data={"csrf_token": token, "sub": "zj-u-0120", "name": "新人", "role": "admin"})
    assert ok.status_code == 303
    with db() as s:
        assert s.scalar(select(StaffMember.issuer).where(StaffMember.sub == "zj-u-0120")) == "http://testserver/idp"


def test_grant_admin_command_binds_to_the_configured_issuer(test_env, engine, app, capsys) -> None:  # type: ignore[no-untyped-def]
    from portal.__main__ import main

    with pytest.MonkeyPatch.context() as mp:
        for key, value in {**test_env, "OIDC_ISSUER": "https://login.example.gov.cn"}.items():
            mp.setenv(key, value)
        assert main(["grant-admin", "real-sub-42", "王管理"]) == 0
        assert main(["grant-admin", "real-sub-42", "王管理"]) == 0  # idempotent
    with make_sessionmaker(engine)() as s:
        rows = s.execute(select(StaffMember.issuer, StaffMember.role, StaffMember.active)
                         .where(StaffMember.sub == "real-sub-42")).all()
    assert rows == [("https://login.example.gov.cn", "admin", True)]


# --- the stand-in in production ------------------------------------------------------------------

@pytest.mark.parametrize("extra", [{"HTTPS_ONLY": "1"}, {"ENVIRONMENT": "production"}])
def test_production_refuses_to_start_with_the_stand_in(test_env, engine, extra) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(UnsafeSettings, match="ALLOW_STAND_IN_IDP"):
        create_app(Settings.from_env({**test_env, **extra}), engine=engine)


def test_serve_command_refuses_with_a_clear_message(test_env, capsys) -> None:  # type: ignore[no-untyped-def]
    from portal.__main__ import main

    with pytest.MonkeyPatch.context() as mp:
        for key, value in {**test_env, "HTTPS_ONLY": "1"}.items():
            mp.setenv(key, value)
        assert main(["serve"]) == 2  # before uvicorn starts
    assert "ALLOW_STAND_IN_IDP" in capsys.readouterr().err


def test_production_starts_with_an_outside_provider_and_mounts_no_stand_in(test_env, engine) -> None:  # type: ignore[no-untyped-def]
    settings = Settings.from_env({**test_env, "ENVIRONMENT": "production", "OIDC_ISSUER": "https://login.example.gov.cn"})
    app = create_app(settings, engine=engine)
    with TestClient(app, base_url="https://testserver") as c:
        assert c.get("/idp/.well-known/openid-configuration").status_code == 404


def test_unknown_environment_is_refused(test_env) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(UnsafeSettings, match="ENVIRONMENT"):
        Settings.from_env({**test_env, "ENVIRONMENT": "prod"})


def _login_page(app) -> str:  # type: ignore[no-untyped-def]
    """The stand-in's login page, reached through the portal's /login (provider called in process)."""
    app.state.oauth = build_oauth(app.state.services.settings, transport=httpx.ASGITransport(app=app))
    with TestClient(app, base_url="https://testserver", follow_redirects=False) as c:
        authorize = c.get("/login").headers["location"]
        parts = urlsplit(authorize)
        page = c.get(parts.path + "?" + parts.query)
        assert page.status_code == 200 and 'name="password"' in page.text
        return page.text


def test_personas_are_hidden_by_default_in_production(test_env, engine) -> None:  # type: ignore[no-untyped-def]
    base = {**test_env, "BASE_URL": "https://testserver", "HTTPS_ONLY": "1", "ALLOW_STAND_IN_IDP": "1"}
    hidden = _login_page(create_app(Settings.from_env(base), engine=engine))
    assert "personas-title" not in hidden and "demo1234" not in hidden and "施永明" not in hidden
    shown = _login_page(create_app(Settings.from_env({**base, "IDP_SHOW_PERSONAS": "1"}), engine=engine))
    assert "personas-title" in shown and "施永明" in shown


def test_personas_are_shown_by_default_in_development(app) -> None:  # type: ignore[no-untyped-def]
    assert "施永明" in _login_page(app)


# --- the migration --------------------------------------------------------------------------------

@pytest.fixture
def scratch_url(database_url: str, tmp_path) -> Iterator[str]:  # type: ignore[no-untyped-def]
    """An empty database of the kind under test (SQLite file, or a new PostgreSQL database)."""
    url = make_url(database_url)
    if url.get_backend_name() != "postgresql":
        yield f"sqlite:///{tmp_path / 'old.db'}"
        return
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    name = "migration_scratch"
    with admin.connect() as conn:
        conn.execute(text(f"DROP DATABASE IF EXISTS {name}"))
        conn.execute(text(f"CREATE DATABASE {name}"))
    try:
        yield url.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        admin.dispose()


def test_migration_binds_existing_staff_to_the_stand_in_and_keeps_account_issuers(  # type: ignore[no-untyped-def]
        scratch_url, monkeypatch) -> None:
    """Rows from before (issuer, sub): staff go to the stand-in of BASE_URL, accounts keep theirs."""
    from alembic import command
    from alembic.script import ScriptDirectory

    from portal.migrate import alembic_config

    mine = "00c98586eca6"
    monkeypatch.setenv("BASE_URL", "http://portal.test:8000")
    eng = create_engine(scratch_url)
    then = datetime(2026, 1, 1, tzinfo=UTC)
    with eng.begin() as conn:
        cfg = alembic_config(str(eng.url))
        cfg.attributes["connection"] = conn
        before = ScriptDirectory.from_config(cfg).get_revision(mine).down_revision
        command.upgrade(cfg, before)
        conn.execute(text("INSERT INTO staff_member (sub, name, role, active, version, created_at, updated_at) "
                          "VALUES ('zj-u-0190', '施永明', 'admin', :yes, 1, :t, :t)"), {"yes": True, "t": then})
        conn.execute(text("INSERT INTO citizen_account (sub, issuer, name, id_type, auth_level, created_at, updated_at) "
                          "VALUES ('zj-u-0001', 'https://login.example.gov.cn', '陈建国', 1, 3, :t, :t)"), {"t": then})
        command.upgrade(cfg, mine)
        assert conn.execute(text("SELECT issuer FROM staff_member")).scalar_one() == "http://portal.test:8000/idp"
        assert conn.execute(text("SELECT issuer FROM citizen_account")).scalar_one() == "https://login.example.gov.cn"
        command.downgrade(cfg, before)
        assert conn.execute(text("SELECT sub FROM staff_member")).scalar_one() == "zj-u-0190"
    eng.dispose()


def test_models_match_migrations(engine) -> None:  # type: ignore[no-untyped-def]
    from portal.migrate import check

    check(engine)


def test_an_id_token_from_another_issuer_is_refused() -> None:
    from auth.claims import ClaimsError, identity_from_claims

    with pytest.raises(ClaimsError):
        identity_from_claims({"iss": "https://other.example", "sub": "zj-u-0190", "name": "某人"}, "http://testserver/idp")
    who = identity_from_claims({"iss": "http://testserver/idp/", "sub": "zj-u-0190", "name": "某人"}, "http://testserver/idp")
    assert (who.issuer, who.sub) == ("http://testserver/idp", "zj-u-0190")
