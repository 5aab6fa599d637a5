"""Settings from environment variables, with defaults that run embedded.

Every setting is declared once, in SECTIONS below: its name, its default as written in the
environment, and what it means. `Settings.from_env` reads them through `setting()`, and
docs/settings.md is generated from them (`python -m portal settings-doc`; a test keeps the
committed file equal to it and every variable the code reads declared). The throttling limits
(RATE_LIMIT_<NAME>) are declared with their defaults in portal/throttle.py.
Secrets that are not given are generated once into VAR_DIR and reused, never committed.
"""
from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class Setting:
    """One environment variable. `default` is what an unset (or empty) variable stands for;
    None when the default is worked out from other settings, then `default_text` says how."""

    name: str
    default: str | None
    meaning: str
    default_text: str = ""

    @property
    def documented_default(self) -> str:
        if self.default_text:
            return self.default_text
        return f"`{self.default}`" if self.default else "empty"


@dataclass(frozen=True)
class Section:
    title: str
    intro: str
    settings: tuple[Setting, ...]


S = Setting
SECTIONS: tuple[Section, ...] = (
    Section("The portal", "", (
        S("DATABASE_URL", None, "SQLAlchemy URL. PostgreSQL: `postgresql+psycopg://…`.",
          "SQLite file `portal.db` in `VAR_DIR`"),
        S("SECRET_KEY", None, "Signs the stand-in provider's own login cookie (the portal's session cookie holds only "
          "a random id, see decision D12).", "generated into `VAR_DIR/secret_key` on first run"),
        S("PII_KEY", None, "Master key (hex, 32 bytes) for encrypting 身份证号/bank accounts and their blind index.",
          "generated into `VAR_DIR/pii_key`"),
        S("BASE_URL", None, "Public base URL of the portal.", "`http://127.0.0.1:PORT`"),
        S("ALLOWED_HOSTS", "127.0.0.1,localhost,testserver", "Comma-separated Host header values accepted."),
        S("HTTPS_ONLY", "0", "1 to mark cookies Secure and send HSTS (behind HTTPS). Implies "
          "`ENVIRONMENT=production` unless `ENVIRONMENT` is set."),
        S("ENVIRONMENT", None, "`development` or `production`. In production the portal refuses to start with the "
          "embedded stand-in provider (no `OIDC_ISSUER`) unless `ALLOW_STAND_IN_IDP=1`, and the stand-in hides its "
          "demo personas unless `IDP_SHOW_PERSONAS=1`.", "`production` when `HTTPS_ONLY=1`, else `development`"),
        S("ALLOW_STAND_IN_IDP", "0", "1 to allow the embedded stand-in provider in production, e.g. for a public demo."),
        S("SESSION_IDLE_MINUTES", "30", "A session (signed in or not) ends after this many minutes without a "
          "request; each request slides it."),
        S("SESSION_MAX_HOURS", "8", "A session ends this many hours after it began, however active; then the "
          "person logs in again."),
        S("MAX_BODY_BYTES", "1048576", "Largest request body accepted; larger gets 413."),
        S("OIDC_ISSUER", None, "Issuer URL of the identity provider (demo data is loaded by `seed-demo` only for "
          "the embedded stand-in).", "the embedded stand-in at `BASE_URL/idp`"),
        S("OIDC_CLIENT_ID", "shenhou-portal", "Client id registered at the provider."),
        S("OIDC_CLIENT_SECRET", None, "Client secret.", "for the stand-in: generated into "
          "`VAR_DIR/oidc_client_secret`"),
        S("IDP_SHOW_PERSONAS", None, "1 to list the demo personas on the stand-in login page (embedded or on its "
          "own).", "`1` in development, `0` in production"),
        S("VAR_DIR", None, "Directory for the SQLite file, generated keys and caches.", "`var/` in the repository"),
        S("HOST", "127.0.0.1", "Interface uvicorn binds to."),
        S("PORT", "8000", "Port uvicorn listens on."),
        S("WORKERS", "1", "uvicorn worker processes (use PostgreSQL with more than one)."),
        S("THREADS", "8", "Threads per worker that run request handlers (sync DB work); also bounds DB connections "
          "per worker."),
        S("RECEIPT_FONT_DIR", None, "Where `python -m pdf.fonts` (run by scripts/setup.sh) puts the receipt's "
          "re-ordered Noto Sans CJK SC, and where receipts look for it.",
          "`var/fonts` in the repository (shared by every `VAR_DIR`, like the virtualenv)"),
        S("PRERENDER_RECEIPTS", "1", "1 to have the worker render the family's receipt right after a submission or "
          "a correction, so the first download is a cached one (the test suite sets 0 and tests it on its own)."),
    )),
    Section("Background jobs and texts", "", (
        S("JOB_WORKERS", "1", "Background worker processes that `python -m portal worker` starts on this machine."),
        S("JOB_LEASE_SECONDS", "60", "How long a worker holds a job before another may take it over (renewed while "
          "it runs)."),
        S("JOB_POLL_SECONDS", "1", "How often an idle worker looks for due jobs."),
        S("SCHEDULE_TICK_SECONDS", "30", "How often a worker checks the schedules (reminders, digests, 月对账)."),
        S("JOB_STUCK_SECONDS", "300", "/healthz reports the queue as stuck (status degraded) when a due job has "
          "waited longer than this."),
        S("JOB_HANDLER_MODULES", "", "Extra comma-separated modules that register job handlers (for tests and "
          "extensions)."),
        S("SMS_GATEWAY_URL", "", "HTTP SMS gateway endpoint; empty keeps the development sender, which only "
          "records texts."),
        S("SMS_GATEWAY_KEY", "", "Bearer key for the SMS gateway."),
        S("SMS_SIGNATURE", "身后一件事", "Signature (签名) the gateway puts on every text."),
        S("SMS_TIMEOUT_SECONDS", "5", "Time-out for one call to the SMS gateway."),
        S("SMS_PER_NUMBER_PER_HOUR", "5", "Most texts sent to one mobile number in an hour; more wait."),
        S("DUTY_PHONES", "", "Duty phones for staff texts: `department@county=phone`, comma-separated "
          "(`admin@county` for escalations); empty sends no staff texts."),
        S("ESCALATE_AFTER_WORKDAYS", "3", "A task overdue by this many working days is reported to the county's "
          "administrators."),
    )),
    Section("Oversight: 月对账 and how long personal data is kept", "", (
        S("RECONCILE_OVERDUE_WORKDAYS", "5", "In the monthly reconciliation, a death known for more than this many "
          "working days with a benefit not stopped or the household not cancelled is an exception."),
        S("RETENTION_DRAFT_DAYS", "90", "A draft nobody has touched for this many days is deleted by the retention job."),
        S("RETENTION_CASE_YEARS", "5", "A completed case keeps its personal data (names, numbers, answers, texts) this "
          "many years after completion; then only anonymised figures remain (VERIFY LOCALLY against the archive "
          "rules: the township's paper 存档联 is the archive, not the portal)."),
    )),
    Section("Throttling", "", (
        S("RATE_LIMIT_STORAGE", "db", "Where throttling counts: `db` (a table in `DATABASE_URL`), or a limits "
          "storage URI such as `redis://host:6379` (pip install redis) or `memory://` (one process only)."),
    )),
    Section("Operations", "Logs, metrics, the database pool and shutdown; see docs/deploy.md.", (
        S("LOG_FORMAT", "json", "`json`: one JSON object per line with the request id (for a log collector); "
          "`text`: readable lines for a terminal."),
        S("LOG_LEVEL", "INFO", "Lowest level logged (`DEBUG`, `INFO`, `WARNING`, `ERROR`)."),
        S("DB_POOL_SIZE", None, "Database connections each portal process keeps open (PostgreSQL).",
          "`THREADS` + 2 (every handler thread, the session middleware and the metrics scrape)"),
        S("DB_MAX_OVERFLOW", "4", "Extra connections a process may open for a burst beyond `DB_POOL_SIZE`."),
        S("METRICS_TOKEN", "", "Bearer token a Prometheus scraper sends to `/admin/metrics`; empty: only signed-in "
          "administrators see it."),
        S("PROMETHEUS_MULTIPROC_DIR", "", "With `WORKERS` > 1: an empty directory (emptied at each start) where "
          "prometheus-client keeps every worker's request metrics, so one scrape adds them up."),
        S("SHUTDOWN_GRACE_SECONDS", "20", "On SIGTERM uvicorn stops accepting and waits this long for requests in "
          "flight before closing them (keep it below the load balancer's deregistration delay)."),
    )),
    Section("The stand-in provider on its own", "`python -m auth.provider` serves the stand-in 浙江政务服务网 on its "
            "own port (for a portal started with `OIDC_ISSUER` pointing at it). Each variable can also be given as "
            "the option in brackets; see `python -m auth.provider --help`. It reads `IDP_SHOW_PERSONAS`, "
            "`ENVIRONMENT`, `VAR_DIR` and the `RATE_LIMIT_*` settings above too.", (
        S("IDP_HOST", "127.0.0.1", "Interface it binds to [`--host`]."),
        S("IDP_PORT", "8001", "Port it listens on [`--port`]."),
        S("IDP_ISSUER", None, "Its public base URL [`--issuer`].", "`http://IDP_HOST:IDP_PORT`"),
        S("IDP_DATABASE_URL", None, "SQLAlchemy URL of its own codes, tokens and counters [`--db`].",
          "SQLite file `var/idp.sqlite3` in the repository"),
        S("IDP_KEY_PATH", None, "Its RS256 signing key, created on first use [`--key`].",
          "`var/idp_signing_key.pem` in the repository"),
        S("IDP_PERSONAS_PATH", None, "The demo personas it knows [`--personas`]; the embedded stand-in reads it "
          "too (bench/load.py gives it generated families).", "`auth/personas.toml`"),
        S("IDP_CLIENT_ID", "shenhou-portal", "The one client it registers [`--client-id`]."),
        S("IDP_CLIENT_SECRET", None, "That client's secret [`--client-secret`].",
          "the portal's generated `VAR_DIR/oidc_client_secret`, so the two match without configuration"),
        S("IDP_REDIRECT_URIS", "http://127.0.0.1:8000/auth/callback http://localhost:8000/auth/callback",
          "The client's redirect URIs, space-separated [`--redirect-uri`, repeatable]."),
        S("IDP_POST_LOGOUT_REDIRECT_URIS", "http://127.0.0.1:8000/ http://localhost:8000/",
          "Where it may send the browser after logout, space-separated [`--post-logout-redirect-uri`, repeatable]."),
        S("IDP_SESSION_SECRET", None, "Signs its own login cookie.",
          "generated into `var/idp_session_secret` in the repository"),
    )),
)
del S

#: Every declared setting by name.
DECLARED: dict[str, Setting] = {s.name: s for section in SECTIONS for s in section.settings}


def setting(env: Mapping[str, str], name: str) -> str | None:
    """The value of the declared setting `name` in `env`; unset or empty gives its declared default."""
    return env.get(name) or DECLARED[name].default


def _text(env: Mapping[str, str], name: str) -> str:
    """A setting whose declared default is a value (never None)."""
    value = setting(env, name)
    assert value is not None, f"{name} has a computed default"
    return value


RATE_LIMIT_PREFIX = "RATE_LIMIT_"  # RATE_LIMIT_<NAME> overrides a limit of portal/throttle.py


def secret_file(var_dir: Path, name: str, make: str) -> str:
    """Read a generated secret from var/, creating it (mode 0600) on first use."""
    path = var_dir / name
    if path.exists():
        return path.read_text().strip()
    var_dir.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(make)
    return make


def rate_limit_overrides(env: Mapping[str, str]) -> dict[str, str]:
    """RATE_LIMIT_<NAME>=<limits string> -> {name: string}; names are checked by the throttle module."""
    return {
        key.removeprefix(RATE_LIMIT_PREFIX).lower(): value.strip()
        for key, value in env.items()
        if key.startswith(RATE_LIMIT_PREFIX) and key != "RATE_LIMIT_STORAGE" and value.strip()
    }


ENVIRONMENTS = ("development", "production")


class UnsafeSettings(ValueError):
    """The settings would run the portal unsafely (or make no sense): refuse to start."""


def _flag(value: str | None, default: bool) -> bool:
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


@dataclass(frozen=True)
class Settings:
    database_url: str
    secret_key: str
    pii_key: bytes
    base_url: str
    allowed_hosts: tuple[str, ...]
    https_only: bool
    max_body_bytes: int
    oidc_issuer: str
    oidc_client_id: str
    oidc_client_secret: str
    embedded_idp: bool
    idp_show_personas: bool
    var_dir: Path
    host: str = "127.0.0.1"
    port: int = 8000
    workers: int = 1
    threads: int = 8
    prerender_receipts: bool = True
    rate_limit_storage: str = "db"
    rate_limits: Mapping[str, str] = field(default_factory=dict)
    job_workers: int = 1
    job_lease_seconds: float = 60.0
    job_poll_seconds: float = 1.0
    schedule_tick_seconds: float = 30.0
    job_handler_modules: str = ""
    job_stuck_seconds: float = 300.0
    sms_gateway_url: str = ""
    sms_gateway_key: str = ""
    sms_signature: str = "身后一件事"
    sms_timeout_seconds: float = 5.0
    sms_per_number_per_hour: int = 5
    duty_phones: str = ""
    escalate_after_workdays: int = 3
    environment: str = "development"
    allow_stand_in_idp: bool = False
    session_idle_seconds: int = 30 * 60
    session_max_seconds: int = 8 * 3600
    reconcile_overdue_workdays: int = 5
    retention_draft_days: int = 90
    retention_case_years: int = 5
    log_format: str = "json"
    log_level: str = "INFO"
    db_pool_size: int = 10
    db_max_overflow: int = 4
    metrics_token: str = ""
    shutdown_grace_seconds: float = 20.0

    @property
    def production(self) -> bool:
        return self.environment == "production"

    @property
    def stand_in_issuer(self) -> str:
        """The issuer the embedded stand-in provider has (demo identities belong to it)."""
        return f"{self.base_url}/idp"

    def startup_problem(self) -> str | None:
        """Why the portal must not serve with these settings, or None."""
        if self.production and self.embedded_idp and not self.allow_stand_in_idp:
            return ("ENVIRONMENT is production (or HTTPS_ONLY=1) but no OIDC_ISSUER is set, so the portal would "
                    "log people in at the embedded stand-in provider, whose demo accounts anyone can use. Set "
                    "OIDC_ISSUER to the real provider, or ALLOW_STAND_IN_IDP=1 for a public demo.")
        return None

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env
        var_dir = Path(setting(env, "VAR_DIR") or ROOT / "var").resolve()
        port = int(_text(env, "PORT"))
        base_url = (setting(env, "BASE_URL") or f"http://127.0.0.1:{port}").rstrip("/")
        issuer = (setting(env, "OIDC_ISSUER") or "").rstrip("/")
        embedded = not issuer or issuer == f"{base_url}/idp"
        https_only = _flag(setting(env, "HTTPS_ONLY"), False)
        environment = (setting(env, "ENVIRONMENT") or ("production" if https_only else "development")).strip().lower()
        if environment not in ENVIRONMENTS:
            raise UnsafeSettings(f"ENVIRONMENT must be one of {', '.join(ENVIRONMENTS)}, not {environment!r}")
        return cls(
            database_url=setting(env, "DATABASE_URL") or f"sqlite:///{var_dir / 'portal.db'}",
            secret_key=setting(env, "SECRET_KEY") or secret_file(var_dir, "secret_key", secrets.token_urlsafe(48)),
            pii_key=bytes.fromhex(setting(env, "PII_KEY") or secret_file(var_dir, "pii_key", secrets.token_hex(32))),
            base_url=base_url,
            allowed_hosts=tuple(h.strip() for h in _text(env, "ALLOWED_HOSTS").split(",") if h.strip()),
            https_only=https_only,
            max_body_bytes=int(_text(env, "MAX_BODY_BYTES")),
            oidc_issuer=issuer or f"{base_url}/idp",
            oidc_client_id=_text(env, "OIDC_CLIENT_ID"),
            oidc_client_secret=setting(env, "OIDC_CLIENT_SECRET")
            or secret_file(var_dir, "oidc_client_secret", secrets.token_urlsafe(32)),
            embedded_idp=embedded,
            idp_show_personas=_flag(setting(env, "IDP_SHOW_PERSONAS"), environment == "development"),
            var_dir=var_dir,
            host=_text(env, "HOST"),
            port=port,
            workers=int(_text(env, "WORKERS")),
            threads=max(1, int(_text(env, "THREADS"))),
            prerender_receipts=_flag(setting(env, "PRERENDER_RECEIPTS"), True),
            rate_limit_storage=_text(env, "RATE_LIMIT_STORAGE").strip(),
            rate_limits=rate_limit_overrides(env),
            job_workers=max(1, int(_text(env, "JOB_WORKERS"))),
            job_lease_seconds=float(_text(env, "JOB_LEASE_SECONDS")),
            job_poll_seconds=float(_text(env, "JOB_POLL_SECONDS")),
            schedule_tick_seconds=float(_text(env, "SCHEDULE_TICK_SECONDS")),
            job_handler_modules=_text(env, "JOB_HANDLER_MODULES"),
            job_stuck_seconds=float(_text(env, "JOB_STUCK_SECONDS")),
            sms_gateway_url=_text(env, "SMS_GATEWAY_URL"),
            sms_gateway_key=_text(env, "SMS_GATEWAY_KEY"),
            sms_signature=_text(env, "SMS_SIGNATURE"),
            sms_timeout_seconds=float(_text(env, "SMS_TIMEOUT_SECONDS")),
            sms_per_number_per_hour=int(_text(env, "SMS_PER_NUMBER_PER_HOUR")),
            duty_phones=_text(env, "DUTY_PHONES"),
            escalate_after_workdays=max(1, int(_text(env, "ESCALATE_AFTER_WORKDAYS"))),
            environment=environment,
            allow_stand_in_idp=_flag(setting(env, "ALLOW_STAND_IN_IDP"), False),
            session_idle_seconds=max(60, int(float(_text(env, "SESSION_IDLE_MINUTES")) * 60)),
            session_max_seconds=max(300, int(float(_text(env, "SESSION_MAX_HOURS")) * 3600)),
            reconcile_overdue_workdays=max(1, int(_text(env, "RECONCILE_OVERDUE_WORKDAYS"))),
            retention_draft_days=max(1, int(_text(env, "RETENTION_DRAFT_DAYS"))),
            retention_case_years=max(1, int(_text(env, "RETENTION_CASE_YEARS"))),
            log_format=_text(env, "LOG_FORMAT").strip().lower(),
            log_level=_text(env, "LOG_LEVEL").strip().upper(),
            db_pool_size=max(1, int(setting(env, "DB_POOL_SIZE") or max(1, int(_text(env, "THREADS"))) + 2)),
            db_max_overflow=max(0, int(_text(env, "DB_MAX_OVERFLOW"))),
            metrics_token=_text(env, "METRICS_TOKEN"),
            shutdown_grace_seconds=float(_text(env, "SHUTDOWN_GRACE_SECONDS")),
        )
