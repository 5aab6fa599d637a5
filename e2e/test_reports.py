"""Statistics (and later 月对账) in a real browser: charts drawn as SVG on the server, the numbers
as tables, zero axe violations at phone and desktop width; screenshots go to e2e/artifacts/."""
from __future__ import annotations

from playwright.sync_api import expect

from e2e.test_backoffice import both_sizes, staff_context  # noqa: F401 - the fixture


def test_statistics_page_at_phone_and_desktop(staff_context) -> None:  # type: ignore[no-untyped-def]
    page = staff_context("admin")
    page.goto("/admin/stats")
    expect(page.locator("h1")).to_contain_text("统计")
    expect(page.locator("svg.chart").first).to_be_visible()
    assert page.locator("svg.chart title").count() >= 3
    both_sizes(page, "stats")
    officer = staff_context("officer-renshe")
    officer.goto("/admin/stats")
    expect(officer.locator("h1")).to_contain_text("人力资源和社会保障局")
    both_sizes(officer, "stats-officer")
    officer.goto("/admin/export?what=queue&status=all")
    expect(officer.locator("h1")).to_contain_text("导出")
    officer.get_by_role("button", name="导出完整号码").click()  # no reason: the error next to the field
    expect(officer.locator(".error-summary")).to_be_visible()
    both_sizes(officer, "export-error")


def test_reconciliation_page_confirm_at_phone_and_desktop(staff_context) -> None:  # type: ignore[no-untyped-def]
    officer = staff_context("officer-gongan")
    officer.goto("/admin/reconcile")
    expect(officer.locator("h1")).to_contain_text("月对账")
    both_sizes(officer, "reconcile-officer")
    officer.get_by_role("button", name="确认本部门的部分").click()
    expect(officer.locator(".bo-flash")).to_contain_text("已确认")
    admin = staff_context("admin")
    admin.goto("/admin/reconcile?county=330302")
    expect(admin.get_by_role("button", name="结账（冻结本月）")).to_be_visible()
    both_sizes(admin, "reconcile")
    admin.goto("/admin/reconcile")
    both_sizes(admin, "reconcile-city")
