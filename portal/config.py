"""Settings from environment variables, with defaults that run embedded.

Every setting is documented in docs/settings.md (a test keeps that list complete).
Secrets that are not given are generated once into VAR_DIR and reused, never committed.
"""
from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# name -> (default, description); docs/settings.md mirrors this table.
SETTINGS_DOC: dict[str, str] = {
    "DATABASE_URL": "SQLAlchemy URL. Default: SQLite file var/portal.db. PostgreSQL: postgresql+psycopg://…",
    "SECRET_KEY": "Signs the stand-in provider's own login cookie. Default: generated into var/secret_key on first run.",
    "PII_KEY": "Master key (hex, 32 bytes) for encrypting 身份证号/bank accounts and their blind index. Default: generated into var/pii_key.",
    "BASE_URL": "Public base URL of the portal. Default http://127.0.0.1:8000.",
    "ALLOWED_HOSTS": "Comma-separated Host header values accepted. Default 127.0.0.1,localhost,testserver.",
    "HTTPS_ONLY": "1 to mark cookies Secure and send HSTS (behind HTTPS). Default 0. Implies ENVIRONMENT=production unless ENVIRONMENT is set.",
    "ENVIRONMENT": "development or production. Production refuses to start with the stand-in provider (unless ALLOW_STAND_IN_IDP=1) and hides the demo personas by default. Default: production when HTTPS_ONLY=1, else development.",
    "ALLOW_STAND_IN_IDP": "1 to allow the embedded stand-in provider in production (a public demo). Default 0.",
    "SESSION_IDLE_MINUTES": "A session ends after this many minutes without a request. Default 30.",
    "SESSION_MAX_HOURS": "A session ends this many hours after it began, however active. Default 8.",
    "MAX_BODY_BYTES": "Largest request body accepted; larger gets 413. Default 1048576.",
    "OIDC_ISSUER": "Issuer URL of the identity provider. Default: the embedded stand-in at BASE_URL/idp.",
    "OIDC_CLIENT_ID": "Client id registered at the provider. Default shenhou-portal.",
    "OIDC_CLIENT_SECRET": "Client secret. Default for the stand-in: generated into var/oidc_client_secret.",
    "IDP_SHOW_PERSONAS": "1 to list the demo personas on the stand-in login page. Default 1 in development, 0 in production.",
    "VAR_DIR": "Directory for the SQLite file, generated keys and caches. Default ./var.",
    "HOST": "Interface uvicorn binds to. Default 127.0.0.1.",
    "PORT": "Port uvicorn listens on. Default 8000.",
    "WORKERS": "uvicorn worker processes (use PostgreSQL with more than one). Default 1.",
    "THREADS": "Threads per worker that run request handlers (sync DB work). Default 8.",
    # Throttling (portal/throttle.py declares the limits; a test keeps these defaults equal).
    "RATE_LIMIT_STORAGE": "Where throttling counts: db (a table in DATABASE_URL), or a limits storage URI such as redis://host:6379 (pip install redis) or memory:// (one process only). Default db.",
    "RATE_LIMIT_LOGIN_USER": "Failed logins per username at the stand-in provider, then even the right password waits. Default 5 per 15 minutes.",
    "RATE_LIMIT_LOGIN_IP": "Failed logins per client IP at the stand-in provider. Default 30 per 15 minutes.",
    "RATE_LIMIT_STEP_SAVE": "Application step saves and 保存，稍后继续 per account. Default 60 per minute; 600 per hour.",
    "RATE_LIMIT_SEARCH": "Policy searches per client IP. Default 120 per minute; 2000 per hour.",
    "RATE_LIMIT_VERIFY": "Receipt checks (/verify) per client IP. Default 30 per minute; 300 per hour.",
    "RATE_LIMIT_DOWNLOAD": "Receipt and archive PDF downloads per account. Default 30 per 10 minutes; 300 per day.",
    "RATE_LIMIT_IN_PROGRESS": "Newly typed 身份证号 of a deceased checked for a case in progress, per account. Default 5 per hour; 10 per day.",
    "JOB_WORKERS": "Background worker processes that `python -m portal worker` starts on this machine. Default 1.",
    "JOB_LEASE_SECONDS": "How long a worker holds a job before another may take it over (renewed while it runs). Default 60.",
    "JOB_POLL_SECONDS": "How often an idle worker looks for due jobs. Default 1.",
    "SCHEDULE_TICK_SECONDS": "How often a worker checks the schedules (reminders, digests, 月对账). Default 30.",
    "JOB_STUCK_SECONDS": "/healthz reports the queue as stuck (status degraded) when a due job has waited longer than this. Default 300.",
    "JOB_HANDLER_MODULES": "Extra comma-separated modules that register job handlers (for tests and extensions). Default empty.",
    "SMS_GATEWAY_URL": "HTTP SMS gateway endpoint; empty keeps the development sender, which only records texts. Default empty.",
    "SMS_GATEWAY_KEY": "Bearer key for the SMS gateway. Default empty.",
    "SMS_SIGNATURE": "Signature (签名) the gateway puts on every text. Default 身后一件事.",
    "SMS_TIMEOUT_SECONDS": "Time-out for one call to the SMS gateway. Default 5.",
    "SMS_PER_NUMBER_PER_HOUR": "Most texts sent to one mobile number in an hour; more wait. Default 5.",
    "DUTY_PHONES": "Duty phones for staff texts: department@county=phone, comma-separated (admin@county for escalations). Default empty (no staff texts).",
    "ESCALATE_AFTER_WORKDAYS": "A task overdue by this many working days is reported to the county's administrators. Default 3.",
    "PRERENDER_RECEIPTS": "1 to have the worker render the family's receipt right after a submission or correction, so the first download is instant. Default 1.",
}

RATE_LIMIT_PREFIX = "RATE_LIMIT_"


def _secret_file(var_dir: Path, name: str, make: str) -> str:
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
    extra: dict[str, str] = field(default_factory=dict)

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
        var_dir = Path(env.get("VAR_DIR") or ROOT / "var").resolve()
        base_url = (env.get("BASE_URL") or f"http://127.0.0.1:{env.get('PORT') or 8000}").rstrip("/")
        issuer = (env.get("OIDC_ISSUER") or "").rstrip("/")
        embedded = not issuer or issuer == f"{base_url}/idp"
        https_only = _flag(env.get("HTTPS_ONLY"), False)
        environment = (env.get("ENVIRONMENT") or ("production" if https_only else "development")).strip().lower()
        if environment not in ENVIRONMENTS:
            raise UnsafeSettings(f"ENVIRONMENT must be one of {', '.join(ENVIRONMENTS)}, not {environment!r}")
        return cls(
            database_url=env.get("DATABASE_URL") or f"sqlite:///{var_dir / 'portal.db'}",
            secret_key=env.get("SECRET_KEY") or _secret_file(var_dir, "secret_key", secrets.token_urlsafe(48)),
            pii_key=bytes.fromhex(env.get("PII_KEY") or _secret_file(var_dir, "pii_key", secrets.token_hex(32))),
            base_url=base_url,
            allowed_hosts=tuple(
                h.strip() for h in (env.get("ALLOWED_HOSTS") or "127.0.0.1,localhost,testserver").split(",") if h.strip()
            ),
            https_only=https_only,
            max_body_bytes=int(env.get("MAX_BODY_BYTES") or 1024 * 1024),
            oidc_issuer=issuer or f"{base_url}/idp",
            oidc_client_id=env.get("OIDC_CLIENT_ID") or "shenhou-portal",
            oidc_client_secret=env.get("OIDC_CLIENT_SECRET")
            or _secret_file(var_dir, "oidc_client_secret", secrets.token_urlsafe(32)),
            embedded_idp=embedded,
            idp_show_personas=_flag(env.get("IDP_SHOW_PERSONAS"), environment == "development"),
            var_dir=var_dir,
            host=env.get("HOST") or "127.0.0.1",
            port=int(env.get("PORT") or 8000),
            workers=int(env.get("WORKERS") or 1),
            threads=max(1, int(env.get("THREADS") or 8)),
            prerender_receipts=_flag(env.get("PRERENDER_RECEIPTS"), True),
            rate_limit_storage=(env.get("RATE_LIMIT_STORAGE") or "db").strip(),
            rate_limits=rate_limit_overrides(env),
            job_workers=max(1, int(env.get("JOB_WORKERS") or 1)),
            job_lease_seconds=float(env.get("JOB_LEASE_SECONDS") or 60),
            job_poll_seconds=float(env.get("JOB_POLL_SECONDS") or 1),
            schedule_tick_seconds=float(env.get("SCHEDULE_TICK_SECONDS") or 30),
            job_handler_modules=env.get("JOB_HANDLER_MODULES") or "",
            job_stuck_seconds=float(env.get("JOB_STUCK_SECONDS") or 300),
            sms_gateway_url=env.get("SMS_GATEWAY_URL") or "",
            sms_gateway_key=env.get("SMS_GATEWAY_KEY") or "",
            sms_signature=env.get("SMS_SIGNATURE") or "身后一件事",
            sms_timeout_seconds=float(env.get("SMS_TIMEOUT_SECONDS") or 5),
            sms_per_number_per_hour=int(env.get("SMS_PER_NUMBER_PER_HOUR") or 5),
            duty_phones=env.get("DUTY_PHONES") or "",
            escalate_after_workdays=max(1, int(env.get("ESCALATE_AFTER_WORKDAYS") or 3)),
            environment=environment,
            allow_stand_in_idp=_flag(env.get("ALLOW_STAND_IN_IDP"), False),
            session_idle_seconds=max(60, int(float(env.get("SESSION_IDLE_MINUTES") or 30) * 60)),
            session_max_seconds=max(300, int(float(env.get("SESSION_MAX_HOURS") or 8) * 3600)),
        )
