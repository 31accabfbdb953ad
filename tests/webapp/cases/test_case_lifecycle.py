"""The case lifecycle through the JSON API against the real PostGIS and the
real BPMN engine: intake with geocoding, the standard path report → close,
side paths, permissions, data scope, concurrency and bad input."""
from __future__ import annotations

import io
import threading

import pytest
from PIL import Image
from sqlalchemy import text

from tests.conftest import JsonApi, assert_error, json_api

# A point inside 柏城街道's first community (found from the demo data, see `spot`).


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
    users = ["supervisor", "acceptor", "shift_chief", "dispatcher", "handler", "leader", "monitor"]
    out = {u: json_api(app, u, passwords["demo"]) for u in users}
    out["admin"] = json_api(app, "admin", passwords["admin"])
    return out


def photo() -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (1200, 900), (180, 60, 60)).save(buf, "JPEG")
    return buf.getvalue()


def report(api: JsonApi, spot, **over):
    body = {"source": "supervisor", "kind": "event", "class_code": "0502", "description": "路口有流浪乞讨人员",
            "address": "柏城大道与人民路交叉口", "location": {"lon": spot["lon"], "lat": spot["lat"]}}
    body.update(over)
    return api.post("/api/cases", body)


def open_task(api, case_id, stage):
    case = api.get(f"/api/cases/{case_id}").get_json()
    return next(t for t in case["tasks"] if t["status"] == "open" and t["stage"] == stage), case


def act(api, case_id, stage, action, **kw):
    task, case = open_task(api, case_id, stage)
    return api.post(f"/api/cases/{case_id}/tasks/{task['id']}", {"action": action, "version": case["version"], **kw})


def events(app, case_id):
    with app.extensions["cityops.sessions"]() as db:
        return db.execute(text("SELECT seq, action FROM cases.case_event WHERE case_id=:c ORDER BY seq"),
                          {"c": case_id}).all()


def test_report_is_geocoded_and_waits_for_acceptance(apis, spot, app):
    r = report(apis["supervisor"], spot, kind="component", class_code="0101", description="上水井盖破损，有安全隐患")
    assert r.status_code == 201, r.get_json()
    c = r.get_json()
    assert c["case_no"].startswith("XP") and len(c["case_no"]) == 15
    assert c["community_code"] == spot["community"] and c["street_code"] == spot["community"][:9]
    assert c["grid_code"] and c["grid_code"].startswith(spot["community"])
    assert c["status"] == "open" and c["process"]["key"] == "city_case"
    assert [t["stage"] for t in c["tasks"]] in (["accept"], ["dispatch"], ["handle"])
    assert events(app, c["id"])[0] == (1, "report")


def test_full_path_to_close_with_gap_free_history(apis, spot, app):
    c = report(apis["acceptor"], spot, source="hotline", description="市民来电：道路上有积存垃圾渣土",
               class_code="0103").get_json()
    cid = c["id"]
    stage = c["tasks"][0]["stage"]
    if stage == "accept":
        assert act(apis["acceptor"], cid, "accept", "verify").status_code == 200
        assert act(apis["supervisor"], cid, "verify", "confirm", comment="现场属实").status_code == 200
        assert act(apis["shift_chief"], cid, "file", "file").status_code == 200
    detail = apis["admin"].get(f"/api/cases/{cid}").get_json()
    if detail["stage"] == "dispatch":
        assert act(apis["dispatcher"], cid, "dispatch", "dispatch", data={"dept_code": "D010"}).status_code == 200
        detail = apis["admin"].get(f"/api/cases/{cid}").get_json()
    assert detail["stage"] == "handle" and detail["handle_deadline"]
    handler = apis["handler"] if detail["dept_code"] == "D010" else apis["admin"]
    assert act(handler, cid, "handle", "done", comment="已清运").status_code == 200
    assert act(apis["supervisor"], cid, "check", "pass").status_code == 200
    r = act(apis["shift_chief"], cid, "close", "close")
    assert r.status_code == 200, r.get_json()
    done = r.get_json()
    assert done["status"] == "closed" and done["closed_at"] and done["stage"] is None
    seqs = [s for s, _ in events(app, cid)]
    assert seqs == list(range(1, len(seqs) + 1))
    assert [a for _, a in events(app, cid)][-3:] == ["done", "pass", "close"]


def test_illegal_transitions_and_roles(apis, spot, app):
    c = report(apis["acceptor"], spot, source="hotline", class_code="0104", description="道路不洁，落叶很多").get_json()
    cid = c["id"]
    task, case = open_task(apis["acceptor"], cid, c["tasks"][0]["stage"])
    before = events(app, cid)
    assert_error(apis["acceptor"].post(f"/api/cases/{cid}/tasks/{task['id']}", {"action": "close"}), 409,
                 "action_invalid")
    other = "dispatcher" if task["role"] != "dispatcher" else "acceptor"
    assert_error(apis[other].post(f"/api/cases/{cid}/tasks/{task['id']}", {"action": "file"}), 403,
                 "task_forbidden")
    assert_error(apis["admin"].post(f"/api/cases/{cid}/tasks/{task['id']}", {"action": "cancel"}), 400,
                 "comment_required")
    assert_error(apis["admin"].post(f"/api/cases/{cid}/tasks/{task['id']}", {"action": "file", "version": 999}),
                 409, "version_conflict")
    assert_error(apis["admin"].post(f"/api/cases/{cid}/tasks/{task['id']}", {"action": "file", "x": 1}), 400,
                 "field_unknown")
    assert_error(apis["admin"].post(f"/api/cases/{cid}/tasks/999999999", {"action": "file"}), 404, "task_not_found")
    assert events(app, cid) == before


def test_bad_reports_change_nothing(apis, spot, app):
    with app.extensions["cityops.sessions"]() as db:
        n = db.execute(text('SELECT count(*) FROM cases."case"')).scalar()
    sup = apis["supervisor"]
    assert_error(report(sup, spot, location={"lon": 116.4, "lat": 39.9}), 400, "outside_county")
    assert_error(report(sup, spot, location={"lon": spot["lat"], "lat": spot["lon"]}), 400, "latlon_swapped")
    assert_error(report(sup, spot, class_code="9999"), 400, "class_unknown")
    assert_error(report(sup, spot, kind="thing"), 400, "kind_invalid")
    assert_error(report(sup, spot, description="x"), 400, "description_invalid")
    assert_error(report(sup, spot, source="hotline"), 403, "source_forbidden")
    assert_error(report(sup, spot, colour="red"), 400, "field_unknown")
    assert_error(report(sup, spot, location={"lon": "a", "lat": 1}), 400, "location_invalid")
    assert_error(report(sup, spot, location={"lon": spot["lon"], "lat": spot["lat"], "crs": "EPSG:2000"}), 400,
                 "crs_unsupported")
    # A file that lies about its type.
    import json as _json
    r = sup.c.post("/api/cases", data={"report": _json.dumps({
        "source": "supervisor", "kind": "event", "class_code": "0502", "description": "附件伪造测试",
        "location": {"lon": spot["lon"], "lat": spot["lat"]}}), "media": (io.BytesIO(b"not a jpeg"), "x.jpg")},
        headers=sup.headers, content_type="multipart/form-data")
    assert_error(r, 415, "upload_type_mismatch")
    with app.extensions["cityops.sessions"]() as db:
        assert db.execute(text('SELECT count(*) FROM cases."case"')).scalar() == n


def test_gcj02_and_wgs84_reports_land_in_the_same_place(apis, spot):
    from geo.crs import wgs84_to_gcj02
    glon, glat = wgs84_to_gcj02(spot["lon"], spot["lat"])
    c = report(apis["supervisor"], spot, description="GCJ-02 坐标上报测试",
               location={"lon": glon, "lat": glat, "crs": "GCJ-02"}).get_json()
    assert abs(c["location"]["lon"] - spot["lon"]) < 1e-5 and abs(c["location"]["lat"] - spot["lat"]) < 1e-5
    assert c["input_crs"] == "GCJ-02"


def test_photos_get_thumbnails_and_duplicates_are_flagged(apis, spot):
    import json as _json
    sup = apis["supervisor"]
    body = {"source": "supervisor", "kind": "event", "class_code": "0505", "description": "机动车乱停放堵塞消防通道",
            "location": {"lon": spot["lon"] + 0.0001, "lat": spot["lat"]}}
    r = sup.c.post("/api/cases", data={"report": _json.dumps(body), "media": (io.BytesIO(photo()), "现场.jpg")},
                   headers=sup.headers, content_type="multipart/form-data")
    assert r.status_code == 201, r.get_json()
    first = r.get_json()
    second = sup.post("/api/cases", {**body, "description": "又见机动车乱停放"}).get_json()
    assert second["duplicate_of"] == first["id"] and second["duplicate_case_no"] == first["case_no"]
    detail = apis["admin"].get(f"/api/cases/{first['id']}").get_json()
    m = detail["media"][0]
    assert m["kind"] == "photo" and m["name"] == "现场.jpg"
    thumb = apis["admin"].c.get(m["thumb_url"])
    assert thumb.status_code == 200 and thumb.mimetype == "image/jpeg"
    assert max(Image.open(io.BytesIO(thumb.data)).size) <= 320


def test_concurrent_actions_exactly_one_wins(app, apis, spot, passwords):
    c = report(apis["acceptor"], spot, source="hotline", class_code="0106", description="绿地脏乱，有塑料袋").get_json()
    task = c["tasks"][0]
    stage = task["stage"]
    action = {"accept": "file", "dispatch": "dispatch", "handle": "done"}[stage]
    data = {"dept_code": "D010"} if stage == "dispatch" else {}
    comment = "同时办理" if action in ("done",) else None
    clients = [json_api(app, "admin", passwords["admin"]) for _ in range(2)]
    results = []
    barrier = threading.Barrier(2)

    def go(api):
        barrier.wait()
        results.append(api.post(f"/api/cases/{c['id']}/tasks/{task['id']}",
                                {"action": action, "data": data, "comment": comment}))
    threads = [threading.Thread(target=go, args=(api,)) for api in clients]
    [t.start() for t in threads]
    [t.join() for t in threads]
    codes = sorted(r.status_code for r in results)
    assert codes == [200, 409], [r.get_json() for r in results]
    loser = next(r for r in results if r.status_code == 409).get_json()["error"]
    assert loser["code"] in ("task_closed", "version_conflict") and "他人" in loser["message"]
    seqs = [s for s, _ in events(app, c["id"])]
    assert seqs == list(range(1, len(seqs) + 1))


def to_handle(apis, spot, dept="D010", **over):
    """A new case brought to 处置 at `dept` (through acceptance, filing and dispatch as needed)."""
    c = report(apis["acceptor"], spot, source="hotline", **over).get_json()
    cid = c["id"]
    for _ in range(6):
        case = apis["admin"].get(f"/api/cases/{cid}").get_json()
        stage = case["stage"]
        if stage == "handle" and case["dept_code"] == dept:
            return case
        if stage == "accept":
            act(apis["acceptor"], cid, "accept", "file")
        elif stage == "file":
            act(apis["shift_chief"], cid, "file", "file")
        elif stage == "dispatch":
            act(apis["dispatcher"], cid, "dispatch", "dispatch", data={"dept_code": dept})
        elif stage == "handle":  # dispatched automatically elsewhere: return and re-dispatch
            act(apis["admin"], cid, "handle", "return", comment="非本单位职责")
            act(apis["shift_chief"], cid, "approve_return", "approve")
    raise AssertionError(f"case {cid} did not reach handle at {dept}")


def test_department_sees_only_its_tasks(apis, spot):
    to_handle(apis, spot, class_code="0102", description="暴露垃圾，需要清运")
    items = apis["handler"].get("/api/cases/tasks?size=200").get_json()["items"]
    assert items and all(t["role"] == "dept_handler" and t["dept_code"] == "D010" for t in items)
    # and the department cannot see a case at acceptance
    other = report(apis["acceptor"], spot, source="hotline", class_code="0109", description="非装饰性树挂").get_json()
    if other["stage"] == "accept":
        assert_error(apis["handler"].get(f"/api/cases/{other['id']}"), 404, "case_not_found")


def test_return_extension_suspension_and_rework(apis, spot, app):
    case = to_handle(apis, spot, class_code="0107", description="废弃车辆长期占用车位")
    cid, first_deadline = case["id"], case["handle_deadline"]
    # extension: the deadline moves by the approved working hours
    assert_error(act(apis["handler"], cid, "handle", "extend", comment="需协调车主", data={"hours": 9999}), 400,
                 "hours_invalid")
    assert act(apis["handler"], cid, "handle", "extend", comment="需协调车主", data={"hours": 8}).status_code == 200
    r = act(apis["shift_chief"], cid, "approve_extension", "approve")
    assert r.status_code == 200, r.get_json()
    assert r.get_json()["handle_deadline"] > first_deadline
    extended = r.get_json()["handle_deadline"]
    # suspension stops the clock; resuming moves the deadline by the time suspended (>= 0)
    act(apis["handler"], cid, "handle", "suspend", comment="待上级审批经费")
    s = act(apis["shift_chief"], cid, "approve_suspension", "approve").get_json()
    assert s["status"] == "suspended"
    r = act(apis["shift_chief"], cid, "suspended", "resume")
    assert r.get_json()["status"] == "open" and r.get_json()["handle_deadline"] >= extended
    # rework: a failed check sends it back to the same department
    act(apis["handler"], cid, "handle", "done", comment="已拖离")
    r = act(apis["supervisor"], cid, "check", "fail", comment="车辆仍在")
    assert r.get_json()["reworks"] == 1 and r.get_json()["stage"] == "handle" and r.get_json()["dept_code"] == "D010"
    # return: approved → back to the dispatcher, who chooses (no automatic re-dispatch)
    act(apis["handler"], cid, "handle", "return", comment="属交警职责")
    r = act(apis["shift_chief"], cid, "approve_return", "approve").get_json()
    assert r["stage"] == "dispatch" and r["returns"] == 1 and r["dept_code"] is None
    actions = [a for _, a in events(app, cid)]
    for a in ("extend", "approve", "suspend", "resume", "done", "fail", "return"):
        assert a in actions


def test_urge_list_and_search(apis, spot):
    c = report(apis["supervisor"], spot, class_code="0501", description="无照经营游商占道卖水果").get_json()
    assert_error(apis["supervisor"].post(f"/api/cases/{c['id']}/urge", {"comment": "x"}), 403, "forbidden")
    r = apis["leader"].post(f"/api/cases/{c['id']}/urge", {"comment": "请尽快处理"})
    assert r.status_code == 200 and r.get_json()["urged"] == 1
    found = apis["leader"].get("/api/cases", query_string={"q": "游商"}).get_json()
    assert c["id"] in [i["id"] for i in found["items"]]
    assert "<mark>" in next(i for i in found["items"] if i["id"] == c["id"])["description_html"]
    assert apis["leader"].get("/api/cases", query_string={"q": c["case_no"]}).get_json()["items"][0]["id"] == c["id"]
    assert_error(apis["leader"].get("/api/cases", query_string={"colour": "red"}), 400, "parameter_unknown")
    assert_error(apis["leader"].get("/api/cases", query_string={"from": "yesterday"}), 400, "parameter_invalid")
    # the supervisor (region scope 411721001) sees no case outside the street
    items = apis["supervisor"].get("/api/cases?size=200").get_json()["items"]
    assert all((i["street_code"] or "").startswith("411721001") for i in items)


def test_history_is_append_only(app, apis, spot):
    import sqlalchemy.exc
    c = report(apis["supervisor"], spot, description="历史只增不改测试").get_json()
    with app.extensions["cityops.sessions"]() as db:
        with pytest.raises(sqlalchemy.exc.DBAPIError):
            db.execute(text("UPDATE cases.case_event SET action='x' WHERE case_id=:c"), {"c": c["id"]})
        db.rollback()
        with pytest.raises(sqlalchemy.exc.DBAPIError):
            db.execute(text("DELETE FROM cases.case_event WHERE case_id=:c"), {"c": c["id"]})


def test_search_page(apis):
    html = apis["leader"].c.get("/cases/").get_data(as_text=True)
    for word in ("关键字", "上报起", "柏城街道", "leaflet"):
        assert word in html
    assert "cdn" not in html.lower()
    assert apis["leader"].c.get("/cases/static/cases/search.js").status_code == 200
