"""The bare baseline: one Starlette route rendering one small Jinja template, nothing else."""
from __future__ import annotations

from jinja2 import Environment
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse
from starlette.routing import Route

_page = Environment(autoescape=True).from_string(
    "<!doctype html><html lang=zh-CN><head><title>{{ title }}</title></head><body><h1>{{ title }}</h1>"
    "{% for i in items %}<p>{{ i }}</p>{% endfor %}</body></html>"
)


async def home(request: Request) -> HTMLResponse:
    return HTMLResponse(_page.render(title="身后一件事", items=range(10)))


app = Starlette(routes=[Route("/", home)])
