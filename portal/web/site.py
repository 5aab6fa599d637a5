"""Site-wide pages: home, health check, the 长辈版 switch, Chinese error pages.

Error pages tell the truth about what happened to what the person entered: a conflict (409)
and a storage failure (503) say that nothing was saved; the generic 500 claims nothing.
"""
from __future__ import annotations

import html
import logging
from urllib.parse import urlsplit

from sqlalchemy.exc import SQLAlchemyError
from starlette.datastructures import FormData
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route

from portal.db import is_conflict, is_storage_failure
from portal.services import jobs
from portal.services.health import check_writable
from portal.web.api import problems
from portal.web.common import ELDER_COOKIE, page, redirect, render, safe_next, services
from portal.web.throttling import too_many_requests

log = logging.getLogger("portal.web")
RETRY_AFTER_SECONDS = 30

ERROR_TEXT: dict[int, tuple[str, str]] = {
    400: ("请求有误", "这个请求无法处理。请回到上一页重新操作。"),
    403: ("没有权限", "您没有权限查看这个页面。如果您是工作人员，请联系管理员开通权限。"),
    404: ("找不到这个页面", "您要找的页面不存在，可能是网址有误，或者页面已经移动。"),
    405: ("无法这样操作", "这个页面不支持这种操作。请回到上一页重新操作。"),
    409: ("内容已被修改", "这条记录刚刚被其他人（或者您在另一个窗口里）修改过，您这次的操作没有保存。"
                        "请刷新页面，看到最新内容后再操作。"),
    413: ("内容太大", "提交的内容太大了，请减少内容后再试。"),
    429: ("请稍后再试", "您的操作太频繁了，请稍等一会儿再试。"),
    500: ("系统暂时出了问题", "很抱歉，系统暂时出了问题，这次操作可能没有完成。请刷新页面看看最新的情况，"
                          "或者稍后再试；需要帮助可以拨打 12345。"),
    503: ("暂时无法保存", "很抱歉，系统暂时无法保存，您这次填写或操作的内容没有保存。请过几分钟再提交一次；"
                       "需要帮助可以拨打 12345。"),
}
# Said instead when an earlier step of the same request had already been saved.
PARTLY_SAVED = ("很抱歉，系统暂时无法保存，这次操作可能只完成了一部分。请刷新页面看看哪些已经保存，"
                "过几分钟再试；需要帮助可以拨打 12345。")
FORM_KEPT = "点浏览器的“返回”，刚才填写的内容一般还在页面上，稍后可以直接再提交。"


@page
def home(request: Request, form: FormData | None) -> Response:
    return render(request, "home.html")


@page
def set_elder(request: Request, form: FormData | None) -> Response:
    assert form is not None
    on = form.get("elder") == "1"
    response = redirect(safe_next(str(form.get("next") or "/")))
    secure = services(request).settings.https_only
    response.set_cookie(ELDER_COOKIE, "1" if on else "0", max_age=365 * 24 * 3600, httponly=True, samesite="lax", secure=secure)
    return response


@page
def healthz(request: Request, form: FormData | None) -> Response:
    """200 only when the database accepts a write (a heartbeat row), not merely a SELECT; and the
    job queue moving (a stuck or absent worker shows as an old due job: status degraded)."""
    svc = services(request)
    problem = check_writable(svc.db)
    if problem is not None:
        return JSONResponse({"status": "error", "database": problem}, status_code=503,
                            headers={"Cache-Control": "no-store"})
    try:
        with svc.db() as session:
            queue = jobs.stats(session)
    except SQLAlchemyError as exc:
        return JSONResponse({"status": "error", "database": type(exc).__name__}, status_code=503,
                            headers={"Cache-Control": "no-store"})
    age = queue.oldest_due_seconds
    stuck = age is not None and age > svc.settings.job_stuck_seconds
    body = {"status": "degraded" if stuck else "ok", "database": "ok",
            "jobs": {"due": queue.due, "oldest_due_seconds": None if age is None else round(age, 1),
                     "dead": queue.counts.get(jobs.DEAD, 0), "stuck": stuck}}
    return JSONResponse(body, headers={"Cache-Control": "no-store"})


def error_page(request: Request, status: int, message: str | None = None, *,
               retry_url: str | None = None, retry_label: str | None = None) -> Response:
    title, default = ERROR_TEXT.get(status, ERROR_TEXT[500])
    text = message or default
    context = {"title": title, "message": text, "retry_url": retry_url, "retry_label": retry_label}
    try:
        return render(request, "error.html", context, status_code=status)
    except Exception:  # noqa: BLE001 - the page itself may need the failing database (signed-in user)
        log.warning("error page %s rendered without the layout", status, exc_info=True)
        body = f"<!doctype html><meta charset=utf-8><title>{html.escape(title)}</title>" \
               f"<h1>{html.escape(title)}</h1><p>{html.escape(text)}</p><p><a href=\"/\">回到首页</a></p>"
        return HTMLResponse(body, status_code=status)


def _same_site_referer(request: Request) -> str | None:
    """Where the person came from on this site (the form they submitted), if the browser says."""
    referer = urlsplit(request.headers.get("referer") or "")
    if referer.netloc and referer.netloc != request.url.netloc:
        return None
    target = referer.path + ("?" + referer.query if referer.query else "")
    return safe_next(target, "") or None


async def db_fault(request: Request, exc: Exception) -> Response:
    """A database failure that got past the handler, as the page that tells the truth.

    Conflicts: 409, nothing was saved, look at the latest state. Storage failures (read-only,
    full disk, database down, still busy after the retries): 503, nothing was saved, try again
    shortly. Anything else is a defect: logged in full, the 500 page.
    """
    if problems.is_api(request):  # the API's handlers answer their own; this is what got past them
        log.error("database error on %s %s", request.method, request.url.path, exc_info=exc)
        return problems.for_status(request, 409 if is_conflict(exc) else 503, {"Retry-After": str(RETRY_AFTER_SECONDS)})
    if is_conflict(exc):
        log.info("conflict on %s %s: %s", request.method, request.url.path, type(exc).__name__)
        back = request.url.path if request.method == "GET" else _same_site_referer(request)
        return error_page(request, 409, retry_url=back, retry_label="看看最新内容")
    if is_storage_failure(exc):
        log.error("storage failure on %s %s: %s", request.method, request.url.path, exc)
        if getattr(exc, "committed_before", False):
            message = PARTLY_SAVED
        else:
            message = ERROR_TEXT[503][1] + (FORM_KEPT if request.method == "POST" else "")
        response = error_page(request, 503, message)
        response.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
        return response
    log.error("database error on %s %s", request.method, request.url.path, exc_info=exc)
    return error_page(request, 500)


# Registered in portal/app.py: every SQLAlchemy error goes through db_fault.
FAULT_HANDLERS = {SQLAlchemyError: db_fault}


async def http_exception(request: Request, exc: Exception) -> Response:
    status = exc.status_code if isinstance(exc, HTTPException) else 500
    if problems.is_api(request):  # the machine interface answers problem+json, never a page
        return problems.for_status(request, status, dict(getattr(exc, "headers", None) or {}))
    if status == 401:  # a page that needs a login (detail: the page): log in, then back
        return redirect("/login?next=" + safe_next(str(getattr(exc, "detail", "/"))))
    if status == 429 and isinstance(exc, HTTPException):  # throttled: say when to try again
        return too_many_requests(request, exc)
    if status == 403 and getattr(exc, "detail", None) == "csrf":
        return error_page(request, 403, "页面已过期或来源不明，为了您的安全没有保存。请返回上一页，刷新后再提交一次。")
    return error_page(request, status)


async def server_error(request: Request, exc: Exception) -> Response:
    if problems.is_api(request):
        log.error("API error on %s %s", request.method, request.url.path, exc_info=exc)
        return problems.for_status(request, 500)
    if isinstance(exc, SQLAlchemyError):  # e.g. raised in a middleware, outside the routes
        return await db_fault(request, exc)
    return error_page(request, 500)


def routes() -> list[Route]:
    return [
        Route("/", home),
        Route("/healthz", healthz),
        Route("/prefs/elder", set_elder, methods=["POST"]),
    ]
