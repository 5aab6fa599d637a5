"""Structured logs: one JSON object per line, the request id on every line, no personal number.

`configure(settings)` is called by `python -m portal serve` (in each uvicorn worker, from the app
factory) and by the background worker. A request's id comes from the load balancer's
`X-Request-ID` when it is a plain token, otherwise it is made here; it is kept in a context
variable, which Starlette's thread pool carries into handlers, so a line logged by a service
deep inside a request carries it too. The job worker sets `job-<id>` the same way.

Personal numbers never reach a log: the code logs ids (application, job), never values; as a
second line of defence `ScrubPersonalNumbers` masks anything that looks like a 身份证号 (valid
checksum), a mainland mobile number or a bank card before a line is written.
"""
from __future__ import annotations

import json
import logging
import re
import sys
import time
import uuid
from contextvars import ContextVar
from typing import Any

from stdnum.cn import ric

request_id: ContextVar[str] = ContextVar("request_id", default="-")

_ID_CARD = re.compile(r"(?<![0-9])[1-9][0-9]{16}[0-9Xx](?![0-9])")
_MOBILE = re.compile(r"(?<![0-9])1[3-9][0-9]{9}(?![0-9])")
_CARD = re.compile(r"(?<![0-9])[0-9]{16,19}(?![0-9])")
_TOKEN = re.compile(r"^[A-Za-z0-9._-]{8,64}$")


def new_request_id(offered: str | None = None) -> str:
    """The load balancer's id when it is a plain token, else a fresh one."""
    return offered if offered and _TOKEN.match(offered) else uuid.uuid4().hex[:16]


def scrub(text: str) -> str:
    """Mask personal numbers in a log line (valid 身份证号, mobile numbers, card-length digit runs)."""
    text = _ID_CARD.sub(lambda m: "[身份证号]" if ric.is_valid(m.group(0)) else m.group(0), text)
    text = _MOBILE.sub("[手机号]", text)
    return _CARD.sub("[卡号]", text)


class ScrubPersonalNumbers(logging.Filter):
    """Rewrites the record's message (and its exception text) with personal numbers masked."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        clean = scrub(message)
        if clean != message:
            record.msg, record.args = clean, None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = scrub(record.exc_text)
        return True


class RequestIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id.get()
        return True


_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime", "request_id"}


class JsonFormatter(logging.Formatter):
    """{"time", "level", "logger", "request_id", "message", ...extra fields, "exception"}."""

    def format(self, record: logging.LogRecord) -> str:
        data: dict[str, Any] = {
            "time": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created)) + f".{int(record.msecs):03d}Z",
            "level": record.levelname, "logger": record.name,
            "request_id": getattr(record, "request_id", request_id.get()), "message": record.getMessage(),
        }
        data.update({k: v for k, v in vars(record).items() if k not in _STANDARD and not k.startswith("_")})
        if record.exc_info and not record.exc_text:
            record.exc_text = scrub(self.formatException(record.exc_info))
        if record.exc_text:
            data["exception"] = record.exc_text
        return json.dumps(data, ensure_ascii=False, default=str)


#: Loggers that would write whole URLs of outgoing calls (query strings included) at INFO.
QUIET = {"httpx": "WARNING", "httpcore": "WARNING"}

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"


def handler(fmt: str, stream: Any = None) -> logging.Handler:
    """A stream handler with the request id, the scrubber and the chosen format."""
    out = logging.StreamHandler(stream or sys.stderr)
    out.addFilter(RequestIdFilter())
    out.addFilter(ScrubPersonalNumbers())
    out.setFormatter(JsonFormatter() if fmt == "json" else logging.Formatter(TEXT_FORMAT))
    return out


def configure(fmt: str = "json", level: str = "INFO") -> None:
    """Root logger to one handler (replacing uvicorn's and basicConfig's); uvicorn's own loggers
    propagate to it, so its start-up and error lines are JSON with the rest."""
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler(fmt))
    root.setLevel(level)
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        named = logging.getLogger(name)
        named.handlers.clear()
        named.propagate = True
    for name, quiet in QUIET.items():
        logging.getLogger(name).setLevel(quiet)


def dict_config(fmt: str = "json", level: str = "INFO") -> dict[str, Any]:
    """The same set-up as `configure`, as the `log_config` uvicorn applies in every worker process."""
    return {
        "version": 1, "disable_existing_loggers": False,
        "handlers": {"portal": {"()": "portal.logs.handler", "fmt": fmt}},
        "root": {"handlers": ["portal"], "level": level},
        "loggers": {**{name: {"handlers": [], "propagate": True} for name in ("uvicorn", "uvicorn.error", "uvicorn.access")},
                    **{name: {"level": quiet} for name, quiet in QUIET.items()}},
    }
