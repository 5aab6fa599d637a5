"""Site-wide pages: home, health check, the 长辈版 switch, Chinese error pages."""
from __future__ import annotations

from starlette.datastructures import FormData
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from sqlalchemy import text

from portal.services import jobs
from portal.web.common import ELDER_COOKIE, page, redirect, render, safe_next, services
from portal.web.throttling import too_many_requests

ERROR_TEXT: dict[int, tuple[str, str]] = {
    400: ("请求有误", "这个请求无法处理。请回到上一页重新操作。"),
    403: ("没有权限", "您没有权限查看这个页面。如果您是工作人员，请联系管理员开通权限。"),
    404: ("找不到这个页面", "您要找的页面不存在，可能是网址有误，或者页面已经移动。"),
    405: ("无法这样操作", "这个页面不支持这种操作。请回到上一页重新操作。"),
    409: ("内容已被修改", "这条记录刚刚被其他人修改过。请刷新页面，看到最新内容后再操作。"),
    413: ("内容太大", "提交的内容太大了，请减少内容后再试。"),
    429: ("请稍后再试", "您的操作太频繁了，请稍等一会儿再试。"),
    500: ("系统暂时出了问题", "很抱歉，系统暂时出了问题，您填写的内容已经保存。请稍后再试，或拨打 12345 求助。"),
}


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
    """Database reachable, and the job queue moving: a stuck worker shows as an old due job."""
    try:
        with services(request).db() as session:
            session.execute(text("SELECT 1"))
            queue = jobs.stats(session)
    except Exception as exc:  # noqa: BLE001 - report any DB failure as unhealthy
        return JSONResponse({"status": "error", "database": type(exc).__name__}, status_code=503)
    age = queue.oldest_due_seconds
    stuck = age is not None and age > services(request).settings.job_stuck_seconds
    body = {"status": "degraded" if stuck else "ok", "database": "ok",
            "jobs": {"due": queue.due, "oldest_due_seconds": None if age is None else round(age, 1),
                     "dead": queue.counts.get(jobs.DEAD, 0), "stuck": stuck}}
    return JSONResponse(body)


def error_page(request: Request, status: int, message: str | None = None) -> Response:
    title, default = ERROR_TEXT.get(status, ERROR_TEXT[500])
    return render(request, "error.html", {"title": title, "message": message or default}, status_code=status)


async def http_exception(request: Request, exc: Exception) -> Response:
    status = exc.status_code if isinstance(exc, HTTPException) else 500
    if status == 401:  # auth.permissions.LoginRequired: send the visitor to log in, then back
        return redirect("/login?next=" + safe_next(str(getattr(exc, "detail", "/"))))
    if status == 429 and isinstance(exc, HTTPException):  # throttled: say when to try again
        return too_many_requests(request, exc)
    if status == 403 and getattr(exc, "detail", None) == "csrf":
        return error_page(request, 403, "页面已过期或来源不明，为了您的安全没有保存。请返回上一页，刷新后再提交一次。")
    return error_page(request, status)


async def server_error(request: Request, exc: Exception) -> Response:
    return error_page(request, 500)


def routes() -> list[Route]:
    return [
        Route("/", home),
        Route("/healthz", healthz),
        Route("/prefs/elder", set_elder, methods=["POST"]),
    ]
