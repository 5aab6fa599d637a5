"""POST /api/v1/token: OAuth 2.0 client credentials (RFC 6749 §4.4) with HTTP Basic client
authentication (§2.3.1). Errors are the OAuth error object of §5.2, as the RFC requires, not
problem details; only a throttled request answers 429 as a problem."""
from __future__ import annotations

import base64
import binascii
from typing import Literal
from urllib.parse import unquote_plus

from pydantic import ConfigDict, Field
from starlette.responses import JSONResponse, Response

from portal.db import transaction
from portal.services import api_clients
from portal.services.events import record
from portal.web.api import framework as api
from portal.web.api.base import ApiModel
from portal.web.api.problems import ApiProblem
from portal.web.throttling import client_ip, throttle

TOKEN_LIMIT = "api_token"  # portal/throttle.py: per client IP
NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}
OAuthErrorCode = Literal["invalid_request", "invalid_client", "invalid_grant", "unauthorized_client",
                         "unsupported_grant_type", "invalid_scope"]


class TokenRequest(ApiModel):
    """申请令牌的表单。其他参数一律忽略（RFC 6749 §3.2 的规定；这是接口里唯一不拒绝未知字段的地方）。"""

    model_config = ConfigDict(extra="allow")
    grant_type: Literal["client_credentials"] = Field(description="固定为 client_credentials")


class TokenResponse(ApiModel):
    access_token: str = Field(description="访问令牌，放在之后每个请求的 Authorization: Bearer 头里")
    token_type: Literal["Bearer"] = "Bearer"
    expires_in: int = Field(description="有效秒数（600）；过期后用客户端凭据重新申请")


class OAuthError(ApiModel):
    """OAuth 2.0 的错误对象（RFC 6749 §5.2）。"""


    error: OAuthErrorCode
    error_description: str = Field(description="中文说明")


def _error(code: OAuthErrorCode, description: str, status: int = 400, *, challenge: bool = False) -> JSONResponse:
    headers = dict(NO_STORE)
    if challenge:
        headers["WWW-Authenticate"] = 'Basic realm="shenhou-api", charset="UTF-8"'
    return JSONResponse(OAuthError(error=code, error_description=description).model_dump(), status_code=status,
                        headers=headers)


def _basic(header: str) -> tuple[str, str] | None:
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None
    client_id, sep, secret = decoded.partition(":")
    if not sep or "\x00" in decoded or "%00" in decoded:
        return None
    return unquote_plus(client_id), unquote_plus(secret)


@api.post("/api/v1/token", summary="用客户端凭据换取访问令牌", body=TokenRequest, ok=(200, TokenResponse),
          auth=False, form=True, raw=True, tag="令牌",
          extra_responses={400: ("application/json", OAuthError, "请求有误（RFC 6749 §5.2 的错误对象）"),
                           401: ("application/json", OAuthError, "客户端认证失败（invalid_client）")})
def issue_token(call: api.ApiCall) -> Response:
    """OAuth 2.0 客户端凭据模式（RFC 6749 §4.4）。用 HTTP Basic 传 client_id 和 client_secret，
    请求体为 `application/x-www-form-urlencoded` 的 `grant_type=client_credentials`。
    令牌 10 分钟有效；客户端被停用或更换密钥后，已发出的令牌立即失效。"""
    request = call.request
    verdict = throttle(request).hit(TOKEN_LIMIT, "ip:" + client_ip(request))
    if not verdict.allowed:
        raise ApiProblem("rate-limited", f"申请令牌太频繁了，请 {verdict.retry_after} 秒后再试。",
                         headers={"Retry-After": str(verdict.retry_after)})
    header = request.headers.get("authorization")
    if header is None:
        return _error("invalid_client", "请用 HTTP Basic 认证传客户端凭据（client_id:client_secret）。", 401, challenge=True)
    credentials = _basic(header)
    if credentials is None:
        return _error("invalid_client", "Authorization 头的格式不对，应为 Basic base64(client_id:client_secret)。", 401,
                      challenge=True)
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    form = call.form
    if media != "application/x-www-form-urlencoded" or form is None:
        return _error("invalid_request", "请求体必须是 application/x-www-form-urlencoded。")
    if any(len(form.getlist(name)) > 1 for name in form.keys()):
        return _error("invalid_request", "同一个参数只能出现一次。")
    if "client_secret" in form or "client_id" in form:
        return _error("invalid_request", "客户端凭据只能放在 HTTP Basic 认证里，不能放在请求体里。")
    grant = form.get("grant_type")
    if not grant:
        return _error("invalid_request", "缺少 grant_type。")
    if grant != "client_credentials":
        return _error("unsupported_grant_type", "只支持 grant_type=client_credentials。")
    if form.get("scope"):
        return _error("invalid_scope", "不需要 scope：令牌的范围由客户端登记的部门和县（市、区）决定。")
    svc = call.services
    with transaction(svc.db) as session:
        client = api_clients.authenticate(session, *credentials)
        if client is None:
            return _error("invalid_client", "客户端凭据不对，或者客户端已被停用。", 401, challenge=True)
        token = api_clients.issue_token(svc.settings.secret_key, client)
        scope = api_clients.scope_of(client)
        record(session, api_clients.client_actor(scope, call.ip), "client:api:token", f"接口客户端“{client.name}”申请了访问令牌")
    body = TokenResponse(access_token=token, token_type="Bearer", expires_in=api_clients.TOKEN_SECONDS)
    return JSONResponse(body.model_dump(), headers=NO_STORE)
