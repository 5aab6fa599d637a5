"""Statistics (issue 16): every figure equals a direct SQL count over the same rows, and the page
shows the charts with their numbers to administrators and officers (scoped), never to the window."""
from __future__ import annotations

import re
from datetime import date, datetime

from sqlalchemy import text
from sqlalchemy.orm import Session, sessionmaker

from portal.crypto import Vault
from portal.domain import clock
from portal.services import statistics as stats
from tests.helpers import login
from tests.integration.history import LUCHENG, build_history

PERIOD = stats.Scope(None, None, date(2026, 9, 1), date(2026, 11, 30))
UTC_FIRST, UTC_AFTER = "2026-08-31 16:00:00", "2026-11-30 16:00:00"  # China midnight, in UTC


def _sql(session: Session, query: str, **params: object) -> list[tuple]:
    return [tuple(r) for r in session.execute(text(query), {"a": UTC_FIRST, "b": UTC_AFTER, **params})]


def test_figures_match_direct_sql(db: sessionmaker[Session], vault: Vault) -> None:
    build_history(db, vault)
    with clock.frozen(datetime(2026, 12, 8, 9, 0)), db() as s:
        figures = stats.statistics(s, PERIOD)
        lucheng = stats.statistics(s, stats.Scope(LUCHENG, None, PERIOD.start, PERIOD.end))
        gongan = stats.statistics(s, stats.Scope(LUCHENG, "gongan", PERIOD.start, PERIOD.end))

        by_channel = dict(_sql(s, "SELECT channel, count(*) FROM application WHERE number IS NOT NULL "
                                  "AND submitted_at >= :a AND submitted_at < :b GROUP BY channel"))
        counted: dict[str, int] = {}
        for w in figures.weeks:
            for channel, n in w.counts.items():
                counted[channel] = counted.get(channel, 0) + n
        assert counted == by_channel == {"online": 2, "walk_in": 1, "phone": 1}
        assert sum(w.total for w in lucheng.weeks) == _sql(
            s, "SELECT count(*) FROM application WHERE number IS NOT NULL AND county_code = :c "
               "AND submitted_at >= :a AND submitted_at < :b", c=LUCHENG)[0][0] == 3

        done = dict(_sql(s, "SELECT matter_code, count(*) FROM department_task WHERE status = 'done' "
                            "AND finished_at >= :a AND finished_at < :b GROUP BY matter_code"))
        assert {t.matter: t.finished for t in figures.timings if t.finished} == done
        late = dict(_sql(s, "SELECT matter_code, count(*) FROM department_task WHERE status = 'done' "
                            "AND finished_at >= :a AND finished_at < :b "
                            "AND date(finished_at, '+8 hours') > deadline GROUP BY matter_code")
                    if s.bind.dialect.name == "sqlite" else
                    _sql(s, "SELECT matter_code, count(*) FROM department_task WHERE status = 'done' "
                            "AND finished_at >= :a AND finished_at < :b "
                            "AND (finished_at AT TIME ZONE 'Asia/Shanghai')::date > deadline GROUP BY matter_code"))
        assert {t.matter: t.late for t in figures.timings if t.late} == late
        hukou = next(t for t in figures.timings if t.matter == "hukou")
        assert hukou.limit_days == 1 and hukou.median_days is not None and hukou.median_days <= 1

        # the certificate: two cases, accepted 10:00 -> 12:00 (2 h) and 09:00 -> 16:00 (7 h)
        assert figures.certificate.cases == 2 and figures.certificate.median_hours == 4.5
        assert figures.certificate.within_headline == 1

        overdue = _sql(s, "SELECT department, county_code, count(*) FROM department_task "
                          "WHERE status IN ('pending', 'in_progress') AND deadline < :t GROUP BY department, county_code",
                       t=date(2026, 12, 8))
        assert {(o.department, c): n for o in figures.overdue for c, n in o.by_county.items()} == \
            {(d, c): n for d, c, n in overdue}
        assert ("renshe", LUCHENG) in {(d, c) for d, c, _ in overdue}  # the pension never stopped

        completed = _sql(s, "SELECT channel FROM application WHERE status = 'completed' "
                            "AND completed_at >= :a AND completed_at < :b")
        assert figures.completed == len(completed) == 2
        assert figures.zero_trips == sum(1 for (c,) in completed if c != "walk_in") == 1

        returns = dict(_sql(s, "SELECT t.matter_code, count(*) FROM event e JOIN department_task t ON t.id = e.task_id "
                               "WHERE e.tag = 'staff:task:return' AND e.at >= :a AND e.at < :b GROUP BY t.matter_code"))
        assert {c.matter: c.returns for c in figures.corrections} == returns == {"medical": 1}
        assert figures.corrections[0].steps == {"recipient": 1}

        assert {t.matter for t in gongan.timings} == {"hukou"}
        assert [o.department for o in gongan.overdue] == ["gongan"]


def test_page_shows_charts_and_tables_scoped(client, db: sessionmaker[Session], vault: Vault) -> None:  # type: ignore[no-untyped-def]
    build_history(db, vault)
    login(client, "admin")
    page = client.get("/admin/stats?from=2026-09-01&to=2026-11-30")
    assert page.status_code == 200
    assert page.text.count("<svg") >= 4 and "宁海 3 小时" in page.text
    assert re.search(r"<th scope=\"row\">亡故人户口注销</th><td>公安局（派出所）</td><td>1</td><td>4</td>", page.text)
    only = client.get("/admin/stats?from=2026-09-01&to=2026-11-30&county=330381")
    assert re.search(r"<th scope=\"row\">亡故人户口注销</th><td>公安局（派出所）</td><td>1</td><td>1</td>", only.text)
    client.cookies.clear()
    login(client, "officer-gongan-ruian")
    mine = client.get("/admin/stats?from=2026-09-01&to=2026-11-30&county=330302")
    assert mine.status_code == 200 and "医疗保险个人账户清算" not in mine.text
    assert re.search(r"<th scope=\"row\">亡故人户口注销</th><td>公安局（派出所）</td><td>1</td><td>1</td>", mine.text)
    client.cookies.clear()
    login(client, "clerk")
    assert client.get("/admin/stats").status_code == 403
