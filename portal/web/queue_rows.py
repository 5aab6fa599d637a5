"""The officer queue's table rows, rendered by one format string instead of Jinja.

Fifty rows of nine output expressions each were a fifth of the queue's time in process (Jinja
yields every piece through three levels of template inheritance and escapes each value):
docs/decisions.md D24. The markup is the one the template had; values from people (编号,
逝者姓名) and from the catalogue are escaped here, numbers and dates are ours.
"""
from __future__ import annotations

from collections.abc import Iterable

from markupsafe import Markup, escape

from portal.domain import status as st
from portal.services.queues import QueueRow

ROW = ('  <tr{cls}>\n'
       '    <td><a href="/admin/tasks/{id}">{number}</a></td>\n'
       '    <td>{deceased}</td>\n'
       '    <td>{matter}</td>\n'
       '    <td><strong class="tag tag--{kind}">{label}</strong></td>\n'
       '    <td>{deadline}{late}</td>\n'
       '  </tr>\n')
LATE = ' <strong class="tag tag--overdue">超期 {} 天</strong>'


def render_rows(rows: Iterable[QueueRow]) -> Markup:
    """The <tr> elements of the queue table (tbody content)."""
    return Markup("".join(ROW.format(
        cls=' class="row-overdue"' if r.overdue else "", id=int(r.task_id), number=escape(r.number),
        deceased=escape(r.deceased), matter=escape(r.matter), kind=escape(r.label.kind), label=escape(r.label.text),
        deadline=escape(st.cn_date(r.deadline)), late=LATE.format(int(r.days_overdue)) if r.overdue else "",
    ) for r in rows))
