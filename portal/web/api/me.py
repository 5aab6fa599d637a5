"""GET /api/v1/me: who the token belongs to and what it may reach (a client's first check)."""
from __future__ import annotations

from pydantic import Field

from portal.services.casework import county_name, department_name
from portal.web.api import framework as api
from portal.web.api.base import ApiModel


class ClientInfo(ApiModel):
    """调用接口的客户端：它的部门和县（市、区）限定每一次调用。"""

    client_id: str
    name: str = Field(description="客户端名称，审计日志里的操作人")
    department: str = Field(description="部门代码（content/catalogue.toml）")
    department_name: str
    county_code: str | None = Field(description="县（市、区）代码；null 表示全市")
    county_name: str = Field(description="县（市、区）名称；全市时为“全市”")


@api.get("/api/v1/me", summary="本客户端的身份和范围", ok=(200, ClientInfo), tag="令牌")
def who_am_i(call: api.ApiCall) -> ClientInfo:
    """返回令牌所属的客户端：部门和县（市、区）。所有接口都只在这个范围内读写。"""
    c = call.client
    return ClientInfo(client_id=c.client_id, name=c.name, department=c.department,
                      department_name=department_name(c.department), county_code=c.county_code,
                      county_name=county_name(c.county_code) or "全市")
