"""立案与派遣规则 (R29–R30) in headless Chromium: the admin opens the rules
page, adds an auto-registration rule through the form and sees it in the
ordered list, looks at the responsibility list, then clicks a point in 柏城街道
on the test bench map and gets the matched rule and the dispatch candidates
with their reasons. Screenshots: docs/images/cases-dispatch-rules.png,
cases-dispatch-list.png, cases-dispatch-test.png."""
from __future__ import annotations

import uuid

import pytest
from sqlalchemy import text

from tests.e2e.test_home_map import IMAGES, TILES_DONE, Session, browser  # noqa: F401  (module fixture)

pytestmark = pytest.mark.e2e


@pytest.fixture()
def admin_session(browser, live_server, passwords):  # noqa: F811
    s = Session(browser, live_server.url)
    s.login("admin", passwords["admin"])
    yield s
    s.close()


def test_rules_page_create_rule(admin_session, app):
    s, page = admin_session, admin_session.page
    page.on("dialog", lambda d: d.accept())
    page.goto(s.base + "/cases/config/dispatch-rules")
    page.wait_for_selector("#rules-body tr[data-id]")
    assert "监督员上报的市容环境类事件自动受理" in page.inner_text("#rules-body")
    n_before = page.locator("#rules-body tr[data-id]").count()

    name = "视频识别街面秩序自动立案" + uuid.uuid4().hex[:4]
    page.click("#btn-new-rule")
    page.wait_for_selector("#rule-modal.show")
    page.fill("#r-name", name)
    page.check("#r-src-video")
    page.select_option("#r-kind", "event")
    page.select_option("#r-class", "05")
    page.fill("#r-region", "411721001")
    page.check("#r-act-auto_file")
    page.fill("#r-remark", "视频智能识别的街面秩序问题经人工抽检准确率高")
    page.click("#rule-save")
    row = page.locator("#rules-body tr", has_text=name)
    row.wait_for()
    assert page.locator("#rules-body tr[data-id]").count() == n_before + 1
    summary = row.inner_text()
    assert "视频智能识别" in summary and "411721001" in summary and "自动立案" in summary and "自动受理" in summary
    # The new rule is last; move it up one place.
    rid = row.get_attribute("data-id")
    row.locator("button[data-op=up]").click()
    page.wait_for_function(f"""() => {{ const rows = [...document.querySelectorAll('#rules-body tr[data-id]')];
        return rows.length > 1 && rows[rows.length - 2].dataset.id === '{rid}'; }}""")
    IMAGES.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(IMAGES / "cases-dispatch-rules.png"), full_page=True)

    # A bad region prefix shows the API's Chinese message in the form.
    page.locator(f"#rules-body tr[data-id='{rid}'] button[data-op=edit]").click()
    page.wait_for_selector("#rule-modal.show")
    page.fill("#r-region", "411721999")
    page.click("#rule-save")
    page.wait_for_selector("#rule-error:not(.d-none)")
    assert "不对应任何街道" in page.inner_text("#rule-error")
    page.click("#rule-modal .btn-close")
    page.wait_for_selector("#rule-modal", state="hidden")

    # The responsibility list tab.
    page.click("#tab-entries")
    page.wait_for_selector("#entries-body tr[data-id]")
    page.fill("#ef-class", "05")
    page.select_option("#ef-kind", "event")
    page.click("#entry-filter button[type=submit]")
    page.wait_for_function("() => document.getElementById('entries-body').innerText.includes('柏亭街道办事处')")
    page.screenshot(path=str(IMAGES / "cases-dispatch-list.png"), full_page=True)

    # Delete the new rule again.
    page.click("#tab-rules")
    page.locator(f"#rules-body tr[data-id='{rid}'] button[data-op=delete]").click()
    page.wait_for_function(f"() => !document.querySelector(\"#rules-body tr[data-id='{rid}']\")")
    s2 = app.extensions["cityops.sessions"]()
    assert s2.execute(text("SELECT count(*) FROM cases.register_rule WHERE id = :i"), {"i": int(rid)}).scalar() == 0
    s2.close()


def test_bench_map_click_shows_candidates(admin_session, app):
    s, page = admin_session, admin_session.page
    db = app.extensions["cityops.sessions"]()
    lon, lat, grid = db.execute(text("""
        SELECT ST_X(p), ST_Y(p), code FROM (SELECT code, ST_PointOnSurface(geom) p FROM geo.unit_grid
         WHERE street_code = '411721001' ORDER BY code OFFSET 40 LIMIT 1) g""")).one()
    db.close()
    page.goto(s.base + "/cases/config/dispatch-test")
    page.wait_for_function("() => document.getElementById('bench-map').dataset.state === 'ready'")
    page.select_option("#b-source", "supervisor")
    page.select_option("#b-kind", "event")
    page.select_option("#b-class", "0501")
    page.evaluate(f"() => window.benchMap.setView([{lat}, {lon}], 16)")
    page.wait_for_function(TILES_DONE)
    pt = page.evaluate(f"() => {{ const p = window.benchMap.latLngToContainerPoint([{lat}, {lon}]); return [p.x, p.y]; }}")
    page.locator("#bench-map").click(position={"x": pt[0], "y": pt[1]})
    page.wait_for_selector("#r-candidates")
    result = page.inner_text("#bench-result")
    assert "柏城街道" in page.inner_text("#r-street") and grid in result
    assert "自动受理" in page.inner_text("#r-actions") and "监督员上报的街面秩序类事件自动受理" in page.inner_text("#r-rule")
    assert "柏城街道办事处" in page.inner_text("#r-candidates") and "权责清单 #" in page.inner_text("#r-candidates")
    assert "自动派遣" in page.inner_text("#r-verdict")
    page.screenshot(path=str(IMAGES / "cases-dispatch-test.png"), full_page=True)

    # An ambiguous class: two departments listed, the dispatcher chooses.
    page.select_option("#b-class", "0113")
    page.locator("#bench-map").click(position={"x": pt[0] + 5, "y": pt[1] + 5})
    page.wait_for_function("() => document.getElementById('r-verdict') && "
                           "document.getElementById('r-verdict').innerText.includes('请派遣员选择')")
    cands = page.inner_text("#r-candidates")
    assert "城市管理局" in cands and "环境卫生服务中心" in cands
    # An unknown address: the API's Chinese message.
    page.fill("#b-address", "火星路999号")
    page.click("#b-run")
    page.wait_for_selector("#bench-error")
    assert "地址" in page.inner_text("#bench-error")
    assert not s.foreign_requests()
