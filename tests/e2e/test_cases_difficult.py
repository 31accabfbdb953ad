"""Difficult cases in headless Chromium: the leader finds a case by keyword
and marks it difficult, opens a 确权 round; the department handler answers
on the 确权任务 page; the leader decides and the case is dispatched (seen in
the list); the analysis page draws its chart. Screenshots:
docs/images/difficult-list.png, difficult-analysis.png."""
from __future__ import annotations

import pytest

from tests.conftest import json_api
from tests.e2e.test_home_map import IMAGES, Session, browser  # noqa: F401  (module fixture)
from tests.webapp.cases.test_case_lifecycle import act, report

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def case_at_dispatch(app, passwords):
    """A case returned by 环卫中心 and waiting for dispatch, plus some marked history."""
    from sqlalchemy import text
    with app.extensions["cityops.sessions"]() as db:
        lon, lat = db.execute(text(
            "SELECT ST_X(p), ST_Y(p) FROM geo.region c, LATERAL (SELECT ST_PointOnSurface(c.geom) p) q "
            "WHERE c.level='community' AND c.code LIKE '411721001%' ORDER BY c.code LIMIT 1")).one()
    spot = {"lon": lon, "lat": lat}
    apis = {u: json_api(app, u, passwords["demo"]) for u in
            ("acceptor", "shift_chief", "dispatcher", "handler", "leader")}
    apis["admin"] = json_api(app, "admin", passwords["admin"])
    c = report(apis["acceptor"], spot, source="hotline", class_code="0111",
               description="桥下空间长期堆放废旧杂物，管理单位不明确", address="柏城大道洪河桥下").get_json()
    cid = c["id"]
    for _ in range(8):
        case = apis["admin"].get(f"/api/cases/{cid}").get_json()
        if case["stage"] == "dispatch" and case["returns"]:
            break
        stage = case["stage"]
        if stage == "accept":
            act(apis["acceptor"], cid, "accept", "file")
        elif stage == "file":
            act(apis["shift_chief"], cid, "file", "file")
        elif stage == "dispatch":
            act(apis["dispatcher"], cid, "dispatch", "dispatch", data={"dept_code": "D010"})
        elif stage == "handle":
            act(apis["admin"], cid, "handle", "return", comment="不属于本单位职责")
        elif stage == "approve_return":
            act(apis["shift_chief"], cid, "approve_return", "approve")
    assert case["stage"] == "dispatch"
    # a few more difficult cases so the list and the chart have content
    for cls, desc, t in (("0102", "背街小巷暴露垃圾多次清运不到位", "rework"),
                         ("0110", "沿街商户店外经营，多部门互相推诿", "buck_passing")):
        other = report(apis["acceptor"], spot, source="hotline", class_code=cls, description=desc).get_json()
        apis["leader"].post("/api/cases/difficult/marks", {"case_id": other["id"], "type_code": t,
                                                           "reason": "群众反复投诉"})
    return case


def test_mark_confirm_ownership_and_analysis(browser, live_server, passwords, case_at_dispatch, app):  # noqa: F811
    case = case_at_dispatch
    leader = Session(browser, live_server.url)
    leader.login("leader", passwords["demo"])
    page = leader.page
    page.on("dialog", lambda d: d.accept())
    page.goto(leader.base + "/cases/difficult")
    page.wait_for_selector("#list-info:has-text('共')")

    # manual marking: find the case by a keyword of its description
    page.click("#btn-mark")
    page.fill("#m-case", "桥下空间")
    page.click("#m-find")
    page.wait_for_selector(f"#m-case-id option:has-text('{case['case_no']}')")
    page.select_option("#m-case-id", str(case["id"]))
    page.select_option("#m-type", "unclear_owner")
    page.fill("#m-reason", "桥下空间管理单位不明确，需确权")
    page.click("#mark-save")
    row = page.locator("#difficult-body tr", has_text=case["case_no"])
    row.wait_for()
    assert "权属不清" in row.inner_text() and "认定中" in row.inner_text()

    # quick search by keyword highlights the match
    page.fill("#f-q", "桥下")
    page.click("#btn-search")
    page.wait_for_selector("#difficult-body mark")
    assert page.locator("#difficult-body tr").count() >= 1
    assert page.locator("#difficult-body mark").first.inner_text() == "桥下"

    # open a 确权 round to 环卫中心 (D010) and 路灯所 (D011)
    row.locator("button[data-op=open-round]").click()
    page.select_option("#r-depts", ["D010", "D011"])
    page.fill("#r-comment", "请核实桥下空间管理职责")
    page.click("#round-save")
    row.locator("button[data-op=round]:has-text('征询中')").wait_for()

    # the handler (环卫中心) answers on the 确权任务 page
    handler = Session(browser, live_server.url)
    handler.login("handler", passwords["demo"])
    hp = handler.page
    hp.goto(handler.base + "/cases/difficult/ownership")
    card = hp.locator(".card", has_text=case["case_no"])
    card.wait_for()
    card.locator("input.reason").fill("桥下空间由我单位负责保洁")
    card.locator("button[data-answer=yes]").click()
    hp.locator(".card", has_text=case["case_no"]).locator(".answer-name:has-text('属于本单位')").wait_for()
    handler.close()

    # the leader sees the answer, decides 环卫中心 and the case is dispatched to it
    page.fill("#f-q", "")
    page.click("#btn-search")
    row = page.locator("#difficult-body tr", has_text=case["case_no"])
    row.locator("button[data-op=round]:has-text('1/2')").wait_for()
    row.locator("button[data-op=round]").click()
    page.wait_for_selector("#round-answers tr:has-text('属于本单位')")
    assert page.input_value("#d-dept") == "D010"
    page.fill("#d-comment", "依据环卫作业范围")
    page.click("#round-save")
    page.locator("#difficult-body tr", has_text=case["case_no"]).locator("text=已确权").first.wait_for()
    api = json_api(app, "admin", passwords["admin"])
    detail = api.get(f"/api/cases/{case['id']}").get_json()
    assert detail["stage"] == "handle" and detail["dept_code"] == "D010"
    assert [e["action"] for e in detail["events"]][-2:] == ["ownership_decide", "dispatch"]
    assert page.locator("#difficult-body a.case-link", has_text=case["case_no"]).get_attribute("href") == \
        f"/cases/{case['id']}"
    IMAGES.mkdir(parents=True, exist_ok=True)
    page.wait_for_timeout(300)
    page.screenshot(path=str(IMAGES / "difficult-list.png"))

    # analysis: chart and tables
    page.goto(leader.base + "/cases/difficult/analysis")
    page.wait_for_selector("#chart[data-ready='1']")
    assert int(page.inner_text("[data-kpi='标记数']")) >= 3
    assert page.locator("#item-body tr", has_text=case["case_no"]).count() == 1
    assert "权属不清" in page.inner_text("#bucket-body")
    page.select_option("#a-period", "day")
    page.click("#btn-run")
    page.wait_for_function("() => document.getElementById('range-info').textContent.startsWith('日')")
    assert page.locator("#chart canvas").count() >= 1
    href = page.get_attribute("#btn-export", "href")
    assert href.startswith("/api/cases/difficult/analysis.xlsx?period=day")
    page.wait_for_timeout(400)
    page.screenshot(path=str(IMAGES / "difficult-analysis.png"), full_page=True)
    assert not leader.foreign_requests()
    leader.close()
