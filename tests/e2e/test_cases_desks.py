"""Command-centre desks and the big screen in headless Chromium: a case reported
through the API appears on the acceptor's desk, and one click at each desk
moves it on — 受理台 → 监督员核实 → 值班长立案 → 派遣台 → 专业部门处置台 →
监督员核查; the due page lists a task made overdue; the big screen draws its
charts and the map and drills down from a street to its communities and
unit grids. Screenshots: docs/images/desk-accept.png, desk-dispatch.png,
desk-dept.png, bigscreen.png."""
from __future__ import annotations

import pytest
from sqlalchemy import text

from tests.conftest import json_api
from tests.e2e.test_home_map import ARGS, CHROMIUM, IMAGES, Session, browser  # noqa: F401  (module fixture)
from tests.webapp.cases.test_case_lifecycle import act, report

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def spot(app):
    with app.extensions["cityops.sessions"]() as db:
        row = db.execute(text(
            "SELECT ST_X(p), ST_Y(p), c.code FROM geo.region c, "
            "LATERAL (SELECT ST_PointOnSurface(c.geom) p) q WHERE c.level='community' AND c.code LIKE '411721001%' "
            "ORDER BY c.code LIMIT 1")).one()
    return {"lon": row[0], "lat": row[1], "community": row[2]}


@pytest.fixture(scope="module")
def apis(app, passwords):
    out = {u: json_api(app, u, passwords["demo"]) for u in ("acceptor", "supervisor", "shift_chief", "dispatcher",
                                                              "handler")}
    out["admin"] = json_api(app, "admin", passwords["admin"])
    return out


def stages(apis, cid):
    c = apis["admin"].get(f"/api/cases/{cid}").get_json()
    return [t["stage"] for t in c["tasks"] if t["status"] == "open"], c


def desk(browser, live_server, user, pw, path):  # noqa: F811
    s = Session(browser, live_server.url)
    s.login(user, pw)
    s.page.goto(s.base + path)
    s.page.wait_for_selector("#desk-app[data-loaded]")
    return s


def click_action(s, cid, selector):
    row = f'#desk-body tr[data-case-id="{cid}"]'
    s.page.wait_for_selector(row)
    s.page.click(f"{row} {selector}")


def test_case_moves_from_desk_to_desk(browser, live_server, passwords, apis, spot, app):  # noqa: F811
    pw = passwords["demo"]
    c = report(apis["acceptor"], spot, source="hotline", class_code="0103",
               description="市民来电：人民路口积存垃圾渣土", address="人民路与柏城大道交叉口").get_json()
    cid = c["id"]
    assert stages(apis, cid)[0] == ["accept"], "the hotline case should wait for acceptance"

    # 受理台: the case is listed with its deadline; one click sends it to the supervisor for verification.
    s = desk(browser, live_server, "acceptor", pw, "/cases/desk/accept")
    row = f'#desk-body tr[data-case-id="{cid}"]'
    s.page.wait_for_selector(row)
    assert c["case_no"] in s.page.inner_text(row)
    assert s.page.get_attribute(f"{row} a.case-link", "href") == f"/cases/{cid}"
    assert "剩余" in s.page.inner_text(row) or "超期" in s.page.inner_text(row)
    s.page.wait_for_function("() => Number(document.getElementById('desk-map').dataset.markers) > 0")
    count = int(s.page.inner_text('[data-count="accept"]'))
    with app.extensions["cityops.sessions"]() as db:
        assert count == db.execute(text("SELECT count(*) FROM cases.case_task WHERE status='open' "
                                        "AND stage='accept'")).scalar()
    s.page.wait_for_timeout(600)
    s.page.screenshot(path=str(IMAGES / "desk-accept.png"))
    click_action(s, cid, 'button[data-action="verify"]')
    s.page.wait_for_selector(row, state="detached")
    s.page.wait_for_selector("#toast-area .alert-success")
    assert stages(apis, cid)[0] == ["verify"]
    assert not s.foreign_requests(), s.foreign_requests()
    s.close()

    # 监督员: verify on the check desk.
    s = desk(browser, live_server, "supervisor", pw, "/cases/desk/check")
    click_action(s, cid, 'button[data-action="confirm"]')
    s.page.wait_for_selector(f'#desk-body tr[data-case-id="{cid}"]', state="detached")
    assert stages(apis, cid)[0] == ["file"]
    s.close()

    # 值班长: file (立案).
    s = desk(browser, live_server, "shift_chief", pw, "/cases/desk/file")
    click_action(s, cid, 'button[data-action="file"]')
    s.page.wait_for_selector(f'#desk-body tr[data-case-id="{cid}"]', state="detached")
    s.close()
    now, detail = stages(apis, cid)
    if now == ["handle"]:
        # Smart dispatch sent it on by itself; the department's return approved by the
        # shift chief brings it back to the dispatcher (改派).
        handler = apis["handler"] if detail["dept_code"] == "D010" else apis["admin"]
        assert act(handler, cid, "handle", "return", comment="不属本部门职责").status_code == 200
        assert act(apis["shift_chief"], cid, "approve_return", "approve").status_code == 200
    assert stages(apis, cid)[0] == ["dispatch"]

    # 派遣台: candidate departments from the responsibility list; dispatch to 环卫中心 (D010).
    s = desk(browser, live_server, "dispatcher", pw, "/cases/desk/dispatch")
    row = f'#desk-body tr[data-case-id="{cid}"]'
    s.page.wait_for_selector(f"{row} button[data-choose]")
    s.page.wait_for_function(f"() => !document.querySelector('{row} .cand-loading')")
    s.page.screenshot(path=str(IMAGES / "desk-dispatch.png"))
    s.page.click(f"{row} button[data-choose]")
    s.page.wait_for_selector("#reason-modal.show")
    s.page.select_option("#reason-dept", "D010")
    s.page.fill("#reason-text", "请环卫中心尽快清运")
    s.page.click("#reason-submit")
    s.page.wait_for_selector(row, state="detached")
    now, detail = stages(apis, cid)
    assert now == ["handle"] and detail["dept_code"] == "D010"
    s.close()

    # 专业部门处置台: only D010's tasks; one click reports the work done.
    s = desk(browser, live_server, "handler", pw, "/cases/desk/dept")
    row = f'#desk-body tr[data-case-id="{cid}"]'
    s.page.wait_for_selector(row)
    with app.extensions["cityops.sessions"]() as db:
        others = db.execute(text("SELECT count(*) FROM cases.case_task WHERE status='open' AND stage='handle' "
                                 "AND dept_code <> 'D010'")).scalar()
        mine = db.execute(text("SELECT count(*) FROM cases.case_task WHERE status='open' AND stage='handle' "
                               "AND dept_code = 'D010'")).scalar()
    assert int(s.page.inner_text('[data-count="handle"]')) == mine
    assert s.page.locator("#desk-body tr[data-task-id]").count() == mine, others
    s.page.wait_for_timeout(600)
    s.page.screenshot(path=str(IMAGES / "desk-dept.png"))
    click_action(s, cid, 'button[data-action="done"]')
    s.page.wait_for_selector(row, state="detached")
    assert stages(apis, cid)[0] == ["check"]
    s.close()

    # 监督员核查 appears on the check desk.
    s = desk(browser, live_server, "supervisor", pw, "/cases/desk/check")
    s.page.wait_for_selector(f'#desk-body tr[data-case-id="{cid}"][data-stage="check"]')
    s.close()


def test_reason_is_required_for_refusal(browser, live_server, passwords, apis, spot, app):  # noqa: F811
    c = report(apis["acceptor"], spot, source="hotline", class_code="0103", description="市民来电：重复来电测试").get_json()
    cid = c["id"]
    s = desk(browser, live_server, "acceptor", passwords["demo"], "/cases/desk/accept")
    click_action(s, cid, 'button[data-action="cancel"]')
    s.page.wait_for_selector("#reason-modal.show")
    s.page.fill("#reason-text", "非城市管理问题，不予受理")
    s.page.click("#reason-submit")
    s.page.wait_for_selector(f'#desk-body tr[data-case-id="{cid}"]', state="detached")
    assert apis["admin"].get(f"/api/cases/{cid}").get_json()["status"] == "cancelled"
    s.close()


def test_due_page_lists_overdue_task(browser, live_server, passwords, apis, spot, app):  # noqa: F811
    c = report(apis["acceptor"], spot, source="hotline", class_code="0103", description="市民来电：超期测试").get_json()
    task = c["tasks"][0]
    with app.extensions["cityops.sessions"]() as db:
        db.execute(text("UPDATE cases.case_task SET deadline = now() - interval '1 day', "
                        "warn_at = now() - interval '2 days' WHERE id=:t"), {"t": task["id"]})
        db.commit()
    s = Session(browser, live_server.url)
    s.login("shift_chief", passwords["demo"])
    s.page.goto(s.base + "/cases/due")
    s.page.wait_for_selector("#due-app[data-loaded]")
    row = f'#due-items tr[data-task-id="{task["id"]}"]'
    s.page.wait_for_selector(row)
    assert "已超期" in s.page.inner_text(row) and "超期" in s.page.inner_text(f"{row} td:last-child")
    assert int(s.page.inner_text("#total-overdue")) >= 1
    s.close()


def test_bigscreen_charts_map_and_drill_down(browser, live_server, passwords, apis, spot, app):  # noqa: F811
    report(apis["supervisor"], spot, description="监督员巡查：店外经营")
    ctx = browser.new_context(viewport={"width": 1920, "height": 1080}, locale="zh-CN", timezone_id="Asia/Shanghai")
    page = ctx.new_page()
    page.set_default_timeout(30_000)
    urls = []
    page.on("request", lambda r: urls.append(r.url))
    page.goto(live_server.url + "/login")
    page.fill("#username", "leader")
    page.fill("#password", passwords["demo"])
    with page.expect_navigation():
        page.click("#login-submit")
    page.goto(live_server.url + "/cases/bigscreen")
    page.wait_for_selector("#bs-map[data-ready='1']")
    for k in ("source", "stage", "overdue", "classes"):
        page.wait_for_selector(f"#chart-{k}[data-ready='1'] canvas")
    with app.extensions["cityops.sessions"]() as db:
        n_open = db.execute(text("SELECT count(*) FROM cases.\"case\" WHERE status='open'")).scalar()
        n_streets = db.execute(text("SELECT count(*) FROM geo.region WHERE level='street'")).scalar()
        street_name = db.execute(text("SELECT name FROM geo.region WHERE code=:c"),
                                 {"c": spot["community"][:9]}).scalar()
        comm_name = db.execute(text("SELECT name FROM geo.region WHERE code=:c"), {"c": spot["community"]}).scalar()
        n_grids = db.execute(text("SELECT count(*) FROM geo.unit_grid WHERE street_code=:s AND "
                                  "(valid_to IS NULL OR valid_to > now())"), {"s": spot["community"][:9]}).scalar()
    assert page.inner_text("#k-open") == str(n_open)
    assert page.get_attribute("#bs-map", "data-cases") == str(n_open)
    assert page.get_attribute("#bs-map", "data-areas") == str(n_streets)
    assert page.locator(".leaflet-tooltip.region-label").count() == n_streets
    page.wait_for_timeout(1500)
    page.screenshot(path=str(IMAGES / "bigscreen.png"))

    # Drill down: street → its communities and unit grids, with the supervisors of the street.
    page.click(f'#drill-table tr[data-code="{spot["community"][:9]}"]')
    page.wait_for_selector("#bs-map[data-level='street']")
    assert page.get_attribute("#bs-map", "data-grids") == str(n_grids)
    assert street_name in page.inner_text("#crumbs")
    page.wait_for_selector("#sup-table tr[data-user]")
    assert "陈监督" in page.inner_text("#sup-table")
    page.click(f'#drill-table tr[data-code="{spot["community"]}"]')
    page.wait_for_selector("#bs-map[data-level='community']")
    assert comm_name in page.inner_text("#drill-title")
    with app.extensions["cityops.sessions"]() as db:
        top = db.execute(text("SELECT count(*) FROM cases.\"case\" WHERE status='open' AND grid_code = "
                              "(SELECT grid_code FROM cases.\"case\" WHERE status='open' AND community_code=:c "
                              "GROUP BY grid_code ORDER BY count(*) DESC, grid_code LIMIT 1)"),
                         {"c": spot["community"]}).scalar()
    assert page.inner_text("#drill-table tbody tr:first-child td.n-open") == str(top)
    page.click('#crumbs a[data-level="county"]')
    page.wait_for_selector("#bs-map[data-level='county']")
    foreign = [u for u in urls if not u.startswith(live_server.url) and not u.startswith("data:")]
    assert not foreign, foreign
    ctx.close()
