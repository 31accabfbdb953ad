"""Working calendar and time limits in headless Chromium: the year grid
loads, a holiday list is imported, a weekday is marked as a holiday and a
Saturday as a make-up workday by clicking, an overlapping working period is
refused with the API's Chinese message, the trial calculation follows the
calendar; a time limit is edited inline and a class rule added.
Screenshots: docs/images/cases-calendar.png, cases-time-limits.png."""
from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import create_engine, text

from tests.e2e.test_home_map import IMAGES, Session, browser  # noqa: F401  (module fixture)

pytestmark = pytest.mark.e2e


@pytest.fixture()
def chief_session(browser, live_server, passwords):  # noqa: F811
    s = Session(browser, live_server.url)
    s.login("admin", passwords["admin"])
    yield s
    s.close()


@pytest.fixture()
def engine(demo_db):
    eng = create_engine(demo_db)
    yield eng
    eng.dispose()


def first(year: int, month: int, weekday: int) -> dt.date:
    d = dt.date(year, month, 1)
    return d + dt.timedelta(days=(weekday - d.weekday()) % 7)


def test_calendar_page(chief_session, engine, tmp_path):
    s, page = chief_session, chief_session.page
    page.goto(s.base + "/cases/config/calendar")
    year = int(page.get_attribute("#calendar-app", "data-year"))
    page.wait_for_selector(f"#months td.day[data-date='{year}-12-31']")
    assert "work" in page.get_attribute(f"td.day[data-date='{first(year, 3, 0)}']", "class")
    assert "off" in page.get_attribute(f"td.day[data-date='{first(year, 3, 5)}']", "class")
    try:
        # Import an example list (marked as such: real holidays come from the official notice).
        may = [first(year, 5, 0) + dt.timedelta(days=i) for i in range(3)]
        csv_path = tmp_path / "holidays.csv"
        csv_path.write_text("日期,类型,说明\n" + "".join(f"{d},休,示例假日\n" for d in may), encoding="utf-8")
        page.set_input_files("#import-file", str(csv_path))
        page.wait_for_selector("#toast-area .alert-success:has-text('新增 3')")
        page.wait_for_selector(f"td.day.holiday[data-date='{may[0]}']")

        # Click a weekday: mark it as a holiday with a note.
        day = first(year, 10, 2)  # a Wednesday in October
        page.click(f"td.day[data-date='{day}']")
        page.wait_for_selector("#day-modal.show")
        assert "默认：上班" in page.inner_text("#day-default")
        page.click("label[for=day-off]")
        page.fill("#day-note", "示例：节日休息")
        page.click("#btn-day-save")
        page.wait_for_selector(f"td.day.holiday[data-date='{day}']")
        assert "示例：节日休息" in page.get_attribute(f"td.day[data-date='{day}']", "title")

        # A Saturday becomes a make-up workday (调休).
        sat = first(year, 10, 5)
        page.click(f"td.day[data-date='{sat}']")
        page.wait_for_selector("#day-modal.show")
        page.click("label[for=day-work]")
        page.fill("#day-note", "示例：调休上班")
        page.click("#btn-day-save")
        page.wait_for_selector(f"td.day.makeup[data-date='{sat}']")
        with engine.connect() as c:
            assert c.execute(text("SELECT is_workday, note FROM cases.calendar_day WHERE day = :d"),
                             {"d": sat}).one() == (True, "示例：调休上班")

        # Overlapping working periods are refused with the API's message; nothing saved.
        page.click("#btn-add-period")
        row = page.locator("#periods-table tbody tr").last
        row.locator(".p-start").fill("11:00")
        row.locator(".p-end").fill("13:00")
        page.click("#btn-save-periods")
        page.wait_for_selector("#toast-area .alert-danger:has-text('重叠')")
        with engine.connect() as c:
            assert c.execute(text("SELECT count(*) FROM cases.work_period")).scalar() == 2
        page.locator("#periods-table tbody tr").last.locator(".p-del").click()

        # Trial calculation: the day before the holiday, 17:00 + 2 working hours skips it.
        page.fill("#p-start", f"{day - dt.timedelta(days=1)}T17:00")
        page.fill("#p-hours", "2")
        page.click("#preview-form button[type=submit]")
        page.wait_for_selector("#p-result.text-success")
        assert f"{day + dt.timedelta(days=1)} 09:30" in page.inner_text("#p-result")

        page.evaluate("window.scrollTo(0, 0)")
        IMAGES.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(IMAGES / "cases-calendar.png"), full_page=True)

        # 恢复默认 removes the exception again.
        page.click(f"td.day[data-date='{day}']")
        page.wait_for_selector("#day-modal.show")
        page.click("#btn-day-reset")
        page.wait_for_selector(f"td.day.work[data-date='{day}']")
    finally:
        with engine.begin() as c:
            c.execute(text("DELETE FROM cases.calendar_day WHERE note LIKE '示例%'"))
    assert not s.foreign_requests()


def test_time_limits_page(chief_session, engine):
    s, page = chief_session, chief_session.page
    page.goto(s.base + "/cases/config/time-limits")
    page.wait_for_selector("#limits-table tr[data-code='0101'] td.cell[data-stage='handle']")
    cell = page.locator("#limits-table tr[data-code='0101'] td.cell[data-stage='handle']")
    assert "6 h" in cell.inner_text() and "自然时" in cell.inner_text()
    # Cells sit under their stage's column header, in process order.
    heads = page.eval_on_selector_all("#limits-table thead th[data-stage]", "ths => ths.map(t => t.dataset.stage)")
    assert heads == ["accept", "verify", "file", "dispatch", "handle", "check", "close"]
    assert page.eval_on_selector_all("#limits-table tr[data-code='*'] td.cell",
                                     "tds => tds.map(t => t.dataset.stage)") == heads
    assert page.inner_text("#limits-table tr[data-code='*'] td:nth-child(7)").startswith("24 h")  # 处置
    # Inherited cells are grey and show the default.
    inherited = page.locator("#limits-table tr[data-code='0101'] td.cell[data-stage='accept']")
    assert "inherited" in inherited.get_attribute("class") and "0.5 h" in inherited.inner_text()
    with engine.connect() as c:
        saved = c.execute(text("SELECT hours FROM cases.time_limit WHERE kind='component' AND class_code='0101' "
                               "AND stage='handle'")).scalar()
    try:
        cell.click()
        cell.locator("input.h").fill("8")
        cell.locator("button.save").click()
        page.wait_for_selector("#toast-area .alert-success:has-text('8 小时')")
        page.wait_for_function("() => document.querySelector(\"#limits-table tr[data-code='0101'] "
                               "td.cell[data-stage='handle']\").textContent.includes('8 h')")
        with engine.connect() as c:
            assert float(c.execute(text("SELECT hours FROM cases.time_limit WHERE kind='component' "
                                        "AND class_code='0101' AND stage='handle'")).scalar()) == 8

        # Bad input shows the API's Chinese message, and the cell keeps its value.
        cell = page.locator("#limits-table tr[data-code='0102'] td.cell[data-stage='handle']")
        cell.click()
        cell.locator("input.h").fill("-3")
        cell.locator("button.save").click()
        page.wait_for_selector("#toast-area .alert-danger:has-text('时限须大于 0')")

        # Add a rule for a big class through the form.
        page.click("#btn-new")
        page.fill("#n-class", "02")
        page.select_option("#n-stage", "handle")
        page.fill("#n-hours", "48")
        page.fill("#n-note", "道路交通：示例")
        page.click("#btn-create")
        page.wait_for_selector("#limits-table tr[data-code='02'] td.cell[data-stage='handle']:not(.inherited)")

        # Filter by big class 01.
        page.select_option("#f-big", "01")
        page.wait_for_function("() => !document.querySelector(\"#limits-table tr[data-code='02']\")")
        page.select_option("#f-big", "")
        page.wait_for_selector("#limits-table tr[data-code='02']")
        IMAGES.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(IMAGES / "cases-time-limits.png"), full_page=True)
    finally:
        with engine.begin() as c:
            c.execute(text("UPDATE cases.time_limit SET hours = :h WHERE kind='component' AND class_code='0101' "
                           "AND stage='handle'"), {"h": saved})
            c.execute(text("DELETE FROM cases.time_limit WHERE note = '道路交通：示例'"))
    assert not s.foreign_requests()
