"""Receipts (回执): the view-model from the database, verification tokens, and a PDF cache.

* `receipt_view` (portal.services.receipt_view) turns an application's rows into a
  `pdf.ReceiptView` (labels instead of codes, personal numbers paired with their masked form).
* `current_receipt` issues one `Receipt` per state of the family's answers (`answers_digest`),
  with an unguessable token for the QR code (`secrets.token_urlsafe(24)`, 192 bits); issuing a
  new one marks the older ones superseded, so a receipt printed before a correction says so
  when scanned. Department progress (status, deadlines) does not make a receipt outdated.
* `prepare_pdf` reads a copy's values and issues its token (a short write transaction), then
  `render_pdf` renders it (family / archive) after the commit and caches it; `prerender` fills
  the cache with the family copy right after a submission or a correction, so the first
  download is instant.

Cache decision: PDFs are cached **on disk** under ``VAR_DIR/receipts/<application id>/``,
**encrypted with the vault** (`Vault.seal_bytes`, AES-256-GCM). On disk because the portal
may run several workers (no state in process memory, DESIGN.md) and a render costs 0.2–0.35 s
of CPU; encrypted because both copies carry personal data (names, addresses, the archive copy
full 身份证号 and bank account), which must not lie in clear on disk any more than in the
database. Decrypting ~120 KB costs well under a millisecond. The cache key is (application id,
version, copy, digest of the view-model): a new application version — or any change of the
printed values — renders afresh, and older files of that application are removed.

Rendering is CPU-bound: callers run it in a worker thread (the web layer's `page` handlers
already run in Starlette's thread pool). A per-key lock makes two concurrent requests for the
same copy in one process render once; across processes the atomic rename makes a duplicate
render harmless.
"""
from __future__ import annotations

import hashlib
import json
import logging
import os
import secrets
import threading
from collections.abc import Collection
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from pdf.receipt import Copy, ReceiptView
from portal.crypto import Vault
from portal.db import transaction
from portal.domain.validators import mask_name
from portal.models import Application, Receipt, utcnow
from portal.services.receipt_view import (
    fmt_date,
    receipt_view,
    restrict,
    status_words,
    verify_url,
)

log = logging.getLogger("portal.receipts")

# --- tokens -------------------------------------------------------------------------


def current_receipt(session: Session, application: Application, digest: str) -> Receipt:
    """The receipt for the application's current answers (`digest`), issuing one if needed.

    Issuing marks every earlier receipt of the application superseded. Runs in the caller's
    transaction; on PostgreSQL the application row is locked so two workers cannot issue two
    receipts for the same answers.
    """
    if session.get_bind().dialect.name == "postgresql":
        session.execute(select(Application.id).where(Application.id == application.id).with_for_update())
    existing = session.scalar(
        select(Receipt)
        .where(Receipt.application_id == application.id, Receipt.answers_digest == digest,
               Receipt.superseded_at.is_(None))
        .order_by(Receipt.id)
        .limit(1)
    )
    if existing is not None:
        return existing
    session.execute(
        update(Receipt)
        .where(Receipt.application_id == application.id, Receipt.superseded_at.is_(None))
        .values(superseded_at=utcnow())
    )
    receipt = Receipt(application_id=application.id, app_version=application.version, answers_digest=digest,
                      token=secrets.token_urlsafe(24), created_at=utcnow())
    session.add(receipt)
    session.flush()
    return receipt


def receipt_for(session: Session, vault: Vault, application: Application, settings: Any) -> Receipt:
    """The current receipt of an application (issued now if its answers changed since the last)."""
    return current_receipt(session, application, answers_digest(receipt_view(session, vault, application, settings, token="")))


def _digest(data: dict[str, Any]) -> str:
    raw = json.dumps(data, ensure_ascii=False, sort_keys=True, default=str)
    return hashlib.sha256(raw.encode()).hexdigest()[:16]


def view_digest(view: ReceiptView) -> str:
    """A short fingerprint of every printed value (except the print time)."""
    data = asdict(view)
    data.pop("generated_at", None)
    return _digest(data)


def answers_digest(view: ReceiptView) -> str:
    """A fingerprint of what the family stated: everything but status, deadlines and the print."""
    data = asdict(view)
    for key in ("generated_at", "status", "verify_url"):
        data.pop(key, None)
    data["matters"] = [(m["name"], m["department"], m["automatic"]) for m in data["matters"]]
    return _digest(data)


# --- the PDF cache ------------------------------------------------------------------

_locks_guard = threading.Lock()
_locks: dict[tuple[int, str], threading.Lock] = {}


def _key_lock(application_id: int, copy: str) -> threading.Lock:
    with _locks_guard:
        return _locks.setdefault((application_id, copy), threading.Lock())


def cache_dir(settings: Any, application_id: int) -> Path:
    return Path(settings.var_dir) / "receipts" / str(int(application_id))


@dataclass(frozen=True)
class PdfJob:
    """What rendering one copy needs, read and issued inside a short transaction."""

    application_id: int
    copy: Copy
    view: ReceiptView
    path: Path


def prepare_pdf(session: Session, vault: Vault, application: Application, settings: Any, *, copy: Copy,
                full: Collection[str] | None = None) -> PdfJob:
    """Read the printed values and issue the current receipt token (a write) in the caller's
    transaction. The caller commits before `render_pdf`, so no write lock is held while the
    PDF renders (on SQLite, 50 families downloading at once otherwise wait past the busy
    timeout: `database is locked`). `full` (archive copy) names the personal numbers printed
    in full; the others are masked as on screen (None: all, for the window's own use).
    """
    from pdf.receipt import COPIES

    if copy not in COPIES:
        raise ValueError(copy)
    draft = receipt_view(session, vault, application, settings, token="")
    receipt = current_receipt(session, application, answers_digest(draft))
    view = replace(draft if full is None else restrict(draft, full), verify_url=verify_url(settings, receipt.token))
    path = cache_dir(settings, application.id) / f"v{application.version}-{copy}-{view_digest(view)}.pdf.sealed"
    return PdfJob(application.id, copy, view, path)


def family_copy(session: Session, vault: Vault, settings: Any, application_id: int,
                account_id: int) -> PdfJob | None:
    """The family copy of a submitted application of this account, prepared (None: not theirs,
    or not submitted; shown as 404). The caller commits, then renders."""
    application = session.get(Application, application_id)
    if application is None or application.account_id != account_id or not application.number:
        return None
    return prepare_pdf(session, vault, application, settings, copy="family")


def render_pdf(job: PdfJob, vault: Vault) -> bytes:
    """The PDF bytes of a prepared copy: from the cache, or rendered now (0.2–0.35 s of CPU).

    Touches no database: call it after the transaction of `prepare_pdf` has committed, from a
    worker thread. A cache that cannot be written (full disk) only costs the next download a
    render; the PDF is still served.
    """
    from pdf.receipt import render_receipt

    path, folder, name = job.path, job.path.parent, job.path.name
    with _key_lock(job.application_id, job.copy):
        try:
            return vault.open_bytes(path.read_bytes())
        except FileNotFoundError:
            pass
        except Exception:  # noqa: BLE001 - a corrupt or foreign cache file is just re-rendered
            path.unlink(missing_ok=True)
        pdf = render_receipt(job.view, copy=job.copy)
        tmp = folder / f".{name}.{os.getpid()}.{threading.get_ident()}.tmp"
        try:
            folder.mkdir(parents=True, exist_ok=True)
            tmp.write_bytes(vault.seal_bytes(pdf))
            os.replace(tmp, path)
        except OSError as exc:
            log.warning("receipt cache not written for application %s: %s", job.application_id, exc)
            tmp.unlink(missing_ok=True)
            return pdf
        for old in folder.glob(f"*-{job.copy}-*.pdf.sealed"):
            if old.name != name:
                old.unlink(missing_ok=True)
        return pdf


RENDER_KIND = "receipt.render"


def queue_render(session: Session, application: Application) -> None:
    """Have the worker render the family copy after this transaction commits (submit, correction)."""
    from portal.services import jobs

    jobs.enqueue(session, RENDER_KIND, {"application_id": application.id})


def get_pdf(session: Session, vault: Vault, application: Application, settings: Any, *, copy: Copy,
            full: Collection[str] | None = None) -> bytes:
    """`prepare_pdf` and `render_pdf` in one call, for scripts and tests that hold no write
    lock worth releasing. Web handlers and `prerender` commit in between.
    """
    return render_pdf(prepare_pdf(session, vault, application, settings, copy=copy, full=full), vault)


def prerender(db: sessionmaker[Session], vault: Vault, settings: Any, application_id: int, *,
              strict: bool = False) -> None:
    """Render the family copy into the cache now, so the family's first download is a cached one.

    The worker runs it after a submission or a correction (`strict`: a failure is raised, so the
    job retries); otherwise a failure is only logged and the download renders the receipt itself.
    """
    try:
        with transaction(db) as session:
            application = session.get(Application, application_id)
            if application is None or not application.number:
                return
            job = prepare_pdf(session, vault, application, settings, copy="family")
        render_pdf(job, vault)
    except Exception:  # noqa: BLE001 - best effort, see above
        if strict:
            raise
        log.exception("receipt prerender failed for application %s", application_id)


# --- verification -------------------------------------------------------------------


def verify(session: Session, vault: Vault, settings: Any, token: str) -> dict[str, Any] | None:
    """What the public verification page may show for a token, or None if unknown.

    Only: whether it is current, the 编号, the submission date, the deceased's masked name
    and the overall status in words.
    """
    if not token or len(token) > 64:
        return None
    receipt = session.scalar(select(Receipt).where(Receipt.token == token))
    if receipt is None:
        return None
    application = session.get(Application, receipt.application_id)
    if application is None or not application.number:
        return None
    now = answers_digest(receipt_view(session, vault, application, settings, token=""))
    current = receipt.superseded_at is None and receipt.answers_digest == now
    name = application.deceased.name if application.deceased else ""
    return {
        "current": current,
        "number": application.number,
        "submitted_on": fmt_date(application.submitted_at or application.created_at),
        "deceased": mask_name(name) if name else "",
        "status": status_words(application.status),
        "issued_on": fmt_date(receipt.created_at),
    }


def download_filename(number: str, copy: str = "family") -> str:
    stem = "身后一件事回执" if copy == "family" else "身后一件事登记表存档联"
    return f"{stem}-{number}.pdf"
