"""The case pages (R2–R5) against the real PostGIS: the report page offers the
caller's sources and the class dictionary; the detail page and the printable
sheet render a case in Chinese, answer 404 outside the caller's data scope,
and load nothing from a CDN."""
from __future__ import annotations

import json
import re

import pytest
from sqlalchemy import text

from tests.conftest import assert_error
from tests.webapp.cases.test_case_lifecycle import act, apis, photo, report, spot  # noqa: F401 (fixtures)

CDN = re.compile(r"https?://(?!127\.0\.0\.1|localhost)[^\"' )]+\.(?:js|css)|unpkg|jsdelivr|cdnjs|googleapis")


def page(api, url):
    return api.c.get(url, headers={"Accept": "text/html"})


def embedded(html: str, element_id: str):
    m = re.search(rf'<script type="application/json" id="{element_id}">(.*?)</script>', html, re.S)
    assert m, element_id
    return json.loads(m.group(1))


@pytest.fixture(scope="module")
def other_spot(app):
    """A point in a street other than the supervisor's (411721001)."""
    with app.extensions["cityops.sessions"]() as db:
        row = db.execute(text(
            "SELECT ST_X(p), ST_Y(p), c.code FROM geo.region c, LATERAL (SELECT ST_PointOnSurface(c.geom) p) q "
            "WHERE c.level='community' AND c.code NOT LIKE '411721001%' ORDER BY c.code LIMIT 1")).one()
    return {"lon": row[0], "lat": row[1], "community": row[2]}


@pytest.fixture(scope="module")
def photo_case(apis, spot):  # noqa: F811
    """A supervisor's report with a photo, through the multipart form the report page sends."""
    body = {"source": "supervisor", "kind": "event", "class_code": "0103", "description": "人行道上积存垃圾渣土，影响通行",
            "address": "柏城大道 18 号附近", "location": {"lon": spot["lon"], "lat": spot["lat"], "crs": "EPSG:4326"}}
    r = apis["supervisor"].upload("/api/cases", {"media": ("现场.jpg", photo())}, report=json.dumps(body))
    assert r.status_code == 201, r.get_json()
    return r.get_json()


def test_report_page_offers_the_callers_sources_and_classes(apis, app):  # noqa: F811
    r = page(apis["supervisor"], "/cases/report")
    assert r.status_code == 200
    html = r.get_data(as_text=True)
    assert "问题上报" in html and "问题类别" in html and "问题位置" in html and "拍照" in html
    sources = re.findall(r'<option value="([a-z]+)">', html)
    assert sources == ["supervisor"]
    assert 'accept="image/*"' in html and 'capture="environment"' in html and "multiple" in html
    classes = embedded(html, "class-data")
    with app.extensions["cityops.sessions"]() as db:
        names = dict(db.execute(text("SELECT code, name FROM geo.dict_item WHERE type_code='event_class' "
                                     "AND length(code)=4 AND enabled")).all())
    shown = {c["code"]: c["name"] for big in classes["event"] for c in big["children"]}
    assert shown == names and names
    assert all(len(big["code"]) == 2 for big in classes["component"])
    start = embedded(html, "start-data")["bbox"]
    assert 113 < start[0] < start[2] < 115 and 32 < start[1] < start[3] < 34
    assert not CDN.search(html)

    html = page(apis["acceptor"], "/cases/report").get_data(as_text=True)
    assert re.findall(r'<option value="([a-z]+)">', html) == ["public", "hotline", "video", "media"]
    html = page(apis["admin"], "/cases/report").get_data(as_text=True)
    assert len(re.findall(r'<option value="([a-z]+)">', html)) == 8


def test_report_page_needs_login(app):
    r = app.test_client().get("/cases/report")
    assert r.status_code == 302 and "/login" in r.headers["Location"]


def test_nearby_address(apis, app):  # noqa: F811
    with app.extensions["cityops.sessions"]() as db:
        addr, lon, lat = db.execute(text("SELECT full_address, ST_X(geom), ST_Y(geom) FROM geo.address "
                                         "ORDER BY id LIMIT 1")).one()
    r = apis["supervisor"].get(f"/api/cases/nearby-address?lon={lon + 0.00005}&lat={lat}")
    assert r.status_code == 200
    assert r.get_json()["address"] == addr and 0 < r.get_json()["distance_m"] < 10
    far = apis["supervisor"].get("/api/cases/nearby-address?lon=100&lat=20").get_json()
    assert far == {"address": None, "distance_m": None}
    assert_error(apis["supervisor"].get("/api/cases/nearby-address?lon=abc&lat=33"), 400, "parameter_invalid")
    assert_error(apis["supervisor"].get("/api/cases/nearby-address?lon=114&lat=95"), 400, "parameter_invalid")
    assert_error(apis["supervisor"].get("/api/cases/nearby-address?lon=114&lat=33&x=1"), 400, "parameter_unknown")


def test_detail_page_renders_the_case(apis, photo_case):  # noqa: F811
    cid = photo_case["id"]
    r = page(apis["acceptor"], f"/cases/{cid}")
    assert r.status_code == 200
    html = r.get_data(as_text=True)
    assert photo_case["case_no"] in html and "待办任务" in html and "处理过程" in html and "打印处理单" in html
    assert "人行道上积存垃圾渣土" in html and "监督员上报" in html
    data = embedded(html, "case-data")
    assert data["id"] == cid and data["media"][0]["kind"] == "photo" and data["events"][0]["action"] == "report"
    labels = embedded(html, "case-labels")
    assert labels["stages"]["handle"] == "处置" and labels["roles"]["shift_chief"] == "值班长"
    extra = embedded(html, "case-extra")
    assert extra["community_name"] and extra["street_name"]
    assert extra["departments"] == []  # only dispatchers choose a department
    assert 'id="btn-urge"' not in html  # the acceptor does not supervise
    assert not CDN.search(html)

    html = page(apis["dispatcher"], f"/cases/{cid}").get_data(as_text=True)
    depts = embedded(html, "case-extra")["departments"]
    assert {"code": "D010", "name": "西平县环境卫生服务中心"} in depts
    html = page(apis["leader"], f"/cases/{cid}").get_data(as_text=True)
    assert 'id="btn-urge"' in html
    # The thumbnail and the photo the gallery links to are served.
    m = data["media"][0]
    assert apis["acceptor"].get(m["thumb_url"]).mimetype == "image/jpeg"
    assert apis["acceptor"].get(m["url"]).status_code == 200


def test_pages_answer_404_outside_the_data_scope(apis, other_spot, photo_case):  # noqa: F811
    far = report(apis["acceptor"], other_spot, source="hotline", class_code="0104",
                 description="市民来电：道路落叶未清扫").get_json()
    for url in (f"/cases/{far['id']}", f"/cases/{far['id']}/print", f"/cases/{far['id']}/process.bpmn"):
        r = page(apis["supervisor"], url)
        assert r.status_code == 404, url
        assert "不在您的数据范围内" in r.get_data(as_text=True)
    assert page(apis["acceptor"], f"/cases/{far['id']}").status_code == 200
    r = page(apis["acceptor"], "/cases/999999999")
    assert r.status_code == 404 and "案卷 999999999 不存在" in r.get_data(as_text=True)
    # The supervisor sees the cases of their own street.
    assert page(apis["supervisor"], f"/cases/{photo_case['id']}").status_code == 200


def test_process_xml_for_the_diagram(apis, photo_case):  # noqa: F811
    r = page(apis["acceptor"], f"/cases/{photo_case['id']}/process.bpmn")
    assert r.status_code == 200 and r.mimetype == "application/xml"
    body = r.get_data(as_text=True)
    assert "<bpmn:definitions" in body or "<definitions" in body
    assert 'id="dispatch"' in body


def _to_close(apis, cid):  # noqa: F811
    detail = apis["admin"].get(f"/api/cases/{cid}").get_json()
    if detail["stage"] == "accept":
        assert act(apis["acceptor"], cid, "accept", "file", comment="属实，提交立案").status_code == 200
        detail = apis["admin"].get(f"/api/cases/{cid}").get_json()
    if detail["stage"] == "file":
        assert act(apis["shift_chief"], cid, "file", "file").status_code == 200
        detail = apis["admin"].get(f"/api/cases/{cid}").get_json()
    if detail["stage"] == "dispatch":
        assert act(apis["dispatcher"], cid, "dispatch", "dispatch", data={"dept_code": "D010"}).status_code == 200
        detail = apis["admin"].get(f"/api/cases/{cid}").get_json()
    handler = apis["handler"] if detail["dept_code"] == "D010" else apis["admin"]
    assert act(handler, cid, "handle", "done", comment="已清运完毕").status_code == 200
    assert act(apis["supervisor"], cid, "check", "pass", comment="现场已清理").status_code == 200
    assert act(apis["shift_chief"], cid, "close", "close").status_code == 200


def test_print_sheet(apis, photo_case, app):  # noqa: F811
    cid = photo_case["id"]
    _to_close(apis, cid)
    r = page(apis["acceptor"], f"/cases/{cid}/print")
    assert r.status_code == 200
    html = r.get_data(as_text=True)
    assert "案卷处理单" in html and photo_case["case_no"] in html
    assert "西平县数字化城市管理监督指挥中心" in html and "西平县城市管理局" in html  # from the settings
    assert "size: A4" in html and "@media print" in html
    assert 'id="topnav"' not in html and "退出" not in html  # no navigation on paper
    assert f'src="/api/cases/{cid}/media/' in html  # the first photo
    assert "签字" in html and "已结案" in html
    rows = re.findall(r"<tr><td class=\"n\">(\d+)</td>(.*?)</tr>", html, re.S)
    assert [int(n) for n, _ in rows] == list(range(1, len(rows) + 1))
    actions = [re.findall(r"<td>(.*?)</td>", cells)[4] for _, cells in rows]
    assert actions[0] == "上报" and actions[-3:] == ["处置反馈", "核查通过", "结案"]
    assert "派遣" in actions
    stages = [re.findall(r"<td>(.*?)</td>", cells)[3] for _, cells in rows]
    assert all(a == "受理" for s, a in zip(stages, actions) if s == "受理" and a != "督办")
    assert "已清运完毕" in html
    assert not CDN.search(html)
    # Times are shown in Asia/Shanghai.
    with app.extensions["cityops.sessions"]() as db:
        at = db.scalar(text("SELECT to_char(at AT TIME ZONE 'Asia/Shanghai', 'YYYY-MM-DD HH24:MI') "
                            "FROM cases.case_event WHERE case_id=:c AND seq=1"), {"c": cid})
    assert f"<td>{at}</td>" in html

    # The names come from the settings at request time: a change shows without restart.
    admin = apis["admin"]
    assert admin.put("/api/admin/settings", {"site.support": "西平县城市运行管理服务中心"}).status_code == 200
    try:
        html = page(apis["acceptor"], f"/cases/{cid}/print").get_data(as_text=True)
        assert "西平县城市运行管理服务中心" in html and "西平县数字化城市管理监督指挥中心" not in html
    finally:
        assert admin.put("/api/admin/settings", {"site.support": None}).status_code == 200
